package main

// End to end: the built otp-init binary and the built emulator, each its own
// process on loopback, driven over HTTP the way FC and a caller would. The
// emulator checks every signature with its own code and signs its answers.

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/internal/contract"
	"github.com/idverify/fc-kyc/pkg/emulator"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

type e2e struct {
	emuURL string
	emu    *emulator.Remote
	bin    string
}

func startEmulatorProc(t *testing.T) *e2e {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: builds and runs binaries")
	}
	p := testproc.StartEmulator(t)
	return &e2e{emuURL: p.URL(), emu: &emulator.Remote{BaseURL: p.URL()},
		bin: testproc.Build(t, "github.com/idverify/fc-kyc/functions/otp-init")}
}

// env is a working configuration against the emulator; extra entries
// replace or add variables.
func (s *e2e) env(port string, extra ...string) []string {
	env := map[string]string{
		"FC_CUSTOM_LISTEN_PORT": port,
		"AUTH_MODE":             "none",
		"FUNCTION_TIMEOUT_S":    "8",
		"ANTOM_GATEWAY":         s.emuURL,
		"ANTOM_CLIENT_ID":       emulator.AntomClientID,
		"ANTOM_PRIVATE_KEY":     emulator.AntomMerchantPrivateKey,
		"ANTOM_PUBLIC_KEY":      emulator.AntomGatewayPublicKey,
	}
	for _, kv := range extra {
		k, v, _ := strings.Cut(kv, "=")
		if v == "" {
			delete(env, k)
		} else {
			env[k] = v
		}
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

func (s *e2e) start(t *testing.T, extra ...string) *testproc.Proc {
	t.Helper()
	port := testproc.FreePort(t)
	p := testproc.Start(t, s.bin, port, s.env(port, extra...)...)
	contract.Register(t, "otp-init", p.URL())
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("otp-init output:\n%s", p.Output())
		}
	})
	return p
}

// invalid marks a request sent against the contract on purpose.
var invalid = map[string]string{contract.InvalidHeader: "1"}

func call(t *testing.T, url string, header map[string]string, body any) reply {
	t.Helper()
	raw, err := json.Marshal(body)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(raw))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	res, err := client.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := reply{status: res.StatusCode, header: res.Header, raw: string(b)}
	require.NoError(t, json.Unmarshal(b, &r.body), "answer is JSON: %s", b)
	return r
}

func TestEndToEnd(t *testing.T) {
	s := startEmulatorProc(t)
	fn := s.start(t)

	t.Run("U, U, S gives one success from three identical bodies", func(t *testing.T) {
		require.NoError(t, s.emu.InjectFault(emulator.Antom, "initAuthentication", emulator.Fault{Kind: emulator.AntomFaultUnknown, Times: 2}))
		r := call(t, fn.URL()+"/", nil, initBody("e2e-uus", walletToken))
		require.Equal(t, http.StatusOK, r.status, r.raw)
		assert.Equal(t, "S", r.result("resultStatus"))
		seen, err := s.emu.AntomRequests("e2e-uus")
		require.NoError(t, err)
		require.Len(t, seen, 3)
		for _, req := range seen {
			assert.Equal(t, "initAuthentication", req.API)
			assert.Equal(t, seen[0].Body, req.Body, "byte-identical")
			assert.Contains(t, req.Body, `"authenticationRequestId":"e2e-uus"`)
		}
		_, err = s.emu.AntomOTP("e2e-uus")
		assert.NoError(t, err, "one code sent")
	})

	t.Run("init then verify with the emulator's code", func(t *testing.T) {
		r := call(t, fn.URL()+"/", nil, with(initBody("", walletToken), "authenticationChannelType", "EMAIL"))
		require.Equal(t, http.StatusOK, r.status, r.raw)
		id, _ := r.body["authenticationRequestId"].(string)
		require.NotEmpty(t, id)
		otp, err := s.emu.AntomOTP(id)
		require.NoError(t, err)
		wrong := map[bool]string{true: "111111", false: "000000"}[otp == "000000"]
		v := func(code string) reply {
			return call(t, fn.URL()+"/verify", nil, map[string]any{"authenticationType": "OTP", "authenticationRequestId": id, "authenticationValue": code})
		}
		r = v(wrong)
		require.Equal(t, http.StatusOK, r.status, r.raw)
		assert.Equal(t, false, r.body["isPassed"])
		r = v(otp)
		require.Equal(t, http.StatusOK, r.status, r.raw)
		assert.Equal(t, true, r.body["isPassed"])
	})

	t.Run("verify as an event", func(t *testing.T) {
		r := call(t, fn.URL()+"/", nil, initBody("e2e-ev", walletToken))
		require.Equal(t, http.StatusOK, r.status, r.raw)
		otp, err := s.emu.AntomOTP("e2e-ev")
		require.NoError(t, err)
		r = call(t, fn.URL()+"/invoke", map[string]string{"x-fc-control-path": "/invoke"},
			map[string]any{"operation": "verify", "authenticationType": "OTP", "authenticationRequestId": "e2e-ev", "authenticationValue": otp})
		require.Equal(t, http.StatusOK, r.status, r.raw)
		assert.Equal(t, "200", r.header.Get("x-fc-status"))
		assert.Equal(t, true, r.body["isPassed"])
	})

	t.Run("an unsigned S is an error", func(t *testing.T) {
		require.NoError(t, s.emu.InjectFault(emulator.Antom, "initAuthentication", emulator.Fault{Kind: emulator.AntomFaultUnsigned, Times: 1}))
		r := call(t, fn.URL()+"/", nil, initBody("e2e-unsigned", walletToken))
		assert.Equal(t, http.StatusBadGateway, r.status, r.raw)
		assert.Equal(t, "U", r.result("resultStatus"))
		assert.Contains(t, r.result("resultMessage"), "not signed")
		assert.Equal(t, "e2e-unsigned", r.body["authenticationRequestId"])
	})

	t.Run("a bad answer signature is an error", func(t *testing.T) {
		require.NoError(t, s.emu.InjectFault(emulator.Antom, "initAuthentication", emulator.Fault{Kind: emulator.AntomFaultBadSignature, Times: 1}))
		r := call(t, fn.URL()+"/", nil, initBody("e2e-badsig", walletToken))
		assert.Equal(t, http.StatusBadGateway, r.status, r.raw)
		assert.Contains(t, r.result("resultMessage"), "ANTOM_PUBLIC_KEY")
	})

	t.Run("every invalid request gets 4xx and no upstream request", func(t *testing.T) {
		require.NoError(t, s.emu.Reset())
		for _, body := range []any{
			with(initBody("x", walletToken), "authenticationType", "PIN"),
			with(initBody("x", walletToken), "authenticationChannelType", "FAX"),
			with(initBody("x", walletToken), "userIdentityType", "EMAIL"),
			with(initBody("x", walletToken), "userIdentityValue", nil),
			with(initBody("x", walletToken), "userIdentityValue", strings.Repeat("t", 129)),
			with(initBody(strings.Repeat("i", 65), walletToken)),
			with(initBody("x", walletToken), "Signature", "algorithm=RSA256"),
			"not an object",
		} {
			// Refused on purpose: the contract checks only the answers.
			r := call(t, fn.URL()+"/", invalid, body)
			assert.Equal(t, http.StatusBadRequest, r.status, r.raw)
			assert.Equal(t, "PARAM_ILLEGAL", r.result("resultCode"))
		}
		r := call(t, fn.URL()+"/verify", invalid, map[string]any{"authenticationType": "OTP", "authenticationRequestId": "x"})
		assert.Equal(t, http.StatusBadRequest, r.status, r.raw)
		st, err := s.emu.Stats()
		require.NoError(t, err)
		assert.Empty(t, st.Requests, "no request reached the emulator")
	})
	assert.NotContains(t, fn.Output(), walletToken, "the access token is never logged")
}

func TestEndToEndWrongKeys(t *testing.T) {
	s := startEmulatorProc(t)
	other := otherKeys(t)
	t.Run("wrong merchant private key", func(t *testing.T) {
		fn := s.start(t, "ANTOM_PRIVATE_KEY="+other.private)
		r := call(t, fn.URL()+"/", nil, initBody("wk-1", walletToken))
		assert.Equal(t, http.StatusBadGateway, r.status, r.raw)
		assert.Equal(t, "INVALID_SIGNATURE", r.result("resultCode"))
		assert.Equal(t, "F", r.result("resultStatus"))
		seen, err := s.emu.AntomRequests("wk-1")
		require.NoError(t, err)
		assert.Empty(t, seen, "the emulator accepted nothing")
	})
	t.Run("wrong Antom public key", func(t *testing.T) {
		fn := s.start(t, "ANTOM_PUBLIC_KEY="+other.public)
		r := call(t, fn.URL()+"/", nil, initBody("wk-2", walletToken))
		assert.Equal(t, http.StatusBadGateway, r.status, r.raw)
		assert.Equal(t, "BadUpstreamAnswer", r.result("resultCode"))
		assert.Contains(t, r.result("resultMessage"), "ANTOM_PUBLIC_KEY")
	})
}

func TestEndToEndSandbox(t *testing.T) {
	s := startEmulatorProc(t)
	fn := s.start(t, "ANTOM_CLIENT_ID="+emulator.AntomSandboxClientID)
	r := call(t, fn.URL()+"/", nil, initBody("sb-1", walletToken))
	require.Equal(t, http.StatusOK, r.status, r.raw)
	_, err := s.emu.AntomOTP("sb-1")
	assert.NoError(t, err)
}

// TestStartRefusesBadConfiguration: keys are parsed at start; a malformed
// or missing one stops the binary with a message naming the variable.
func TestStartRefusesBadConfiguration(t *testing.T) {
	s := startEmulatorProc(t)
	for name, tc := range map[string]struct{ extra, want string }{
		"malformed private key": {"ANTOM_PRIVATE_KEY=not-a-key", "ANTOM_PRIVATE_KEY"},
		"malformed public key":  {"ANTOM_PUBLIC_KEY=-----BEGIN PUBLIC KEY-----", "ANTOM_PUBLIC_KEY"},
		"no client id":          {"ANTOM_CLIENT_ID=", "ANTOM_CLIENT_ID"},
		"unknown gateway":       {"ANTOM_GATEWAY=https://open-eu-global.alipay.com", "ANTOM_GATEWAY"},
		"plain http afar":       {"ANTOM_GATEWAY=http://open-sea-global.alipay.com", "ANTOM_GATEWAY"},
	} {
		t.Run(name, func(t *testing.T) {
			out, err := testproc.RunOnce(s.bin, s.env(testproc.FreePort(t), tc.extra)...)
			require.Error(t, err, "must not start: %s", out)
			assert.Contains(t, out, tc.want)
			assert.NotContains(t, out, "PRIVATE KEY-----\nMII", "never prints a key")
		})
	}
}

type keyPEMs struct{ private, public string }

// otherKeys is the shared vectors' key pair: valid keys, but not the ones
// the emulator knows.
func otherKeys(t *testing.T) keyPEMs {
	t.Helper()
	keys := testproc.Vectors(t, "antom", "keys")
	priv, err := os.ReadFile(filepath.Join(keys, "merchant_private_pkcs8.pem"))
	require.NoError(t, err, "the Antom vectors must be at testdata/vectors/antom from the repository root")
	pub, err := os.ReadFile(filepath.Join(keys, "gateway_public_spki.pem"))
	require.NoError(t, err)
	return keyPEMs{string(priv), string(pub)}
}
