package testproc

import (
	"os"
	"path/filepath"
	"testing"
)

// RepoRoot is the repository's root: the nearest directory above the test's
// working directory that holds go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// Vectors is the path of parts under testdata/vectors at the repository's
// root: the official SDKs' signature vectors and the project's own, kept in
// the repository so that a clone placed anywhere runs every test (see
// testdata/vectors/*/README.md for where each file came from). It fails the
// test when that path does not exist.
func Vectors(t testing.TB, parts ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{RepoRoot(t), "testdata", "vectors"}, parts...)...)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("test vector %s is missing from the repository: %v", filepath.ToSlash(filepath.Join(parts...)), err)
	}
	return p
}

// ReadVector returns the contents of Vectors(t, parts...).
func ReadVector(t testing.TB, parts ...string) string {
	t.Helper()
	b, err := os.ReadFile(Vectors(t, parts...))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
