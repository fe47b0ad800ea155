package emulator

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// control sends a control API request and returns the status and raw body.
func control(t *testing.T, client *http.Client, method, target, contentType, body string) (int, string, http.Header) {
	t.Helper()
	resp, raw := roundTrip(t, client, newRequest(t, method, target, contentType, strings.NewReader(body)))
	return resp.StatusCode, string(raw), resp.Header
}

func TestControlAPIRoundTrip(t *testing.T) {
	ctx := context.Background()
	sink := newCallbackSink(t)
	_, srv := startEmulator(t, Config{AllowHTTPCallback: true})
	hc := srv.Client()
	sdk := newSDKClient(t, srv, withKey(DefaultSTSAccessKeyID, DefaultSTSAccessKeySecret, DefaultSecurityToken))
	const jsonType = "application/json"

	status, body, _ := control(t, hc, "GET", srv.URL+"/_emulator/health", "", "")
	require.Equal(t, 200, status)
	assert.JSONEq(t, `{"status":"ok"}`, body)

	// Faults: inject, observe, clear.
	status, body, _ = control(t, hc, "POST", srv.URL+"/_emulator/faults", jsonType,
		`{"upstream":"cloudauth","target":"Initialize","kind":"throttle","times":1,"delay":"2s"}`)
	require.Equal(t, 204, status, body)
	q := validInitialize()
	q["CallbackUrl"] = sink.srv.URL + "/cb?src=emu"
	q["CallbackToken"] = "tok"
	_, err := callSDK(ctx, sdk, "Initialize", "", q, map[string]string{})
	code, _, _ := sdkErrorCode(err)
	assert.Equal(t, "Throttling.Api", code)
	for _, bad := range []string{`{"upstream":"cloudauth","kind":"explode"}`, `{"upstream":"cloudauth","kind":"slow","delay":"soon"}`,
		`{"upstream":"cloudauth","kind":"slow","times":-1}`, `{"upstream":"cloudauth","kind":"slow","extra":1}`, `{"kind":"slow"}`} {
		status, _, _ = control(t, hc, "POST", srv.URL+"/_emulator/faults", jsonType, bad)
		assert.Equal(t, 400, status, bad)
	}
	status, _, _ = control(t, hc, "POST", srv.URL+"/_emulator/faults", jsonType, `{"upstream":"cloudauth","target":"*","kind":"server_error"}`)
	require.Equal(t, 204, status)
	status, _, _ = control(t, hc, "DELETE", srv.URL+"/_emulator/faults", "", "")
	require.Equal(t, 204, status)

	id := sdkInitialize(ctx, t, sdk, q)

	// The last accepted request, as an out-of-process test sees it.
	status, body, _ = control(t, hc, "GET", srv.URL+"/_emulator/requests/Initialize/last", "", "")
	require.Equal(t, 200, status)
	var last Received
	require.NoError(t, json.Unmarshal([]byte(body), &last))
	assert.Equal(t, DefaultSecurityToken, last.SecurityToken)
	assert.Equal(t, "tok", last.Params["CallbackToken"])
	status, _, _ = control(t, hc, "GET", srv.URL+"/_emulator/requests/CheckResult/last", "", "")
	assert.Equal(t, 404, status)

	// Transactions: read, complete with callback, read again.
	getTx := func() Transaction {
		status, body, _ := control(t, hc, "GET", srv.URL+"/_emulator/transactions/"+id, "", "")
		require.Equal(t, 200, status, body)
		var tx Transaction
		require.NoError(t, json.Unmarshal([]byte(body), &tx))
		return tx
	}
	assert.Equal(t, "P", getTx().Passed)
	status, body, _ = control(t, hc, "POST", srv.URL+"/_emulator/transactions/"+id+"/complete", jsonType,
		`{"passed":"Y","callback":true}`)
	require.Equal(t, 200, status, body)
	tx := getTx()
	assert.Equal(t, "Y", tx.Passed)
	assert.Equal(t, "200", tx.SubCode)
	got := sink.received()
	require.Len(t, got, 1)
	assert.Equal(t, "src=emu&callbackToken=tok&transactionId="+id+"&passed=Y&subCode=200", got[0].RawQuery)

	status, _, _ = control(t, hc, "GET", srv.URL+"/_emulator/transactions/hk-none", "", "")
	assert.Equal(t, 404, status)
	status, _, _ = control(t, hc, "POST", srv.URL+"/_emulator/transactions/hk-none/complete", jsonType, `{"passed":"Y"}`)
	assert.Equal(t, 404, status)
	status, _, _ = control(t, hc, "POST", srv.URL+"/_emulator/transactions/"+id+"/complete", jsonType, `{"passed":"maybe"}`)
	assert.Equal(t, 400, status)

	// Stats, then reset.
	status, body, _ = control(t, hc, "GET", srv.URL+"/_emulator/stats", "", "")
	require.Equal(t, 200, status)
	var st Stats
	require.NoError(t, json.Unmarshal([]byte(body), &st))
	assert.Equal(t, int64(2), st.Requests["Initialize"])
	assert.Equal(t, int64(1), st.Rejected["Throttling.Api"])
	assert.Equal(t, int64(1), st.Faults["throttle"])
	assert.Positive(t, st.Connections)

	status, _, _ = control(t, hc, "POST", srv.URL+"/_emulator/reset", "", "")
	require.Equal(t, 204, status)
	status, _, _ = control(t, hc, "GET", srv.URL+"/_emulator/transactions/"+id, "", "")
	assert.Equal(t, 404, status, "reset forgets transactions")
	_, body, _ = control(t, hc, "GET", srv.URL+"/_emulator/stats", "", "")
	var after Stats
	require.NoError(t, json.Unmarshal([]byte(body), &after))
	assert.Empty(t, after.Requests)
}

func TestTransactionPage(t *testing.T) {
	sink := newCallbackSink(t)
	emu, srv := startEmulator(t, Config{AllowHTTPCallback: true})
	q := validInitialize()
	q["CallbackUrl"] = sink.srv.URL + "/cb"
	_, body := do(t, srv.Client(), defaultSigner.request(t, "POST", srv.URL, "Initialize", values(q), url.Values{}))
	res := body["Result"].(map[string]any)
	id := res["TransactionId"].(string)
	page := res["TransactionUrl"].(string)

	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	status, html, hdr := control(t, noRedirect, "GET", page, "", "")
	require.Equal(t, 200, status)
	assert.Contains(t, hdr.Get("Content-Type"), "text/html")
	assert.Contains(t, html, id)
	assert.Contains(t, html, ">Pass</button>")
	assert.Contains(t, html, ">Fail</button>")
	assert.Contains(t, html, `action="/_emulator/transactions/`+id+`/complete"`)

	// The "Fail" button's form post.
	status, _, hdr = control(t, noRedirect, "POST", srv.URL+"/_emulator/transactions/"+id+"/complete",
		"application/x-www-form-urlencoded", "passed=N&callback=true")
	assert.Equal(t, http.StatusSeeOther, status)
	assert.Equal(t, "/_emulator/ekyc/"+id, hdr.Get("Location"))
	tx, _ := emu.Transaction(id)
	assert.Equal(t, "N", tx.Passed)
	require.Len(t, sink.received(), 1)

	// A failing callback comes back to the page as a message.
	sink.mu.Lock()
	sink.status = http.StatusBadGateway
	sink.mu.Unlock()
	status, _, hdr = control(t, noRedirect, "POST", srv.URL+"/_emulator/transactions/"+id+"/complete",
		"application/x-www-form-urlencoded", "passed=Y&callback=true")
	assert.Equal(t, http.StatusSeeOther, status)
	_, html, _ = control(t, noRedirect, "GET", srv.URL+hdr.Get("Location"), "", "")
	assert.Contains(t, html, "callback answered HTTP 502")

	status, _, _ = control(t, noRedirect, "GET", srv.URL+"/_emulator/ekyc/hk-none", "", "")
	assert.Equal(t, 404, status)
}

func TestConnectionCounter(t *testing.T) {
	const n = 5
	t.Run("keep-alive client", func(t *testing.T) {
		emu, srv := startEmulator(t, Config{})
		client := &http.Client{Transport: &http.Transport{}}
		t.Cleanup(client.CloseIdleConnections)
		for range n {
			status, _ := do(t, client, defaultSigner.request(t, "POST", srv.URL, "Initialize", values(validInitialize()), url.Values{}))
			require.Equal(t, 200, status)
		}
		st := emu.Stats()
		assert.Equal(t, int64(1), st.Connections)
		assert.Equal(t, int64(n), st.Accepted["Initialize"])
	})
	t.Run("keep-alive off", func(t *testing.T) {
		emu, srv := startEmulator(t, Config{})
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		for range n {
			status, _ := do(t, client, defaultSigner.request(t, "POST", srv.URL, "Initialize", values(validInitialize()), url.Values{}))
			require.Equal(t, 200, status)
		}
		assert.Equal(t, int64(n), emu.Stats().Connections)
	})
	t.Run("darabonba client pool", func(t *testing.T) {
		emu, srv := startEmulator(t, Config{})
		for range n {
			// A new client per call still shares the library's pooled connections.
			_, err := callSDK(context.Background(), newSDKClient(t, srv), "Initialize", "", validInitialize(), map[string]string{})
			require.NoError(t, err)
		}
		assert.Equal(t, int64(1), emu.Stats().Connections)
	})
}

func TestRemote(t *testing.T) {
	ctx := context.Background()
	sink := newCallbackSink(t)
	emu, srv := startEmulator(t, Config{AllowHTTPCallback: true})
	remote := &Remote{BaseURL: srv.URL}
	sdk := newSDKClient(t, srv, withKey(DefaultSTSAccessKeyID, DefaultSTSAccessKeySecret, DefaultSecurityToken))

	require.NoError(t, remote.InjectFault(Cloudauth, "Initialize", Fault{Kind: FaultThrottle, Times: 1, Delay: 300 * time.Millisecond}))
	injected, ok := emu.faults[Cloudauth].take("Initialize")
	require.True(t, ok)
	assert.Equal(t, FaultThrottle, injected.Kind)
	assert.Equal(t, 300*time.Millisecond, injected.Delay)
	_, again := emu.faults[Cloudauth].take("Initialize")
	assert.False(t, again, "a fault for one request is used once")
	require.NoError(t, remote.InjectFault(Antom, "", Fault{Kind: AntomFaultUnknown}))
	require.NoError(t, remote.ClearFaults())
	for u, tbl := range emu.faults {
		_, ok := tbl.take("anything")
		assert.False(t, ok, "%s: a fault is left after ClearFaults", u)
	}
	assert.Error(t, remote.InjectFault(Cloudauth, "Initialize", Fault{Kind: "explode"}))

	q := validInitialize()
	q["CallbackUrl"] = sink.srv.URL + "/cb"
	id := sdkInitialize(ctx, t, sdk, q)

	tx, err := remote.Transaction(id)
	require.NoError(t, err)
	local, _ := emu.Transaction(id)
	assert.Equal(t, local.ID, tx.ID)
	assert.Equal(t, local.MerchantBizID, tx.MerchantBizID)
	_, err = remote.Transaction("hk-none")
	assert.ErrorContains(t, err, "404")

	rec, err := remote.LastRequest("Initialize")
	require.NoError(t, err)
	assert.Equal(t, DefaultSecurityToken, rec.SecurityToken)
	_, err = remote.LastRequest("CheckResult")
	assert.Error(t, err)

	require.NoError(t, remote.Complete(ctx, id, "N", "206", true))
	local, _ = emu.Transaction(id)
	assert.Equal(t, "N", local.Passed)
	assert.Equal(t, "206", local.SubCode)
	require.Len(t, sink.received(), 1)
	assert.Error(t, remote.Complete(ctx, id, "maybe", "", false))

	st, err := remote.Stats()
	require.NoError(t, err)
	assert.Equal(t, emu.Stats(), st)
	require.NoError(t, remote.Reset())
	_, err = remote.Transaction(id)
	assert.Error(t, err)
}

func TestCallbackMultiplicity(t *testing.T) {
	ctx := context.Background()
	sink := newCallbackSink(t)
	emu, srv := startEmulator(t, Config{AllowHTTPCallback: true})
	remote := &Remote{BaseURL: srv.URL}
	sdk := newSDKClient(t, srv)
	newTx := func(t *testing.T) string {
		q := validInitialize()
		q["CallbackUrl"] = sink.srv.URL + "/cb"
		q["CallbackToken"] = "tok"
		return sdkInitialize(ctx, t, sdk, q)
	}

	tests := []struct {
		name string
		run  func(id string) error
		want int
	}{
		{"in process, three times", func(id string) error { return emu.CompleteWithCallbacks(ctx, id, "Y", "", 3) }, 3},
		{"in process, never", func(id string) error { return emu.CompleteWithCallbacks(ctx, id, "Y", "", 0) }, 0},
		{"remote, three times", func(id string) error { return remote.CompleteWithCallbacks(ctx, id, "N", "", 3) }, 3},
		{"remote, never", func(id string) error { return remote.CompleteWithCallbacks(ctx, id, "Y", "", 0) }, 0},
		{"remote, callback true is once", func(id string) error { return remote.Complete(ctx, id, "Y", "", true) }, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := newTx(t)
			before := len(sink.received())
			require.NoError(t, tt.run(id))
			got := sink.received()[before:]
			require.Len(t, got, tt.want)
			for _, u := range got {
				assert.Equal(t, id, u.Query().Get("transactionId"), "every notification names the transaction")
				assert.Equal(t, "tok", u.Query().Get("callbackToken"))
			}
			tx, _ := emu.Transaction(id)
			assert.NotEqual(t, "P", tx.Passed, "the result is set whatever the number of notifications")
		})
	}

	t.Run("a negative count is refused", func(t *testing.T) {
		id := newTx(t)
		assert.ErrorIs(t, emu.CompleteWithCallbacks(ctx, id, "Y", "", -1), errNegativeCallbacks)
		assert.ErrorContains(t, remote.CompleteWithCallbacks(ctx, id, "Y", "", -1), "400")
	})

	t.Run("every failed notification is reported, and all are sent", func(t *testing.T) {
		failing := newCallbackSink(t)
		failing.status = http.StatusServiceUnavailable
		q := validInitialize()
		q["CallbackUrl"] = failing.srv.URL + "/cb"
		id := sdkInitialize(ctx, t, sdk, q)
		err := emu.CompleteWithCallbacks(ctx, id, "Y", "", 2)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "notification 2 of 2")
		assert.Contains(t, err.Error(), "503")
		assert.Len(t, failing.received(), 2)
	})
}

// TestFaultInjectionBodies: one endpoint and one body shape for the three
// upstreams' faults; what cannot be applied is 400 saying why.
func TestFaultInjectionBodies(t *testing.T) {
	_, srv := startEmulator(t, Config{})
	hc := srv.Client()
	for _, up := range []struct{ name, kind, othersKind string }{
		{"cloudauth", "throttle", "unsigned"},
		{"alipay", "unsigned", "reset"},
		{"antom", "unknown", "duplicate_node"},
	} {
		t.Run(up.name, func(t *testing.T) {
			good := `{"upstream":"` + up.name + `","target":"x","kind":"` + up.kind + `","times":1,"delay":"10ms"}`
			status, body, _ := control(t, hc, http.MethodPost, srv.URL+"/_emulator/faults", "application/json", good)
			assert.Equal(t, http.StatusNoContent, status, body)
			for name, bad := range map[string]string{
				"unknown kind":      `{"upstream":"` + up.name + `","kind":"meteor"}`,
				"another's kind":    `{"upstream":"` + up.name + `","kind":"` + up.othersKind + `"}`,
				"unknown upstream":  `{"upstream":"paypal","kind":"` + up.kind + `"}`,
				"no upstream":       `{"kind":"` + up.kind + `"}`,
				"an old field name": `{"upstream":"` + up.name + `","action":"x","kind":"` + up.kind + `"}`,
				"negative times":    `{"upstream":"` + up.name + `","kind":"` + up.kind + `","times":-1}`,
				"bad delay":         `{"upstream":"` + up.name + `","kind":"` + up.kind + `","delay":"soon"}`,
				"not JSON":          `kind=` + up.kind,
			} {
				status, body, _ := control(t, hc, http.MethodPost, srv.URL+"/_emulator/faults", "application/json", bad)
				assert.Equal(t, http.StatusBadRequest, status, "%s: %s", name, body)
			}
		})
	}
}
