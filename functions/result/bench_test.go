package main

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/store"
)

// countingReader counts the store reads of the handler.
type countingReader struct {
	Reader
	gets, lookups atomic.Int64
}

func (c *countingReader) Get(ctx context.Context, id string) (store.Transaction, error) {
	c.gets.Add(1)
	return c.Reader.Get(ctx, id)
}

func (c *countingReader) Lookup(ctx context.Context, kind, id, owner string) (store.Transaction, error) {
	c.lookups.Add(1)
	return c.Reader.Lookup(ctx, kind, id, owner)
}

// A wait is cheap: one lookup, then one read of one record per poll, the
// polls backing off to one a second. A 3 s wait that meets no result reads
// one record at 0.2, 0.6, 1.4 and 2.4 s: at most 5 allows for a slow clock.
func TestAWaitReadsLittle(t *testing.T) {
	h, _ := fixture(t)
	c := &countingReader{Reader: h.Store}
	h.Store = c
	got, err := h.Result(alice, Request{MerchantBizId: "A1", Wait: 3})
	require.NoError(t, err)
	assert.Equal(t, "pending", got.Status)
	assert.EqualValues(t, 1, c.lookups.Load())
	assert.LessOrEqual(t, c.gets.Load(), int64(5))
	assert.GreaterOrEqual(t, c.gets.Load(), int64(3), "it polled")

	// A final result answers at once, without polling.
	_, err = h.Store.(*countingReader).Reader.(store.Store).Finish(context.Background(), "tx-a1", store.Passed, store.Result{EventID: "e", Passed: "Y"})
	require.NoError(t, err)
	before := c.gets.Load()
	_, err = h.Result(alice, Request{MerchantBizId: "A1", Wait: 20})
	require.NoError(t, err)
	assert.Equal(t, before, c.gets.Load())
}

// BenchmarkResult is one answer from the file store: a lookup through the
// owner's index entry and one record read.
func BenchmarkResult(b *testing.B) {
	h, _ := fixture(b)
	ctx := alice
	for b.Loop() {
		if _, err := h.Result(ctx, Request{MerchantBizId: "A1"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNotFound is the answer to another caller: the same lookup,
// which finds no index entry.
func BenchmarkNotFound(b *testing.B) {
	h, _ := fixture(b)
	for b.Loop() {
		if _, err := h.Result(bob, Request{MerchantBizId: "A1"}); err == nil {
			b.Fatal("bob read alice's result")
		}
	}
}
