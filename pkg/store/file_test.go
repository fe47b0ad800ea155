package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/store"
	"github.com/idverify/fc-kyc/pkg/store/storetest"
)

func openFile(t *testing.T, o store.Options) store.Store {
	s, err := store.NewFile(t.TempDir(), o)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func TestFileConformance(t *testing.T) { storetest.Run(t, openFile) }

func TestFileNeedsAbsoluteDir(t *testing.T) {
	_, err := store.NewFile("relative/dir", store.Options{})
	require.ErrorContains(t, err, "absolute")
}

// Two stores on one directory are one store: what one process writes, the
// other reads.
func TestFileSharedDirectory(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, err := store.NewFile(dir, store.Options{})
	require.NoError(t, err)
	b, err := store.NewFile(dir, store.Options{})
	require.NoError(t, err)
	require.NoError(t, a.Create(ctx, store.Transaction{TransactionID: "t1"}))
	recorded, err := b.Finish(ctx, "t1", store.Passed, store.Result{EventID: "e", Passed: "Y"})
	require.NoError(t, err)
	require.True(t, recorded)
	recorded, err = a.Finish(ctx, "t1", store.Failed, store.Result{EventID: "f", Passed: "N"})
	require.NoError(t, err)
	require.False(t, recorded)
	got, err := a.Get(ctx, "t1")
	require.NoError(t, err)
	require.Equal(t, store.Passed, got.Status)
}

// What a crash between writing a marker and writing the record leaves: a
// marker with no record, or a marker the record does not belong to. Scans
// answer from the records and drop such markers.
func TestFileStaleMarkers(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := store.NewFile(dir, store.Options{})
	require.NoError(t, err)
	require.NoError(t, s.Create(ctx, store.Transaction{TransactionID: "real"}))
	h := func(id string) string { sum := sha256.Sum256([]byte(id)); return hex.EncodeToString(sum[:]) }
	dueMarkers := func(id string) []string {
		m, err := filepath.Glob(filepath.Join(dir, "due", "*", "*", "*-"+h(id)))
		require.NoError(t, err)
		return m
	}
	real := dueMarkers("real")
	require.Len(t, real, 1, "Create indexes the transaction")
	ghost := filepath.Join(filepath.Dir(real[0]), "00000000000000000001-"+h("ghost"))
	early := filepath.Join(dir, "undelivered", h("real")) // Finish crashed before writing the record
	moved := filepath.Join(dir, "due", "retry", "000000000000", "00000000000000000001-"+h("real"))
	require.NoError(t, os.WriteFile(ghost, nil, 0o600))
	require.NoError(t, os.WriteFile(early, nil, 0o600))
	require.NoError(t, os.MkdirAll(filepath.Dir(moved), 0o700))
	require.NoError(t, os.WriteFile(moved, nil, 0o600)) // Reschedule crashed before writing the record

	got, err := s.Due(ctx, time.Now(), time.Now(), 10)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "real", got[0].TransactionID)
	got, err = s.Undelivered(ctx, time.Now(), 10)
	require.NoError(t, err)
	assert.Empty(t, got, "a pending transaction has nothing to deliver")
	assert.NoFileExists(t, ghost)
	assert.NoFileExists(t, early)
	assert.NoFileExists(t, moved)
	assert.Equal(t, real, dueMarkers("real"), "the marker the record owns stays")

	// The reconciler finishes it later: the undelivered marker comes, the
	// due marker goes.
	_, err = s.Finish(ctx, "real", store.Passed, store.Result{EventID: "e", Passed: "Y"})
	require.NoError(t, err)
	got, err = s.Undelivered(ctx, time.Now(), 10)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Empty(t, dueMarkers("real"))
}

// A directory written by the first layout (pending/<h> markers) keeps its
// pending transactions: the first NewFile moves them into the due index.
func TestFileMigratesTheFirstLayout(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := store.NewFile(dir, store.Options{})
	require.NoError(t, err)
	require.NoError(t, s.Create(ctx, store.Transaction{TransactionID: "old-pending", CreatedAt: time.Now().Add(-time.Hour)}))
	// Make it look like the first layout wrote it: its marker in pending/,
	// none in due/.
	sum := sha256.Sum256([]byte("old-pending"))
	name := hex.EncodeToString(sum[:])
	markers, err := filepath.Glob(filepath.Join(dir, "due", "*", "*", "*-"+name))
	require.NoError(t, err)
	require.Len(t, markers, 1)
	require.NoError(t, os.Remove(markers[0]))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "pending"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pending", name), nil, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pending", "ghost"), nil, 0o600))

	s, err = store.NewFile(dir, store.Options{})
	require.NoError(t, err)
	due, err := s.Due(ctx, time.Now(), time.Now(), 10)
	require.NoError(t, err)
	require.Len(t, due, 1)
	assert.Equal(t, "old-pending", due[0].TransactionID)
	assert.NoDirExists(t, filepath.Join(dir, "pending"))
}
