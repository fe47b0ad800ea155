package main

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/store"
)

// countingStore counts what a run reads from the store and what it writes
// back: records returned by the scans, Gets, and the read-modify-writes of
// Finish, Reschedule and SetDelivery (one record read each).
type countingStore struct {
	store.Store
	mu sync.Mutex
	n  storeCounts
}

type storeCounts struct {
	DueCalls, DueRecords, Undelivered   int
	Gets, Finishes, Reschedules, SetDel int
}

func (c *countingStore) Due(ctx context.Context, firstBefore, now time.Time, limit int) ([]store.Transaction, error) {
	ts, err := c.Store.Due(ctx, firstBefore, now, limit)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n.DueCalls++
	c.n.DueRecords += len(ts)
	return ts, err
}

func (c *countingStore) Undelivered(ctx context.Context, due time.Time, limit int) ([]store.Transaction, error) {
	ts, err := c.Store.Undelivered(ctx, due, limit)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n.Undelivered += len(ts)
	return ts, err
}

func (c *countingStore) Get(ctx context.Context, id string) (store.Transaction, error) {
	c.mu.Lock()
	c.n.Gets++
	c.mu.Unlock()
	return c.Store.Get(ctx, id)
}

func (c *countingStore) Finish(ctx context.Context, id string, s store.Status, r store.Result) (bool, error) {
	c.mu.Lock()
	c.n.Finishes++
	c.mu.Unlock()
	return c.Store.Finish(ctx, id, s, r)
}

func (c *countingStore) Reschedule(ctx context.Context, id string, next time.Time) error {
	c.mu.Lock()
	c.n.Reschedules++
	c.mu.Unlock()
	return c.Store.Reschedule(ctx, id, next)
}

func (c *countingStore) SetDelivery(ctx context.Context, id string, d store.Delivery) error {
	c.mu.Lock()
	c.n.SetDel++
	c.mu.Unlock()
	return c.Store.SetDelivery(ctx, id, d)
}

// reset returns the counts so far and starts again from zero.
func (c *countingStore) reset() storeCounts {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = storeCounts{}
	return n
}

// Among many pending transactions a run reads, and writes back, at most
// RECONCILE_BATCH of them: one Due call returning at most the batch, no
// Get, one Finish or Reschedule per transaction checked; and the lost
// callback's transaction, the newest, is among them.
func TestReconcileReadsOnlyTheBatch(t *testing.T) {
	fx := newFixture(t) // Batch 5
	counting := &countingStore{Store: fx.svc.Store}
	fx.svc.Store = counting
	fx.up.passed = map[string]string{}
	for i := range 60 {
		id := fmt.Sprintf("hkabandoned%02d", i)
		fx.create(t, id, bizID, 48*time.Hour+time.Duration(i)*time.Minute)
		fx.up.passed[id] = "P"
	}
	fx.create(t, "hklost", bizID, 15*time.Minute)
	fx.up.passed["hklost"] = "Y"

	for run := 1; run <= 3; run++ {
		calls := fx.up.count()
		rep, err := fx.svc.Reconcile(context.Background(), ReconcileRequest{})
		require.NoError(t, err)
		n := counting.reset()
		t.Logf("run %d: %+v; store: %+v", run, rep, n)
		assert.Equal(t, 1, n.DueCalls)
		assert.LessOrEqual(t, n.DueRecords, fx.svc.Batch, "pending records read")
		assert.Zero(t, n.Gets)
		assert.LessOrEqual(t, n.Finishes+n.Reschedules, fx.svc.Batch, "one write per check")
		assert.LessOrEqual(t, fx.up.count()-calls, fx.svc.Batch, "CheckResult calls")
		assert.LessOrEqual(t, n.Undelivered, fx.svc.Batch)
		assert.LessOrEqual(t, n.SetDel, fx.svc.Batch)
		if run == 1 {
			assert.Equal(t, store.Passed, fx.tx(t, "hklost").Status, "the lost callback's result, in the first run")
			assert.Len(t, fx.hook.Events(), 1)
		}
		fx.now = fx.now.Add(time.Minute)
	}
}
