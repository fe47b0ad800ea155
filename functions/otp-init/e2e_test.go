package main

// End to end: the built otp-init binary and the built emulator, each its own
// process on loopback, driven over HTTP the way FC and a caller would. The
// emulator checks every signature with its own code and signs its answers.

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/internal/contract"
	"github.com/idverify/fc-kyc/internal/e2e"
	"github.com/idverify/fc-kyc/pkg/emulator"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

// startE2E starts the emulator and otp-init against it, with env on top.
func startE2E(t *testing.T, env ...string) (*testproc.Proc, *emulator.Remote) {
	t.Helper()
	e2e.Skip(t)
	emu, remote := e2e.Emulator(t)
	return e2e.Function(t, "otp-init", emu.URL(), env...), remote
}

// invalid marks a request sent against the contract on purpose.
var invalid = map[string]string{contract.InvalidHeader: "1"}

func TestEndToEnd(t *testing.T) {
	fn, emu := startE2E(t)
	api := fn.URL() + "/"

	t.Run("U, U, S gives one success from three identical bodies", func(t *testing.T) {
		require.NoError(t, emu.InjectFault(emulator.Antom, "initAuthentication", emulator.Fault{Kind: emulator.AntomFaultUnknown, Times: 2}))
		r := e2e.Post(t, api, nil, initBody("e2e-uus", walletToken))
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, "S", r.Str("result", "resultStatus"))
		seen, err := emu.AntomRequests("e2e-uus")
		require.NoError(t, err)
		require.Len(t, seen, 3)
		for _, req := range seen {
			assert.Equal(t, "initAuthentication", req.API)
			assert.Equal(t, seen[0].Body, req.Body, "byte-identical")
			assert.Contains(t, req.Body, `"authenticationRequestId":"e2e-uus"`)
		}
		_, err = emu.AntomOTP("e2e-uus")
		assert.NoError(t, err, "one code sent")
	})

	t.Run("init then verify with the emulator's code", func(t *testing.T) {
		r := e2e.Post(t, api, nil, with(initBody("", walletToken), "authenticationChannelType", "EMAIL"))
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		id, _ := r.Body["authenticationRequestId"].(string)
		require.NotEmpty(t, id)
		otp, err := emu.AntomOTP(id)
		require.NoError(t, err)
		wrong := map[bool]string{true: "111111", false: "000000"}[otp == "000000"]
		v := func(code string) e2e.Answer {
			return e2e.Post(t, fn.URL()+"/verify", nil, map[string]any{"authenticationType": "OTP", "authenticationRequestId": id, "authenticationValue": code})
		}
		r = v(wrong)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, false, r.Body["isPassed"])
		r = v(otp)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, true, r.Body["isPassed"])
	})

	t.Run("verify as an event", func(t *testing.T) {
		r := e2e.Post(t, api, nil, initBody("e2e-ev", walletToken))
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		otp, err := emu.AntomOTP("e2e-ev")
		require.NoError(t, err)
		r = e2e.Post(t, fn.URL()+"/invoke", map[string]string{"x-fc-control-path": "/invoke"},
			map[string]any{"operation": "verify", "authenticationType": "OTP", "authenticationRequestId": "e2e-ev", "authenticationValue": otp})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Equal(t, "200", r.Header.Get("x-fc-status"))
		assert.Equal(t, true, r.Body["isPassed"])
	})

	t.Run("an unsigned S is an error", func(t *testing.T) {
		require.NoError(t, emu.InjectFault(emulator.Antom, "initAuthentication", emulator.Fault{Kind: emulator.AntomFaultUnsigned, Times: 1}))
		r := e2e.Post(t, api, nil, initBody("e2e-unsigned", walletToken))
		assert.Equal(t, http.StatusBadGateway, r.Status, r.Raw)
		assert.Equal(t, "U", r.Str("result", "resultStatus"))
		assert.Contains(t, r.Str("result", "resultMessage"), "not signed")
		assert.Equal(t, "e2e-unsigned", r.Body["authenticationRequestId"])
	})

	t.Run("a bad answer signature is an error", func(t *testing.T) {
		require.NoError(t, emu.InjectFault(emulator.Antom, "initAuthentication", emulator.Fault{Kind: emulator.AntomFaultBadSignature, Times: 1}))
		r := e2e.Post(t, api, nil, initBody("e2e-badsig", walletToken))
		assert.Equal(t, http.StatusBadGateway, r.Status, r.Raw)
		assert.Contains(t, r.Str("result", "resultMessage"), "ANTOM_PUBLIC_KEY")
	})

	t.Run("every invalid request gets 4xx and no upstream request", func(t *testing.T) {
		require.NoError(t, emu.Reset())
		for _, body := range []any{
			with(initBody("x", walletToken), "authenticationType", "PIN"),
			with(initBody("x", walletToken), "authenticationChannelType", "FAX"),
			with(initBody("x", walletToken), "userIdentityType", "EMAIL"),
			with(initBody("x", walletToken), "userIdentityValue", nil),
			with(initBody("x", walletToken), "userIdentityValue", strings.Repeat("t", 129)),
			with(initBody(strings.Repeat("i", 65), walletToken)),
			with(initBody("x", walletToken), "Signature", "algorithm=RSA256"),
			`"not an object"`,
		} {
			// Refused on purpose: the contract checks only the answers.
			r := e2e.Post(t, api, invalid, body)
			assert.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
			assert.Equal(t, "PARAM_ILLEGAL", r.Str("result", "resultCode"))
		}
		r := e2e.Post(t, fn.URL()+"/verify", invalid, map[string]any{"authenticationType": "OTP", "authenticationRequestId": "x"})
		assert.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
		st, err := emu.Stats()
		require.NoError(t, err)
		assert.Empty(t, st.Requests, "no request reached the emulator")
	})
	assert.NotContains(t, fn.Output(), walletToken, "the access token is never logged")
}

func TestEndToEndWrongKeys(t *testing.T) {
	e2e.Skip(t)
	emu, remote := e2e.Emulator(t)
	other := otherKeys(t)
	t.Run("wrong merchant private key", func(t *testing.T) {
		fn := e2e.Function(t, "otp-init", emu.URL(), "ANTOM_PRIVATE_KEY="+other.private)
		r := e2e.Post(t, fn.URL()+"/", nil, initBody("wk-1", walletToken))
		assert.Equal(t, http.StatusBadGateway, r.Status, r.Raw)
		assert.Equal(t, "INVALID_SIGNATURE", r.Str("result", "resultCode"))
		assert.Equal(t, "F", r.Str("result", "resultStatus"))
		seen, err := remote.AntomRequests("wk-1")
		require.NoError(t, err)
		assert.Empty(t, seen, "the emulator accepted nothing")
	})
	t.Run("wrong Antom public key", func(t *testing.T) {
		fn := e2e.Function(t, "otp-init", emu.URL(), "ANTOM_PUBLIC_KEY="+other.public)
		r := e2e.Post(t, fn.URL()+"/", nil, initBody("wk-2", walletToken))
		assert.Equal(t, http.StatusBadGateway, r.Status, r.Raw)
		assert.Equal(t, "BadUpstreamAnswer", r.Str("result", "resultCode"))
		assert.Contains(t, r.Str("result", "resultMessage"), "ANTOM_PUBLIC_KEY")
	})
}

func TestEndToEndSandbox(t *testing.T) {
	fn, emu := startE2E(t, "ANTOM_CLIENT_ID="+emulator.AntomSandboxClientID)
	r := e2e.Post(t, fn.URL()+"/", nil, initBody("sb-1", walletToken))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	_, err := emu.AntomOTP("sb-1")
	assert.NoError(t, err)
}

// TestStartRefusesBadConfiguration: keys are parsed at start; a malformed
// or missing one stops the binary with a message naming the variable.
func TestStartRefusesBadConfiguration(t *testing.T) {
	e2e.Skip(t)
	emu, _ := e2e.Emulator(t)
	bin := testproc.Build(t, "github.com/idverify/fc-kyc/functions/otp-init")
	// A working configuration but for the one variable each case sets last.
	base := append([]string{"FC_CUSTOM_LISTEN_PORT=0", "LISTEN_HOST=127.0.0.1", "AUTH_MODE=none"},
		emulator.ClientEnv(emulator.Antom, emu.URL())...)
	for name, tc := range map[string]struct{ extra, want string }{
		"malformed private key": {"ANTOM_PRIVATE_KEY=not-a-key", "ANTOM_PRIVATE_KEY"},
		"malformed public key":  {"ANTOM_PUBLIC_KEY=-----BEGIN PUBLIC KEY-----", "ANTOM_PUBLIC_KEY"},
		"no client id":          {"ANTOM_CLIENT_ID=", "ANTOM_CLIENT_ID"},
		"unknown gateway":       {"ANTOM_GATEWAY=https://open-eu-global.alipay.com", "ANTOM_GATEWAY"},
		"plain http afar":       {"ANTOM_GATEWAY=http://open-sea-global.alipay.com", "ANTOM_GATEWAY"},
	} {
		t.Run(name, func(t *testing.T) {
			out, err := testproc.RunOnce(bin, slices.Concat(base, []string{tc.extra})...)
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
