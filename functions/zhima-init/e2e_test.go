package main

// End to end: the built zhima-init binary and the built emulator, each its
// own process on loopback, driven over HTTP as FC and a front-end would.

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/internal/contract"
	"github.com/idverify/fc-kyc/pkg/alipay"
	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/emulator"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

type e2e struct {
	fn  *testproc.Proc
	emu *emulator.Remote
}

func startE2E(t *testing.T) *e2e {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: builds and runs binaries")
	}
	emu := testproc.StartEmulator(t)
	// The app key as a PKCS#1 PEM file (ALIPAY_PRIVATE_KEY_FILE), Alipay's
	// key inline; the machine's zone is far from Beijing on purpose: the
	// emulator refuses a timestamp more than 15 minutes off Beijing time.
	keyFile := filepath.Join(t.TempDir(), "app_private_key.pem")
	require.NoError(t, os.WriteFile(keyFile, []byte(emulator.AlipayTestAppPrivateKey), 0o600))
	fn := testproc.StartFunction(t, "zhima-init",
		"AUTH_MODE=none",
		"FUNCTION_TIMEOUT_S=5",
		"TZ=America/Los_Angeles",
		"ALIPAY_GATEWAY="+emu.URL()+"/gateway.do",
		"ALIPAY_APP_ID="+emulator.AlipayTestAppID,
		"ALIPAY_PRIVATE_KEY_FILE="+keyFile,
		"ALIPAY_PUBLIC_KEY="+emulator.AlipayTestPublicKey,
		"ZHIMA_RETURN_URL=https://merchant.example.com/zhima/return",
		"CALLBACK_SECRET=e2e-callback-secret-0123456789abcdef",
		"STORE_URL=file://"+t.TempDir(),
	)
	contract.Register(t, "zhima-init", fn.URL())
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("zhima-init output:\n%s", fn.Output())
		}
	})
	return &e2e{fn: fn, emu: &emulator.Remote{BaseURL: emu.URL()}}
}

func (s *e2e) post(t *testing.T, path string, headers map[string]string, body any) answer {
	t.Helper()
	raw, ok := body.(string)
	if !ok {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		raw = string(b)
	}
	req, err := http.NewRequest(http.MethodPost, s.fn.URL()+path, bytes.NewReader([]byte(raw)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	a := answer{status: res.StatusCode, header: res.Header, raw: string(b)}
	require.NoError(t, json.Unmarshal(b, &a.body), "answer is JSON: %s", b)
	return a
}

func TestEndToEnd(t *testing.T) {
	s := startE2E(t)

	t.Run("valid request: biz_no and a certify URL the gateway accepts", func(t *testing.T) {
		a := s.post(t, "/", nil, validBody())
		require.Equal(t, http.StatusOK, a.status, "%v", a.body)
		bizNo, _ := a.body["biz_no"].(string)
		cert, err := s.emu.AlipayCertification(bizNo)
		require.NoError(t, err, "the biz_no is one the gateway created")
		assert.Equal(t, a.body["transaction_id"], cert.TransactionID)

		// The user's browser opens the certify URL: the gateway checks its
		// signature and shows the page.
		certify, _ := a.body["certify_url"].(string)
		require.True(t, strings.HasPrefix(certify, s.emu.BaseURL+"/gateway.do?"), certify)
		// Copied from a terminal into a browser, the URL must work as printed.
		assert.Contains(t, a.raw, `"certify_url":"`+certify+`"`, "certify_url is HTML-escaped in the answer")
		res, err := http.Get(certify)
		require.NoError(t, err)
		page, _ := io.ReadAll(res.Body)
		res.Body.Close()
		assert.Equal(t, http.StatusOK, res.StatusCode, "%s", page)
		assert.Contains(t, string(page), bizNo)
		assert.Contains(t, string(page), "https://merchant.example.com/zhima/return")
	})

	t.Run("event invocation", func(t *testing.T) {
		a := s.post(t, "/invoke", map[string]string{"x-fc-control-path": "/invoke"}, validBody())
		require.Equal(t, http.StatusOK, a.status, "%v", a.body)
		assert.Equal(t, "200", a.header.Get("x-fc-status"))
		_, err := s.emu.AlipayCertification(a.str("biz_no"))
		assert.NoError(t, err)
	})

	t.Run("tampered answer signature: an error and no biz_no", func(t *testing.T) {
		require.NoError(t, s.emu.InjectFault(emulator.Alipay, alipay.MethodZhimaInitialize, emulator.Fault{Kind: emulator.AlipayFaultBadSignature, Times: 1}))
		a := s.post(t, "/", nil, validBody())
		assert.Equal(t, http.StatusBadGateway, a.status, "%v", a.body)
		assert.Equal(t, "BadUpstreamAnswer", a.str("sub_code"))
		assert.NotContains(t, a.body, "biz_no")
		assert.NotContains(t, a.body, "certify_url")
	})

	t.Run("duplicate node: an error and no biz_no", func(t *testing.T) {
		require.NoError(t, s.emu.InjectFault(emulator.Alipay, alipay.MethodZhimaInitialize, emulator.Fault{Kind: emulator.AlipayFaultDuplicateNode, Times: 1}))
		a := s.post(t, "/", nil, validBody())
		assert.Equal(t, http.StatusBadGateway, a.status, "%v", a.body)
		assert.NotContains(t, a.body, "biz_no")
	})

	t.Run("20000 keeps the gateway's vocabulary", func(t *testing.T) {
		require.NoError(t, s.emu.InjectFault(emulator.Alipay, alipay.MethodZhimaInitialize, emulator.Fault{Kind: emulator.AlipayFaultUnavailable, Times: 1}))
		a := s.post(t, "/", nil, validBody())
		assert.Equal(t, http.StatusServiceUnavailable, a.status)
		assert.Equal(t, map[string]any{"code": "20000", "msg": "Service Currently Unavailable",
			"sub_code": "isp.unknow-error", "sub_msg": "系统繁忙"}, a.body)
	})

	t.Run("every invalid request: 4xx and zero gateway calls", func(t *testing.T) {
		require.NoError(t, s.emu.AlipayReset())
		for _, body := range []any{
			`not json`,
			with("transaction_id", "bad-id"),
			with("transaction_id", strings.Repeat("a", 33)),
			with("biz_code", nil),
			with("identity_param", nil),
			with("identity_param", map[string]any{"identity_type": "CERT_INFO", "cert_no": certNo}),
			with("merchant_config", map[string]any{"k": strings.Repeat("x", 1024)}),
			with("ext_biz_param", "[]"),
			with("linked_merchant_id", strings.Repeat("2", 17)),
			with("face_contrast_picture", "%%%"),
			with("sign", "forged"),
		} {
			// Refused on purpose: the contract checks only the answers.
			a := s.post(t, "/", map[string]string{contract.InvalidHeader: "1"}, body)
			assert.GreaterOrEqual(t, a.status, 400, "%v", body)
			assert.Less(t, a.status, 500, "%v", body)
			assert.Equal(t, "40004", a.str("code"))
			assert.Equal(t, "INVALID_PARAMETER", a.str("sub_code"))
		}
		st, err := s.emu.AlipayStats()
		require.NoError(t, err)
		assert.Empty(t, st.Requests, "no invalid request cost a gateway call")
	})

	t.Run("a chosen transaction_id: a retry gets the first biz_no, another request 409", func(t *testing.T) {
		require.NoError(t, s.emu.AlipayReset())
		first := s.post(t, "/", nil, with("transaction_id", "ORDER123"))
		require.Equal(t, http.StatusOK, first.status, "%v", first.body)
		again := s.post(t, "/", nil, with("transaction_id", "ORDER123"))
		require.Equal(t, http.StatusOK, again.status, "%v", again.body)
		assert.Equal(t, first.str("biz_no"), again.str("biz_no"))
		// A freshly signed certify URL for the same certification, which the gateway accepts.
		res, err := http.Get(again.str("certify_url"))
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, http.StatusOK, res.StatusCode)

		other := s.post(t, "/", nil, with("transaction_id", "ORDER123", "biz_code", "SMART_FACE"))
		assert.Equal(t, http.StatusConflict, other.status, "%v", other.body)
		assert.Equal(t, "40004", other.str("code"))
		assert.Equal(t, apierr.IdempotentParameterMismatch, other.str("sub_code"))
		assert.NotContains(t, other.body, "biz_no")
		st, err := s.emu.AlipayStats()
		require.NoError(t, err)
		assert.EqualValues(t, 1, st.Requests[alipay.MethodZhimaInitialize], "one initialize for three requests")
	})

	t.Run("no personal data in the logs", func(t *testing.T) {
		out := s.fn.Output()
		assert.NotContains(t, out, certNo)
		assert.NotContains(t, out, certName)
		assert.Contains(t, out, "zhima initialize ok", "the function logged its calls")
	})
}

func TestStartFailsOnBadConfiguration(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds and runs binaries")
	}
	bin := testproc.Build(t, "github.com/idverify/fc-kyc/functions/zhima-init")
	base := []string{"FC_CUSTOM_LISTEN_PORT=" + testproc.FreePort(t), "AUTH_MODE=none",
		"ALIPAY_APP_ID=" + emulator.AlipayTestAppID}
	for _, tt := range []struct {
		name string
		env  []string
		want string
	}{
		{"malformed private key", []string{"ALIPAY_PRIVATE_KEY=MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "ALIPAY_PUBLIC_KEY=" + emulator.AlipayTestPublicKey}, "ALIPAY_PRIVATE_KEY"},
		{"malformed public key", []string{"ALIPAY_PRIVATE_KEY=" + emulator.AlipayTestAppPrivateKey, "ALIPAY_PUBLIC_KEY=oops"}, "ALIPAY_PUBLIC_KEY"},
		{"no public key", []string{"ALIPAY_PRIVATE_KEY=" + emulator.AlipayTestAppPrivateKey}, "ALIPAY_PUBLIC_KEY is not set"},
		{"return URL over http", []string{"ALIPAY_PRIVATE_KEY=" + emulator.AlipayTestAppPrivateKey, "ALIPAY_PUBLIC_KEY=" + emulator.AlipayTestPublicKey,
			"ZHIMA_RETURN_URL=http://merchant.example.com/r"}, "ZHIMA_RETURN_URL"},
		{"return URL without token keys", []string{"ALIPAY_PRIVATE_KEY=" + emulator.AlipayTestAppPrivateKey, "ALIPAY_PUBLIC_KEY=" + emulator.AlipayTestPublicKey,
			"ZHIMA_RETURN_URL=https://merchant.example.com/r"}, "CALLBACK_SECRET is required when ZHIMA_RETURN_URL is set"},
		{"short token key", []string{"ALIPAY_PRIVATE_KEY=" + emulator.AlipayTestAppPrivateKey, "ALIPAY_PUBLIC_KEY=" + emulator.AlipayTestPublicKey,
			"ZHIMA_RETURN_URL=https://merchant.example.com/r", "CALLBACK_SECRET=short"}, "CALLBACK_SECRET: key 1 of 1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := testproc.RunOnce(bin, append(base, tt.env...)...)
			require.Error(t, err, "the function must not start")
			assert.Contains(t, out, tt.want)
			assert.NotContains(t, out, "MIIE", "no key material in the message")
		})
	}
}
