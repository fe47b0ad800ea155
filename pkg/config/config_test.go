package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLookupFromFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(path, []byte("s3cret\n"), 0o600))

	t.Setenv("X_SECRET_FILE", path)
	v, ok, err := Lookup("X_SECRET")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, "s3cret", v, "trailing newline dropped")

	t.Setenv("X_SECRET", "also")
	_, _, err = Lookup("X_SECRET")
	assert.ErrorContains(t, err, "both set")

	t.Setenv("Y_FILE", filepath.Join(t.TempDir(), "missing"))
	_, _, err = Lookup("Y")
	assert.ErrorContains(t, err, "Y_FILE")
}

func TestTypedValues(t *testing.T) {
	t.Setenv("D", "90s")
	d, err := Duration("D", time.Minute)
	require.NoError(t, err)
	assert.Equal(t, 90*time.Second, d)
	d, err = Duration("D_UNSET", time.Minute)
	require.NoError(t, err)
	assert.Equal(t, time.Minute, d)
	t.Setenv("D", "-1s")
	_, err = Duration("D", 0)
	assert.ErrorContains(t, err, "D=")

	t.Setenv("L", " a, ,b ,")
	l, err := List("L")
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, l)

	t.Setenv("N", "x")
	_, err = Int("N", 1)
	assert.ErrorContains(t, err, "N=")
}

func TestStrings(t *testing.T) {
	t.Setenv("S1", "a")
	t.Setenv("S3", "c")
	v, err := Strings("S1", "S2_UNSET", "S3")
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "", "c"}, v, "in order, empty when unset")

	t.Setenv("S2_UNSET_FILE", filepath.Join(t.TempDir(), "missing"))
	_, err = Strings("S1", "S2_UNSET", "S3")
	assert.ErrorContains(t, err, "S2_UNSET_FILE")
}

func TestSecureURL(t *testing.T) {
	tests := []struct {
		raw string
		ok  bool
	}{
		{"https://cb.example.com/x", true},
		{"http://127.0.0.1:9005/cb", true},
		{"http://127.8.9.10/cb", true},
		{"http://localhost/cb", true},
		{"http://[::1]:80/cb", true},
		{"http://cb.example.com/x", false},
		{"http://192.168.1.2/x", false},
		{"ftp://cb.example.com/x", false},
		{"/relative", false},
		{"https://user:pw@cb.example.com/", false},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			_, err := SecureURL("V", tt.raw)
			if tt.ok {
				assert.NoError(t, err)
			} else {
				assert.ErrorContains(t, err, "V")
			}
		})
	}
}
