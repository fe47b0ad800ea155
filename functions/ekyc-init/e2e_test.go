package main

// End to end: the built ekyc-init binary and the built emulator, each its own
// process on loopback, driven over HTTP the way FC and a front-end would.

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/internal/contract"
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
	if testing.Short() {
		t.Skip("end-to-end: builds and runs binaries")
	}
	emu := testproc.StartEmulator(t)
	env := append([]string{
		"AUTH_MODE=none",
		"FUNCTION_TIMEOUT_S=5",
		"CLOUDAUTH_QPS_EKYC=off", // 100 concurrent requests below; pkg/budget tests the QPS budget
		// A store of this run's own, not the machine-wide default.
		"STORE_URL=file://" + t.TempDir(),
		"CLOUDAUTH_ENDPOINT=" + emu.URL(),
		"ALIBABA_CLOUD_ACCESS_KEY_ID=" + emulator.DefaultAccessKeyID,
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + emulator.DefaultAccessKeySecret,
	}, extraEnv...)
	fn := testproc.StartFunction(t, "ekyc-init", env...)
	contract.Register(t, "ekyc-init", fn.URL())
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("ekyc-init output:\n%s", fn.Output())
		}
	})
	return &stack{fn: fn, emu: &emulator.Remote{BaseURL: emu.URL()}}
}

func validBody() map[string]any {
	return map[string]any{
		"MetaInfo":       map[string]any{"zimVer": "3.0.0", "appName": "com.example.app", "deviceType": "h5", e2eMetaKey: "1"},
		"MerchantUserId": e2eUserID,
		"DocType":        "01560000",
	}
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func (a answer) str(path ...string) string {
	var v any = a.body
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	s, _ := v.(string)
	return s
}

func post(t *testing.T, url string, headers map[string]string, body any) answer {
	t.Helper()
	var raw []byte
	switch b := body.(type) {
	case []byte:
		raw = b
	case string:
		raw = []byte(b)
	default:
		var err error
		raw, err = json.Marshal(b)
		require.NoError(t, err)
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(raw))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	a := answer{status: res.StatusCode, header: res.Header}
	require.NoError(t, json.Unmarshal(b, &a.body), "answer is JSON: %s", b)
	return a
}

func TestEndToEnd(t *testing.T) {
	s := startStack(t)

	// requireTransaction checks the answer carries a transaction the
	// emulator really created, for the MerchantBizId the answer names.
	requireTransaction := func(t *testing.T, a answer) {
		t.Helper()
		require.Equal(t, http.StatusOK, a.status, "%v", a.body)
		assert.Equal(t, "Success", a.str("Code"))
		id := a.str("Result", "TransactionId")
		require.NotEmpty(t, id)
		tx, err := s.emu.Transaction(id)
		require.NoError(t, err)
		assert.Equal(t, a.str("MerchantBizId"), tx.MerchantBizID)
		assert.Equal(t, e2eUserID, tx.MerchantUserID)
		assert.NotEmpty(t, a.str("RequestId"))
	}

	t.Run("HTTP trigger", func(t *testing.T) {
		requireTransaction(t, post(t, s.fn.URL()+"/", nil, validBody()))
	})
	t.Run("HTTP on a custom-domain path", func(t *testing.T) {
		requireTransaction(t, post(t, s.fn.URL()+"/kyc/ekyc-init", nil, validBody()))
	})
	t.Run("event through /invoke", func(t *testing.T) {
		requireTransaction(t, post(t, s.fn.URL()+"/invoke", map[string]string{"x-fc-control-path": "/invoke"}, validBody()))
	})
	t.Run("timer event with the request in payload", func(t *testing.T) {
		payload, _ := json.Marshal(validBody())
		timer := map[string]any{"triggerTime": "2026-11-23T10:00:00Z", "triggerName": "nightly", "payload": string(payload)}
		requireTransaction(t, post(t, s.fn.URL()+"/invoke", map[string]string{"x-fc-control-path": "/invoke"}, timer))
	})
	t.Run("EventBridge CloudEvent with the request in data", func(t *testing.T) {
		ce := map[string]any{"id": "e-1", "source": "acs.mns", "specversion": "1.0", "type": "mns:Queue:SendMessage",
			"datacontenttype": "application/json", "time": "2026-11-23T10:00:00Z", "data": validBody()}
		requireTransaction(t, post(t, s.fn.URL()+"/invoke", map[string]string{"x-fc-control-path": "/invoke"}, ce))
	})

	t.Run("STS credentials from x-fc headers reach the service", func(t *testing.T) {
		a := post(t, s.fn.URL()+"/", map[string]string{
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
		a := post(t, s.fn.URL()+"/", map[string]string{
			"x-fc-access-key-id":     emulator.DefaultSTSAccessKeyID,
			"x-fc-access-key-secret": "not-the-secret",
			"x-fc-security-token":    emulator.DefaultSecurityToken,
		}, validBody())
		assert.Equal(t, http.StatusBadGateway, a.status)
		assert.Equal(t, "SignatureDoesNotMatch", a.str("Code"))
		assert.NotEmpty(t, a.str("RequestId"), "the upstream RequestId is kept")
	})

	t.Run("the same failure as an event carries x-fc-status 404", func(t *testing.T) {
		a := post(t, s.fn.URL()+"/invoke", map[string]string{
			"x-fc-control-path":      "/invoke",
			"x-fc-access-key-id":     emulator.DefaultAccessKeyID,
			"x-fc-access-key-secret": "not-the-secret",
		}, validBody())
		assert.Equal(t, "404", a.header.Get("x-fc-status"))
		assert.Equal(t, "SignatureDoesNotMatch", a.str("Code"))
	})

	t.Run("invalid requests get 400 and cost no upstream call", func(t *testing.T) {
		before, err := s.emu.Stats()
		require.NoError(t, err)
		with := func(k string, v any) map[string]any { m := validBody(); m[k] = v; return m }
		without := func(k string) map[string]any { m := validBody(); delete(m, k); return m }
		bad := map[string]any{
			"no MetaInfo":            without("MetaInfo"),
			"no MerchantUserId":      without("MerchantUserId"),
			"no DocType":             without("DocType"),
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
			a := post(t, s.fn.URL()+"/", map[string]string{contract.InvalidHeader: "1"}, body)
			assert.Equal(t, http.StatusBadRequest, a.status, name)
			assert.Contains(t, []string{"MissingParameter", "InvalidParameter"}, a.str("Code"), name)
			ev := post(t, s.fn.URL()+"/invoke", map[string]string{"x-fc-control-path": "/invoke", contract.InvalidHeader: "1"}, body)
			assert.Equal(t, "404", ev.header.Get("x-fc-status"), name)
		}
		after, err := s.emu.Stats()
		require.NoError(t, err)
		assert.Equal(t, before.Requests["Initialize"], after.Requests["Initialize"], "no request reached the emulator")
	})

	t.Run("throttling is retried, a reset is not", func(t *testing.T) {
		require.NoError(t, s.emu.Reset())
		require.NoError(t, s.emu.InjectFault(emulator.Cloudauth, "Initialize", emulator.Fault{Kind: emulator.FaultThrottle, Times: 1}))
		requireTransaction(t, post(t, s.fn.URL()+"/", nil, validBody()))
		st, err := s.emu.Stats()
		require.NoError(t, err)
		assert.EqualValues(t, 2, st.Requests["Initialize"], "one throttled, one accepted")

		require.NoError(t, s.emu.Reset())
		require.NoError(t, s.emu.InjectFault(emulator.Cloudauth, "Initialize", emulator.Fault{Kind: emulator.FaultReset, Times: 1}))
		a := post(t, s.fn.URL()+"/", nil, validBody())
		assert.Equal(t, http.StatusBadGateway, a.status, "%v", a.body)
		st, err = s.emu.Stats()
		require.NoError(t, err)
		assert.EqualValues(t, 1, st.Requests["Initialize"], "Initialize is billed: a call that may have reached the service is not repeated")
	})

	t.Run("a hung upstream ends within the function's deadline with 504", func(t *testing.T) {
		require.NoError(t, s.emu.Reset())
		require.NoError(t, s.emu.InjectFault(emulator.Cloudauth, "Initialize", emulator.Fault{Kind: emulator.FaultSlow, Delay: 30 * time.Second, Times: 1}))
		start := time.Now()
		a := post(t, s.fn.URL()+"/", nil, validBody())
		assert.Equal(t, http.StatusGatewayTimeout, a.status, "%v", a.body)
		assert.Equal(t, "UpstreamTimeout", a.str("Code"))
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
				codes[i] = post(t, s.fn.URL()+"/", nil, validBody()).status
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
		post(t, s.fn.URL()+"/", nil, validBody()) // leaves one idle keep-alive connection
		require.NoError(t, s.emu.Reset())
		for range 20 {
			require.Equal(t, http.StatusOK, post(t, s.fn.URL()+"/", nil, validBody()).status)
		}
		st, err := s.emu.Stats()
		require.NoError(t, err)
		assert.EqualValues(t, 20, st.Accepted["Initialize"])
		assert.LessOrEqual(t, st.Connections, int64(1), "keep-alive: 20 calls, at most one new connection")
	})

	t.Run("logs carry no personal data and no secrets", func(t *testing.T) {
		out := s.fn.Output()
		require.NotEmpty(t, out)
		for _, secret := range []string{e2eUserID, e2eMetaKey, emulator.DefaultAccessKeySecret, emulator.DefaultSTSAccessKeySecret, emulator.DefaultSecurityToken, "not-the-secret"} {
			assert.NotContains(t, out, secret)
		}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var m map[string]any
			assert.NoError(t, json.Unmarshal([]byte(line), &m), "every log line is JSON: %s", line)
		}
	})
}

func TestStartRefusesBadConfiguration(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds and runs binaries")
	}
	bin := testproc.Build(t, "github.com/idverify/fc-kyc/functions/ekyc-init")
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"no AUTH_MODE", nil, "AUTH_MODE is required"},
		{"http endpoint off loopback", []string{"AUTH_MODE=none", "CLOUDAUTH_ENDPOINT=http://10.0.0.1:8600"}, "CLOUDAUTH_ENDPOINT"},
		{"callback URL without secret", []string{"AUTH_MODE=none", "EKYC_CALLBACK_URL=https://cb.example.com/cb"}, "CALLBACK_SECRET"},
		{"callback URL over http", []string{"AUTH_MODE=none", "EKYC_CALLBACK_URL=http://cb.example.com/cb"}, "EKYC_CALLBACK_URL"},
		{"bad timeout", []string{"AUTH_MODE=none", "FUNCTION_TIMEOUT_S=ten"}, "FUNCTION_TIMEOUT_S"},
		{"bad port", []string{"AUTH_MODE=none", "FC_CUSTOM_LISTEN_PORT=http"}, "FC_CUSTOM_LISTEN_PORT"},
		{"unreachable store", []string{"AUTH_MODE=none", "STORE_URL=redis://127.0.0.1:1/0"}, "STORE_URL"},
		{"relative store directory", []string{"AUTH_MODE=none", "STORE_URL=file://rel/dir"}, "STORE_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := testproc.RunOnce(bin, tt.env...)
			require.Error(t, err, "the function must not start")
			assert.Contains(t, out, tt.want)
		})
	}
}
