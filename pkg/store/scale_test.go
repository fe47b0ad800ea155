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

// With 100,000 transactions pending, Due reads the index sets and the
// records it returns, nothing else: the key lookups of one call stay
// within limit + the index reads (two sets per shard), and a young
// transaction comes first. On the cluster, where Due merges the shards'
// sets from three masters (the callback's end-to-end test does the same
// on one server).
func TestRedisDueAmong100kPending(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 100,000 transactions into redis-server")
	}
	c := redisCluster(t)
	ctx := context.Background()
	s := openRedis(t, c.URL, newPrefix(), store.Options{})
	now := time.Now()
	start := time.Now()
	n, err := s.CreateMany(ctx, storetest.Backlog(100_000, now))
	require.NoError(t, err)
	require.Equal(t, 100_000, n)
	t.Logf("100,000 transactions loaded in %v", time.Since(start).Round(time.Millisecond))
	require.NoError(t, s.Create(ctx, store.Transaction{TransactionID: "young", MerchantBizID: "biz", CreatedAt: now.Add(-time.Minute)}))

	const limit = 50
	before := storetest.KeyLookups(t, c.Addrs...)
	due, err := s.Due(ctx, now.Add(-30*time.Second), now, limit)
	read := storetest.KeyLookups(t, c.Addrs...) - before
	require.NoError(t, err)
	require.Len(t, due, limit)
	assert.Equal(t, "young", due[0].TransactionID, "the young one first")
	for i := 1; i < limit; i++ {
		assert.Zero(t, due[i].Checks, "then never-checked ones, newest first")
		assert.False(t, due[i].CreatedAt.After(due[i-1].CreatedAt))
	}
	t.Logf("Due(limit %d) among 100,001 pending: %d key lookups", limit, read)
	assert.LessOrEqual(t, read, int64(limit+2*store.Shards), "the records returned and one read per index set")
}

// The file store's due index: Due reads the records it returns and no
// other. Every other pending record is made unreadable; Due still answers
// (it would report a corrupt record if it read one).
func TestFileDueReadsOnlyWhatItReturns(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	now := time.Now()
	s, err := store.NewFile(dir, store.Options{Now: func() time.Time { return now }})
	require.NoError(t, err)
	ts := storetest.Backlog(1000, now)
	for _, tx := range ts {
		require.NoError(t, s.Create(ctx, tx))
	}
	// What Due(limit 5) must return: the 5 newest never-checked ones.
	var want []string
	for _, i := range []int{998, 996, 994, 992, 990} {
		want = append(want, ts[i].TransactionID)
	}
	keep := map[string]bool{}
	for _, id := range want {
		sum := sha256.Sum256([]byte(id)) // the file store names a record by the hash of its id
		keep[hex.EncodeToString(sum[:])+".json"] = true
	}
	entries, err := os.ReadDir(filepath.Join(dir, "tx"))
	require.NoError(t, err)
	spoilt := 0
	for _, e := range entries {
		if !keep[e.Name()] {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "tx", e.Name()), []byte("not json"), 0o600))
			spoilt++
		}
	}
	require.Equal(t, 995, spoilt)

	due, err := s.Due(ctx, now, now, 5)
	require.NoError(t, err, "Due read a record it does not return")
	var got []string
	for _, tx := range due {
		got = append(got, tx.TransactionID)
	}
	assert.Equal(t, want, got)
}
