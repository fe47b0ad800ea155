package restarttest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/internal/e2e"
	"github.com/idverify/fc-kyc/pkg/emulator"
	"github.com/idverify/fc-kyc/pkg/store"
	"github.com/idverify/fc-kyc/pkg/testproc"
	"github.com/idverify/fc-kyc/pkg/webhook/webhooktest"
)

const (
	callbackSecret = "restart-callback-secret-0123456789abcdef"
	webhookSecret  = "restart-webhook-secret-0123456789abcdef"
)

func TestRestartLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("restart: builds and runs the functions")
	}
	t.Run("file store", func(t *testing.T) { restart(t, "file://"+t.TempDir()) })
	t.Run("redis", func(t *testing.T) { restart(t, testproc.Redis(t).URL) })
}

// restart runs the whole story on one store:
//
//  1. ekyc-init acknowledges transactions, then is killed while an
//     Initialize is in flight, and started again: every acknowledged
//     transaction is pending in the store.
//  2. The callback acknowledges two notifications while the webhook
//     receiver is down, then is killed while a third notification waits on
//     CheckResult, and started again: the two results are recorded and
//     still owed to the receiver; the third notification, never
//     acknowledged, is sent again by the service and recorded.
//  3. A timer run of the new callback delivers what was owed and
//     reconciles a transaction whose notification never came: the receiver
//     gets every result, and the store has nothing left undelivered.
func restart(t *testing.T, storeURL string) {
	ctx := context.Background()
	// The upstream outlives the functions, as the real service does.
	emu := emulator.New(emulator.Config{AllowHTTPCallback: true})
	emuSrv := httptest.NewServer(emu.Handler())
	t.Cleanup(emuSrv.Close)
	hook := webhooktest.NewReceiver(t, []byte(webhookSecret))
	st, err := store.Open(ctx, storeURL)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })

	common := []string{"FUNCTION_TIMEOUT_S=10", "STORE_URL=" + storeURL, "CALLBACK_SECRET=" + callbackSecret,
		"RATE_LIMIT_PER_CALLER=off", "RATE_LIMIT_PER_SUBJECT=off"}
	cbFront := newFront(t)

	// 1. ekyc-init.
	ini := e2e.Function(t, "ekyc-init", emuSrv.URL, append(common, "EKYC_CALLBACK_URL="+cbFront.URL+"/ekyc/callback")...)
	var txs []string
	for range 4 {
		id, status := initialize(t, ini)
		require.Equal(t, http.StatusOK, status)
		txs = append(txs, id)
	}
	emu.InjectFault(emulator.Cloudauth, "Initialize", emulator.Fault{Kind: emulator.FaultSlow, Times: 1, Delay: 8 * time.Second})
	acked := inFlightDuring(t, emu, "Initialize", func() bool { _, s := initialize(t, ini); return s == http.StatusOK }, ini.Kill)
	assert.False(t, acked, "the killed request was never acknowledged")
	ini.Restart(t)
	for _, id := range txs {
		tx, err := st.Get(ctx, id)
		require.NoError(t, err, "acknowledged transaction %s survives the restart", id)
		assert.Equal(t, store.Pending, tx.Status)
	}
	id, status := initialize(t, ini)
	require.Equal(t, http.StatusOK, status, "the new instance serves")
	txs = append(txs, id)

	// 2. callback: the receiver is down for the first two results.
	cb := e2e.Function(t, "callback", emuSrv.URL, append(common, "RECONCILE_AFTER=1ms",
		"RESULT_WEBHOOK_URL="+hook.URL()+"/kyc/results", "RESULT_WEBHOOK_SECRET="+webhookSecret)...)
	cbFront.forward(cb)
	hook.FailNext(2)
	for _, id := range txs[:2] {
		require.NoError(t, emu.Complete(ctx, id, "Y", "200", true), "notification acknowledged")
	}
	emu.InjectFault(emulator.Cloudauth, "CheckResult", emulator.Fault{Kind: emulator.FaultSlow, Times: 1, Delay: 8 * time.Second})
	acked = inFlightDuring(t, emu, "CheckResult", func() bool { return emu.Complete(ctx, txs[2], "N", "205", true) == nil }, cb.Kill)
	assert.False(t, acked, "the killed notification was never acknowledged")
	cb.Restart(t)
	cbFront.forward(cb)
	for _, id := range txs[:2] {
		tx, err := st.Get(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, store.Passed, tx.Status, "recorded result survives the restart")
		assert.False(t, tx.Delivery.Delivered, "still owed to the receiver")
		assert.Equal(t, 1, tx.Delivery.Attempts)
	}
	tx2, err := st.Get(ctx, txs[2])
	require.NoError(t, err)
	assert.Equal(t, store.Pending, tx2.Status, "the unacknowledged notification recorded nothing")
	require.NoError(t, emu.CompleteWithCallbacks(ctx, txs[2], "N", "205", 1), "the service notifies again")

	// 3. The timer: the failed posts are due (as they are a minute later:
	// the test moves them instead of waiting), txs[3] finished without
	// a notification, txs[4] is still pending.
	for _, id := range txs[:2] {
		tx, err := st.Get(ctx, id)
		require.NoError(t, err)
		d := tx.Delivery
		d.NextAttempt = time.Now().Add(-time.Second)
		require.NoError(t, st.SetDelivery(ctx, id, d))
	}
	require.NoError(t, emu.Complete(ctx, txs[3], "Y", "200", false))
	rep := timer(t, cb)
	assert.Equal(t, 1, rep.Recorded, "the reconciler recorded the silent result: %+v", rep)
	assert.Equal(t, 3, rep.Delivered, "two owed events and the reconciled one: %+v", rep)

	want := map[string]string{txs[0]: "passed", txs[1]: "passed", txs[2]: "failed", txs[3]: "passed"}
	got := map[string]string{}
	for _, ev := range hook.Events() {
		got[ev.TransactionID] = ev.Status
	}
	assert.Equal(t, want, got, "the receiver has every result")
	for id, status := range want {
		tx, err := st.Get(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, store.Status(status), tx.Status)
		assert.True(t, tx.Delivery.Delivered, "%s delivered", id)
	}
	left, err := st.Undelivered(ctx, time.Now().Add(24*time.Hour), 100)
	require.NoError(t, err)
	assert.Empty(t, left, "nothing left undelivered")
	tx4, err := st.Get(ctx, txs[4])
	require.NoError(t, err)
	assert.Equal(t, store.Pending, tx4.Status)
}

// initialize starts a transaction through ekyc-init; id is empty unless 200.
func initialize(t *testing.T, p *testproc.Proc) (id string, status int) {
	body := `{"MetaInfo":{"zimVer":"3.0.0","appName":"com.example.app","deviceType":"h5"},"MerchantUserId":"restart-user","DocType":"01560000"}`
	res, err := http.Post(p.URL()+"/", "application/json", strings.NewReader(body))
	if err != nil {
		return "", 0
	}
	defer res.Body.Close()
	var out struct {
		Result struct{ TransactionId string }
	}
	_ = json.NewDecoder(res.Body).Decode(&out)
	return out.Result.TransactionId, res.StatusCode
}

// inFlightDuring runs send in the background, waits until the emulator has
// received its upstream call of action (the function is then mid-request),
// runs kill, and returns whether send was acknowledged all the same.
func inFlightDuring(t *testing.T, emu *emulator.Emulator, action string, send func() (acknowledged bool), kill func()) bool {
	t.Helper()
	before := emu.Stats().Requests[action]
	done := make(chan struct{})
	var acked bool
	go func() { defer close(done); acked = send() }()
	deadline := time.Now().Add(20 * time.Second)
	for emu.Stats().Requests[action] == before {
		select {
		case <-done:
			t.Fatalf("the request ended before reaching %s", action)
		default:
		}
		require.True(t, time.Now().Before(deadline), "no %s call within 20s", action)
		time.Sleep(5 * time.Millisecond)
	}
	kill()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the request did not end after the kill")
	}
	return acked
}

// reconcileReport is the callback's timer answer.
type reconcileReport struct {
	Recorded, Delivered, NotDelivered, StillPending, Errors int
}

func timer(t *testing.T, p *testproc.Proc) reconcileReport {
	t.Helper()
	ev := `{"triggerTime":"` + time.Now().UTC().Format(time.RFC3339) + `","triggerName":"reconcile","payload":""}`
	a := e2e.Post(t, p.URL()+"/invoke", map[string]string{"x-fc-control-path": "/invoke"}, ev)
	require.Equal(t, http.StatusOK, a.Status, "%s", a.Raw)
	var rep reconcileReport
	require.NoError(t, json.Unmarshal([]byte(a.Raw), &rep), "%s", a.Raw)
	return rep
}

// front is the callback's public address, which the service keeps with
// every transaction (ekyc-init gives it at Initialize). As an FC trigger's
// URL does, it stays while the instance behind it is replaced (a restarted
// process serves on a new port), and forwards to whichever one serves now;
// with none serving, the service gets a 502.
type front struct {
	*httptest.Server
	to atomic.Pointer[url.URL]
}

func newFront(t *testing.T) *front {
	f := &front{}
	f.Server = httptest.NewServer(&httputil.ReverseProxy{
		Rewrite:      func(r *httputil.ProxyRequest) { r.SetURL(f.to.Load()) },
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) },
	})
	t.Cleanup(f.Close)
	return f
}

// forward sends what reaches the front to p from now on.
func (f *front) forward(p *testproc.Proc) {
	u, err := url.Parse(p.URL())
	if err != nil {
		panic(err)
	}
	f.to.Store(u)
}
