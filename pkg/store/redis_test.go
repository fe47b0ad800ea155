package store_test

import (
	"bufio"
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/store"
	"github.com/idverify/fc-kyc/pkg/store/storetest"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

var prefixes atomic.Int64

// redisOpener opens stores on the Redis of rawURL, each under its own key
// prefix so that the cases see an empty store.
func redisOpener(rawURL string) storetest.Opener {
	return func(t *testing.T, o store.Options) store.Store {
		return openRedis(t, rawURL, newPrefix(), o)
	}
}

// openRedis opens the Redis driver on rawURL under prefix; it is closed
// when the test ends.
func openRedis(t *testing.T, rawURL, prefix string, o store.Options) *store.Redis {
	t.Helper()
	s, err := store.OpenRedis(context.Background(), withPrefix(rawURL, prefix), o)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func newPrefix() string { return fmt.Sprintf("t%d:", prefixes.Add(1)) }

// withPrefix adds prefix to the query of raw.
func withPrefix(raw, prefix string) string {
	sep := "?"
	if strings.Contains(raw, "?") {
		sep = "&"
	}
	return raw + sep + "prefix=" + url.QueryEscape(prefix)
}

func TestRedisConformance(t *testing.T) {
	storetest.Run(t, redisOpener(testproc.Redis(t).URL))
}

// client is a plain client on the test server, to look at the keys.
func client(t *testing.T, srv *testproc.RedisServer) *redis.Client {
	opt, err := redis.ParseURL(srv.URL)
	require.NoError(t, err)
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

// prefixedRedis starts a redis-server and opens the Redis driver on it
// under a prefix of its own; c is a plain client on that server.
func prefixedRedis(t *testing.T) (s *store.Redis, c *redis.Client, prefix string) {
	srv := testproc.Redis(t)
	prefix = newPrefix()
	return openRedis(t, srv.URL, prefix, store.Options{}), client(t, srv), prefix
}

// txKey is the key of a transaction's record (see the Redis driver's
// layout): the shard's hash tag, then tx:<id>.
func txKey(prefix, id string) string {
	h := fnv.New32a()
	h.Write([]byte(id))
	return fmt.Sprintf("%s{%02x}tx:%s", prefix, h.Sum32()%store.Shards, id)
}

// The TTLs that make Redis itself forget records and limit cells.
func TestRedisTTL(t *testing.T) {
	ctx := context.Background()
	s, c, prefix := prefixedRedis(t)

	require.NoError(t, s.Create(ctx, store.Transaction{TransactionID: "t1", MerchantBizID: "b"}))
	ttl, err := c.PTTL(ctx, txKey(prefix, "t1")).Result()
	require.NoError(t, err)
	assert.InDelta(t, store.Retention.Seconds(), ttl.Seconds(), 60, "record TTL is the 30-day retention")

	_, err = s.Finish(ctx, "t1", store.Passed, store.Result{EventID: "e", Passed: "Y"})
	require.NoError(t, err)
	require.NoError(t, s.SetDelivery(ctx, "t1", store.Delivery{Attempts: 1}))
	ttl2, err := c.PTTL(ctx, txKey(prefix, "t1")).Result()
	require.NoError(t, err)
	assert.InDelta(t, ttl.Seconds(), ttl2.Seconds(), 60, "updates keep the TTL from Create")

	cell := store.Cell{Key: "k", Every: time.Minute, Burst: 5}
	for range 3 {
		a, err := s.Admit(ctx, "g", []store.Cell{cell})
		require.NoError(t, err)
		require.True(t, a.OK)
	}
	keys, err := c.Keys(ctx, prefix+"{g}gcra:k").Result()
	require.NoError(t, err)
	require.Len(t, keys, 1)
	ttl, err = c.PTTL(ctx, keys[0]).Result()
	require.NoError(t, err)
	assert.InDelta(t, (3*time.Minute + time.Second).Seconds(), ttl.Seconds(), 2,
		"a limit's cell expires a second past its TAT, three Every ahead")

	// Nothing is left outside the prefix.
	all, err := c.Keys(ctx, "*").Result()
	require.NoError(t, err)
	for _, k := range all {
		assert.True(t, strings.HasPrefix(k, prefix), "key %q outside the prefix", k)
	}
}

// A record whose TTL fired is removed from the sorted sets by the next scan.
func TestRedisSweepsExpiredMembers(t *testing.T) {
	ctx := context.Background()
	s, c, prefix := prefixedRedis(t)
	require.NoError(t, s.Create(ctx, store.Transaction{TransactionID: "gone", MerchantBizID: "b"}))
	require.NoError(t, s.Create(ctx, store.Transaction{TransactionID: "kept", MerchantBizID: "b"}))
	require.NoError(t, c.Del(ctx, txKey(prefix, "gone")).Err()) // as its TTL would

	got, err := s.Due(ctx, time.Now(), time.Now(), 10)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "kept", got[0].TransactionID)
	var members []string
	for _, k := range c.Keys(ctx, prefix+"*new").Val() {
		members = append(members, c.ZRange(ctx, k, 0, -1).Val()...)
	}
	assert.Equal(t, []string{"kept"}, members)
}

// A stopped Redis: every operation fails with ErrUnavailable, within the
// configured timeouts; after a restart the store works again with the
// records it had.
func TestRedisUnavailable(t *testing.T) {
	srv := testproc.Redis(t)
	ctx := context.Background()
	s, err := store.OpenRedis(ctx, srv.URL+"?dial_timeout=500ms&read_timeout=500ms&write_timeout=500ms&pool_timeout=1s&prefix=u:", store.Options{})
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Create(ctx, store.Transaction{TransactionID: "t1", MerchantBizID: "b"}))

	srv.Stop()
	for name, op := range map[string]func() error{
		"Create": func() error { return s.Create(ctx, store.Transaction{TransactionID: "t2"}) },
		"Get":    func() error { _, err := s.Get(ctx, "t1"); return err },
		"Finish": func() error {
			_, err := s.Finish(ctx, "t1", store.Passed, store.Result{EventID: "e", Passed: "Y"})
			return err
		},
		"Due":         func() error { _, err := s.Due(ctx, time.Now(), time.Now(), 10); return err },
		"Reschedule":  func() error { return s.Reschedule(ctx, "t1", time.Now()) },
		"Undelivered": func() error { _, err := s.Undelivered(ctx, time.Now(), 10); return err },
		"SetDelivery": func() error { return s.SetDelivery(ctx, "t1", store.Delivery{}) },
		"Admit": func() error {
			_, err := s.Admit(ctx, "g", []store.Cell{{Key: "k", Every: time.Second, Burst: 1}})
			return err
		},
	} {
		failsUnavailable(t, name+", Redis stopped", op) // the configured bound is about 1.5 s
	}

	_, err = store.OpenRedis(ctx, srv.URL+"?dial_timeout=500ms", store.Options{})
	assert.ErrorIs(t, err, store.ErrUnavailable, "OpenRedis checks that Redis answers")

	srv.Start()
	recorded, err := s.Finish(ctx, "t1", store.Passed, store.Result{EventID: "e", Passed: "Y"})
	require.NoError(t, err, "the same store works again once Redis is back")
	assert.True(t, recorded, "the pending record survived the restart")
}

// failsUnavailable runs op, which must fail with ErrUnavailable well
// within 30 s (generous: the bounds the tests configure are about a
// second), and logs how long it took.
func failsUnavailable(t *testing.T, name string, op func() error) {
	t.Helper()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- op() }()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, store.ErrUnavailable, name)
		t.Logf("%s failed after %v: %v", name, time.Since(start).Round(time.Millisecond), err)
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not return", name)
	}
}

// A hung Redis (connections accepted, nothing answered): calls fail with
// ErrUnavailable once read_timeout passes, or the ctx deadline if shorter,
// instead of hanging the function.
func TestRedisHung(t *testing.T) {
	srv := testproc.Redis(t)
	s, err := store.OpenRedis(context.Background(), srv.URL+"?read_timeout=300ms&write_timeout=300ms&prefix=h:", store.Options{})
	require.NoError(t, err)
	defer s.Close()
	srv.Pause()
	defer srv.Resume()

	bounded := func(name string, op func() error) {
		t.Helper()
		failsUnavailable(t, name+", Redis paused", op) // the configured bound is 300 ms
	}
	bounded("Get, read_timeout", func() error { _, err := s.Get(context.Background(), "t1"); return err })
	bounded("Admit, read_timeout", func() error {
		_, err := s.Admit(context.Background(), "g", []store.Cell{{Key: "k", Every: time.Second, Burst: 1}})
		return err
	})

	bounded("OpenRedis", func() error {
		_, err := store.OpenRedis(context.Background(), srv.URL+"?read_timeout=300ms", store.Options{})
		return err
	})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	bounded("Finish, ctx deadline", func() error {
		_, err := s.Finish(ctx, "t1", store.Passed, store.Result{EventID: "e", Passed: "Y"})
		return err
	})
}

// A store written in the first key layout (records at <prefix>tx:<id>, one
// pending set, one undelivered set) is moved into the sharded one by the
// first OpenRedis, TTLs kept: nothing pending or undelivered is lost.
func TestRedisMigratesTheFirstLayout(t *testing.T) {
	srv := testproc.Redis(t)
	ctx := context.Background()
	prefix := newPrefix()
	c := client(t, srv)
	now := time.Now().UTC().Truncate(time.Second)
	put := func(id string, tx string, set string, score int64) {
		t.Helper()
		raw := `{"expiresAt":"` + now.Add(time.Hour).Format(time.RFC3339) + `","tx":` + tx + `}`
		require.NoError(t, c.Set(ctx, prefix+"tx:"+id, raw, time.Hour).Err())
		if set != "" {
			require.NoError(t, c.ZAdd(ctx, prefix+set, redis.Z{Score: float64(score), Member: id}).Err())
		}
	}
	created := now.Add(-20 * time.Minute)
	put("p1", `{"transactionId":"p1","merchantBizId":"b1","status":"pending","createdAt":"`+created.Format(time.RFC3339)+`"}`, "pending", created.UnixMicro())
	put("u1", `{"transactionId":"u1","merchantBizId":"b2","status":"passed","createdAt":"`+created.Format(time.RFC3339)+`","result":{"eventId":"e","passed":"Y","recordedAt":"`+now.Format(time.RFC3339)+`"},"delivery":{"delivered":false,"attempts":0,"nextAttempt":"0001-01-01T00:00:00Z"}}`, "undelivered", 0)
	put("d1", `{"transactionId":"d1","merchantBizId":"b3","status":"failed","createdAt":"`+created.Format(time.RFC3339)+`","result":{"eventId":"e","passed":"N","recordedAt":"`+now.Format(time.RFC3339)+`"},"delivery":{"delivered":true,"attempts":1}}`, "", 0)

	s := openRedis(t, srv.URL, prefix, store.Options{})
	due, err := s.Due(ctx, now.Add(-10*time.Minute), now, 10)
	require.NoError(t, err)
	require.Len(t, due, 1)
	assert.Equal(t, "p1", due[0].TransactionID)
	und, err := s.Undelivered(ctx, now, 10)
	require.NoError(t, err)
	require.Len(t, und, 1)
	assert.Equal(t, "u1", und[0].TransactionID)
	d, err := s.Get(ctx, "d1")
	require.NoError(t, err)
	assert.Equal(t, store.Failed, d.Status)

	for _, id := range []string{"p1", "u1", "d1"} {
		assert.Zero(t, c.Exists(ctx, prefix+"tx:"+id).Val(), "old key of %s removed", id)
		ttl := c.PTTL(ctx, txKey(prefix, id)).Val()
		assert.InDelta(t, time.Hour.Seconds(), ttl.Seconds(), 60, "TTL of %s kept", id)
	}
	assert.Zero(t, c.Exists(ctx, prefix+"pending", prefix+"undelivered").Val(), "old sets removed")
	assert.Equal(t, "2", c.Get(ctx, prefix+"layout").Val())

	// Later opens find the mark and scan nothing.
	require.NoError(t, c.Set(ctx, prefix+"tx:late", "not json", 0).Err())
	s2, err := store.OpenRedis(ctx, withPrefix(srv.URL, prefix), store.Options{})
	require.NoError(t, err, "a store marked as migrated is not scanned again")
	s2.Close()
}

// The Redis round trips of the calls on the request paths, once their
// scripts are loaded: a call's limits with its budget slot (Admit) and a
// start's claim are one each; creating an owned transaction (the record,
// then its Lookup entry), a Lookup (the entry, then the record) and
// answering a start (read, then compare-and-set) are two each. None of
// them pipelines, so a round trip is a command the server's MONITOR shows
// from a client (what a script runs shows as lua, and is not counted).
func TestRedisRoundTrips(t *testing.T) {
	ctx := context.Background()
	srv := testproc.Redis(t)
	s, c := openRedis(t, srv.URL, newPrefix(), store.Options{}), client(t, srv)

	conn, err := net.Dial("tcp", srv.Addr)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	_, err = io.WriteString(conn, "MONITOR\r\n")
	require.NoError(t, err)
	mon := bufio.NewReader(conn)
	marks := 0
	// upTo sends a mark and counts the clients' commands MONITOR shows
	// before it.
	upTo := func() int {
		marks++
		mark := fmt.Sprintf(`"mark-%d"`, marks)
		require.NoError(t, c.Echo(ctx, mark[1:len(mark)-1]).Err())
		n := 0
		for {
			require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
			line, err := mon.ReadString('\n')
			require.NoError(t, err)
			switch {
			case strings.Contains(line, mark):
				return n
			case strings.Contains(line, "] \""): // a command: [db client] "name" args
				if !strings.Contains(line, " lua] ") {
					n++
				}
			}
		}
	}
	cost := func(op func() error) int {
		t.Helper()
		upTo()
		require.NoError(t, op())
		return upTo()
	}

	cells := []store.Cell{{Key: "caller", Every: time.Second, Burst: 1 << 20}, {Key: "budget", Every: time.Millisecond, Burst: 1, MaxWait: time.Second}}
	admit := func() error { _, err := s.Admit(ctx, "eKYC", cells); return err }
	n := 0
	create := func() error {
		n++
		return s.Create(ctx, store.Transaction{TransactionID: fmt.Sprint("t", n), MerchantBizID: fmt.Sprint("b", n), Owner: "o"})
	}
	lookup := func() error { _, err := s.Lookup(ctx, store.KindEKYC, fmt.Sprint("b", n), "o"); return err }
	mine := store.Start{ClaimID: "c", Owner: "o", Fingerprint: "f"}
	claim := func() error {
		n++
		_, _, err := s.ClaimStart(ctx, fmt.Sprint("k", n), mine, time.Minute)
		return err
	}
	answer := func() error {
		a := mine
		a.Answer = []byte(`{}`)
		return s.AnswerStart(ctx, fmt.Sprint("k", n), a)
	}
	for _, op := range []func() error{admit, create, lookup, claim, answer} {
		require.NoError(t, op()) // load the scripts
	}
	assert.Equal(t, 1, cost(admit), "Admit")
	assert.Equal(t, 1, cost(claim), "ClaimStart")
	assert.Equal(t, 2, cost(answer), "AnswerStart")
	assert.Equal(t, 2, cost(create), "Create with an Owner")
	assert.Equal(t, 2, cost(lookup), "Lookup")
}
