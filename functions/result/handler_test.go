package main

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/auth"
	"github.com/idverify/fc-kyc/pkg/idempotency"
	"github.com/idverify/fc-kyc/pkg/store"
)

var (
	alice = auth.WithIdentity(context.Background(), auth.Identity{Caller: "jwt:0011223344556677", Subject: "alice-subject-hash"})
	bob   = auth.WithIdentity(context.Background(), auth.Identity{Caller: "jwt:0011223344556677", Subject: "bob-subject-hash"})
)

// fixtureGuard makes owner hashes under keys (a test key when none).
func fixtureGuard(keys ...string) *idempotency.Guard {
	if len(keys) == 0 {
		keys = []string{"result-test-key-0123456789abcdef0123"}
	}
	g := &idempotency.Guard{Window: time.Minute}
	for _, k := range keys {
		g.Keys = append(g.Keys, []byte(k))
	}
	return g
}

// fixture is a handler over a file store holding alice's eKYC transaction
// (order A1, TransactionId tx-a1) and Zhima certification (transaction_id
// ZM_A1, biz_no ZM2026A1), as ekyc-init and zhima-init record them.
func fixture(t testing.TB, keys ...string) (*Handler, store.Store) {
	t.Helper()
	st, err := store.NewFile(t.TempDir(), store.Options{})
	require.NoError(t, err)
	g := fixtureGuard(keys...)
	g.Store = st
	ctx := context.Background()
	require.NoError(t, st.Create(ctx, store.Transaction{TransactionID: "tx-a1", MerchantBizID: "A1", Owner: g.Owner(alice)}))
	require.NoError(t, st.Create(ctx, store.Transaction{TransactionID: "ZM2026A1", MerchantBizID: "ZM_A1", Kind: store.KindZhima, Owner: g.Owner(alice)}))
	return &Handler{Store: st, Owners: g}, st
}

func TestTheOwnerReadsItsResult(t *testing.T) {
	h, st := fixture(t)
	got, err := h.Result(alice, Request{MerchantBizId: "A1"})
	require.NoError(t, err)
	assert.Equal(t, Response{Kind: "ekyc", MerchantBizID: "A1", TransactionID: "tx-a1", Status: "pending"}, got)

	at := time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC)
	_, err = st.Finish(context.Background(), "tx-a1", store.Failed, store.Result{EventID: "ev", Passed: "N", SubCode: "205", RecordedAt: at})
	require.NoError(t, err)
	got, err = h.Result(alice, Request{MerchantBizId: "A1"})
	require.NoError(t, err)
	assert.Equal(t, Response{Kind: "ekyc", MerchantBizID: "A1", TransactionID: "tx-a1", Status: "failed", Passed: "N", SubCode: "205", RecordedAt: &at}, got)

	for _, req := range []Request{{TransactionID: "ZM_A1"}, {BizNo: "ZM2026A1"}} {
		got, err = h.Result(alice, req)
		require.NoError(t, err, "%+v", req)
		assert.Equal(t, Response{Kind: "zhima", MerchantBizID: "ZM_A1", TransactionID: "ZM2026A1", Status: "pending"}, got)
	}
}

// Bob, an unknown id, an id of the other kind and a record without an
// owner all get one and the same answer.
func TestEverythingElseIsTheSameNotFound(t *testing.T) {
	h, st := fixture(t)
	require.NoError(t, st.Create(context.Background(), store.Transaction{TransactionID: "tx-none", MerchantBizID: "N1"}))
	cases := []struct {
		ctx context.Context
		req Request
	}{
		{bob, Request{MerchantBizId: "A1"}},
		{bob, Request{TransactionID: "ZM_A1"}},
		{bob, Request{BizNo: "ZM2026A1"}},
		{alice, Request{MerchantBizId: "A2"}},
		{alice, Request{BizNo: "tx-a1"}},                     // an eKYC TransactionId is no biz_no
		{alice, Request{MerchantBizId: "ZMA1"}},              // nor a Zhima id a MerchantBizId
		{alice, Request{TransactionID: "A1"}},                // nor an eKYC order a Zhima one
		{alice, Request{MerchantBizId: "N1"}},                // recorded without an owner
		{context.Background(), Request{MerchantBizId: "A1"}}, // the anonymous caller
	}
	var first *apierr.Error
	for _, c := range cases {
		_, err := h.Result(c.ctx, c.req)
		require.Error(t, err, "%+v", c.req)
		e := apierr.As(err)
		assert.Equal(t, http.StatusNotFound, apierr.Status(err), "%+v", c.req)
		if first == nil {
			first = e
		}
		assert.Equal(t, apierr.BodyOf(first), apierr.BodyOf(err), "%+v: the answer must not tell the cases apart", c.req)
	}
	assert.Equal(t, NotFound, first.Code)
}

// After IDEMPOTENCY_SECRET is rotated (new key first), records made under
// the old key are still the owner's.
func TestAnOldKeyStillFindsTheOwner(t *testing.T) {
	h, _ := fixture(t, "old-result-key-0123456789abcdef0123")
	h.Owners.Keys = append([][]byte{[]byte("new-result-key-0123456789abcdef0123")}, h.Owners.Keys...)
	_, err := h.Result(alice, Request{MerchantBizId: "A1"})
	require.NoError(t, err)
	_, err = h.Result(alice, Request{BizNo: "ZM2026A1"})
	require.NoError(t, err)
	_, err = h.Result(bob, Request{BizNo: "ZM2026A1"})
	assert.Equal(t, http.StatusNotFound, apierr.Status(err))
}

func TestRequestRules(t *testing.T) {
	h, _ := fixture(t)
	for _, c := range []struct {
		req  Request
		code string
		text string
	}{
		{Request{}, apierr.MissingParameter, "MerchantBizId"},
		{Request{MerchantBizId: "A1", BizNo: "ZM2026A1"}, apierr.InvalidParameter, "exactly one"},
		{Request{MerchantBizId: "A-1"}, apierr.InvalidParameter, "letters and digits"},
		{Request{MerchantBizId: "A123456789012345678901234567890123"}, apierr.InvalidParameter, "MerchantBizId"},
		{Request{TransactionID: "ZM A1"}, apierr.InvalidParameter, "transaction_id"},
		{Request{BizNo: "ZM/../1"}, apierr.InvalidParameter, "biz_no"},
		{Request{MerchantBizId: "A1", Wait: 21}, apierr.InvalidParameter, "wait"},
		{Request{MerchantBizId: "A1", Wait: -1}, apierr.InvalidParameter, "wait"},
	} {
		_, err := h.Result(alice, c.req)
		require.Error(t, err, "%+v", c.req)
		assert.Equal(t, c.code, apierr.As(err).Code, "%+v", c.req)
		assert.Contains(t, apierr.As(err).Message, c.text)
		assert.Equal(t, http.StatusBadRequest, apierr.Status(err))
	}
}

// A wait ends as soon as the result is recorded, not at its end.
func TestWaitEndsWhenTheResultIsRecorded(t *testing.T) {
	h, st := fixture(t)
	go func() {
		time.Sleep(300 * time.Millisecond)
		_, _ = st.Finish(context.Background(), "tx-a1", store.Passed, store.Result{EventID: "ev", Passed: "Y", SubCode: "200"})
	}()
	began := time.Now()
	got, err := h.Result(alice, Request{MerchantBizId: "A1", Wait: 20})
	require.NoError(t, err)
	assert.Equal(t, "passed", got.Status)
	assert.Equal(t, "Y", got.Passed)
	assert.Less(t, time.Since(began), 5*time.Second, "the wait did not end with the result")
}

// A wait that meets no result answers pending at its end, and one the
// invocation's deadline cuts short ends before the deadline.
func TestWaitEndsPending(t *testing.T) {
	h, _ := fixture(t)
	got, err := h.Result(alice, Request{MerchantBizId: "A1", Wait: 1})
	require.NoError(t, err)
	assert.Equal(t, "pending", got.Status)
	assert.Nil(t, got.RecordedAt)

	ctx, cancel := context.WithTimeout(alice, 1500*time.Millisecond)
	defer cancel()
	got, err = h.Result(ctx, Request{MerchantBizId: "A1", Wait: 20})
	require.NoError(t, err, "answered within the deadline")
	assert.Equal(t, "pending", got.Status)
}

type downStore struct{ Reader }

func (downStore) Lookup(context.Context, string, string, string) (store.Transaction, error) {
	return store.Transaction{}, errors.Join(store.ErrUnavailable, errors.New("dial tcp: connection refused"))
}

func TestAStoreFailureIsNotANotFound(t *testing.T) {
	h, st := fixture(t)
	h.Store = downStore{st}
	_, err := h.Result(alice, Request{MerchantBizId: "A1"})
	require.Error(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, apierr.Status(err))
	assert.Equal(t, 5*time.Second, apierr.As(err).RetryAfter)
}
