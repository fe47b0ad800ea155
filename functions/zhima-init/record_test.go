package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/internal/testbody"
	"github.com/idverify/fc-kyc/pkg/alipay"
	"github.com/idverify/fc-kyc/pkg/auth"
	"github.com/idverify/fc-kyc/pkg/callbacktoken"
	"github.com/idverify/fc-kyc/pkg/idempotency"
	"github.com/idverify/fc-kyc/pkg/logging"
	"github.com/idverify/fc-kyc/pkg/store"
	"github.com/idverify/fc-kyc/pkg/store/storetest"
)

const recordKey = "0123456789abcdef0123456789abcdef-record"

// downStore fails every Create, as a store that is unreachable would.
type downStore struct{ store.Store }

func (downStore) Create(context.Context, store.Transaction) error {
	return errors.Join(store.ErrUnavailable, errors.New("injected"))
}

func recordHandler(t *testing.T, st store.Store) (*Handler, *callbacktoken.Signer) {
	t.Helper()
	_, gateway := emulatedGateway(t)
	tokens, err := callbacktoken.New([]string{recordKey}, time.Hour)
	require.NoError(t, err)
	return &Handler{Upstream: alipayClient(t, gateway), ProductCode: DefaultProductCode, ReturnURL: returnURL, Now: time.Now,
		Tokens: tokens, Store: st}, tokens
}

// request is body as the operation receives it.
func request(t testing.TB, body map[string]any) Request { return testbody.Decode[Request](t, body) }

func TestInitializeRecordsAndTokensTheReturn(t *testing.T) {
	st, err := store.NewFile(t.TempDir(), store.Options{})
	require.NoError(t, err)
	h, tokens := recordHandler(t, st)
	res, err := h.Initialize(context.Background(), request(t, with("transaction_id", "ZM_record_1")))
	require.NoError(t, err)

	tx, err := st.Get(context.Background(), res.BizNo)
	require.NoError(t, err, "the certification is recorded under its biz_no")
	assert.Equal(t, store.KindZhima, tx.Kind)
	assert.Equal(t, "ZM_record_1", tx.MerchantBizID)
	assert.Equal(t, store.Pending, tx.Status)
	assert.Empty(t, tx.UserHash, "no authenticated user, no hash")
	assert.WithinDuration(t, time.Now(), tx.CreatedAt, time.Minute)

	// The certify URL's return_url: ZHIMA_RETURN_URL with the ids and a
	// token over both, for the callback.
	u, err := url.Parse(res.CertifyURL)
	require.NoError(t, err)
	ret, err := url.Parse(u.Query().Get("return_url"))
	require.NoError(t, err)
	assert.Equal(t, "merchant.example.com", ret.Host)
	assert.Equal(t, "/zhima/return", ret.Path)
	q := ret.Query()
	assert.Equal(t, "test", q.Get("from"), "the configured query stays")
	assert.Equal(t, res.BizNo, q.Get(returnBizNo))
	assert.Equal(t, "ZM_record_1", q.Get(returnTransactionID))
	token := q.Get(returnToken)
	assert.NoError(t, tokens.Verify(callbacktoken.ZhimaReturn, callbacktoken.ZhimaSubject(res.BizNo, "ZM_record_1"), token, time.Now()))
	assert.Error(t, tokens.Verify(callbacktoken.ZhimaReturn, callbacktoken.ZhimaSubject(res.BizNo, "ZM_other"), token, time.Now()), "bound to the transaction_id")
	assert.Error(t, tokens.Verify(callbacktoken.EKYCCallback, res.BizNo, token, time.Now()), "not an eKYC token")
}

// A store failure after the billed initialize does not fail the answer:
// the caller gets its biz_no, and the log says what to do.
func TestInitializeAnswersWhenTheStoreIsDown(t *testing.T) {
	fs, err := store.NewFile(t.TempDir(), store.Options{})
	require.NoError(t, err)
	h, _ := recordHandler(t, downStore{fs})
	var log bytes.Buffer
	ctx := logging.NewContext(context.Background(), slog.New(slog.NewJSONHandler(&log, nil)))
	res, err := h.Initialize(ctx, request(t, validBody()))
	require.NoError(t, err)
	assert.NotEmpty(t, res.BizNo)
	assert.NotEmpty(t, res.CertifyURL)
	assert.Contains(t, log.String(), "certification not recorded")
	assert.Contains(t, log.String(), res.BizNo)
}

// The certification names its owner as the idempotency guard does, so
// that the result function shows it to that caller only, by its
// transaction_id or its biz_no.
func TestTheRecordNamesItsOwner(t *testing.T) {
	st, err := store.NewFile(t.TempDir(), store.Options{})
	require.NoError(t, err)
	h, _ := recordHandler(t, st)
	h.Starts = &idempotency.Guard{Store: st, Keys: [][]byte{[]byte("owner-test-key-0123456789abcdef0123")}, Window: time.Minute, Wait: time.Second}
	alice := auth.WithIdentity(context.Background(), auth.Identity{Caller: "key:0011223344556677"})
	res, err := h.Initialize(alice, request(t, with("transaction_id", "ZM_owner_1")))
	require.NoError(t, err)

	tx, err := st.Lookup(context.Background(), store.KindZhima, "ZM_owner_1", h.Starts.Owner(alice))
	require.NoError(t, err)
	assert.Equal(t, res.BizNo, tx.TransactionID)
	bob := auth.WithIdentity(context.Background(), auth.Identity{Caller: "key:8899aabbccddeeff"})
	_, err = st.Lookup(context.Background(), store.KindZhima, "ZM_owner_1", h.Starts.Owner(bob))
	assert.ErrorIs(t, err, store.ErrNotFound, "another API key is another owner")
}

// hangingUpGateway is the gateway, and the caller hangs up as the
// initialize answer comes.
type hangingUpGateway struct {
	Gateway
	hangUp context.CancelFunc
}

func (g hangingUpGateway) ZhimaInitialize(ctx context.Context, biz alipay.ZhimaInitialize) (alipay.ZhimaInitialized, error) {
	res, err := g.Gateway.ZhimaInitialize(ctx, biz)
	g.hangUp()
	return res, err
}

// A certification the gateway started is recorded even when the caller
// hangs up as it starts: it exists upstream, and the callback and its
// reconciler need the record to confirm and deliver its result.
func TestInitializeRecordsWhenTheCallerHangsUp(t *testing.T) {
	st, err := store.NewFile(t.TempDir(), store.Options{})
	require.NoError(t, err)
	h, _ := recordHandler(t, storetest.ContextBound{Store: st})
	ctx, hangUp := context.WithCancel(context.Background())
	h.Upstream = hangingUpGateway{Gateway: h.Upstream, hangUp: hangUp}
	res, err := h.Initialize(ctx, request(t, with("transaction_id", "ZM_hangup_1")))
	require.NoError(t, err, "the answer needs no more of the caller's context")
	require.Error(t, ctx.Err(), "the caller hung up")
	tx, err := st.Get(context.Background(), res.BizNo)
	require.NoError(t, err, "the certification is recorded")
	assert.Equal(t, "ZM_hangup_1", tx.MerchantBizID)
}
