package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/alipay"
	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/callbacktoken"
	"github.com/idverify/fc-kyc/pkg/emulator"
	"github.com/idverify/fc-kyc/pkg/store"
	"github.com/idverify/fc-kyc/pkg/testproc"
	"github.com/idverify/fc-kyc/pkg/webhook"
)

const (
	bizNo     = "044eb82564529b890aeb1a1f5ed42f33"
	zhimaTxID = "ZM20240102030405abcdefgh"
)

// fakeQuerier answers zhima.customer.certification.query from a table and
// counts the calls.
type fakeQuerier struct {
	mu     sync.Mutex
	passed map[string]string // by biz_no: "true" or "false"
	err    error
	calls  int
}

func (f *fakeQuerier) ZhimaQuery(_ context.Context, bizNo string) (alipay.ZhimaResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return alipay.ZhimaResult{}, f.err
	}
	p, ok := f.passed[bizNo]
	if !ok {
		return alipay.ZhimaResult{}, &apierr.Error{Code: "40004", HTTPStatus: http.StatusBadRequest, Message: "INVALID_PARAMETER biz_no"}
	}
	return alipay.ZhimaResult{Code: "10000", Msg: "Success", Passed: p, IdentityInfo: `{"cert_no":"PRIVATE"}`}, nil
}

func (f *fakeQuerier) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func newZhimaFixture(t *testing.T) (*fixture, *fakeQuerier) {
	fx := newFixture(t)
	q := &fakeQuerier{passed: map[string]string{bizNo: "true"}}
	fx.svc.Zhima = &Zhima{Upstream: q, ReturnPath: "/zhima/return"}
	return fx, q
}

func (fx *fixture) createZhima(t *testing.T, bizNo, txID string, age time.Duration) {
	t.Helper()
	require.NoError(t, fx.store.Create(context.Background(), store.Transaction{
		TransactionID: bizNo, MerchantBizID: txID, Kind: store.KindZhima, CreatedAt: fx.now.Add(-age)}))
}

// returnQuery is the return_url's query as zhima-init makes it, plus what
// the gateway may append.
func (fx *fixture) returnQuery(bizNo, txID string) url.Values {
	return url.Values{"bizNo": {bizNo}, "transactionId": {txID},
		"callbackToken": {fx.svc.Tokens.Token(callbacktoken.ZhimaReturn, callbacktoken.ZhimaSubject(bizNo, txID), fx.now)}, "biz_no": {bizNo}}
}

func (fx *fixture) browse(t *testing.T, q url.Values) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	fx.svc.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/zhima/return?"+q.Encode(), nil))
	return rec
}

func TestZhimaReturnRecordsOnceAndDeliversOnce(t *testing.T) {
	fx, q := newZhimaFixture(t)
	fx.createZhima(t, bizNo, zhimaTxID, time.Minute)

	for i := range 3 {
		rec := fx.browse(t, fx.returnQuery(bizNo, zhimaTxID))
		require.Equal(t, http.StatusOK, rec.Code, "return %d: %s", i, rec.Body)
		assert.Contains(t, rec.Header().Get("Content-Type"), "text/html")
		assert.Contains(t, rec.Body.String(), "finished")
		assert.NotContains(t, rec.Body.String(), "PRIVATE")
	}
	assert.Equal(t, 1, q.count(), "a repeated return costs no query")
	assert.Equal(t, 0, fx.up.count(), "a Zhima result is never asked of CheckResult")
	tx := fx.tx(t, bizNo)
	assert.Equal(t, store.Passed, tx.Status)
	require.NotNil(t, tx.Result)
	assert.Equal(t, "true", tx.Result.Passed)
	assert.True(t, tx.Delivery.Delivered)
	events := fx.hook.Events()
	require.Len(t, events, 1)
	assert.Equal(t, webhook.Event{ID: eventID(bizNo), Type: ZhimaEventType, TransactionID: bizNo, MerchantBizID: zhimaTxID,
		Status: "passed", Passed: "true", RecordedAt: fx.now}, events[0])
}

func TestZhimaReturnFailedAndRedirect(t *testing.T) {
	fx, q := newZhimaFixture(t)
	q.passed[bizNo] = "false"
	fx.svc.Zhima.DoneURL = "https://merchant.example.com/done?from=zhima"
	fx.createZhima(t, bizNo, zhimaTxID, time.Minute)
	rec := fx.browse(t, fx.returnQuery(bizNo, zhimaTxID))
	require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
	loc, err := url.Parse(rec.Header().Get("Location"))
	require.NoError(t, err)
	assert.Equal(t, "merchant.example.com", loc.Host)
	assert.Equal(t, url.Values{"from": {"zhima"}, "transaction_id": {zhimaTxID}, "biz_no": {bizNo}}, loc.Query())
	assert.Equal(t, store.Failed, fx.tx(t, bizNo).Status)
	require.Len(t, fx.hook.Events(), 1)
	assert.Equal(t, "false", fx.hook.Events()[0].Passed)
}

// TestZhimaUnfinishedIsNotFailed: "false" before SettleAfter leaves the
// certification pending, through the return and through the timer, and
// posts nothing; the user's later pass is recorded as passed. A "false"
// still there after SettleAfter is recorded as failed, once.
func TestZhimaUnfinishedIsNotFailed(t *testing.T) {
	fx, q := newZhimaFixture(t)
	fx.svc.Zhima.SettleAfter = time.Hour
	fx.svc.ReconcileAfter = time.Minute
	fx.createZhima(t, bizNo, zhimaTxID, 2*time.Minute)
	q.passed[bizNo] = "false" // the user is not done, or failed a first try

	rec := fx.browse(t, fx.returnQuery(bizNo, zhimaTxID))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Contains(t, rec.Body.String(), "being confirmed")
	rep, err := fx.svc.Reconcile(context.Background(), ReconcileRequest{})
	require.NoError(t, err)
	assert.Equal(t, 1, rep.StillPending, "%+v", rep)
	assert.Zero(t, rep.Recorded)
	assert.Equal(t, store.Pending, fx.tx(t, bizNo).Status)
	assert.Empty(t, fx.hook.Events(), "no provisional failure is posted")

	q.passed[bizNo] = "true" // the user passes, late
	fx.now = fx.now.Add(40 * time.Minute)
	rep, err = fx.svc.Reconcile(context.Background(), ReconcileRequest{})
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Recorded, "%+v", rep)
	tx := fx.tx(t, bizNo)
	assert.Equal(t, store.Passed, tx.Status)
	require.Len(t, fx.hook.Events(), 1)
	assert.Equal(t, "passed", fx.hook.Events()[0].Status)
	assert.Equal(t, "true", fx.hook.Events()[0].Passed)
	assert.Equal(t, 3, q.count())

	t.Run("still false after SettleAfter: failed", func(t *testing.T) {
		const other = "144eb82564529b890aeb1a1f5ed42f34"
		fx.createZhima(t, other, "ZM_other", 2*time.Minute)
		q.passed[other] = "false"
		rec := fx.browse(t, fx.returnQuery(other, "ZM_other"))
		assert.Contains(t, rec.Body.String(), "being confirmed")
		fx.now = fx.now.Add(time.Hour)
		rec = fx.browse(t, fx.returnQuery(other, "ZM_other"))
		assert.Contains(t, rec.Body.String(), "finished")
		assert.Equal(t, store.Failed, fx.tx(t, other).Status)
		require.Len(t, fx.hook.Events(), 2)
		assert.Equal(t, "failed", fx.hook.Events()[1].Status)
	})
}

func TestZhimaReturnRefusals(t *testing.T) {
	fx, q := newZhimaFixture(t)
	fx.createZhima(t, bizNo, zhimaTxID, time.Minute)
	fx.create(t, txID, bizID, time.Minute) // an eKYC transaction
	good := fx.returnQuery(bizNo, zhimaTxID)
	with := func(k, v string) url.Values {
		c := url.Values{}
		for kk, vv := range good {
			c[kk] = vv
		}
		c.Set(k, v)
		return c
	}
	tok := good.Get("callbackToken")
	for _, tt := range []struct {
		name string
		q    url.Values
		want int
	}{
		{"no token", with("callbackToken", ""), http.StatusBadRequest},
		{"no biz_no", with("bizNo", ""), http.StatusBadRequest},
		{"token twice", url.Values{"bizNo": {bizNo}, "transactionId": {zhimaTxID}, "callbackToken": {tok, tok}}, http.StatusBadRequest},
		{"forged token", with("callbackToken", "v1.9999999999.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), http.StatusForbidden},
		{"altered token", with("callbackToken", tok[:len(tok)-2]+"AA"), http.StatusForbidden},
		{"another biz_no", with("bizNo", strings.Repeat("0", 32)), http.StatusForbidden},
		{"another transaction_id", with("transactionId", "ZM_other"), http.StatusForbidden},
		{"expired", with("callbackToken", fx.svc.Tokens.Token(callbacktoken.ZhimaReturn, callbacktoken.ZhimaSubject(bizNo, zhimaTxID), fx.now.Add(-2*time.Hour))), http.StatusForbidden},
		{"an eKYC token for the same id", with("callbackToken", fx.svc.Tokens.Token(callbacktoken.EKYCCallback, zhimaTxID, fx.now)), http.StatusForbidden},
		{"an eKYC token for the subject", with("callbackToken", fx.svc.Tokens.Token(callbacktoken.EKYCCallback, callbacktoken.ZhimaSubject(bizNo, zhimaTxID), fx.now)), http.StatusForbidden},
		{"a split moved across the separator", url.Values{"bizNo": {bizNo + ":" + zhimaTxID[:4]}, "transactionId": {zhimaTxID[4:]},
			"callbackToken": {fx.svc.Tokens.Token(callbacktoken.ZhimaReturn, callbacktoken.ZhimaSubject(bizNo+":"+zhimaTxID[:4], zhimaTxID[4:]), fx.now)}}, http.StatusBadRequest},
		{"transactionId with a colon", with("transactionId", "a:b"), http.StatusBadRequest},
		// A valid token for ids that name an eKYC record: refused, not queried.
		{"a record of another kind", url.Values{"bizNo": {txID}, "transactionId": {bizID},
			"callbackToken": {fx.svc.Tokens.Token(callbacktoken.ZhimaReturn, callbacktoken.ZhimaSubject(txID, bizID), fx.now)}}, http.StatusForbidden},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := fx.browse(t, tt.q)
			assert.Equal(t, tt.want, rec.Code, rec.Body.String())
			assert.Contains(t, rec.Header().Get("Content-Type"), "text/html")
		})
	}
	assert.Zero(t, q.count(), "no refused return costs a query")
	assert.Equal(t, store.Pending, fx.tx(t, bizNo).Status)
	assert.Empty(t, fx.hook.Events())

	rec := httptest.NewRecorder()
	fx.svc.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/zhima/return?"+good.Encode(), nil))
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	assert.Equal(t, "GET", rec.Header().Get("Allow"))
}

func TestZhimaReturnFailuresAnswer5xxAndTheTimerRecovers(t *testing.T) {
	fx, q := newZhimaFixture(t)
	fx.createZhima(t, bizNo, zhimaTxID, time.Minute)
	q.err = &apierr.Error{Code: "20000", HTTPStatus: http.StatusServiceUnavailable, Message: "Service Currently Unavailable"}
	rec := fx.browse(t, fx.returnQuery(bizNo, zhimaTxID))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, store.Pending, fx.tx(t, bizNo).Status)

	q.err = nil
	fx.store.setFail("Finish", true)
	rec = fx.browse(t, fx.returnQuery(bizNo, zhimaTxID))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, store.Pending, fx.tx(t, bizNo).Status)
	fx.store.setFail("Finish", false)

	// The user never comes back: the timer confirms it.
	fx.now = fx.now.Add(time.Hour)
	rep, err := fx.svc.Reconcile(context.Background(), ReconcileRequest{})
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Recorded, "%+v", rep)
	assert.Equal(t, 1, rep.Delivered)
	assert.Equal(t, store.Passed, fx.tx(t, bizNo).Status)
	require.Len(t, fx.hook.Events(), 1)
	assert.Equal(t, ZhimaEventType, fx.hook.Events()[0].Type)
}

func TestZhimaReturnForACertificationTheStoreMissed(t *testing.T) {
	fx, q := newZhimaFixture(t)
	rec := fx.browse(t, fx.returnQuery(bizNo, zhimaTxID))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, 1, q.count())
	tx := fx.tx(t, bizNo)
	assert.Equal(t, store.KindZhima, tx.Kind)
	assert.Equal(t, zhimaTxID, tx.MerchantBizID)
	assert.Equal(t, store.Passed, tx.Status)
}

func TestReconcileMixesKinds(t *testing.T) {
	fx, q := newZhimaFixture(t)
	fx.createZhima(t, bizNo, zhimaTxID, time.Hour)
	fx.create(t, txID, bizID, time.Hour)
	rep, err := fx.svc.Reconcile(context.Background(), ReconcileRequest{})
	require.NoError(t, err)
	assert.Equal(t, 2, rep.Recorded, "%+v", rep)
	assert.Equal(t, 1, q.count(), "the Zhima one by the query")
	assert.Equal(t, 1, fx.up.count(), "the eKYC one by CheckResult")
	types := map[string]string{}
	for _, e := range fx.hook.Events() {
		types[e.TransactionID] = e.Type
	}
	assert.Equal(t, map[string]string{bizNo: ZhimaEventType, txID: webhook.EventType}, types)
}

// Without the Alipay configuration the callback still serves eKYC: a
// pending Zhima certification is an error of each run (logged), never a
// stop, and the return path is not served.
func TestZhimaUnconfigured(t *testing.T) {
	fx := newFixture(t)
	fx.createZhima(t, bizNo, zhimaTxID, time.Hour)
	fx.create(t, txID, bizID, time.Hour)
	rep, err := fx.svc.Reconcile(context.Background(), ReconcileRequest{})
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Recorded, "%+v", rep)
	assert.Equal(t, 1, rep.Errors)
	assert.Equal(t, store.Pending, fx.tx(t, bizNo).Status)

	rec := fx.browse(t, fx.returnQuery(bizNo, zhimaTxID))
	assert.Equal(t, http.StatusBadRequest, rec.Code, "the eKYC callback answers: no merchantBizId")
}

func TestZhimaFromEnv(t *testing.T) {
	for _, k := range []string{"ZHIMA_RETURN_URL", "ALIPAY_APP_ID", "ALIPAY_PRIVATE_KEY", "ALIPAY_PUBLIC_KEY", "ALIPAY_APP_CERT", "ZHIMA_DONE_URL"} {
		t.Setenv(k, "")
	}
	z, err := zhimaFromEnv()
	require.NoError(t, err)
	assert.Nil(t, z, "eKYC only")

	t.Setenv("ZHIMA_RETURN_URL", "https://cb.example.com/kyc/zhima/return")
	_, err = zhimaFromEnv()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ALIPAY_APP_ID is required")
}

func TestZhimaSettleAfterFromEnv(t *testing.T) {
	for _, k := range []string{"ZHIMA_RETURN_URL", "ALIPAY_APP_CERT", "ZHIMA_DONE_URL", "ZHIMA_SETTLE_AFTER", "ALIPAY_PRIVATE_KEY_FILE"} {
		t.Setenv(k, "") // restored after the test
		os.Unsetenv(k)
	}
	t.Setenv("ALIPAY_APP_ID", emulator.AlipayTestAppID)
	t.Setenv("ALIPAY_PRIVATE_KEY", emulator.AlipayTestAppPrivateKey)
	t.Setenv("ALIPAY_PUBLIC_KEY", emulator.AlipayTestPublicKey)
	z, err := zhimaFromEnv()
	require.NoError(t, err)
	assert.Equal(t, defaultSettleAfter, z.SettleAfter)
	t.Setenv("ZHIMA_SETTLE_AFTER", "20m")
	z, err = zhimaFromEnv()
	require.NoError(t, err)
	assert.Equal(t, 20*time.Minute, z.SettleAfter)
	t.Setenv("ZHIMA_SETTLE_AFTER", "0s")
	_, err = zhimaFromEnv()
	assert.ErrorContains(t, err, "ZHIMA_SETTLE_AFTER")
}

// The Kind field survives both drivers, through Create, Finish and
// SetDelivery: a Zhima certification is confirmed by the query, and posted
// as a Zhima event, whichever store holds it.
func TestZhimaKindSurvivesBothDrivers(t *testing.T) {
	for _, tt := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"file", func(t *testing.T) string { return "file://" + t.TempDir() }},
		{"redis", func(t *testing.T) string { return testproc.Redis(t).URL }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fx, q := newZhimaFixture(t)
			st, err := store.Open(context.Background(), tt.url(t))
			require.NoError(t, err)
			t.Cleanup(func() { st.Close() })
			fx.store.Store = st
			fx.createZhima(t, bizNo, zhimaTxID, time.Minute)
			assert.Equal(t, store.KindZhima, fx.tx(t, bizNo).Kind, "after Create")

			rec := fx.browse(t, fx.returnQuery(bizNo, zhimaTxID))
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			assert.Equal(t, 1, q.count())
			assert.Zero(t, fx.up.count())
			tx := fx.tx(t, bizNo)
			assert.Equal(t, store.KindZhima, tx.Kind, "after Finish and SetDelivery")
			assert.Equal(t, store.Passed, tx.Status)
			assert.True(t, tx.Delivery.Delivered)
			require.Len(t, fx.hook.Events(), 1)
			assert.Equal(t, ZhimaEventType, fx.hook.Events()[0].Type)
		})
	}
}
