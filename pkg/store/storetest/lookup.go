package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/store"
)

// Owners as the result function stores them: keyed hashes, opaque here.
const (
	alice = "owner-hash-alice"
	bob   = "owner-hash-bob"
)

func owned(id, bizID, kind, owner string, created time.Time) store.Transaction {
	t := tx(id, created)
	t.MerchantBizID, t.Kind, t.Owner = bizID, kind, owner
	return t
}

// testLookup: an owner finds its transaction by its order id and kind, the
// newest when it reused the id; another owner, another kind, an unknown id,
// no owner and an expired record all give ErrNotFound alike; the Owner
// survives Finish.
func testLookup(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	require.NoError(t, s.Create(ctx, owned("tx-a1", "order-1", store.KindEKYC, alice, c.Now())))
	require.NoError(t, s.Create(ctx, owned("bizno-a", "order-1", store.KindZhima, alice, c.Now())))
	require.NoError(t, s.Create(ctx, owned("tx-b1", "order-2", "", bob, c.Now())))
	require.NoError(t, s.Create(ctx, owned("tx-none", "order-3", store.KindEKYC, "", c.Now())))

	got, err := s.Lookup(ctx, store.KindEKYC, "order-1", alice)
	require.NoError(t, err)
	assert.Equal(t, "tx-a1", got.TransactionID)
	assert.Equal(t, alice, got.Owner)
	got, err = s.Lookup(ctx, store.KindZhima, "order-1", alice)
	require.NoError(t, err)
	assert.Equal(t, "bizno-a", got.TransactionID, "kinds are apart")
	got, err = s.Lookup(ctx, "", "order-2", bob)
	require.NoError(t, err, "an empty kind is eKYC, as in the record")
	assert.Equal(t, "tx-b1", got.TransactionID)

	for _, q := range []struct{ kind, biz, owner, why string }{
		{store.KindEKYC, "order-1", bob, "another owner's id"},
		{store.KindEKYC, "order-2", alice, "another owner's id"},
		{store.KindZhima, "order-2", bob, "another kind"},
		{store.KindEKYC, "order-9", alice, "an unknown id"},
		{store.KindEKYC, "order-3", "", "no owner"},
		{store.KindEKYC, "tx-a1", alice, "a TransactionID is not an order id"},
	} {
		_, err := s.Lookup(ctx, q.kind, q.biz, q.owner)
		assert.ErrorIs(t, err, store.ErrNotFound, q.why)
	}

	// A result recorded keeps the owner; a reused id finds the newest.
	_, err = s.Finish(ctx, "tx-a1", store.Passed, result("ev-a1", "Y", c.Now()))
	require.NoError(t, err)
	got, err = s.Lookup(ctx, store.KindEKYC, "order-1", alice)
	require.NoError(t, err)
	assert.Equal(t, store.Passed, got.Status)
	assert.Equal(t, alice, got.Owner)
	c.Advance(time.Minute)
	require.NoError(t, s.Create(ctx, owned("tx-a2", "order-1", store.KindEKYC, alice, c.Now())))
	got, err = s.Lookup(ctx, store.KindEKYC, "order-1", alice)
	require.NoError(t, err)
	assert.Equal(t, "tx-a2", got.TransactionID)
	assert.Equal(t, store.Pending, got.Status)

	// Expired with its record.
	c.Advance(retention)
	_, err = s.Lookup(ctx, store.KindEKYC, "order-1", alice)
	assert.ErrorIs(t, err, store.ErrNotFound, "expired")
}
