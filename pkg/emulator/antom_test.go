package emulator

// The Antom gateway's own checks: the shared vectors' requests are accepted
// byte for byte, and each altered one is refused; answers are signed so that
// pkg/antom (written apart) verifies them; the control API drives it from
// another process.

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/antom"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

// antomVectorDir is testdata/vectors/antom from the repository root.
func antomVectorDir(t *testing.T) string { return testproc.Vectors(t, "antom") }

func antomVector(t *testing.T, parts ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{antomVectorDir(t)}, parts...)...))
	require.NoError(t, err, "the Antom vectors must be at testdata/vectors/antom from the repository root")
	return string(b)
}

type antomReply struct {
	status int
	header http.Header
	body   []byte
	result antomResult
}

func antomPost(t *testing.T, url, path, clientID, reqTime, sig string, body []byte) antomReply {
	t.Helper()
	req := newRequest(t, http.MethodPost, url+path, "application/json; charset=UTF-8", bytes.NewReader(body))
	req.Header.Set("Client-Id", clientID)
	req.Header.Set("Request-Time", reqTime)
	if sig != "" {
		req.Header.Set("Signature", sig)
	}
	res, raw := roundTrip(t, nil, req)
	r := antomReply{status: res.StatusCode, header: res.Header, body: raw}
	var env struct{ Result antomResult }
	_ = json.Unmarshal(raw, &env)
	r.result = env.Result
	return r
}

func TestAntomAcceptsTheVectorRequestsAndRefusesAlteredOnes(t *testing.T) {
	emu := New(Config{})
	srv := httptest.NewServer(emu.Handler())
	t.Cleanup(srv.Close)
	pub, err := antom.ParsePublicKey(antomVector(t, "keys", "merchant_public_spki.pem"))
	require.NoError(t, err)
	gatewayPub, err := antom.ParsePublicKey(AntomGatewayPublicKey)
	require.NoError(t, err)

	for _, v := range []string{"v1_init_request", "v2_verify_request", "v4_sandbox_pretty_request"} {
		f := func(name string) string { return antomVector(t, v, name) }
		path, client, rtime, body, sig := f("path"), f("client_id"), f("time"), []byte(f("body")), f("signature_header")
		emu.RegisterAntomClient(client, pub)
		t.Run(v, func(t *testing.T) {
			got := antomPost(t, srv.URL, path, client, rtime, sig, body)
			require.Equal(t, http.StatusOK, got.status)
			assert.Equal(t, "S", got.result.ResultStatus, "the vector's exact request is accepted: %s", got.body)
			// The answer verifies with pkg/antom and the emulator's public key.
			content := antom.Content(path, got.header.Get("client-id"), got.header.Get("response-time"), got.body)
			assert.NoError(t, antom.Verify(gatewayPub, content, got.header.Get("signature")))
			assert.Equal(t, client, got.header.Get("client-id"))

			oneByte := append([]byte(nil), body...)
			oneByte[len(oneByte)/2] ^= 1
			// The path is signed: the other operation's path is refused.
			otherPath := strings.Replace(path, "initAuthentication", "verifyAuthentication", 1)
			if otherPath == path {
				otherPath = strings.Replace(path, "verifyAuthentication", "initAuthentication", 1)
			}
			for name, r := range map[string]antomReply{
				"one body byte":     antomPost(t, srv.URL, path, client, rtime, sig, oneByte),
				"the time":          antomPost(t, srv.URL, path, client, rtime+"1", sig, body),
				"no signature":      antomPost(t, srv.URL, path, client, rtime, "", body),
				"the path":          antomPost(t, srv.URL, otherPath, client, rtime, sig, body),
				"other algorithm":   antomPost(t, srv.URL, path, client, rtime, strings.Replace(sig, "RSA256", "RSA", 1), body),
				"signed by gateway": antomPost(t, srv.URL, path, client, rtime, antomSign(antomGatewayKey, path, client, rtime, body), body),
			} {
				assert.Equal(t, "INVALID_SIGNATURE", r.result.ResultCode, name)
				assert.Empty(t, r.header.Get("signature"), "%s: Antom leaves INVALID_SIGNATURE unsigned", name)
			}
		})
	}
}

func TestAntomOutcomesByInput(t *testing.T) {
	emu := New(Config{})
	srv := httptest.NewServer(emu.Handler())
	t.Cleanup(srv.Close)
	send := func(path, client string, body string) antomReply {
		rtime := "1700000000000"
		return antomPost(t, srv.URL, path, client, rtime, antomSign(mustPrivateKey(AntomMerchantPrivateKey), path, client, rtime, []byte(body)), []byte(body))
	}
	init := func(id, user string) string {
		return `{"authenticationType":"OTP","authenticationRequestId":"` + id + `","authenticationChannelType":"SMS","userIdentityType":"WALLET_TOKEN","userIdentityValue":"` + user + `"}`
	}
	const p = "/ams/api/v1/users/initAuthentication"
	for user, code := range map[string]string{
		"USER_NOT_EXIST_x": "USER_NOT_EXIST", "USER_STATUS_ABNORMAL_x": "USER_STATUS_ABNORMAL",
		"INVALID_ACCESS_TOKEN_x": "INVALID_ACCESS_TOKEN", "SEND_TIMES_EXCEED_LIMIT_x": "SEND_TIMES_EXCEED_LIMIT",
	} {
		r := send(p, AntomClientID, init("id-"+code, user))
		assert.Equal(t, antomResult{code, "F", r.result.ResultMessage}, r.result)
		assert.NotEmpty(t, r.header.Get("signature"), "F answers are signed")
	}
	assert.Equal(t, "CLIENT_INVALID", send(p, "UNKNOWN", init("c", "u")).result.ResultCode)
	assert.Equal(t, "CLIENT_INVALID", send(p, AntomSandboxClientID, init("c", "u")).result.ResultCode)
	assert.Equal(t, "PARAM_ILLEGAL", send(p, AntomClientID, `{"authenticationType":"PIN"}`).result.ResultCode)
	assert.Equal(t, "NO_INTERFACE_DEF", send("/ams/api/v1/users/other", AntomClientID, init("c", "u")).result.ResultCode)

	_, raw := roundTrip(t, nil, newRequest(t, http.MethodGet, srv.URL+p, "", nil))
	assert.Contains(t, string(raw), "METHOD_NOT_SUPPORTED")

	// The send limit, then idempotency: the same request gets the same bytes.
	emu.SetAntomSendLimit(2)
	first := send(p, AntomClientID, init("a", "limited"))
	assert.Equal(t, "SUCCESS", first.result.ResultCode)
	assert.Equal(t, first.body, send(p, AntomClientID, init("a", "limited")).body)
	assert.Equal(t, "SUCCESS", send(p, AntomClientID, init("b", "limited")).result.ResultCode)
	assert.Equal(t, "SEND_TIMES_EXCEED_LIMIT", send(p, AntomClientID, init("c", "limited")).result.ResultCode)
	assert.Equal(t, "REPEAT_REQ_INCONSISTENT", send(p, AntomClientID, init("a", "someone else")).result.ResultCode)

	// Verify: five wrong codes end it, even for the right one after.
	otp, ok := emu.AntomOTP("a")
	require.True(t, ok)
	const vp = "/ams/api/v1/users/verifyAuthentication"
	verify := func(value string) bool {
		r := send(vp, AntomClientID, `{"authenticationType":"OTP","authenticationRequestId":"a","authenticationValue":"`+value+`"}`)
		require.Equal(t, "S", r.result.ResultStatus, "%s", r.body)
		var v struct{ IsPassed bool }
		require.NoError(t, json.Unmarshal(r.body, &v))
		return v.IsPassed
	}
	for _, wrong := range []string{"x1", "x2", "x3", "x4", "x5"} {
		assert.False(t, verify(wrong))
	}
	assert.False(t, verify(otp), "locked after five wrong codes")
	otpB, _ := emu.AntomOTP("b")
	assert.True(t, verify2(t, send, "b", otpB))
	assert.True(t, verify2(t, send, "b", otpB), "the same request: the same answer")
}

func verify2(t *testing.T, send func(path, client, body string) antomReply, id, value string) bool {
	r := send("/ams/api/v1/users/verifyAuthentication", AntomClientID,
		`{"authenticationType":"OTP","authenticationRequestId":"`+id+`","authenticationValue":"`+value+`"}`)
	var v struct{ IsPassed bool }
	require.NoError(t, json.Unmarshal(r.body, &v))
	return v.IsPassed
}

func TestAntomControlAPI(t *testing.T) {
	emu := New(Config{})
	srv := httptest.NewServer(emu.Handler())
	t.Cleanup(srv.Close)
	remote := &Remote{BaseURL: srv.URL}
	require.NoError(t, remote.InjectFault(Antom, "initAuthentication", Fault{Kind: AntomFaultUnknown, Times: 1}))
	require.NoError(t, remote.SetAntomSendLimit(3))

	body := []byte(`{"authenticationType":"OTP","authenticationRequestId":"r1","authenticationChannelType":"EMAIL","userIdentityType":"WALLET_TOKEN","userIdentityValue":"tok"}`)
	const p = "/ams/api/v1/users/initAuthentication"
	sign := func() string {
		return antomSign(mustPrivateKey(AntomMerchantPrivateKey), p, AntomClientID, "1", body)
	}
	assert.Equal(t, "U", antomPost(t, srv.URL, p, AntomClientID, "1", sign(), body).result.ResultStatus)
	_, err := remote.AntomOTP("r1")
	assert.Error(t, err, "no code after a U")
	assert.Equal(t, "S", antomPost(t, srv.URL, p, AntomClientID, "1", sign(), body).result.ResultStatus)
	otp, err := remote.AntomOTP("r1")
	require.NoError(t, err)
	assert.Len(t, otp, 6)
	reqs, err := remote.AntomRequests("r1")
	require.NoError(t, err)
	require.Len(t, reqs, 2)
	assert.Equal(t, string(body), reqs[1].Body)

	require.NoError(t, remote.InjectFault(Antom, "", Fault{Kind: FaultSlow, Delay: time.Millisecond}))
	require.NoError(t, remote.ClearFaults())
	assert.Error(t, remote.InjectFault(Antom, "", Fault{Kind: "nonsense"}))
	st, err := remote.Stats()
	require.NoError(t, err)
	assert.Equal(t, int64(2), st.Requests["initAuthentication"])
	assert.Equal(t, int64(1), st.Faults["antom_unknown"])

	require.NoError(t, remote.Reset())
	_, err = remote.AntomOTP("r1")
	assert.Error(t, err, "Reset forgets codes")
}

// TestAntomParamChecks: each field both APIs or one of them checks, and
// the PARAM_ILLEGAL message it answers, in the order the checks run.
func TestAntomParamChecks(t *testing.T) {
	auth := antomAuthentication{AuthenticationType: "OTP", AuthenticationRequestId: "id-1"}
	okInit := antomInit{antomAuthentication: auth, AuthenticationChannelType: "SMS", UserIdentityType: "WALLET_TOKEN", UserIdentityValue: "u"}
	okVerify := antomVerify{antomAuthentication: auth, AuthenticationValue: "123456"}
	with := func(f func(*antomInit)) antomInit { p := okInit; f(&p); return p }
	withV := func(f func(*antomVerify)) antomVerify { p := okVerify; f(&p); return p }
	tests := []struct {
		name string
		p    antomParams
		want string
	}{
		{"init valid", okInit, ""},
		{"verify valid", okVerify, ""},
		{"init type", with(func(p *antomInit) { p.AuthenticationType = "PIN" }), "authenticationType must be OTP."},
		{"verify type", withV(func(p *antomVerify) { p.AuthenticationType = "" }), "authenticationType must be OTP."},
		{"init no id", with(func(p *antomInit) { p.AuthenticationRequestId = "" }), "authenticationRequestId is required, at most 64 characters."},
		{"verify long id", withV(func(p *antomVerify) { p.AuthenticationRequestId = strings.Repeat("é", 65) }), "authenticationRequestId is required, at most 64 characters."},
		{"id of 64 characters", with(func(p *antomInit) { p.AuthenticationRequestId = strings.Repeat("é", 64) }), ""},
		{"channel", with(func(p *antomInit) { p.AuthenticationChannelType = "PUSH" }), "authenticationChannelType must be EMAIL or SMS."},
		{"identity type", with(func(p *antomInit) { p.UserIdentityType = "PHONE" }), "userIdentityType must be WALLET_TOKEN."},
		{"no identity value", with(func(p *antomInit) { p.UserIdentityValue = "" }), "userIdentityValue is required, at most 128 characters."},
		{"long identity value", with(func(p *antomInit) { p.UserIdentityValue = strings.Repeat("u", 129) }), "userIdentityValue is required, at most 128 characters."},
		{"type before value", with(func(p *antomInit) { p.AuthenticationType, p.UserIdentityValue = "", "" }), "authenticationType must be OTP."},
		{"no code", withV(func(p *antomVerify) { p.AuthenticationValue = "" }), "authenticationValue is required, at most 64 characters."},
		{"long code", withV(func(p *antomVerify) { p.AuthenticationValue = strings.Repeat("1", 65) }), "authenticationValue is required, at most 64 characters."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.p.invalid())
		})
	}

	var s antomState
	s.reset()
	ran := false
	a := antomRun(&s, []byte(`{"authenticationType":1}`), func(*antomState, antomVerify) antomAnswer { ran = true; return antomAnswer{} })
	assert.False(t, ran, "a body that is not the documented object is not run")
	assert.Equal(t, "PARAM_ILLEGAL", a.code)
	assert.Contains(t, string(a.body), "not a JSON object with the documented string fields")
	a = antomRun(&s, []byte(`{"authenticationType":"OTP","authenticationRequestId":"x"}`), func(*antomState, antomVerify) antomAnswer { ran = true; return antomAnswer{} })
	assert.False(t, ran, "an invalid request is not run")
	assert.Contains(t, string(a.body), "authenticationValue is required")
}
