package main

// End to end: the built zhima-init binary and the built emulator, each its
// own process on loopback, driven over HTTP as FC and a front-end would.

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/internal/contract"
	"github.com/idverify/fc-kyc/internal/e2e"
	"github.com/idverify/fc-kyc/pkg/alipay"
	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/emulator"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

// startE2E starts the emulator and zhima-init against it. The machine's
// zone is far from Beijing on purpose: the emulator refuses a timestamp more
// than 15 minutes off Beijing time.
func startE2E(t *testing.T) (*testproc.Proc, *emulator.Remote) {
	t.Helper()
	e2e.Skip(t)
	emu, remote := e2e.Emulator(t)
	return e2e.Function(t, "zhima-init", emu.URL(),
		"TZ=America/Los_Angeles",
		"ZHIMA_RETURN_URL=https://merchant.example.com/zhima/return",
		"CALLBACK_SECRET=e2e-callback-secret-0123456789abcdef",
	), remote
}

func TestEndToEnd(t *testing.T) {
	fn, emu := startE2E(t)
	api := fn.URL() + "/"

	t.Run("valid request: biz_no and a certify URL the gateway accepts", func(t *testing.T) {
		a := e2e.Post(t, api, nil, validBody())
		require.Equal(t, http.StatusOK, a.Status, "%v", a.Body)
		bizNo, _ := a.Body["biz_no"].(string)
		cert, err := emu.AlipayCertification(bizNo)
		require.NoError(t, err, "the biz_no is one the gateway created")
		assert.Equal(t, a.Body["transaction_id"], cert.TransactionID)

		// The user's browser opens the certify URL: the gateway checks its
		// signature and shows the page.
		certify, _ := a.Body["certify_url"].(string)
		require.True(t, strings.HasPrefix(certify, emu.BaseURL+"/gateway.do?"), certify)
		// Copied from a terminal into a browser, the URL must work as printed.
		assert.Contains(t, a.Raw, `"certify_url":"`+certify+`"`, "certify_url is HTML-escaped in the answer")
		res, err := http.Get(certify)
		require.NoError(t, err)
		page, _ := io.ReadAll(res.Body)
		res.Body.Close()
		assert.Equal(t, http.StatusOK, res.StatusCode, "%s", page)
		assert.Contains(t, string(page), bizNo)
		assert.Contains(t, string(page), "https://merchant.example.com/zhima/return")
	})

	t.Run("event invocation", func(t *testing.T) {
		a := e2e.Post(t, fn.URL()+"/invoke", map[string]string{"x-fc-control-path": "/invoke"}, validBody())
		require.Equal(t, http.StatusOK, a.Status, "%v", a.Body)
		assert.Equal(t, "200", a.Header.Get("x-fc-status"))
		_, err := emu.AlipayCertification(a.Str("biz_no"))
		assert.NoError(t, err)
	})

	t.Run("tampered answer signature: an error and no biz_no", func(t *testing.T) {
		require.NoError(t, emu.InjectFault(emulator.Alipay, alipay.MethodZhimaInitialize, emulator.Fault{Kind: emulator.AlipayFaultBadSignature, Times: 1}))
		a := e2e.Post(t, api, nil, validBody())
		assert.Equal(t, http.StatusBadGateway, a.Status, "%v", a.Body)
		assert.Equal(t, "BadUpstreamAnswer", a.Str("sub_code"))
		assert.NotContains(t, a.Body, "biz_no")
		assert.NotContains(t, a.Body, "certify_url")
	})

	t.Run("duplicate node: an error and no biz_no", func(t *testing.T) {
		require.NoError(t, emu.InjectFault(emulator.Alipay, alipay.MethodZhimaInitialize, emulator.Fault{Kind: emulator.AlipayFaultDuplicateNode, Times: 1}))
		a := e2e.Post(t, api, nil, validBody())
		assert.Equal(t, http.StatusBadGateway, a.Status, "%v", a.Body)
		assert.NotContains(t, a.Body, "biz_no")
	})

	t.Run("20000 keeps the gateway's vocabulary", func(t *testing.T) {
		require.NoError(t, emu.InjectFault(emulator.Alipay, alipay.MethodZhimaInitialize, emulator.Fault{Kind: emulator.AlipayFaultUnavailable, Times: 1}))
		a := e2e.Post(t, api, nil, validBody())
		assert.Equal(t, http.StatusServiceUnavailable, a.Status)
		assert.Equal(t, map[string]any{"code": "20000", "msg": "Service Currently Unavailable",
			"sub_code": "isp.unknow-error", "sub_msg": "系统繁忙"}, a.Body)
	})

	t.Run("every invalid request: 4xx and zero gateway calls", func(t *testing.T) {
		require.NoError(t, emu.AlipayReset())
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
			a := e2e.Post(t, api, map[string]string{contract.InvalidHeader: "1"}, body)
			assert.GreaterOrEqual(t, a.Status, 400, "%v", body)
			assert.Less(t, a.Status, 500, "%v", body)
			assert.Equal(t, "40004", a.Str("code"))
			assert.Equal(t, "INVALID_PARAMETER", a.Str("sub_code"))
		}
		st, err := emu.AlipayStats()
		require.NoError(t, err)
		assert.Empty(t, st.Requests, "no invalid request cost a gateway call")
	})

	t.Run("a chosen transaction_id: a retry gets the first biz_no, another request 409", func(t *testing.T) {
		require.NoError(t, emu.AlipayReset())
		first := e2e.Post(t, api, nil, with("transaction_id", "ORDER123"))
		require.Equal(t, http.StatusOK, first.Status, "%v", first.Body)
		again := e2e.Post(t, api, nil, with("transaction_id", "ORDER123"))
		require.Equal(t, http.StatusOK, again.Status, "%v", again.Body)
		assert.Equal(t, first.Str("biz_no"), again.Str("biz_no"))
		// A freshly signed certify URL for the same certification, which the gateway accepts.
		res, err := http.Get(again.Str("certify_url"))
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, http.StatusOK, res.StatusCode)

		other := e2e.Post(t, api, nil, with("transaction_id", "ORDER123", "biz_code", "SMART_FACE"))
		assert.Equal(t, http.StatusConflict, other.Status, "%v", other.Body)
		assert.Equal(t, "40004", other.Str("code"))
		assert.Equal(t, apierr.IdempotentParameterMismatch, other.Str("sub_code"))
		assert.NotContains(t, other.Body, "biz_no")
		st, err := emu.AlipayStats()
		require.NoError(t, err)
		assert.EqualValues(t, 1, st.Requests[alipay.MethodZhimaInitialize], "one initialize for three requests")
	})

	t.Run("no personal data in the logs", func(t *testing.T) {
		out := fn.Output()
		assert.NotContains(t, out, certNo)
		assert.NotContains(t, out, certName)
		assert.Contains(t, out, "zhima initialize ok", "the function logged its calls")
	})
}

func TestStartFailsOnBadConfiguration(t *testing.T) {
	e2e.Skip(t)
	bin := testproc.Build(t, "github.com/idverify/fc-kyc/functions/zhima-init")
	base := []string{"FC_CUSTOM_LISTEN_PORT=0", "LISTEN_HOST=127.0.0.1", "AUTH_MODE=none",
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
