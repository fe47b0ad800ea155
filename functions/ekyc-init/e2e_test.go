package main

// End to end: the built ekyc-init binary and the built emulator, each its own
// process on loopback, driven over HTTP the way FC and a front-end would.

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/internal/contract"
	"github.com/idverify/fc-kyc/internal/e2e"
	"github.com/idverify/fc-kyc/internal/testbody"
	"github.com/idverify/fc-kyc/pkg/emulator"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

// stack is one emulator and one ekyc-init, shared by the subtests.
type stack struct {
	fn  *testproc.Proc
	emu *emulator.Remote
}

// sensitive values the request carries; none may appear in the logs.
const (
	e2eUserID  = "user-4f1c9e-private"
	e2eMetaKey = "e2eMetaInfoMarker"
)

func startStack(t *testing.T, extraEnv ...string) *stack {
	t.Helper()
	e2e.Skip(t)
	emu, remote := e2e.Emulator(t)
	// 100 concurrent requests below; pkg/budget tests the QPS budget.
	fn := e2e.Function(t, "ekyc-init", emu.URL(), append([]string{"CLOUDAUTH_QPS_EKYC=off"}, extraEnv...)...)
	return &stack{fn: fn, emu: remote}
}

func validBody() map[string]any {
	return map[string]any{
		"MetaInfo":       map[string]any{"zimVer": "3.0.0", "appName": "com.example.app", "deviceType": "h5", e2eMetaKey: "1"},
		"MerchantUserId": e2eUserID,
		"DocType":        "01560000",
	}
}

func TestEndToEnd(t *testing.T) {
	s := startStack(t)

	// requireTransaction checks the answer carries a transaction the
	// emulator really created, for the MerchantBizId the answer names.
	requireTransaction := func(t *testing.T, a e2e.Answer) {
		t.Helper()
		require.Equal(t, http.StatusOK, a.Status, "%v", a.Body)
		assert.Equal(t, "Success", a.Str("Code"))
		id := a.Str("Result", "TransactionId")
		require.NotEmpty(t, id)
		tx, err := s.emu.Transaction(id)
		require.NoError(t, err)
		assert.Equal(t, a.Str("MerchantBizId"), tx.MerchantBizID)
		assert.Equal(t, e2eUserID, tx.MerchantUserID)
		assert.NotEmpty(t, a.Str("RequestId"))
	}

	t.Run("HTTP trigger", func(t *testing.T) {
		requireTransaction(t, e2e.Post(t, s.fn.URL()+"/", nil, validBody()))
	})
	t.Run("HTTP on a custom-domain path", func(t *testing.T) {
		requireTransaction(t, e2e.Post(t, s.fn.URL()+"/kyc/ekyc-init", nil, validBody()))
	})
	t.Run("event through /invoke", func(t *testing.T) {
		requireTransaction(t, e2e.Post(t, s.fn.URL()+"/invoke", map[string]string{"x-fc-control-path": "/invoke"}, validBody()))
	})
	t.Run("timer event with the request in payload", func(t *testing.T) {
		payload, _ := json.Marshal(validBody())
		timer := map[string]any{"triggerTime": "2026-11-23T10:00:00Z", "triggerName": "nightly", "payload": string(payload)}
		requireTransaction(t, e2e.Post(t, s.fn.URL()+"/invoke", map[string]string{"x-fc-control-path": "/invoke"}, timer))
	})
	t.Run("EventBridge CloudEvent with the request in data", func(t *testing.T) {
		ce := map[string]any{"id": "e-1", "source": "acs.mns", "specversion": "1.0", "type": "mns:Queue:SendMessage",
			"datacontenttype": "application/json", "time": "2026-11-23T10:00:00Z", "data": validBody()}
		requireTransaction(t, e2e.Post(t, s.fn.URL()+"/invoke", map[string]string{"x-fc-control-path": "/invoke"}, ce))
	})

	t.Run("STS credentials from x-fc headers reach the service", func(t *testing.T) {
		a := e2e.Post(t, s.fn.URL()+"/", map[string]string{
			"x-fc-access-key-id":     emulator.DefaultSTSAccessKeyID,
			"x-fc-access-key-secret": emulator.DefaultSTSAccessKeySecret,
			"x-fc-security-token":    emulator.DefaultSecurityToken,
		}, validBody())
		requireTransaction(t, a)
		got, err := s.emu.LastRequest("Initialize")
		require.NoError(t, err)
		assert.Equal(t, emulator.DefaultSTSAccessKeyID, got.AccessKeyID)
		assert.Equal(t, emulator.DefaultSecurityToken, got.SecurityToken)
		assert.Equal(t, "KYC_GLOBAL", got.Params["ProductCode"])
	})

	t.Run("a wrong secret is refused upstream and answered 502 with its code", func(t *testing.T) {
		a := e2e.Post(t, s.fn.URL()+"/", map[string]string{
			"x-fc-access-key-id":     emulator.DefaultSTSAccessKeyID,
			"x-fc-access-key-secret": "not-the-secret",
			"x-fc-security-token":    emulator.DefaultSecurityToken,
		}, validBody())
		assert.Equal(t, http.StatusBadGateway, a.Status)
		assert.Equal(t, "SignatureDoesNotMatch", a.Str("Code"))
		assert.NotEmpty(t, a.Str("RequestId"), "the upstream RequestId is kept")
	})

	t.Run("the same failure as an event carries x-fc-status 404", func(t *testing.T) {
		a := e2e.Post(t, s.fn.URL()+"/invoke", map[string]string{
			"x-fc-control-path":      "/invoke",
			"x-fc-access-key-id":     emulator.DefaultAccessKeyID,
			"x-fc-access-key-secret": "not-the-secret",
		}, validBody())
		assert.Equal(t, "404", a.Header.Get("x-fc-status"))
		assert.Equal(t, "SignatureDoesNotMatch", a.Str("Code"))
	})

	t.Run("invalid requests get 400 and cost no upstream call", func(t *testing.T) {
		before, err := s.emu.Stats()
		require.NoError(t, err)
		with := func(kv ...any) map[string]any { return testbody.With(validBody(), kv...) } // nil deletes
		bad := map[string]any{
			"no MetaInfo":            with("MetaInfo", nil),
			"no MerchantUserId":      with("MerchantUserId", nil),
			"no DocType":             with("DocType", nil),
			"DocType 7 digits":       with("DocType", "0156000"),
			"MerchantBizId 33 chars": with("MerchantBizId", strings.Repeat("a", 33)),
			"MerchantBizId symbol":   with("MerchantBizId", "abc_123"),
			"ProductCode other":      with("ProductCode", "eKYC"),
			"ProductFlow other":      with("ProductFlow", "DOC"),
			"DocScanMode other":      with("DocScanMode", "auto"),
			"CallbackUrl sent":       with("CallbackUrl", "https://evil.example/"),
			"CallbackToken sent":     with("CallbackToken", "t"),
			"unknown parameter":      with("Foo", "1"),
			"MetaInfo not an object": with("MetaInfo", "[]"),
			"wrong type":             with("DocType", 1560000),
			"not JSON":               "DocType=01560000",
			"array":                  "[]",
		}
		for name, body := range bad {
			// Refused on purpose: the contract checks only the answers.
			a := e2e.Post(t, s.fn.URL()+"/", map[string]string{contract.InvalidHeader: "1"}, body)
			assert.Equal(t, http.StatusBadRequest, a.Status, name)
			assert.Contains(t, []string{"MissingParameter", "InvalidParameter"}, a.Str("Code"), name)
			ev := e2e.Post(t, s.fn.URL()+"/invoke", map[string]string{"x-fc-control-path": "/invoke", contract.InvalidHeader: "1"}, body)
			assert.Equal(t, "404", ev.Header.Get("x-fc-status"), name)
		}
		after, err := s.emu.Stats()
		require.NoError(t, err)
		assert.Equal(t, before.Requests["Initialize"], after.Requests["Initialize"], "no request reached the emulator")
	})

	t.Run("throttling is retried, a reset is not", func(t *testing.T) {
		requireTransaction(t, e2e.BilledCallRetries(t, s.emu, "Initialize", func() e2e.Answer { return e2e.Post(t, s.fn.URL()+"/", nil, validBody()) }))
	})

	t.Run("a hung upstream ends within the function's deadline with 504", func(t *testing.T) {
		e2e.Fault(t, s.emu, emulator.Cloudauth, "Initialize", emulator.Fault{Kind: emulator.FaultSlow, Delay: 30 * time.Second, Times: 1})
		start := time.Now()
		a := e2e.Post(t, s.fn.URL()+"/", nil, validBody())
		assert.Equal(t, http.StatusGatewayTimeout, a.Status, "%v", a.Body)
		assert.Equal(t, "UpstreamTimeout", a.Str("Code"))
		assert.Less(t, time.Since(start), 5*time.Second, "FUNCTION_TIMEOUT_S=5")
	})

	t.Run("concurrent requests share one client", func(t *testing.T) {
		require.NoError(t, s.emu.Reset())
		var wg sync.WaitGroup
		codes := make([]int, 100)
		for i := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i] = e2e.Post(t, s.fn.URL()+"/", nil, validBody()).Status
			}()
		}
		wg.Wait()
		for i, c := range codes {
			assert.Equal(t, http.StatusOK, c, "request %d", i)
		}
		st, err := s.emu.Stats()
		require.NoError(t, err)
		assert.EqualValues(t, 100, st.Accepted["Initialize"])
	})

	t.Run("sequential requests reuse the upstream connection", func(t *testing.T) {
		e2e.Post(t, s.fn.URL()+"/", nil, validBody()) // leaves one idle keep-alive connection
		require.NoError(t, s.emu.Reset())
		for range 20 {
			require.Equal(t, http.StatusOK, e2e.Post(t, s.fn.URL()+"/", nil, validBody()).Status)
		}
		st, err := s.emu.Stats()
		require.NoError(t, err)
		assert.EqualValues(t, 20, st.Accepted["Initialize"])
		assert.LessOrEqual(t, st.Connections, int64(1), "keep-alive: 20 calls, at most one new connection")
	})

	t.Run("logs carry no personal data and no secrets", func(t *testing.T) {
		out := e2e.Logs(t, s.fn)
		for _, secret := range []string{e2eUserID, e2eMetaKey, emulator.DefaultAccessKeySecret, emulator.DefaultSTSAccessKeySecret, emulator.DefaultSecurityToken, "not-the-secret"} {
			assert.NotContains(t, out, secret)
		}
	})
}

func TestStartRefusesBadConfiguration(t *testing.T) {
	e2e.RefusesToStart(t, "ekyc-init",
		e2e.BadStart{Name: "http endpoint off loopback", Env: []string{"AUTH_MODE=none", "CLOUDAUTH_ENDPOINT=http://10.0.0.1:8600"}, Want: "CLOUDAUTH_ENDPOINT"},
		e2e.BadStart{Name: "callback URL without secret", Env: []string{"AUTH_MODE=none", "EKYC_CALLBACK_URL=https://cb.example.com/cb"}, Want: "CALLBACK_SECRET"},
		e2e.BadStart{Name: "callback URL over http", Env: []string{"AUTH_MODE=none", "EKYC_CALLBACK_URL=http://cb.example.com/cb"}, Want: "EKYC_CALLBACK_URL"},
		e2e.BadStart{Name: "bad timeout", Env: []string{"AUTH_MODE=none", "FUNCTION_TIMEOUT_S=ten"}, Want: "FUNCTION_TIMEOUT_S"},
		e2e.BadStart{Name: "bad port", Env: []string{"AUTH_MODE=none", "FC_CUSTOM_LISTEN_PORT=http"}, Want: "FC_CUSTOM_LISTEN_PORT"},
		e2e.BadStart{Name: "unreachable store", Env: []string{"AUTH_MODE=none", "STORE_URL=redis://127.0.0.1:1/0"}, Want: "STORE_URL"},
		e2e.BadStart{Name: "relative store directory", Env: []string{"AUTH_MODE=none", "STORE_URL=file://rel/dir"}, Want: "STORE_URL"},
	)
}
