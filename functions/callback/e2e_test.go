package main

// End to end: the built emulator, ekyc-init and callback binaries, each its
// own process on loopback, sharing one store (a file store directory, or a
// real redis-server), with a webhook receiver in the test. They are driven
// over HTTP as the service, a front-end and FC's timer would drive them.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/internal/e2e"
	"github.com/idverify/fc-kyc/pkg/callbacktoken"
	"github.com/idverify/fc-kyc/pkg/emulator"
	"github.com/idverify/fc-kyc/pkg/store"
	"github.com/idverify/fc-kyc/pkg/testproc"
	"github.com/idverify/fc-kyc/pkg/webhook"
	"github.com/idverify/fc-kyc/pkg/webhook/webhooktest"
)

const (
	e2eCallbackSecret = "e2e-callback-secret-0123456789abcdef"
	e2eWebhookSecret  = "e2e-webhook-secret-0123456789abcdef"
	e2eUserID         = "user-e2e-private-7731"
)

type e2eStack struct {
	emu      *emulator.Remote
	init     *testproc.Proc
	callback *testproc.Proc
	hook     *webhooktest.Receiver
	storeURL string
}

// startE2E starts the emulator, ekyc-init and callback on storeURL ("" for
// a fresh file store directory). RECONCILE_AFTER is 1ms so that one timer
// run reconciles what the test just created.
func startE2E(t *testing.T, storeURL string) *e2eStack {
	t.Helper()
	s := newStack(t, storeURL)
	s.callback = s.function(t, "callback", "RECONCILE_AFTER=1ms",
		"RESULT_WEBHOOK_URL="+s.hook.URL()+"/kyc/results", "RESULT_WEBHOOK_SECRET="+e2eWebhookSecret)
	s.init = s.startEKYCInit(t)
	return s
}

// newStack starts the emulator and the webhook receiver of a stack on
// storeURL ("" for a fresh file store directory), before its functions.
func newStack(t *testing.T, storeURL string) *e2eStack {
	t.Helper()
	e2e.Skip(t)
	if storeURL == "" {
		storeURL = "file://" + t.TempDir()
	}
	_, emu := e2e.Emulator(t)
	return &e2eStack{emu: emu, storeURL: storeURL, hook: webhooktest.NewReceiver(t, []byte(e2eWebhookSecret))}
}

// function starts the function name against the stack's emulator, on its
// store, with its callback keys, env on top.
func (s *e2eStack) function(t *testing.T, name string, env ...string) *testproc.Proc {
	t.Helper()
	return e2e.Function(t, name, s.emu.BaseURL, slices.Concat([]string{
		"FUNCTION_TIMEOUT_S=10", "STORE_URL=" + s.storeURL, "CALLBACK_SECRET=" + e2eCallbackSecret,
	}, env)...)
}

// startEKYCInit starts ekyc-init with its callback URL the stack's callback.
func (s *e2eStack) startEKYCInit(t *testing.T) *testproc.Proc {
	t.Helper()
	return s.function(t, "ekyc-init", "EKYC_CALLBACK_URL="+s.callback.URL()+"/ekyc/callback")
}

// initialize starts a transaction through ekyc-init and returns its ids.
func (s *e2eStack) initialize(t *testing.T) (txID, bizID string) {
	t.Helper()
	a := e2e.Post(t, s.init.URL()+"/", nil, `{"MetaInfo":{"zimVer":"3.0.0","appName":"com.example.app","deviceType":"h5"},"MerchantUserId":"`+e2eUserID+`","DocType":"01560000"}`)
	require.Equal(t, http.StatusOK, a.Status, a.Raw)
	txID = a.Str("Result", "TransactionId")
	require.NotEmpty(t, txID)
	return txID, a.Str("MerchantBizId")
}

// openStore opens the stack's store from the test, as a third process would.
func (s *e2eStack) openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), s.storeURL)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return st
}

func (s *e2eStack) checkResults(t *testing.T) int64 {
	t.Helper()
	st, err := s.emu.Stats()
	require.NoError(t, err)
	return st.Requests["CheckResult"]
}

// timer sends one timer event, as FC's time trigger does (the tests play
// FC's part: the functions trust x-fc-control-path).
func (s *e2eStack) timer(t *testing.T) (int, ReconcileReport) {
	t.Helper()
	ev := `{"triggerTime":"` + time.Now().UTC().Format(time.RFC3339) + `","triggerName":"reconcile","payload":""}`
	a := e2e.Post(t, s.callback.URL()+"/invoke", map[string]string{"x-fc-control-path": "/invoke"}, ev)
	var rep ReconcileReport
	if a.Header.Get("x-fc-status") == "200" {
		require.NoError(t, json.Unmarshal([]byte(a.Raw), &rep), "%s", a.Raw)
	}
	return a.Status, rep
}

// TestEndToEndCallbackRoundTrip: the emulator completes a transaction and
// calls the callback three times; CheckResult runs once, the result is
// recorded once, the receiver gets exactly one correctly signed event.
func TestEndToEndCallbackRoundTrip(t *testing.T) {
	s := startE2E(t, "")
	txID, bizID := s.initialize(t)
	st := s.openStore(t)
	tx, err := st.Get(context.Background(), txID)
	require.NoError(t, err, "ekyc-init recorded the transaction")
	assert.Equal(t, store.Pending, tx.Status)
	assert.Equal(t, bizID, tx.MerchantBizID)
	assert.NotContains(t, tx.UserHash, e2eUserID)
	assert.Len(t, tx.UserHash, 64)

	require.NoError(t, s.emu.CompleteWithCallbacks(context.Background(), txID, "Y", "", 3), "each notification answered 2xx")

	assert.EqualValues(t, 1, s.checkResults(t), "one CheckResult for three notifications")
	tx, err = st.Get(context.Background(), txID)
	require.NoError(t, err)
	assert.Equal(t, store.Passed, tx.Status)
	require.NotNil(t, tx.Result)
	assert.Equal(t, "Y", tx.Result.Passed)
	assert.True(t, tx.Delivery.Delivered)

	events := s.hook.Events()
	require.Len(t, events, 1, "exactly one event")
	assert.Empty(t, s.hook.Rejected(), "every post was correctly signed")
	ev := events[0]
	assert.Equal(t, tx.Result.EventID, ev.ID)
	assert.Equal(t, webhook.EventType, ev.Type)
	assert.Equal(t, txID, ev.TransactionID)
	assert.Equal(t, bizID, ev.MerchantBizID)
	user := sha256.Sum256([]byte(e2eUserID))
	assert.Equal(t, hex.EncodeToString(user[:]), ev.UserHash, "the event names its user as the merchant can compute it")
	assert.Equal(t, "passed", ev.Status)
	assert.Equal(t, "Y", ev.Passed)
	assert.Equal(t, "200", ev.SubCode)

	// A later timer run finds nothing to do and posts nothing again.
	code, rep := s.timer(t)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, ReconcileReport{}, rep)
	assert.Len(t, s.hook.Events(), 1)

	for _, out := range []string{s.callback.Output(), s.init.Output()} {
		assert.NotContains(t, out, e2eUserID, "no MerchantUserId in any log")
		assert.NotContains(t, out, e2eCallbackSecret)
		assert.NotContains(t, out, e2eWebhookSecret)
		assert.NotContains(t, out, "callbackToken=", "the token-bearing query is never logged")
	}
}

// TestEndToEndRefusedTokens: forged, altered and expired tokens get 403
// and cost no CheckResult call.
func TestEndToEndRefusedTokens(t *testing.T) {
	s := startE2E(t, "")
	txID, bizID := s.initialize(t)
	require.NoError(t, s.emu.CompleteWithCallbacks(context.Background(), txID, "Y", "", 0))
	// The real URL, as the service would call it, from what ekyc-init sent.
	rec, err := s.emu.LastRequest("Initialize")
	require.NoError(t, err)
	good := rec.Params["CallbackToken"]
	require.NotEmpty(t, good)

	ours, err := callbacktoken.New([]string{e2eCallbackSecret}, time.Hour)
	require.NoError(t, err)
	stranger, err := callbacktoken.New([]string{strings.Repeat("x", 40)}, time.Hour)
	require.NoError(t, err)
	// One character inside the MAC (the last one carries unused bits).
	i := len(good) - 10
	altered := good[:i] + map[bool]string{true: "B", false: "A"}[good[i] == 'A'] + good[i+1:]

	get := func(biz, token string) int {
		q := url.Values{"merchantBizId": {biz}, "callbackToken": {token}, "transactionId": {txID}, "passed": {"Y"}, "subCode": {"200"}}
		return e2e.Do(t, http.MethodGet, s.callback.URL()+"/ekyc/callback?"+q.Encode(), nil, nil).Status
	}
	before := s.checkResults(t)
	for name, c := range map[string]struct{ biz, token string }{
		"forged (another key)":        {bizID, stranger.Token(callbacktoken.EKYCCallback, bizID, time.Now())},
		"altered (one MAC character)": {bizID, altered},
		"expired":                     {bizID, ours.Token(callbacktoken.EKYCCallback, bizID, time.Now().Add(-2*time.Hour))},
		"moved to another bizId":      {"someoneelse1", good},
	} {
		assert.Equal(t, http.StatusForbidden, get(c.biz, c.token), name)
	}
	assert.Equal(t, before, s.checkResults(t), "no refused callback reached CheckResult")
	assert.Empty(t, s.hook.Events())

	assert.Equal(t, http.StatusOK, get(bizID, good), "the genuine URL is accepted")
	assert.Equal(t, before+1, s.checkResults(t))
	assert.Len(t, s.hook.Events(), 1)
}

// TestEndToEndLostCallback: a transaction completed without any callback
// is recovered by one timer invocation.
func TestEndToEndLostCallback(t *testing.T) {
	s := startE2E(t, "")
	lost, _ := s.initialize(t)
	waiting, _ := s.initialize(t)
	require.NoError(t, s.emu.CompleteWithCallbacks(context.Background(), lost, "N", "", 0))

	code, rep := s.timer(t)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, 2, rep.Checked)
	assert.Equal(t, 1, rep.Recorded)
	assert.Equal(t, 1, rep.StillPending)
	assert.Equal(t, 1, rep.Delivered)

	st := s.openStore(t)
	tx, err := st.Get(context.Background(), lost)
	require.NoError(t, err)
	assert.Equal(t, store.Failed, tx.Status)
	tx, err = st.Get(context.Background(), waiting)
	require.NoError(t, err)
	assert.Equal(t, store.Pending, tx.Status, "the user has not finished: still pending")
	events := s.hook.Events()
	require.Len(t, events, 1)
	assert.Equal(t, lost, events[0].TransactionID)
	assert.Equal(t, "failed", events[0].Status)
}

// TestEndToEndRedisOutage: with Redis stopped, the callback answers non-2xx
// and records nothing; once Redis is back, one timer run records the result
// and delivers it. Nothing is lost.
func TestEndToEndRedisOutage(t *testing.T) {
	e2e.Skip(t)
	redis := testproc.Redis(t)
	s := startE2E(t, redis.URL)
	txID, _ := s.initialize(t)

	redis.Stop()
	err := s.emu.CompleteWithCallbacks(context.Background(), txID, "Y", "", 1)
	require.Error(t, err, "the callback must not acknowledge what it could not record")
	assert.Contains(t, err.Error(), "HTTP 503")
	assert.Empty(t, s.hook.Events())

	code, _ := s.timer(t)
	assert.NotEqual(t, http.StatusOK, code, "a timer run during the outage fails, so FC counts it")

	redis.Start()
	code, rep := s.timer(t)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, 1, rep.Recorded)
	assert.Equal(t, 1, rep.Delivered)

	tx, err := s.openStore(t).Get(context.Background(), txID)
	require.NoError(t, err)
	assert.Equal(t, store.Passed, tx.Status)
	assert.True(t, tx.Delivery.Delivered)
	events := s.hook.Events()
	require.Len(t, events, 1)
	assert.Equal(t, txID, events[0].TransactionID)
}

// TestStartRefusesBadConfiguration: the function does not start without
// what it needs, and says which variable is wrong.
func TestStartRefusesBadConfiguration(t *testing.T) {
	e2e.Skip(t)
	bin := testproc.Build(t, "github.com/idverify/fc-kyc/functions/callback")
	dir := "STORE_URL=file://" + t.TempDir()
	secret := "CALLBACK_SECRET=" + e2eCallbackSecret
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"no CALLBACK_SECRET", []string{dir}, "CALLBACK_SECRET"},
		{"short CALLBACK_SECRET", []string{dir, "CALLBACK_SECRET=short"}, "CALLBACK_SECRET"},
		{"webhook without secret", []string{dir, secret, "RESULT_WEBHOOK_URL=https://hooks.example.com/kyc"}, "RESULT_WEBHOOK_SECRET"},
		{"short webhook secret", []string{dir, secret, "RESULT_WEBHOOK_URL=https://hooks.example.com/kyc", "RESULT_WEBHOOK_SECRET=abc"}, "RESULT_WEBHOOK_SECRET"},
		{"webhook over http", []string{dir, secret, "RESULT_WEBHOOK_URL=http://hooks.example.com/kyc", "RESULT_WEBHOOK_SECRET=" + e2eWebhookSecret}, "RESULT_WEBHOOK_URL"},
		{"bad RECONCILE_AFTER", []string{dir, secret, "RECONCILE_AFTER=soon"}, "RECONCILE_AFTER"},
		{"max age under RECONCILE_AFTER", []string{dir, secret, "RECONCILE_MAX_AGE=5m"}, "RECONCILE_MAX_AGE"},
		{"bad RECONCILE_BATCH", []string{dir, secret, "RECONCILE_BATCH=0"}, "RECONCILE_BATCH"},
		{"relative store dir", []string{"STORE_URL=file://rel/dir", secret}, "STORE_URL"},
		{"unreachable redis", []string{"STORE_URL=redis://127.0.0.1:1/0", secret}, "STORE_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := testproc.RunOnce(bin, tt.env...)
			require.Error(t, err, "the function must not start")
			assert.Contains(t, out, tt.want)
		})
	}
}
