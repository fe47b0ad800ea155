package registry_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/internal/registry"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

// TestEveryPlaceListsTheSameFunctions fails when a function is added to (or
// removed from) one place and not the others: functions/, the registry, the
// Makefile's FUNCTIONS, s.yaml and the SAM template.
func TestEveryPlaceListsTheSameFunctions(t *testing.T) {
	root := testproc.RepoRoot(t)
	want := registry.Names()
	sort.Strings(want)

	entries, err := os.ReadDir(filepath.Join(root, "functions"))
	require.NoError(t, err)
	var dirs []string
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(root, "functions", e.Name(), "main.go")); e.IsDir() && err == nil {
			dirs = append(dirs, e.Name())
		}
	}
	assert.Equal(t, want, dirs, "functions/ (directories with a main.go) and internal/registry disagree")

	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join(root, p))
		require.NoError(t, err)
		return string(b)
	}
	found := func(src, pattern string) []string {
		var out []string
		for _, m := range regexp.MustCompile(pattern).FindAllStringSubmatch(src, -1) {
			out = append(out, m[1])
		}
		sort.Strings(out)
		return slices.Compact(out)
	}

	mk := regexp.MustCompile(`(?m)^FUNCTIONS\s*:=\s*(.*)$`).FindStringSubmatch(read("Makefile"))
	require.NotNil(t, mk, "Makefile has no FUNCTIONS := line")
	makeList := strings.Fields(mk[1])
	sort.Strings(makeList)
	assert.Equal(t, want, makeList, "the Makefile's FUNCTIONS and internal/registry disagree")

	assert.Equal(t, want, found(read("s.yaml"), `(?m)^\s+functionName:\s*([a-z0-9-]+)\s*$`),
		"s.yaml's functionName entries and internal/registry disagree")
	assert.Equal(t, want, found(read("s.yaml"), `(?m)^\s+code:\s*\./dist/([a-z0-9-]+)/`),
		"s.yaml's code folders and internal/registry disagree")
	assert.Equal(t, want, found(read("deploy/aws/template.yaml"), `(?m)^\s+CodeUri:\s*\.\./\.\./dist/([a-z0-9-]+)/`),
		"the SAM template's CodeUri folders and internal/registry disagree")
}

func TestOffsetsAreDistinct(t *testing.T) {
	seen := map[int]string{}
	for _, f := range registry.Functions {
		require.Positive(t, f.PortOffset, f.Name)
		if other, dup := seen[f.PortOffset]; dup {
			t.Fatalf("%s and %s share port offset %d", f.Name, other, f.PortOffset)
		}
		seen[f.PortOffset] = f.Name
		got, ok := registry.Lookup(f.Name)
		require.True(t, ok)
		assert.Equal(t, f, got)
		assert.Equal(t, "github.com/idverify/fc-kyc/functions/"+f.Name, f.Package())
	}
	_, ok := registry.Lookup("nope")
	assert.False(t, ok)
}
