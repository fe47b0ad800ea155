package main

// The function's handler through the runtime adapter (httptest), with the
// real Antom client against the emulator in-process: what a caller sends,
// what Antom receives, what the caller reads back.

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/internal/e2e"
	"github.com/idverify/fc-kyc/internal/testbody"
	"github.com/idverify/fc-kyc/pkg/antom"
	"github.com/idverify/fc-kyc/pkg/emulator"
	"github.com/idverify/fc-kyc/pkg/fcrt"
)

// walletToken is the fixture userIdentityValue (an access token: it must
// never appear in an answer or a log).
const walletToken = "2020042910435415881282340824710273532915573saFBMrdXVH"

// fixture is the function's handler with the real Antom client against
// the emulator in-process, served on loopback so that tests call it as the
// end-to-end suite does.
type fixture struct {
	emu *emulator.Emulator
	url string
	log *bytes.Buffer
}

func newFixture(t *testing.T, timeout time.Duration) *fixture {
	t.Helper()
	emu := emulator.New(emulator.Config{})
	srv := httptest.NewServer(emu.Handler())
	t.Cleanup(srv.Close)
	var log bytes.Buffer
	fn := httptest.NewServer(fcrt.Handler(function(&Handler{Upstream: antomClient(t, srv.URL)}),
		fcrt.Options{Timeout: timeout, Logger: slog.New(slog.NewJSONHandler(&log, nil)), TrustControlPath: true}))
	t.Cleanup(fn.Close)
	return &fixture{emu: emu, url: fn.URL, log: &log}
}

// antomClient is the function's Antom client of the gateway at gateway,
// with the keys the emulator knows and a short wait between repeats.
func antomClient(t testing.TB, gateway string) *antom.Client {
	t.Helper()
	priv, err := antom.ParsePrivateKey(emulator.AntomMerchantPrivateKey)
	require.NoError(t, err)
	pub, err := antom.ParsePublicKey(emulator.AntomGatewayPublicKey)
	require.NoError(t, err)
	client, err := antom.New(antom.Config{Gateway: gateway, ClientID: emulator.AntomClientID,
		PrivateKey: priv, AntomPublicKey: pub, Backoff: 10 * time.Millisecond})
	require.NoError(t, err)
	return client
}

// post sends body (a string as it is, anything else as JSON) to path.
func (f *fixture) post(t *testing.T, path string, body any) e2e.Answer {
	t.Helper()
	return e2e.Post(t, f.url+path, nil, body)
}

func initBody(id, user string) map[string]any {
	m := map[string]any{"authenticationType": "OTP", "authenticationChannelType": "SMS",
		"userIdentityType": "WALLET_TOKEN", "userIdentityValue": user}
	if id != "" {
		m["authenticationRequestId"] = id
	}
	return m
}

// with is testbody.With: m with kv applied.
var with = testbody.With

func TestInvalidRequestsCostNothing(t *testing.T) {
	f := newFixture(t, 5*time.Second)
	good := initBody("id-1", walletToken)
	verify := map[string]any{"authenticationType": "OTP", "authenticationRequestId": "id-1", "authenticationValue": "123456"}
	cases := []struct {
		name, method, path string
		body               any
		status             int
		code, field        string
	}{
		{"no authenticationType", "POST", "/", with(good, "authenticationType", nil), 400, "PARAM_ILLEGAL", "authenticationType"},
		{"authenticationType PIN", "POST", "/", with(good, "authenticationType", "PIN"), 400, "PARAM_ILLEGAL", "authenticationType"},
		{"authenticationType over 16", "POST", "/", with(good, "authenticationType", strings.Repeat("O", 17)), 400, "PARAM_ILLEGAL", "authenticationType"},
		{"id over 64", "POST", "/", with(good, "authenticationRequestId", strings.Repeat("a", 65)), 400, "PARAM_ILLEGAL", "authenticationRequestId"},
		{"no channel", "POST", "/", with(good, "authenticationChannelType", nil), 400, "PARAM_ILLEGAL", "authenticationChannelType"},
		{"channel FAX", "POST", "/", with(good, "authenticationChannelType", "FAX"), 400, "PARAM_ILLEGAL", "authenticationChannelType"},
		{"channel lowercase", "POST", "/", with(good, "authenticationChannelType", "sms"), 400, "PARAM_ILLEGAL", "authenticationChannelType"},
		{"identity type PHONE", "POST", "/", with(good, "userIdentityType", "PHONE"), 400, "PARAM_ILLEGAL", "userIdentityType"},
		{"no identity value", "POST", "/", with(good, "userIdentityValue", nil), 400, "PARAM_ILLEGAL", "userIdentityValue"},
		{"blank identity value", "POST", "/", with(good, "userIdentityValue", "   "), 400, "PARAM_ILLEGAL", "userIdentityValue"},
		{"identity value over 128", "POST", "/", with(good, "userIdentityValue", strings.Repeat("t", 129)), 400, "PARAM_ILLEGAL", "userIdentityValue"},
		{"identity value a number", "POST", "/", with(good, "userIdentityValue", 12), 400, "PARAM_ILLEGAL", "userIdentityValue"},
		{"server-owned Client-Id", "POST", "/", with(good, "Client-Id", "x"), 400, "PARAM_ILLEGAL", "Client-Id"},
		{"server-owned clientId", "POST", "/", with(good, "clientId", "x"), 400, "PARAM_ILLEGAL", "clientId"},
		{"operation against the path", "POST", "/", with(good, "operation", "verify"), 400, "PARAM_ILLEGAL", "operation"},
		{"a verify request posted to init's path", "POST", "/", with(verify, "operation", "verify"), 400, "PARAM_ILLEGAL", "path ending in /verify"},
		{"not an object", "POST", "/", `["OTP"]`, 400, "PARAM_ILLEGAL", ""},
		{"not JSON", "POST", "/", `authenticationType=OTP`, 400, "PARAM_ILLEGAL", ""},
		{"two objects", "POST", "/", `{}{}`, 400, "PARAM_ILLEGAL", ""},
		{"too large", "POST", "/", `{"userIdentityValue":"` + strings.Repeat("t", 5000) + `"}`, 413, "PARAM_ILLEGAL", ""},
		{"GET", "GET", "/", "", 405, "METHOD_NOT_SUPPORTED", ""},
		{"verify: no id", "POST", "/verify", with(verify, "authenticationRequestId", nil), 400, "PARAM_ILLEGAL", "authenticationRequestId"},
		{"verify: no value", "POST", "/verify", with(verify, "authenticationValue", nil), 400, "PARAM_ILLEGAL", "authenticationValue"},
		{"verify: value over 64", "POST", "/verify", with(verify, "authenticationValue", strings.Repeat("1", 65)), 400, "PARAM_ILLEGAL", "authenticationValue"},
		{"verify: type PIN", "POST", "/verify", with(verify, "authenticationType", "PIN"), 400, "PARAM_ILLEGAL", "authenticationType"},
		{"verify: init fields", "POST", "/otp/verify", with(verify, "userIdentityValue", walletToken), 400, "PARAM_ILLEGAL", "userIdentityValue"},
		{"verify: operation init", "POST", "/verify", with(verify, "operation", "init"), 400, "PARAM_ILLEGAL", "operation"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e2e.Do(t, c.method, f.url+c.path, nil, c.body)
			assert.Equal(t, c.status, r.Status, r.Raw)
			assert.Equal(t, c.code, r.Str("result", "resultCode"), r.Raw)
			assert.Equal(t, "F", r.Str("result", "resultStatus"))
			assert.Contains(t, r.Str("result", "resultMessage"), c.field)
			assert.NotContains(t, r.Raw, walletToken, "never echoes the access token")
		})
	}
	assert.Empty(t, f.emu.Stats().Requests, "no request reached Antom")
	assert.NotContains(t, f.log.String(), walletToken)
}

func TestInitThenVerify(t *testing.T) {
	f := newFixture(t, 5*time.Second)
	r := f.post(t, "/", initBody("", walletToken))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Equal(t, "S", r.Str("result", "resultStatus"))
	assert.Equal(t, "SUCCESS", r.Str("result", "resultCode"))
	id, _ := r.Body["authenticationRequestId"].(string)
	require.NotEmpty(t, id, "an id is generated when absent")
	assert.LessOrEqual(t, len(id), 64)

	sent := f.emu.AntomRequests(id)
	require.Len(t, sent, 1)
	assert.JSONEq(t, `{"authenticationType":"OTP","authenticationRequestId":"`+id+`","authenticationChannelType":"SMS","userIdentityType":"WALLET_TOKEN","userIdentityValue":"`+walletToken+`"}`, sent[0].Body)

	otp, ok := f.emu.AntomOTP(id)
	require.True(t, ok)
	wrong := map[bool]string{true: "111111", false: "000000"}[otp == "000000"]
	r = f.post(t, "/verify", map[string]any{"authenticationType": "OTP", "authenticationRequestId": id, "authenticationValue": wrong})
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Equal(t, false, r.Body["isPassed"])
	r = f.post(t, "/kyc/otp/verify", map[string]any{"authenticationType": "OTP", "authenticationRequestId": id, "authenticationValue": otp})
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Equal(t, true, r.Body["isPassed"])
	assert.Equal(t, "S", r.Str("result", "resultStatus"))
	assert.NotContains(t, f.log.String(), walletToken)
	assert.NotContains(t, f.log.String(), otp)
}

func TestEventsChooseByOperation(t *testing.T) {
	f := newFixture(t, 5*time.Second)
	ev := func(body any) e2e.Answer {
		return e2e.Post(t, f.url+"/invoke", map[string]string{"x-fc-control-path": "/invoke"}, body)
	}
	r := ev(initBody("ev-1", walletToken))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Equal(t, "200", r.Header.Get("x-fc-status"))
	otp, ok := f.emu.AntomOTP("ev-1")
	require.True(t, ok)

	// A timer whose payload is a verify request.
	payload, _ := json.Marshal(map[string]any{"operation": "verify", "authenticationType": "OTP", "authenticationRequestId": "ev-1", "authenticationValue": otp})
	r = ev(map[string]any{"triggerTime": "2026-11-23T00:00:00Z", "triggerName": "t", "payload": string(payload)})
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Equal(t, true, r.Body["isPassed"])

	r = ev(with(initBody("ev-2", walletToken), "operation", "resend"))
	assert.Equal(t, "404", r.Header.Get("x-fc-status"))
	assert.Equal(t, "InvalidParameter", r.Body["Code"])
	assert.Contains(t, r.Body["Message"], "operation")

	r = ev(initBody("ev-3", "USER_NOT_EXIST-9"))
	assert.Equal(t, "404", r.Header.Get("x-fc-status"))
	assert.Equal(t, "USER_NOT_EXIST", r.Body["Code"])
	assert.Equal(t, "ev-3", r.Body["RequestId"], "the authenticationRequestId")
}

func TestDocumentedCodesPassThrough(t *testing.T) {
	f := newFixture(t, 5*time.Second)
	for _, c := range []struct {
		code   string
		status int
	}{
		{"USER_NOT_EXIST", 404}, {"USER_STATUS_ABNORMAL", 403}, {"INVALID_ACCESS_TOKEN", 422}, {"SEND_TIMES_EXCEED_LIMIT", 429},
	} {
		t.Run(c.code, func(t *testing.T) {
			r := f.post(t, "/", initBody("id-"+c.code, c.code+"-user"))
			assert.Equal(t, c.status, r.Status, r.Raw)
			assert.Equal(t, c.code, r.Str("result", "resultCode"))
			assert.Equal(t, "F", r.Str("result", "resultStatus"))
			assert.Equal(t, "id-"+c.code, r.Body["authenticationRequestId"])
			assert.Len(t, f.emu.AntomRequests("id-"+c.code), 1, "an F is not repeated")
		})
	}
	t.Run("send limit reached", func(t *testing.T) {
		f.emu.SetAntomSendLimit(1)
		require.Equal(t, http.StatusOK, f.post(t, "/", initBody("lim-1", "limited-user")).Status)
		r := f.post(t, "/", initBody("lim-2", "limited-user"))
		assert.Equal(t, http.StatusTooManyRequests, r.Status)
		assert.Equal(t, "SEND_TIMES_EXCEED_LIMIT", r.Str("result", "resultCode"))
	})
	t.Run("same id, other parameters", func(t *testing.T) {
		r := f.post(t, "/", with(initBody("lim-1", "limited-user"), "authenticationChannelType", "EMAIL"))
		assert.Equal(t, http.StatusConflict, r.Status)
		assert.Equal(t, "REPEAT_REQ_INCONSISTENT", r.Str("result", "resultCode"))
	})
}

func TestUnknownUntilTheDeadlineIsU(t *testing.T) {
	f := newFixture(t, 2*time.Second)
	f.emu.InjectFault(emulator.Antom, "", emulator.Fault{Kind: emulator.AntomFaultUnknown})
	r := f.post(t, "/", initBody("dl-1", walletToken))
	assert.Equal(t, http.StatusServiceUnavailable, r.Status, r.Raw)
	assert.Equal(t, "U", r.Str("result", "resultStatus"))
	assert.Equal(t, "UNKNOWN_EXCEPTION", r.Str("result", "resultCode"))
	assert.Equal(t, "dl-1", r.Body["authenticationRequestId"], "the id to repeat with")
	assert.Greater(t, len(f.emu.AntomRequests("dl-1")), 1)

	f.emu.InjectFault(emulator.Antom, "", emulator.Fault{Kind: emulator.AntomFaultUnsigned})
	r = f.post(t, "/", initBody("us-1", walletToken))
	assert.Equal(t, http.StatusBadGateway, r.Status, r.Raw)
	assert.Equal(t, "U", r.Str("result", "resultStatus"))
	assert.Equal(t, "BadUpstreamAnswer", r.Str("result", "resultCode"))
}

func TestFailureShape(t *testing.T) {
	body := failure(context.DeadlineExceeded).(failureBody)
	assert.Equal(t, "U", body.Result.ResultStatus, "our own fault: the outcome is unknown")
}
