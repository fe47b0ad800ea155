package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/internal/testbody"
	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/auth"
	"github.com/idverify/fc-kyc/pkg/cloudauth"
	"github.com/idverify/fc-kyc/pkg/idempotency"
	"github.com/idverify/fc-kyc/pkg/logging"
	"github.com/idverify/fc-kyc/pkg/store"
	"github.com/idverify/fc-kyc/pkg/store/storetest"
)

// brokenStore is a store whose writes fail as an unreachable Redis's do.
type brokenStore struct{ store.Store }

func (brokenStore) Create(context.Context, store.Transaction) error {
	return errors.Join(store.ErrUnavailable, errors.New("dial tcp: connection refused"))
}

func newFileStore(t *testing.T) store.Store {
	t.Helper()
	s, err := store.NewFile(t.TempDir(), store.Options{})
	require.NoError(t, err)
	return s
}

func TestInitializeRecordsAPendingTransaction(t *testing.T) {
	st := newFileStore(t)
	now := time.Unix(1_800_000_000, 0).UTC()
	h := &Handler{Upstream: &fakeUpstream{}, Store: st, Now: func() time.Time { return now }}
	res, err := h.Initialize(context.Background(), testbody.Decode[Request](t, valid()))
	require.NoError(t, err)

	tx, err := st.Get(context.Background(), res.Result.TransactionId)
	require.NoError(t, err)
	sum := sha256.Sum256([]byte("u-123456789"))
	assert.Equal(t, store.Transaction{
		TransactionID: "hk0123",
		MerchantBizID: "e0c34a77f5ac40a5aa5e6ed20c35abcd",
		UserHash:      hex.EncodeToString(sum[:]),
		Status:        store.Pending,
		CreatedAt:     now,
	}, tx)
}

func TestNothingIsRecordedWhenInitializeFails(t *testing.T) {
	st := newFileStore(t)
	h := &Handler{Upstream: &fakeUpstream{err: apierr.New("Throttling.Api", "slow down")}, Store: st, Now: time.Now}
	_, err := h.Initialize(context.Background(), testbody.Decode[Request](t, valid()))
	require.Error(t, err)
	_, err = st.Get(context.Background(), "hk0123")
	assert.ErrorIs(t, err, store.ErrNotFound)
}

// A billed transaction is never thrown away because the store failed: the
// caller gets its id, and the log says which transaction to re-create.
func TestAStoreFailureStillAnswersWithTheTransaction(t *testing.T) {
	var logs bytes.Buffer
	l, err := logging.New(&logs, "info")
	require.NoError(t, err)
	ctx := logging.NewContext(context.Background(), l)

	h := &Handler{Upstream: &fakeUpstream{}, Store: brokenStore{}, Now: time.Now}
	res, err := h.Initialize(ctx, testbody.Decode[Request](t, valid()))
	require.NoError(t, err)
	assert.Equal(t, "hk0123", res.Result.TransactionId)
	assert.Contains(t, logs.String(), `"level":"ERROR"`)
	assert.Contains(t, logs.String(), `"transaction_id":"hk0123"`)
	assert.Contains(t, logs.String(), `"merchant_biz_id":"e0c34a77f5ac40a5aa5e6ed20c35abcd"`)
	assert.NotContains(t, logs.String(), "u-123456789", "no MerchantUserId in the log")
}

// The record names its owner as the idempotency guard does (a keyed hash,
// never the subject), so that the result function shows it to that caller
// only.
func TestTheRecordNamesItsOwner(t *testing.T) {
	st := newFileStore(t)
	guard := &idempotency.Guard{Store: st, Keys: [][]byte{[]byte("owner-test-key-0123456789abcdef0123")}, Window: time.Minute, Wait: time.Second}
	h := &Handler{Upstream: &fakeUpstream{}, Store: st, Starts: guard, Now: time.Now}
	alice := auth.WithIdentity(context.Background(), auth.Identity{Caller: "jwt:0011223344556677", Subject: "alice-subject-hash"})
	res, err := h.Initialize(alice, testbody.Decode[Request](t, valid()))
	require.NoError(t, err)

	tx, err := st.Get(context.Background(), res.Result.TransactionId)
	require.NoError(t, err)
	require.NotEmpty(t, tx.Owner)
	assert.Equal(t, guard.Owner(alice), tx.Owner)
	bob := auth.WithIdentity(context.Background(), auth.Identity{Caller: "jwt:0011223344556677", Subject: "bob-subject-hash"})
	assert.NotEqual(t, guard.Owner(bob), tx.Owner)
	assert.NotContains(t, tx.Owner, "alice")
	got, err := st.Lookup(context.Background(), store.KindEKYC, res.MerchantBizId, guard.Owner(alice))
	require.NoError(t, err)
	assert.Equal(t, tx.TransactionID, got.TransactionID)
}

// hangingUpUpstream succeeds, and the caller hangs up as the answer comes.
type hangingUpUpstream struct {
	fakeUpstream
	hangUp context.CancelFunc
}

func (u *hangingUpUpstream) Initialize(ctx context.Context, r cloudauth.InitializeRequest) (*cloudauth.InitializeResponse, error) {
	res, err := u.fakeUpstream.Initialize(ctx, r)
	u.hangUp()
	return res, err
}

// A billed Initialize is recorded even when the caller hangs up as it
// succeeds: the transaction exists upstream, and its result must not be
// lost with the caller's connection (nor logged as an error).
func TestInitializeRecordsWhenTheCallerHangsUp(t *testing.T) {
	st := newFileStore(t)
	ctx, hangUp := context.WithCancel(context.Background())
	h := &Handler{Upstream: &hangingUpUpstream{hangUp: hangUp}, Store: storetest.ContextBound{Store: st}, Now: time.Now}
	_, _ = h.Initialize(ctx, testbody.Decode[Request](t, valid()))
	require.Error(t, ctx.Err(), "the caller hung up")
	_, err := st.Get(context.Background(), "hk0123")
	assert.NoError(t, err, "the transaction is recorded")
}
