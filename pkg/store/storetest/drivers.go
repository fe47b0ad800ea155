package storetest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/store"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

// Drivers are the store's drivers by name: each starts a backing store of
// its own for t (a directory for "file", a real redis-server for "redis",
// which skips t when redis-server is not installed) and returns an opener
// of handles on it, each closed when t ends. The handles of one opener
// share their data, as the instances of a function do.
func Drivers() map[string]func(t testing.TB) (open func() store.Store) {
	return map[string]func(t testing.TB) func() store.Store{
		"file": func(t testing.TB) func() store.Store {
			dir := t.TempDir()
			return func() store.Store {
				s, err := store.NewFile(dir, store.Options{})
				require.NoError(t, err)
				t.Cleanup(func() { _ = s.Close() })
				return s
			}
		},
		"redis": func(t testing.TB) func() store.Store {
			url := testproc.Redis(t).URL
			return func() store.Store {
				s, err := store.Open(context.Background(), url)
				require.NoError(t, err)
				t.Cleanup(func() { _ = s.Close() })
				return s
			}
		},
	}
}
