package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/callbacktoken"
	"github.com/idverify/fc-kyc/pkg/cloudauth"
	"github.com/idverify/fc-kyc/pkg/store"
	"github.com/idverify/fc-kyc/pkg/webhook"
	"github.com/idverify/fc-kyc/pkg/webhook/webhooktest"
)

const (
	key       = "0123456789abcdef0123456789abcdef-callback"
	hookKey   = "whsec_0123456789abcdef0123456789abcdef"
	bizID     = "biz0001"
	txID      = "hk0001"
	otherBiz  = "biz0002"
	upstreamR = "CR-REQ-1"
)

// fakeChecker answers CheckResult from a table and counts the calls.
type fakeChecker struct {
	mu     sync.Mutex
	passed map[string]string // by TransactionId
	err    error
	delay  time.Duration
	calls  []cloudauth.CheckResultRequest
}

func (f *fakeChecker) CheckResult(_ context.Context, r cloudauth.CheckResultRequest) (*cloudauth.CheckResultResponse, error) {
	time.Sleep(f.delay)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, r)
	if f.err != nil {
		return nil, f.err
	}
	p, ok := f.passed[r.TransactionId]
	if !ok { // as the emulator answers for an id it never issued
		return nil, apierr.Invalid("TransactionId", "no such transaction")
	}
	sub := map[string]string{"Y": "200", "N": "205"}[p]
	return &cloudauth.CheckResultResponse{RequestId: upstreamR, Code: "Success",
		Result: cloudauth.CheckResultResult{Passed: p, SubCode: sub, ExtIdInfo: `{"name":"PRIVATE"}`}}, nil
}

func (f *fakeChecker) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// flakyStore is the real file store with failures injected by method name.
type flakyStore struct {
	store.Store
	mu   sync.Mutex
	fail map[string]bool
}

func (f *flakyStore) failing(op string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail[op] {
		return errors.Join(store.ErrUnavailable, errors.New("injected"))
	}
	return nil
}

func (f *flakyStore) setFail(op string, on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[op] = on
}

func (f *flakyStore) Get(ctx context.Context, id string) (store.Transaction, error) {
	if err := f.failing("Get"); err != nil {
		return store.Transaction{}, err
	}
	return f.Store.Get(ctx, id)
}

func (f *flakyStore) Finish(ctx context.Context, id string, s store.Status, r store.Result) (bool, error) {
	if err := f.failing("Finish"); err != nil {
		return false, err
	}
	return f.Store.Finish(ctx, id, s, r)
}

func (f *flakyStore) Due(ctx context.Context, firstBefore, now time.Time, limit int) ([]store.Transaction, error) {
	if err := f.failing("Due"); err != nil {
		return nil, err
	}
	return f.Store.Due(ctx, firstBefore, now, limit)
}

type fixture struct {
	svc   *Service
	up    *fakeChecker
	store *flakyStore
	hook  *webhooktest.Receiver
	now   time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	fx := &fixture{now: time.Now().UTC().Truncate(time.Second)}
	fs, err := store.NewFile(t.TempDir(), store.Options{})
	require.NoError(t, err)
	fx.store = &flakyStore{Store: fs, fail: map[string]bool{}}
	fx.up = &fakeChecker{passed: map[string]string{txID: "Y"}}
	tokens, err := callbacktoken.New([]string{key}, time.Hour)
	require.NoError(t, err)
	fx.hook = webhooktest.NewReceiver(t, []byte(hookKey))
	fx.svc = &Service{
		Upstream: fx.up, Store: fx.store, Tokens: tokens,
		Webhook:        NewPoster(fx.hook.URL(), [][]byte{[]byte(hookKey)}),
		Now:            func() time.Time { return fx.now },
		ReconcileAfter: 10 * time.Minute, MaxAge: defaultMaxAge, Batch: 5,
	}
	return fx
}

func (fx *fixture) create(t *testing.T, id, biz string, age time.Duration) {
	t.Helper()
	require.NoError(t, fx.store.Create(context.Background(), store.Transaction{
		TransactionID: id, MerchantBizID: biz, UserHash: strings.Repeat("ab", 32), CreatedAt: fx.now.Add(-age)}))
}

// query is the notification URL's query as the service sends it.
func (fx *fixture) query(biz, id string) url.Values {
	return url.Values{"merchantBizId": {biz}, "callbackToken": {fx.svc.Tokens.Token(callbacktoken.EKYCCallback, biz, fx.now)},
		"transactionId": {id}, "passed": {"Y"}, "subCode": {"200"}}
}

func (fx *fixture) get(t *testing.T, q url.Values) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	fx.svc.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ekyc/callback?"+q.Encode(), nil))
	var body map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), rec.Body.String())
	return rec.Code, body
}

func (fx *fixture) tx(t *testing.T, id string) store.Transaction {
	t.Helper()
	tx, err := fx.store.Get(context.Background(), id)
	require.NoError(t, err)
	return tx
}

func TestCallbackRecordsOnceAndDeliversOnce(t *testing.T) {
	fx := newFixture(t)
	fx.create(t, txID, bizID, time.Minute)

	code, body := fx.get(t, fx.query(bizID, txID))
	require.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, "recorded", body["Status"])
	tx := fx.tx(t, txID)
	assert.Equal(t, store.Passed, tx.Status)
	require.NotNil(t, tx.Result)
	assert.Equal(t, "Y", tx.Result.Passed)
	assert.Equal(t, "200", tx.Result.SubCode)
	assert.Equal(t, eventID(txID), tx.Result.EventID)
	assert.True(t, tx.Delivery.Delivered)
	assert.Equal(t, 1, tx.Delivery.Attempts)

	for range 2 {
		code, body = fx.get(t, fx.query(bizID, txID))
		require.Equal(t, http.StatusOK, code)
		assert.Equal(t, "duplicate", body["Status"])
	}
	assert.Equal(t, 1, fx.up.count(), "a repeated notification costs no CheckResult")
	events := fx.hook.Events()
	require.Len(t, events, 1, "one event however many notifications")
	assert.Equal(t, webhook.Event{ID: eventID(txID), Type: webhook.EventType, TransactionID: txID, MerchantBizID: bizID,
		UserHash: strings.Repeat("ab", 32), Status: "passed", Passed: "Y", SubCode: "200", RecordedAt: fx.now}, events[0])
}

func TestCallbackNeverTrustsThePassedInTheQuery(t *testing.T) {
	fx := newFixture(t)
	fx.create(t, txID, bizID, time.Minute)
	fx.up.passed[txID] = "N"
	q := fx.query(bizID, txID) // says passed=Y
	code, _ := fx.get(t, q)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, store.Failed, fx.tx(t, txID).Status)
	assert.Equal(t, "N", fx.tx(t, txID).Result.Passed)
}

func TestCallbackRefusals(t *testing.T) {
	fx := newFixture(t)
	fx.create(t, txID, bizID, time.Minute)
	fx.create(t, "hk0002", otherBiz, time.Minute)
	other, _ := callbacktoken.New([]string{strings.Repeat("z", 40)}, time.Hour)
	set := func(k, v string) url.Values { q := fx.query(bizID, txID); q.Set(k, v); return q }
	del := func(k string) url.Values { q := fx.query(bizID, txID); q.Del(k); return q }
	tok := fx.svc.Tokens.Token(callbacktoken.EKYCCallback, bizID, fx.now)
	flipped := tok[:len(tok)-3] + map[bool]string{true: "AAA", false: "BBB"}[!strings.HasSuffix(tok, "AAA")]

	tests := []struct {
		name   string
		q      url.Values
		status int
		code   string
	}{
		{"no merchantBizId", del("merchantBizId"), 400, apierr.MissingParameter},
		{"no callbackToken", del("callbackToken"), 400, apierr.MissingParameter},
		{"no transactionId", del("transactionId"), 400, apierr.MissingParameter},
		{"empty callbackToken", set("callbackToken", ""), 400, apierr.MissingParameter},
		{"transactionId twice", func() url.Values { q := fx.query(bizID, txID); q.Add("transactionId", "hk9"); return q }(), 400, apierr.InvalidParameter},
		{"forged token", set("callbackToken", other.Token(callbacktoken.EKYCCallback, bizID, fx.now)), 403, "Forbidden.CallbackToken"},
		{"altered token", set("callbackToken", flipped), 403, "Forbidden.CallbackToken"},
		{"garbage token", set("callbackToken", "hello"), 403, "Forbidden.CallbackToken"},
		{"expired token", set("callbackToken", fx.svc.Tokens.Token(callbacktoken.EKYCCallback, bizID, fx.now.Add(-2*time.Hour))), 403, "Forbidden.CallbackToken"},
		{"token of another MerchantBizId", set("merchantBizId", otherBiz), 403, "Forbidden.CallbackToken"},
		{"transaction of another MerchantBizId", set("transactionId", "hk0002"), 403, "Forbidden.CallbackToken"},
		{"merchantBizId not a MerchantBizId", set("merchantBizId", "zhima:ZM1:"+bizID), 400, apierr.InvalidParameter},
		{"merchantBizId over 32 characters", set("merchantBizId", strings.Repeat("a", 33)), 400, apierr.InvalidParameter},
		{"a Zhima return token, its own subject", func() url.Values {
			q := set("callbackToken", fx.svc.Tokens.Token(callbacktoken.ZhimaReturn, callbacktoken.ZhimaSubject("ZM1", bizID), fx.now))
			q.Set("merchantBizId", callbacktoken.ZhimaSubject("ZM1", bizID))
			return q
		}(), 400, apierr.InvalidParameter},
		{"a Zhima return token over a valid MerchantBizId", set("callbackToken", fx.svc.Tokens.Token(callbacktoken.ZhimaReturn, bizID, fx.now)), 403, "Forbidden.CallbackToken"},
		{"transactionId with odd characters", set("transactionId", "hk/../x"), 400, apierr.InvalidParameter},
		{"transactionId too long", set("transactionId", strings.Repeat("a", 65)), 400, apierr.InvalidParameter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := fx.get(t, tt.q)
			assert.Equal(t, tt.status, code, body)
			assert.Equal(t, tt.code, body["Code"])
		})
	}
	assert.Zero(t, fx.up.count(), "no refused notification reached CheckResult")
	assert.Equal(t, store.Pending, fx.tx(t, txID).Status)
	assert.Empty(t, fx.hook.Events())

	t.Run("not a GET", func(t *testing.T) {
		rec := httptest.NewRecorder()
		fx.svc.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/?"+fx.query(bizID, txID).Encode(), nil))
		assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
		assert.Equal(t, "GET", rec.Header().Get("Allow"))
	})
}

func TestCallbackPendingStaysPending(t *testing.T) {
	fx := newFixture(t)
	fx.create(t, txID, bizID, time.Minute)
	fx.up.passed[txID] = "P"
	code, body := fx.get(t, fx.query(bizID, txID))
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "pending", body["Status"])
	assert.Equal(t, store.Pending, fx.tx(t, txID).Status)
	assert.Empty(t, fx.hook.Events())
}

func TestCallbackFailuresAnswer5xxAndLeaveItPending(t *testing.T) {
	t.Run("CheckResult fails", func(t *testing.T) {
		fx := newFixture(t)
		fx.create(t, txID, bizID, time.Minute)
		fx.up.err = &apierr.Error{Code: "Throttling.Api", Message: "slow down", RequestID: upstreamR}
		code, body := fx.get(t, fx.query(bizID, txID))
		assert.Equal(t, http.StatusServiceUnavailable, code)
		assert.Equal(t, "Throttling.Api", body["Code"])
		assert.Equal(t, store.Pending, fx.tx(t, txID).Status)

		fx.up.err = &apierr.Error{Code: apierr.UpstreamTimeout, Message: "no answer"}
		code, _ = fx.get(t, fx.query(bizID, txID))
		assert.Equal(t, http.StatusGatewayTimeout, code)

		// Our own QPS budget says 429; the sender retries only on a 5xx.
		fx.up.err = &apierr.Error{Code: "Throttling", Message: "budget spent", HTTPStatus: http.StatusTooManyRequests, RetryAfter: time.Second}
		code, body = fx.get(t, fx.query(bizID, txID))
		assert.Equal(t, http.StatusServiceUnavailable, code)
		assert.Equal(t, "Throttling", body["Code"])
		assert.Equal(t, store.Pending, fx.tx(t, txID).Status)

		fx.up.err = nil // the sender tries again
		code, body = fx.get(t, fx.query(bizID, txID))
		assert.Equal(t, http.StatusOK, code)
		assert.Equal(t, "recorded", body["Status"])
	})
	for _, op := range []string{"Get", "Finish"} {
		t.Run("store "+op+" fails", func(t *testing.T) {
			fx := newFixture(t)
			fx.create(t, txID, bizID, time.Minute)
			fx.store.setFail(op, true)
			code, body := fx.get(t, fx.query(bizID, txID))
			assert.Equal(t, http.StatusServiceUnavailable, code)
			assert.Equal(t, apierr.UpstreamUnavailable, body["Code"])
			assert.NotContains(t, body["Message"], "injected", "the cause stays in the log")
			fx.store.setFail(op, false)
			assert.Equal(t, store.Pending, fx.tx(t, txID).Status)
			assert.Empty(t, fx.hook.Events())
			if op == "Get" {
				assert.Zero(t, fx.up.count(), "no upstream call when the store cannot be read")
			}
		})
	}
}

func TestCallbackForATransactionTheStoreMissed(t *testing.T) {
	fx := newFixture(t)
	code, body := fx.get(t, fx.query(bizID, txID))
	require.Equal(t, http.StatusOK, code, body)
	tx := fx.tx(t, txID)
	assert.Equal(t, bizID, tx.MerchantBizID)
	assert.Equal(t, store.Passed, tx.Status)
	require.Len(t, fx.up.calls, 1)
	assert.Equal(t, cloudauth.CheckResultRequest{MerchantBizId: bizID, TransactionId: txID}, fx.up.calls[0])
}

func TestCallbackForATransactionTheServiceDoesNotKnow(t *testing.T) {
	fx := newFixture(t)
	code, body := fx.get(t, fx.query(bizID, "hkinvented"))
	assert.Equal(t, http.StatusBadRequest, code, body)
	_, err := fx.store.Get(context.Background(), "hkinvented")
	assert.ErrorIs(t, err, store.ErrNotFound, "nothing is stored for an id CheckResult does not confirm")
}

func TestDeliveryRetriesWithBackoff(t *testing.T) {
	fx := newFixture(t)
	fx.create(t, txID, bizID, time.Minute)
	fx.hook.FailNext(2)
	code, _ := fx.get(t, fx.query(bizID, txID))
	require.Equal(t, http.StatusOK, code, "a failed delivery does not fail the callback")
	tx := fx.tx(t, txID)
	assert.False(t, tx.Delivery.Delivered)
	assert.Equal(t, 1, tx.Delivery.Attempts)
	assert.Equal(t, fx.now.Add(time.Minute), tx.Delivery.NextAttempt)
	assert.Contains(t, tx.Delivery.LastError, "503")

	ctx := context.Background()
	rep, err := fx.svc.Reconcile(ctx, ReconcileRequest{})
	require.NoError(t, err)
	assert.Zero(t, rep.Delivered+rep.NotDelivered, "not due yet")

	fx.now = fx.now.Add(time.Minute)
	rep, err = fx.svc.Reconcile(ctx, ReconcileRequest{})
	require.NoError(t, err)
	assert.Equal(t, 1, rep.NotDelivered)
	tx = fx.tx(t, txID)
	assert.Equal(t, 2, tx.Delivery.Attempts)
	assert.Equal(t, fx.now.Add(2*time.Minute), tx.Delivery.NextAttempt, "the wait doubles")

	fx.now = fx.now.Add(2 * time.Minute)
	rep, err = fx.svc.Reconcile(ctx, ReconcileRequest{})
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Delivered)
	assert.True(t, fx.tx(t, txID).Delivery.Delivered)
	require.Len(t, fx.hook.Events(), 1)

	fx.now = fx.now.Add(time.Hour)
	rep, err = fx.svc.Reconcile(ctx, ReconcileRequest{})
	require.NoError(t, err)
	assert.Zero(t, rep.Delivered+rep.NotDelivered, "an acknowledged event is not posted again")
	assert.Len(t, fx.hook.Events(), 1)
}

func TestBackoff(t *testing.T) {
	want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute}
	for i, w := range want {
		assert.Equal(t, w, backoff(i+1))
	}
	assert.Equal(t, 6*time.Hour, backoff(20))
	assert.Equal(t, 6*time.Hour, backoff(1000), "no overflow")
}

func TestReconcile(t *testing.T) {
	fx := newFixture(t)
	fx.svc.Batch = 10
	ctx := context.Background()
	fx.create(t, "hkyoung", bizID, 5*time.Minute)            // callback still due: not asked
	fx.create(t, "hklost", bizID, 15*time.Minute)            // completed, callback lost
	fx.create(t, "hkfail", bizID, 20*time.Minute)            // failed, callback lost
	fx.create(t, "hkwaiting", bizID, time.Hour)              // user not done yet
	fx.create(t, "hkold", bizID, defaultMaxAge+time.Hour)    // abandoned long ago
	fx.create(t, "hklate", bizID, defaultMaxAge+2*time.Hour) // finished, but no one heard
	fx.create(t, "hkgone", bizID, defaultMaxAge+3*time.Hour) // the service no longer knows it
	fx.create(t, "hkdone", bizID, time.Hour)                 // already recorded
	_, err := fx.store.Finish(ctx, "hkdone", store.Passed, store.Result{EventID: eventID("hkdone"), Passed: "Y"})
	require.NoError(t, err)
	fx.up.passed = map[string]string{"hkyoung": "Y", "hklost": "Y", "hkfail": "N", "hkwaiting": "P", "hkold": "P", "hklate": "Y", "hkdone": "Y"}

	rep, err := fx.svc.Reconcile(ctx, ReconcileRequest{})
	require.NoError(t, err)
	assert.Equal(t, ReconcileReport{Listed: 6, Checked: 6, Recorded: 3, StillPending: 1, Expired: 2, Delivered: 6}, rep)

	var asked []string
	for _, c := range fx.up.calls {
		asked = append(asked, c.TransactionId)
		assert.Equal(t, bizID, c.MerchantBizId)
	}
	assert.Equal(t, []string{"hklost", "hkfail", "hkwaiting", "hkold", "hklate", "hkgone"}, asked,
		"newest first; neither the young one nor the recorded one")
	want := map[string]store.Status{"hkyoung": store.Pending, "hklost": store.Passed, "hkfail": store.Failed,
		"hkwaiting": store.Pending, "hkold": store.Expired, "hklate": store.Passed, "hkgone": store.Expired}
	for id, st := range want {
		assert.Equal(t, st, fx.tx(t, id).Status, id)
	}
	assert.Empty(t, fx.tx(t, "hkold").Result.Passed)

	byTx := map[string]webhook.Event{}
	for _, ev := range fx.hook.Events() {
		byTx[ev.TransactionID] = ev
	}
	assert.Len(t, byTx, 6, "every recorded result, and the one recorded before but not delivered")
	assert.Equal(t, "expired", byTx["hkold"].Status)
	assert.Equal(t, "passed", byTx["hklate"].Status)
	assert.Equal(t, "failed", byTx["hkfail"].Status)

	// The one still pending is due again RECONCILE_AFTER×4 later: a run
	// before then asks nothing.
	waiting := fx.tx(t, "hkwaiting")
	assert.Equal(t, 1, waiting.Checks)
	assert.True(t, fx.now.Add(40*time.Minute).Equal(waiting.NextCheck), "next check %v", waiting.NextCheck)
	fx.up.calls = nil
	rep, err = fx.svc.Reconcile(ctx, ReconcileRequest{})
	require.NoError(t, err)
	assert.Equal(t, ReconcileReport{}, rep)

	// Then it is asked again, after the young one whose RECONCILE_AFTER
	// has now passed.
	fx.now = fx.now.Add(40 * time.Minute)
	rep, err = fx.svc.Reconcile(ctx, ReconcileRequest{})
	require.NoError(t, err)
	assert.Equal(t, ReconcileReport{Listed: 2, Checked: 2, Recorded: 1, StillPending: 1, Delivered: 1}, rep)
	require.Len(t, fx.up.calls, 2)
	assert.Equal(t, "hkyoung", fx.up.calls[0].TransactionId)
	waiting = fx.tx(t, "hkwaiting")
	assert.Equal(t, 2, waiting.Checks)
	assert.True(t, fx.now.Add(160*time.Minute).Equal(waiting.NextCheck), "next check %v", waiting.NextCheck)
}

// The schedule: RECONCILE_AFTER×4^k after the k-th check that found the
// transaction pending, never past the maximum age, where it is asked a
// last time.
func TestNextCheck(t *testing.T) {
	s := &Service{ReconcileAfter: 10 * time.Minute, MaxAge: defaultMaxAge}
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := created.Add(10 * time.Minute) // the first check
	var at []time.Duration
	tx := store.Transaction{CreatedAt: created}
	for range 8 {
		next := s.nextCheck(tx, now)
		require.True(t, next.After(now), "always later than now")
		at = append(at, next.Sub(created))
		tx.Checks++
		now = next
	}
	assert.Equal(t, []time.Duration{
		50 * time.Minute, 210 * time.Minute, 850 * time.Minute, 3410 * time.Minute, 13650 * time.Minute,
		defaultMaxAge, // 9.5 days + 28 days would pass it
	}, at[:6])
	// Past the maximum age (the last check failed): the interval stops growing.
	assert.LessOrEqual(t, at[7]-at[6], 4*defaultMaxAge, "no overflow")
}

// A transaction the upstream refuses (4xx) is asked again later, not at
// every run: it cannot take the batch of every run.
func TestReconcileBacksOffOnRefusal(t *testing.T) {
	fx := newFixture(t)
	fx.create(t, "hkunknown", bizID, time.Hour) // not in fx.up.passed: "no such transaction"
	rep, err := fx.svc.Reconcile(context.Background(), ReconcileRequest{})
	require.NoError(t, err)
	assert.Equal(t, ReconcileReport{Listed: 1, Checked: 1, Errors: 1}, rep)
	got := fx.tx(t, "hkunknown")
	assert.Equal(t, store.Pending, got.Status)
	assert.Equal(t, 1, got.Checks)
	rep, err = fx.svc.Reconcile(context.Background(), ReconcileRequest{})
	require.NoError(t, err)
	assert.Equal(t, ReconcileReport{}, rep, "not due again yet")
}

func TestReconcileStopsAskingWhenThrottled(t *testing.T) {
	fx := newFixture(t)
	for _, id := range []string{"hka", "hkb", "hkc"} {
		fx.create(t, id, bizID, time.Hour)
	}
	fx.up.err = &apierr.Error{Code: "Throttling.User", Message: "slow down"}
	rep, err := fx.svc.Reconcile(context.Background(), ReconcileRequest{})
	require.NoError(t, err)
	assert.Equal(t, 1, fx.up.count(), "one throttled answer ends the run's calls")
	assert.Equal(t, ReconcileReport{Listed: 3, Checked: 1, Errors: 1, Unfinished: true}, rep)
	due, err := fx.store.Due(context.Background(), fx.now, fx.now, 10)
	require.NoError(t, err)
	assert.Len(t, due, 3, "a throttled run reschedules nothing: all stay due")
}

func TestReconcileKeepsAnExpiringTransactionWhenTheServiceIsDown(t *testing.T) {
	fx := newFixture(t)
	fx.create(t, "hkold", bizID, defaultMaxAge+time.Hour)
	fx.up.err = &apierr.Error{Code: apierr.UpstreamUnavailable, Message: "down"}
	rep, err := fx.svc.Reconcile(context.Background(), ReconcileRequest{})
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Errors)
	assert.Equal(t, store.Pending, fx.tx(t, "hkold").Status, "asked again next run, not expired blind")
}

func TestReconcileStaysWithinItsBatch(t *testing.T) {
	fx := newFixture(t)
	fx.up.passed = map[string]string{}
	for i := range 8 {
		id := "hk" + string(rune('a'+i))
		fx.create(t, id, bizID, time.Hour+time.Duration(i)*time.Minute)
		fx.up.passed[id] = "P"
	}
	rep, err := fx.svc.Reconcile(context.Background(), ReconcileRequest{})
	require.NoError(t, err)
	assert.Equal(t, 5, rep.Checked, "Batch=5")
	assert.True(t, rep.Unfinished)
	for _, c := range fx.up.calls {
		assert.NotContains(t, []string{"hkf", "hkg", "hkh"}, c.TransactionId, "the youngest are asked first")
	}
}

func TestReconcileStopsAtTheDeadline(t *testing.T) {
	fx := newFixture(t)
	fx.svc.Batch = 100
	fx.up.passed = map[string]string{}
	for i := range 20 {
		id := "hk" + string(rune('a'+i))
		fx.create(t, id, bizID, time.Hour)
		fx.up.passed[id] = "Y"
	}
	fx.up.delay = 100 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	rep, err := fx.svc.Reconcile(ctx, ReconcileRequest{})
	require.NoError(t, err)
	assert.Less(t, rep.Checked, 20, "half the second goes to confirming, at 100 ms a call")
	assert.Positive(t, rep.Checked)
	assert.True(t, rep.Unfinished)
	assert.NoError(t, ctx.Err(), "the run ended before its deadline")
	assert.Equal(t, rep.Recorded, rep.Delivered, "what it recorded, it delivered")

	fx.up.delay = 0
	rep2, err := fx.svc.Reconcile(context.Background(), ReconcileRequest{})
	require.NoError(t, err)
	assert.Equal(t, 20-rep.Recorded, rep2.Recorded, "the next run picks up the rest")
}

func TestReconcileStoreDownFailsTheRun(t *testing.T) {
	fx := newFixture(t)
	fx.store.setFail("Due", true)
	_, err := fx.svc.Reconcile(context.Background(), ReconcileRequest{})
	require.Error(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, apierr.Status(err))
}

func TestEventBodyCarriesNoPersonalData(t *testing.T) {
	tx := store.Transaction{TransactionID: txID, MerchantBizID: bizID, UserHash: "deadbeef", Status: store.Passed,
		Result: &store.Result{EventID: "evt_1", Passed: "Y", SubCode: "200", RecordedAt: time.Unix(1_800_000_000, 0)}}
	b, err := Body(tx)
	require.NoError(t, err)
	assert.JSONEq(t, `{"id":"evt_1","type":"ekyc.result","transactionId":"hk0001","merchantBizId":"biz0001","userHash":"deadbeef",
		"status":"passed","passed":"Y","subCode":"200","recordedAt":"2027-01-15T08:00:00Z"}`, string(b))
	b2, _ := Body(tx)
	assert.Equal(t, b, b2, "the same bytes every time")
}

func TestEventIDIsStableAndDistinct(t *testing.T) {
	assert.Equal(t, eventID("hk1"), eventID("hk1"))
	assert.NotEqual(t, eventID("hk1"), eventID("hk2"))
	assert.Regexp(t, `^evt_[0-9a-f]{32}$`, eventID("hk1"))
}
