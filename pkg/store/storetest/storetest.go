// Package storetest is the conformance suite every store driver passes:
// the behaviour the callback, the reconciler and the abuse limits rely on,
// checked the same way against each driver.
package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/store"
)

// Opener returns a new, empty store that uses o (the suite's clock and
// retention). The suite calls it once per case; the driver's test closes
// the store in t.Cleanup if it needs to.
type Opener func(t *testing.T, o store.Options) store.Store

// Clock is a settable clock for store.Options.Now.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock starts at now, rounded down to the second.
func NewClock(now time.Time) *Clock { return &Clock{now: now.Truncate(time.Second)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// retention of the suite's stores: short enough to step over with the
// clock, long enough for a real Redis TTL never to fire during a test.
const retention = time.Hour

// Run runs every case against stores from open.
func Run(t *testing.T, open Opener) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s store.Store, c *Clock)
	}{
		{"CreateGet", testCreateGet},
		{"CreateRejects", testCreateRejects},
		{"Exists", testExists},
		{"NotFound", testNotFound},
		{"FinishOnce", testFinishOnce},
		{"FinishRace", testFinishRace},
		{"Due", testDue},
		{"Reschedule", testReschedule},
		{"Backoff", testBackoff},
		{"Undelivered", testUndelivered},
		{"SetDelivery", testSetDelivery},
		{"Expiry", testExpiry},
		{"Lookup", testLookup},
		// The limits (admit.go).
		{"Admit", testAdmit},
		{"AdmitAllOrNothing", testAdmitAllOrNothing},
		{"AdmitBooks", testAdmitBooks},
		{"GiveBack", testGiveBack},
		{"AdmitRace", testAdmitRace},
		// Idempotent starts (starts.go).
		{"ClaimOnce", testClaimOnce},
		{"AnswerStart", testAnswerStart},
		{"ReleaseStart", testReleaseStart},
		{"StartExpiry", testStartExpiry},
		{"ClaimRace", testClaimRace},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock := NewClock(time.Now())
			s := open(t, store.Options{Now: clock.Now, Retention: retention})
			c.fn(t, s, clock)
		})
	}
}

func tx(id string, created time.Time) store.Transaction {
	return store.Transaction{
		TransactionID: id,
		MerchantBizID: "biz-" + id,
		UserHash:      "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		Status:        store.Pending,
		CreatedAt:     created,
	}
}

func result(event string, passed string, at time.Time) store.Result {
	return store.Result{EventID: event, Passed: passed, SubCode: "200", RecordedAt: at}
}

// ids lists the TransactionIDs of ts, in order.
func ids(ts []store.Transaction) []string {
	out := []string{}
	for _, t := range ts {
		out = append(out, t.TransactionID)
	}
	return out
}

func sameTime(t *testing.T, want, got time.Time, what string) {
	t.Helper()
	assert.True(t, want.Equal(got), "%s: want %v, got %v", what, want, got)
}

func testCreateGet(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	want := tx("tx-1", c.Now().Add(-time.Minute).Add(123456*time.Nanosecond))
	require.NoError(t, s.Create(ctx, want))

	got, err := s.Get(ctx, "tx-1")
	require.NoError(t, err)
	assert.Equal(t, want.TransactionID, got.TransactionID)
	assert.Equal(t, want.MerchantBizID, got.MerchantBizID)
	assert.Equal(t, want.UserHash, got.UserHash)
	assert.Equal(t, store.Pending, got.Status)
	sameTime(t, want.CreatedAt, got.CreatedAt, "CreatedAt")
	assert.Nil(t, got.Result)
	assert.Equal(t, store.Delivery{}, got.Delivery)

	// Status and CreatedAt may be left out: pending, now.
	require.NoError(t, s.Create(ctx, store.Transaction{TransactionID: "tx-2", MerchantBizID: "b"}))
	got, err = s.Get(ctx, "tx-2")
	require.NoError(t, err)
	assert.Equal(t, store.Pending, got.Status)
	sameTime(t, c.Now(), got.CreatedAt, "default CreatedAt")

	// Ids are opaque: path-like ones are neither confused nor escape.
	for _, id := range []string{"../tx-1", "a/b", "..", "tx-1 ", "Tx-1"} {
		_, err := s.Get(ctx, id)
		assert.ErrorIs(t, err, store.ErrNotFound, "id %q", id)
		require.NoError(t, s.Create(ctx, tx(id, c.Now())), "id %q", id)
		got, err := s.Get(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, id, got.TransactionID)
	}
}

func testCreateRejects(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	assert.Error(t, s.Create(ctx, tx("", c.Now())), "empty id")
	final := tx("tx-final", c.Now())
	final.Status = store.Passed
	assert.Error(t, s.Create(ctx, final), "a transaction is created pending")
	_, err := s.Get(ctx, "tx-final")
	assert.ErrorIs(t, err, store.ErrNotFound, "a rejected Create stores nothing")
}

func testExists(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	require.NoError(t, s.Create(ctx, tx("tx-1", c.Now())))
	other := tx("tx-1", c.Now().Add(time.Minute))
	other.MerchantBizID = "someone-else"
	err := s.Create(ctx, other)
	assert.ErrorIs(t, err, store.ErrExists)
	got, err := s.Get(ctx, "tx-1")
	require.NoError(t, err)
	assert.Equal(t, "biz-tx-1", got.MerchantBizID, "the first record is kept")

	// Also once final.
	_, err = s.Finish(ctx, "tx-1", store.Passed, result("ev", "Y", c.Now()))
	require.NoError(t, err)
	assert.ErrorIs(t, s.Create(ctx, tx("tx-1", c.Now())), store.ErrExists)
	got, err = s.Get(ctx, "tx-1")
	require.NoError(t, err)
	assert.Equal(t, store.Passed, got.Status)
}

func testNotFound(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	_, err := s.Get(ctx, "nope")
	assert.ErrorIs(t, err, store.ErrNotFound)
	recorded, err := s.Finish(ctx, "nope", store.Passed, result("ev", "Y", c.Now()))
	assert.ErrorIs(t, err, store.ErrNotFound)
	assert.False(t, recorded)
	assert.ErrorIs(t, s.SetDelivery(ctx, "nope", store.Delivery{Delivered: true}), store.ErrNotFound)
	_, err = s.Get(ctx, "nope")
	assert.ErrorIs(t, err, store.ErrNotFound, "Finish and SetDelivery create nothing")
}

func testFinishOnce(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	require.NoError(t, s.Create(ctx, tx("tx-1", c.Now())))

	_, err := s.Finish(ctx, "tx-1", store.Pending, store.Result{})
	assert.Error(t, err, "pending is not a final status")

	at := c.Now().Add(time.Second)
	recorded, err := s.Finish(ctx, "tx-1", store.Passed, result("ev-1", "Y", at))
	require.NoError(t, err)
	assert.True(t, recorded)

	got, err := s.Get(ctx, "tx-1")
	require.NoError(t, err)
	assert.Equal(t, store.Passed, got.Status)
	require.NotNil(t, got.Result)
	assert.Equal(t, "ev-1", got.Result.EventID)
	assert.Equal(t, "Y", got.Result.Passed)
	assert.Equal(t, "200", got.Result.SubCode)
	sameTime(t, at, got.Result.RecordedAt, "RecordedAt")
	assert.Equal(t, "biz-tx-1", got.MerchantBizID, "Finish keeps the rest")

	// Final is final: a second Finish, with another outcome, changes nothing.
	for _, st := range []store.Status{store.Failed, store.Expired, store.Passed} {
		recorded, err = s.Finish(ctx, "tx-1", st, result("ev-2", "N", at.Add(time.Minute)))
		require.NoError(t, err)
		assert.False(t, recorded, "second Finish as %s", st)
	}
	got, err = s.Get(ctx, "tx-1")
	require.NoError(t, err)
	assert.Equal(t, store.Passed, got.Status)
	assert.Equal(t, "ev-1", got.Result.EventID)

	// RecordedAt defaults to the clock.
	require.NoError(t, s.Create(ctx, tx("tx-2", c.Now())))
	recorded, err = s.Finish(ctx, "tx-2", store.Expired, store.Result{EventID: "ev-3"})
	require.NoError(t, err)
	assert.True(t, recorded)
	got, err = s.Get(ctx, "tx-2")
	require.NoError(t, err)
	assert.Equal(t, store.Expired, got.Status)
	sameTime(t, c.Now(), got.Result.RecordedAt, "default RecordedAt")
}

// Racing Finish calls, as repeated callbacks and the reconciler make:
// exactly one records, and the stored result is the winner's.
func testFinishRace(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	require.NoError(t, s.Create(ctx, tx("tx-race", c.Now())))
	const n = 50
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		mu      sync.Mutex
		winners []string
		errs    []error
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ev := fmt.Sprintf("ev-%d", i)
			recorded, err := s.Finish(ctx, "tx-race", store.Passed, result(ev, "Y", c.Now()))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			if recorded {
				winners = append(winners, ev)
			}
		}()
	}
	close(start)
	wg.Wait()
	require.Empty(t, errs)
	require.Len(t, winners, 1, "exactly one Finish records")
	got, err := s.Get(ctx, "tx-race")
	require.NoError(t, err)
	assert.Equal(t, winners[0], got.Result.EventID, "the stored result is the one that reported recorded")
}

func testDue(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	now := c.Now()
	t0 := now.Add(-time.Hour)
	// Never checked, created out of order; p3 is finished, so not due.
	for _, i := range []int{4, 1, 3, 0, 2, 5} {
		require.NoError(t, s.Create(ctx, tx(fmt.Sprintf("p%d", i), t0.Add(time.Duration(i)*time.Minute))))
	}
	_, err := s.Finish(ctx, "p3", store.Failed, result("ev", "N", now))
	require.NoError(t, err)

	got, err := s.Due(ctx, t0.Add(4*time.Minute), now, 10)
	require.NoError(t, err)
	assert.Equal(t, []string{"p4", "p2", "p1", "p0"}, ids(got), "never checked: newest first, cutoff inclusive, final ones left out")
	assert.Equal(t, "biz-p4", got[0].MerchantBizID)

	got, err = s.Due(ctx, t0.Add(4*time.Minute), now, 2)
	require.NoError(t, err)
	assert.Equal(t, []string{"p4", "p2"}, ids(got), "limit")

	got, err = s.Due(ctx, t0.Add(-time.Second), now, 10)
	require.NoError(t, err)
	assert.Empty(t, got, "none created before the cutoff")

	got, err = s.Due(ctx, now, now, 0)
	require.NoError(t, err)
	assert.Empty(t, got, "limit 0")

	// Checked ones are due at their NextCheck, earliest first, after every
	// never-checked one that is due.
	require.NoError(t, s.Reschedule(ctx, "p0", now.Add(3*time.Minute)))
	require.NoError(t, s.Reschedule(ctx, "p1", now.Add(time.Minute)))
	require.NoError(t, s.Reschedule(ctx, "p2", now.Add(2*time.Minute)))
	got, err = s.Due(ctx, now, now, 10)
	require.NoError(t, err)
	assert.Equal(t, []string{"p5", "p4"}, ids(got), "rescheduled ones wait for their NextCheck")

	got, err = s.Due(ctx, now, now.Add(2*time.Minute), 10)
	require.NoError(t, err)
	assert.Equal(t, []string{"p5", "p4", "p1", "p2"}, ids(got), "then by NextCheck, inclusive")

	got, err = s.Due(ctx, now, now.Add(time.Hour), 3)
	require.NoError(t, err)
	assert.Equal(t, []string{"p5", "p4", "p1"}, ids(got), "the limit counts both")

	// A young never-checked transaction comes before long-overdue checked
	// ones: its merchant is the one waiting.
	require.NoError(t, s.Create(ctx, tx("young", now)))
	got, err = s.Due(ctx, now, now.Add(time.Hour), 1)
	require.NoError(t, err)
	assert.Equal(t, []string{"young"}, ids(got))

	// Once final, out of the index whichever part it was in.
	for _, id := range []string{"p1", "p5"} {
		_, err = s.Finish(ctx, id, store.Passed, result("ev-"+id, "Y", now))
		require.NoError(t, err)
	}
	got, err = s.Due(ctx, now, now.Add(time.Hour), 10)
	require.NoError(t, err)
	assert.Equal(t, []string{"young", "p4", "p2", "p0"}, ids(got))
}

func testReschedule(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	now := c.Now()
	require.NoError(t, s.Create(ctx, tx("r-1", now.Add(-time.Hour))))
	got, err := s.Get(ctx, "r-1")
	require.NoError(t, err)
	assert.Zero(t, got.Checks)
	assert.True(t, got.NextCheck.IsZero())

	next := now.Add(40*time.Minute + 123456*time.Nanosecond)
	require.NoError(t, s.Reschedule(ctx, "r-1", next))
	got, err = s.Get(ctx, "r-1")
	require.NoError(t, err)
	assert.Equal(t, 1, got.Checks)
	sameTime(t, next, got.NextCheck, "NextCheck")
	assert.Equal(t, store.Pending, got.Status)
	assert.Equal(t, "biz-r-1", got.MerchantBizID, "Reschedule keeps the rest")

	// It can also come due sooner than before (a shorter schedule).
	require.NoError(t, s.Reschedule(ctx, "r-1", now.Add(time.Minute)))
	got, err = s.Get(ctx, "r-1")
	require.NoError(t, err)
	assert.Equal(t, 2, got.Checks)
	list, err := s.Due(ctx, now, now.Add(time.Minute), 10)
	require.NoError(t, err)
	assert.Equal(t, []string{"r-1"}, ids(list))
	list, err = s.Due(ctx, now, now.Add(59*time.Second), 10)
	require.NoError(t, err)
	assert.Empty(t, list, "the old NextCheck no longer counts")

	// A final transaction is left as it is.
	_, err = s.Finish(ctx, "r-1", store.Passed, result("ev", "Y", now))
	require.NoError(t, err)
	require.NoError(t, s.Reschedule(ctx, "r-1", now.Add(time.Hour)))
	got, err = s.Get(ctx, "r-1")
	require.NoError(t, err)
	assert.Equal(t, store.Passed, got.Status)
	assert.Equal(t, 2, got.Checks)
	list, err = s.Due(ctx, now, now.Add(2*time.Hour), 10)
	require.NoError(t, err)
	assert.Empty(t, list)
	undelivered, err := s.Undelivered(ctx, now, 10)
	require.NoError(t, err)
	assert.Equal(t, []string{"r-1"}, ids(undelivered), "Reschedule does not touch the delivery index")

	assert.ErrorIs(t, s.Reschedule(ctx, "nope", now), store.ErrNotFound)
	_, err = s.Get(ctx, "nope")
	assert.ErrorIs(t, err, store.ErrNotFound, "Reschedule creates nothing")
}

// A backoff schedule, as the reconciler keeps one: each check that leaves
// the transaction pending pushes it further out, and between two due
// times Due does not list it.
func testBackoff(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	require.NoError(t, s.Create(ctx, tx("b-1", c.Now())))
	first := c.Now()
	interval := time.Minute
	for check := 1; check <= 4; check++ {
		list, err := s.Due(ctx, c.Now(), c.Now(), 10)
		require.NoError(t, err)
		require.Equal(t, []string{"b-1"}, ids(list), "due at check %d", check)
		assert.Equal(t, check-1, list[0].Checks)
		require.NoError(t, s.Reschedule(ctx, "b-1", c.Now().Add(interval)))

		c.Advance(interval - time.Second)
		list, err = s.Due(ctx, first.Add(-time.Second), c.Now(), 10)
		require.NoError(t, err)
		assert.Empty(t, list, "a second before check %d", check+1)
		c.Advance(time.Second)
		interval *= 3 // within the suite's retention of an hour
	}
	got, err := s.Get(ctx, "b-1")
	require.NoError(t, err)
	assert.Equal(t, 4, got.Checks)
}

func testUndelivered(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	now := c.Now()
	for _, id := range []string{"u-a", "u-b", "u-c", "u-d", "u-pending"} {
		require.NoError(t, s.Create(ctx, tx(id, now.Add(-time.Hour))))
	}
	for _, id := range []string{"u-a", "u-b", "u-c", "u-d"} {
		_, err := s.Finish(ctx, id, store.Passed, result("ev-"+id, "Y", now))
		require.NoError(t, err)
	}
	// Just finished: due at once, ordered by id at equal due times.
	got, err := s.Undelivered(ctx, now, 10)
	require.NoError(t, err)
	assert.Equal(t, []string{"u-a", "u-b", "u-c", "u-d"}, ids(got), "recorded results are due at once; pending ones never listed")

	require.NoError(t, s.SetDelivery(ctx, "u-a", store.Delivery{Attempts: 1, NextAttempt: now.Add(10 * time.Minute), LastError: "503"}))
	require.NoError(t, s.SetDelivery(ctx, "u-b", store.Delivery{Attempts: 1, Delivered: true}))
	require.NoError(t, s.SetDelivery(ctx, "u-c", store.Delivery{Attempts: 2, NextAttempt: now.Add(5 * time.Minute)}))

	got, err = s.Undelivered(ctx, now, 10)
	require.NoError(t, err)
	assert.Equal(t, []string{"u-d"}, ids(got), "not yet due and delivered ones left out")

	got, err = s.Undelivered(ctx, now.Add(10*time.Minute), 10)
	require.NoError(t, err)
	assert.Equal(t, []string{"u-d", "u-c", "u-a"}, ids(got), "by next attempt, due time inclusive")
	assert.Equal(t, 2, got[1].Delivery.Attempts)

	got, err = s.Undelivered(ctx, now.Add(time.Hour), 2)
	require.NoError(t, err)
	assert.Equal(t, []string{"u-d", "u-c"}, ids(got), "limit")
}

func testSetDelivery(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	require.NoError(t, s.Create(ctx, tx("d-1", c.Now())))
	err := s.SetDelivery(ctx, "d-1", store.Delivery{Delivered: true})
	assert.ErrorIs(t, err, store.ErrNotFinal, "nothing to deliver before a result")

	_, err = s.Finish(ctx, "d-1", store.Failed, result("ev", "N", c.Now()))
	require.NoError(t, err)
	d := store.Delivery{Attempts: 3, NextAttempt: c.Now().Add(time.Minute), LastError: "connection refused"}
	require.NoError(t, s.SetDelivery(ctx, "d-1", d))
	got, err := s.Get(ctx, "d-1")
	require.NoError(t, err)
	assert.Equal(t, 3, got.Delivery.Attempts)
	assert.Equal(t, "connection refused", got.Delivery.LastError)
	assert.False(t, got.Delivery.Delivered)
	sameTime(t, d.NextAttempt, got.Delivery.NextAttempt, "NextAttempt")
	assert.Equal(t, store.Failed, got.Status, "SetDelivery keeps the result")
	assert.Equal(t, "ev", got.Result.EventID)

	require.NoError(t, s.SetDelivery(ctx, "d-1", store.Delivery{Attempts: 4, Delivered: true}))
	got, err = s.Get(ctx, "d-1")
	require.NoError(t, err)
	assert.True(t, got.Delivery.Delivered)
	assert.Equal(t, 4, got.Delivery.Attempts)
	// A later Finish (a late callback) must not reset the delivery.
	recorded, err := s.Finish(ctx, "d-1", store.Passed, result("ev-2", "Y", c.Now()))
	require.NoError(t, err)
	assert.False(t, recorded)
	got, err = s.Get(ctx, "d-1")
	require.NoError(t, err)
	assert.True(t, got.Delivery.Delivered)
}

func testExpiry(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	require.NoError(t, s.Create(ctx, tx("old", c.Now())))
	require.NoError(t, s.Create(ctx, tx("old-final", c.Now())))
	_, err := s.Finish(ctx, "old-final", store.Passed, result("ev", "Y", c.Now()))
	require.NoError(t, err)

	c.Advance(retention - time.Minute)
	require.NoError(t, s.Create(ctx, tx("young", c.Now())))
	_, err = s.Get(ctx, "old")
	require.NoError(t, err, "still within retention")

	c.Advance(time.Minute)
	_, err = s.Get(ctx, "old")
	assert.ErrorIs(t, err, store.ErrNotFound, "expired after retention")
	_, err = s.Get(ctx, "old-final")
	assert.ErrorIs(t, err, store.ErrNotFound)
	recorded, err := s.Finish(ctx, "old", store.Passed, result("ev", "Y", c.Now()))
	assert.ErrorIs(t, err, store.ErrNotFound)
	assert.False(t, recorded)
	assert.ErrorIs(t, s.SetDelivery(ctx, "old-final", store.Delivery{Delivered: true}), store.ErrNotFound)

	got, err := s.Due(ctx, c.Now(), c.Now(), 10)
	require.NoError(t, err)
	assert.Equal(t, []string{"young"}, ids(got), "expired records are not due")
	got, err = s.Undelivered(ctx, c.Now(), 10)
	require.NoError(t, err)
	assert.Empty(t, got, "expired records are not undelivered")

	// The id is free again.
	require.NoError(t, s.Create(ctx, tx("old", c.Now())))
	g, err := s.Get(ctx, "old")
	require.NoError(t, err)
	sameTime(t, c.Now(), g.CreatedAt, "the new record")
	got, err = s.Due(ctx, c.Now(), c.Now(), 10)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"young", "old"}, ids(got))
}

// Backlog is n abandoned pending transactions created over the last 29
// days, as a reconciler that fell behind leaves them: the even ones never
// checked, the odd ones checked once and overdue since, one in ten a Zhima
// certification. Their ids are unknown upstream, as those of transactions
// the service has forgotten. Scale tests load it with Redis.CreateMany.
func Backlog(n int, now time.Time) []store.Transaction {
	out := make([]store.Transaction, n)
	span := 29 * 24 * time.Hour
	for i := range out {
		created := now.Add(-span + time.Duration(i)*span/time.Duration(n)).Add(-time.Hour)
		tx := store.Transaction{TransactionID: fmt.Sprintf("hkabandoned%06d", i), MerchantBizID: fmt.Sprintf("bizabandoned%06d", i),
			UserHash: strings.Repeat("ab", 32), CreatedAt: created}
		if i%10 == 0 {
			tx.Kind, tx.TransactionID, tx.MerchantBizID = store.KindZhima, fmt.Sprintf("ZMabandoned%06d", i), fmt.Sprintf("ZM_abandoned_%06d", i)
		}
		if i%2 == 1 {
			tx.Checks, tx.NextCheck = 1, created.Add(time.Hour)
		}
		out[i] = tx
	}
	return out
}

// KeyLookups is the number of keys the Redis servers at addrs have looked up
// (INFO stats keyspace_hits + keyspace_misses): every key a command reads,
// an index set or a record. Scale tests take it before and after a call
// to count what the call read.
func KeyLookups(t testing.TB, addrs ...string) int64 {
	t.Helper()
	return RedisInfo(t, "stats", addrs, "keyspace_hits", "keyspace_misses")
}
