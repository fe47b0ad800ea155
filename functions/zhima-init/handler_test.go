package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/internal/e2e"
	"github.com/idverify/fc-kyc/internal/testbody"
	"github.com/idverify/fc-kyc/pkg/alipay"
	"github.com/idverify/fc-kyc/pkg/emulator"
	"github.com/idverify/fc-kyc/pkg/fcrt"
)

const returnURL = "https://merchant.example.com/zhima/return?from=test"

// stack is the function's full HTTP handler (runtime adapter, gateway
// answers, checks, the real Alipay client) against an in-process emulator,
// served on loopback so that tests call it as the end-to-end suite does.
type stack struct {
	url string
	emu *emulator.Emulator
	gw  *emulator.AlipayGateway
	log *bytes.Buffer
}

func newStack(t testing.TB) *stack {
	t.Helper()
	emu, gateway := emulatedGateway(t)
	h := &Handler{Upstream: alipayClient(t, gateway), ProductCode: DefaultProductCode, ReturnURL: returnURL, Now: time.Now}
	api, event := fcrt.Operation(h.Initialize, fcrt.WithMaxBody(maxBody))
	var log bytes.Buffer
	fh := fcrt.Handler(fcrt.Function{Name: "zhima-init", HTTP: api, Event: event, ErrorShape: errorBody},
		fcrt.Options{Timeout: 5 * time.Second, Logger: slog.New(slog.NewJSONHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug})), TrustControlPath: true})
	srv := httptest.NewServer(fh)
	t.Cleanup(srv.Close)
	return &stack{url: srv.URL, emu: emu, gw: emu.Alipay(), log: &log}
}

// emulatedGateway runs the emulator in-process until t ends and returns it
// with the URL of its Alipay gateway.
func emulatedGateway(t testing.TB) (*emulator.Emulator, string) {
	t.Helper()
	emu := emulator.New(emulator.Config{})
	srv := httptest.NewServer(emu.Handler())
	t.Cleanup(srv.Close)
	return emu, srv.URL + "/gateway.do"
}

// alipayClient is the function's Alipay client of the gateway at gateway,
// with the keys the emulator knows, sending each call once.
func alipayClient(t testing.TB, gateway string) *alipay.Client {
	t.Helper()
	key, err := alipay.ParsePrivateKey(emulator.AlipayTestAppPrivateKey)
	require.NoError(t, err)
	pub, err := alipay.ParsePublicKey(emulator.AlipayTestPublicKey)
	require.NoError(t, err)
	client, err := alipay.New(alipay.Config{Gateway: gateway, AppID: emulator.AlipayTestAppID,
		PrivateKey: key, AlipayPublicKey: pub, MaxAttempts: 1})
	require.NoError(t, err)
	return client
}

// post sends body (a string as it is, anything else as JSON) to the
// function's API.
func (s *stack) post(t testing.TB, body any) e2e.Answer {
	t.Helper()
	return e2e.Post(t, s.url+"/", nil, body)
}

const (
	certName = "张三"
	certNo   = "260104197909275964"
)

func validBody() map[string]any {
	return map[string]any{
		"biz_code": "FACE",
		"identity_param": map[string]any{"identity_type": "CERT_INFO", "cert_type": "IDENTITY_CARD",
			"cert_name": certName, "cert_no": certNo},
	}
}

// with is validBody with kv applied (testbody.With).
func with(kv ...any) map[string]any { return testbody.With(validBody(), kv...) }

func TestValidRequests(t *testing.T) {
	s := newStack(t)
	cases := map[string]map[string]any{
		"identity_param as an object": validBody(),
		"identity_param as a string": with("identity_param",
			`{"identity_type":"CERT_INFO","cert_type":"IDENTITY_CARD","cert_name":"张三","cert_no":"260104197909275964"}`),
		"every parameter at its maximum": with(
			"transaction_id", strings.Repeat("a", 32),
			"product_code", strings.Repeat("P", 32),
			"merchant_config", `{"need_user_authorization":"false"}`,
			"ext_biz_param", map[string]any{},
			"linked_merchant_id", "2088721630869411",
			"face_contrast_picture", strings.Repeat("A", maxFaceContrastPicture)),
	}
	// In this order: the checks after the loop read the last call.
	for _, name := range []string{"identity_param as an object", "identity_param as a string", "every parameter at its maximum"} {
		body := cases[name]
		t.Run(name, func(t *testing.T) {
			a := s.post(t, body)
			require.Equal(t, http.StatusOK, a.Status, "%v", a.Body)
			assert.Equal(t, "10000", a.Body["code"])
			bizNo, _ := a.Body["biz_no"].(string)
			cert, ok := s.gw.Certification(bizNo)
			require.True(t, ok, "biz_no %q is one the gateway created", bizNo)
			assert.Equal(t, a.Body["transaction_id"], cert.TransactionID)
			if tx, ok := body["transaction_id"]; ok {
				assert.Equal(t, tx, a.Body["transaction_id"])
			}

			// The certify URL: signed, for this biz_no, with return_url.
			u, err := url.Parse(a.Body["certify_url"].(string))
			require.NoError(t, err)
			q := u.Query()
			assert.Equal(t, alipay.MethodZhimaCertify, q.Get("method"))
			assert.Equal(t, `{"biz_no":"`+bizNo+`"}`, q.Get("biz_content"))
			assert.Equal(t, returnURL, q.Get("return_url"))
			pub, err := alipay.ParsePublicKey(emulator.AlipayTestAppPublicKey)
			require.NoError(t, err)
			params := map[string]string{}
			for k := range q {
				params[k] = q.Get(k)
			}
			assert.NoError(t, alipay.VerifyParams(pub, params, true))
		})
	}
	// What reached the gateway: identity_param as a JSON string, compact.
	sent, ok := s.gw.LastRequest(alipay.MethodZhimaInitialize)
	require.True(t, ok)
	var biz map[string]any
	require.NoError(t, json.Unmarshal([]byte(sent["biz_content"]), &biz))
	assert.IsType(t, "", biz["identity_param"])
	assert.Equal(t, "{}", biz["ext_biz_param"])
	assert.Equal(t, strings.Repeat("P", 32), biz["product_code"])
}

func TestGeneratedTransactionIDsAreUniqueAndWellFormed(t *testing.T) {
	h := &Handler{Now: time.Now}
	seen := map[string]bool{}
	for range 1000 {
		id := h.newTransactionID()
		require.Regexp(t, `^ZM[0-9]{14}[A-Z2-7]{16}$`, id)
		require.False(t, seen[id], "duplicate %s", id)
		seen[id] = true
	}
	// The date part is Beijing's, whatever the machine's zone.
	h.Now = func() time.Time { return time.Date(2024, 1, 1, 19, 4, 5, 0, time.UTC) }
	assert.True(t, strings.HasPrefix(h.newTransactionID(), "ZM20240102030405"))
}

// Every invalid request gets 4xx in the gateway's vocabulary, names the
// parameter, echoes no personal data, and costs no gateway call.
func TestInvalidRequests(t *testing.T) {
	s := newStack(t)
	picture := base64.StdEncoding.EncodeToString([]byte("jpeg"))
	cases := []struct {
		name  string
		body  any
		param string
	}{
		{"not JSON", `{"biz_code":`, ""},
		{"unknown parameter", with("identity_type", "CERT_INFO"), "identity_type"},
		{"server-owned app_id", with("app_id", "2021000000000001"), "app_id"},
		{"server-owned sign", with("sign", "x"), "sign"},
		{"server-owned timestamp", with("timestamp", "2024-01-02 03:04:05"), "timestamp"},
		{"transaction_id too long", with("transaction_id", strings.Repeat("a", 33)), "transaction_id"},
		{"transaction_id with a dash", with("transaction_id", "ZGYD-1"), "transaction_id"},
		{"transaction_id not a string", with("transaction_id", 123), "transaction_id"},
		{"product_code too long", with("product_code", strings.Repeat("w", 33)), "product_code"},
		{"biz_code missing", with("biz_code", nil), "biz_code"},
		{"biz_code too long", with("biz_code", strings.Repeat("F", 33)), "biz_code"},
		{"biz_code with spaces", with("biz_code", "FA CE"), "biz_code"},
		{"identity_param missing", with("identity_param", nil), "identity_param"},
		{"identity_param empty object", with("identity_param", map[string]any{}), "identity_param"},
		{"identity_param not an object", with("identity_param", "260104197909275964"), "identity_param"},
		{"identity_param an array", with("identity_param", []any{1}), "identity_param"},
		{"identity_param without identity_type", with("identity_param", map[string]any{"cert_no": certNo}), "identity_param"},
		{"CERT_INFO without cert_no", with("identity_param", map[string]any{"identity_type": "CERT_INFO",
			"cert_type": "IDENTITY_CARD", "cert_name": certName}), "identity_param"},
		{"CERT_INFO with empty cert_name", with("identity_param", map[string]any{"identity_type": "CERT_INFO",
			"cert_type": "IDENTITY_CARD", "cert_name": "", "cert_no": certNo}), "identity_param"},
		{"identity_param over 4096", with("identity_param", map[string]any{"identity_type": "CERT_INFO",
			"cert_type": "IDENTITY_CARD", "cert_name": strings.Repeat("张", 4050), "cert_no": certNo}), "identity_param"},
		{"merchant_config over 1024", with("merchant_config", map[string]any{"k": strings.Repeat("x", 1020)}), "merchant_config"},
		{"merchant_config not an object", with("merchant_config", "yes"), "merchant_config"},
		{"ext_biz_param over 4096", with("ext_biz_param", map[string]any{"k": strings.Repeat("x", 4090)}), "ext_biz_param"},
		{"linked_merchant_id too long", with("linked_merchant_id", "20887216308694111"), "linked_merchant_id"},
		{"face_contrast_picture not base64", with("face_contrast_picture", "not base64!"), "face_contrast_picture"},
		{"face_contrast_picture too long", with("face_contrast_picture", strings.Repeat("A", maxFaceContrastPicture+4)), "face_contrast_picture"},
		{"face_contrast_picture with line breaks", with("face_contrast_picture", picture[:4]+"\n"+picture[4:]), "face_contrast_picture"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := s.post(t, c.body)
			assert.Equal(t, http.StatusBadRequest, a.Status, "%v", a.Body)
			assert.Equal(t, "40004", a.Body["code"])
			assert.Equal(t, "Business Failed", a.Body["msg"])
			assert.Equal(t, "INVALID_PARAMETER", a.Body["sub_code"])
			subMsg, _ := a.Body["sub_msg"].(string)
			assert.Contains(t, subMsg, c.param)
			assert.NotContains(t, subMsg, certNo)
			assert.NotContains(t, subMsg, certName)
			assert.NotContains(t, a.Body, "biz_no")
		})
	}
	assert.Empty(t, s.gw.Stats().Requests, "no invalid request reached the gateway")
	assert.NotContains(t, s.log.String(), certNo, "no ID number in the logs")
	assert.NotContains(t, s.log.String(), certName, "no name in the logs")
}

func TestRequestLevelRefusals(t *testing.T) {
	s := newStack(t)
	get := e2e.Do(t, http.MethodGet, s.url+"/", nil, nil)
	assert.Equal(t, http.StatusMethodNotAllowed, get.Status)
	assert.Equal(t, http.MethodPost, get.Header.Get("Allow"))
	var b ErrorBody
	require.NoError(t, json.Unmarshal([]byte(get.Raw), &b))
	assert.Equal(t, ErrorBody{Code: "40002", Msg: "Invalid Arguments", SubCode: "UnsupportedMethod", SubMsg: "This API takes POST only."}, b)

	a := s.post(t, `{"face_contrast_picture":"`+strings.Repeat("A", maxBody)+`"}`)
	assert.Equal(t, http.StatusRequestEntityTooLarge, a.Status)
	assert.Equal(t, "40002", a.Body["code"])
	assert.Equal(t, "RequestTooLarge", a.Body["sub_code"])
	assert.Empty(t, s.gw.Stats().Requests)
}

// Gateway failures keep the gateway's code, msg, sub_code and sub_msg, at
// a status that says whose they are; an answer that fails verification
// gives no biz_no.
func TestGatewayFailures(t *testing.T) {
	cases := []struct {
		name    string
		fault   emulator.FaultKind
		body    map[string]any
		status  int
		code    string
		subCode string
	}{
		{"gateway refuses the biz_code", "", with("biz_code", "NOT_SIGNED"), http.StatusBadRequest, "40004", "UNSUPPORTED_BIZ_CODE"},
		{"20000", emulator.AlipayFaultUnavailable, validBody(), http.StatusServiceUnavailable, "20000", "isp.unknow-error"},
		{"bad signature", emulator.AlipayFaultBadSignature, validBody(), http.StatusBadGateway, "20000", "BadUpstreamAnswer"},
		{"duplicate node", emulator.AlipayFaultDuplicateNode, validBody(), http.StatusBadGateway, "20000", "BadUpstreamAnswer"},
		{"unsigned success", emulator.AlipayFaultUnsigned, validBody(), http.StatusBadGateway, "20000", "BadUpstreamAnswer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newStack(t)
			if c.fault != "" {
				s.emu.InjectFault(emulator.Alipay, "", emulator.Fault{Kind: c.fault})
			}
			a := s.post(t, c.body)
			assert.Equal(t, c.status, a.Status, "%v", a.Body)
			assert.Equal(t, c.code, a.Body["code"])
			assert.Equal(t, c.subCode, a.Body["sub_code"])
			assert.NotEmpty(t, a.Body["msg"])
			assert.NotEmpty(t, a.Body["sub_msg"])
			assert.NotContains(t, a.Body, "biz_no")
			assert.NotContains(t, a.Body, "certify_url")
			assert.Equal(t, int64(1), s.gw.Stats().Requests[alipay.MethodZhimaInitialize])
		})
	}
}

// The event path (/invoke, timers) runs the same operation.
func TestEventInvocation(t *testing.T) {
	s := newStack(t)
	event := map[string]string{"x-fc-control-path": "/invoke"}
	a := e2e.Post(t, s.url+"/invoke", event, validBody())
	require.Equal(t, http.StatusOK, a.Status, a.Raw)
	assert.Equal(t, "200", a.Header.Get("x-fc-status"))
	var res Response
	require.NoError(t, json.Unmarshal([]byte(a.Raw), &res))
	_, ok := s.gw.Certification(res.BizNo)
	assert.True(t, ok)

	a = e2e.Post(t, s.url+"/invoke", event, `{"biz_code":"FACE"}`)
	assert.Equal(t, "404", a.Header.Get("x-fc-status"))
	assert.Contains(t, a.Raw, "identity_param")
}

// A caller who sends several common parameters is told about the first of
// them in the gateway's order, the same one every time.
func TestCommonParametersAreNamedInOrder(t *testing.T) {
	h := &Handler{ProductCode: DefaultProductCode, Now: time.Now}
	req := request(t, with("sign", "x", "app_id", "2021000000000001", "version", "1.0"))
	for range 20 {
		_, err := h.check(req)
		require.Error(t, err)
		assert.Contains(t, err.Error(), `"app_id"`)
	}
}
