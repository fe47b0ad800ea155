package store_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/store"
	"github.com/idverify/fc-kyc/pkg/store/storetest"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

// What one transaction costs Redis, for sizing an instance: the record
// key alone (MEMORY USAGE, which counts the key, the value and Redis's
// own overhead), and everything (INFO used_memory over 10,000
// transactions: records, TTLs, index entries), pending and once recorded
// and delivered. Figures in docs come from:
//
//	go test -count=1 -run TestRedisBytesPerTransaction -v ./pkg/store/
func TestRedisBytesPerTransaction(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 10,000 transactions into redis-server")
	}
	if raceEnabled {
		t.Skip("a measurement: run it without -race (the race detector makes loading 10,000 transactions take seconds)")
	}
	t.Run("single", func(t *testing.T) {
		srv := testproc.Redis(t)
		bytesPerTransaction(t, srv.URL, []string{srv.Addr})
	})
	t.Run("cluster", func(t *testing.T) {
		c := redisCluster(t)
		bytesPerTransaction(t, c.URL, c.Addrs)
	})
}

func bytesPerTransaction(t *testing.T, rawURL string, addrs []string) {
	ctx := context.Background()
	prefix := store.DefaultPrefix // as deployed: the key names count too
	s, err := store.OpenRedis(ctx, rawURL, store.Options{})
	require.NoError(t, err)
	defer s.Close()
	keyed := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: addrs}) // where MEMORY USAGE and GET go: the node, or the cluster
	defer keyed.Close()
	used := func() int64 { return storetest.RedisInfo(t, "memory", addrs, "used_memory") }
	const n = 10_000
	ts := make([]store.Transaction, n)
	for i := range ts {
		// As ekyc-init stores them: a cloudauth TransactionId (hk + 30
		// hex), a generated MerchantBizId (32 hex), the user's hash.
		ts[i] = store.Transaction{TransactionID: "hk" + randHex(30), MerchantBizID: randHex(32), UserHash: randHex(64), CreatedAt: time.Now()}
	}
	before := used()
	created, err := s.CreateMany(ctx, ts)
	require.NoError(t, err)
	require.Equal(t, n, created)
	pending := float64(used()-before) / n

	key := func(id string) string { return txKey(prefix, id) }
	recPending, err := keyed.MemoryUsage(ctx, key(ts[0].TransactionID)).Result()
	require.NoError(t, err)

	var (
		wg   sync.WaitGroup
		errs = make(chan error, n)
		work = make(chan store.Transaction)
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for tx := range work {
				_, err := s.Finish(ctx, tx.TransactionID, store.Passed, store.Result{EventID: "evt_" + randHex(32), Passed: "Y", SubCode: "200"})
				if err == nil {
					err = s.SetDelivery(ctx, tx.TransactionID, store.Delivery{Delivered: true, Attempts: 1})
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	for _, tx := range ts {
		work <- tx
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	final := float64(used()-before) / n
	recFinal, err := keyed.MemoryUsage(ctx, key(ts[0].TransactionID)).Result()
	require.NoError(t, err)
	raw, err := keyed.Get(ctx, key(ts[0].TransactionID)).Result()
	require.NoError(t, err)

	t.Logf("pending:             MEMORY USAGE of the record %d B; used_memory %.0f B per transaction (record, TTL, index entry)", recPending, pending)
	t.Logf("recorded, delivered: MEMORY USAGE of the record %d B (JSON value %d B); used_memory %.0f B per transaction", recFinal, len(raw), final)
	t.Logf("record: %s", raw)
	t.Logf("1,000,000 a day kept 30 days: %.1f GiB at the recorded size", final*30e6/(1<<30))
	assert.Less(t, final, 1024.0, "a transaction should stay well under a KiB")
}

// What the owner costs (the result function's Lookup): the Owner field in
// the record and the index entry, per transaction, over 2,000 created with
// Create (as ekyc-init does) with and without an owner. Figures in docs
// come from:
//
//	go test -count=1 -run TestRedisBytesOfAnOwner -v ./pkg/store/
func TestRedisBytesOfAnOwner(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 4,000 transactions into redis-server")
	}
	if raceEnabled {
		t.Skip("a measurement: run it without -race")
	}
	ctx := context.Background()
	srv := testproc.Redis(t)
	s, err := store.OpenRedis(ctx, srv.URL, store.Options{})
	require.NoError(t, err)
	defer s.Close()
	used := func() int64 { return storetest.RedisInfo(t, "memory", []string{srv.Addr}, "used_memory") }
	const n = 2000
	perTx := func(owner bool) float64 {
		before := used()
		for range n {
			tx := store.Transaction{TransactionID: "hk" + randHex(30), MerchantBizID: randHex(32), UserHash: randHex(64), CreatedAt: time.Now()}
			if owner {
				tx.Owner = randHex(64) // an HMAC-SHA256, hex
			}
			require.NoError(t, s.Create(ctx, tx))
		}
		return float64(used()-before) / n
	}
	plain, owned := perTx(false), perTx(true)
	t.Logf("used_memory per pending transaction: %.0f B without an owner, %.0f B with one (+%.0f B: the Owner field and the Lookup index entry)", plain, owned, owned-plain)
	assert.Greater(t, owned, plain, "an owner costs something")
	assert.Less(t, owned-plain, 600.0, "an owner costs more than its field and one small key should")
}

// randHex is n random hex digits (n even).
func randHex(n int) string {
	b := make([]byte, n/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
