package antom

// The client against the emulator's Antom gateway (in-process, over real
// HTTP): the emulator checks our signatures with its own code and signs its
// answers, so each side checks the other.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/emulator"
)

const token = "2020042910435415881282340824710273532915573saFBMrdXVH"

func startEmulator(t *testing.T) (*emulator.Emulator, string) {
	t.Helper()
	emu := emulator.New(emulator.Config{})
	srv := httptest.NewServer(emu.Handler())
	t.Cleanup(srv.Close)
	return emu, srv.URL
}

func testConfig(t *testing.T, gateway string) Config {
	t.Helper()
	priv, err := ParsePrivateKey(emulator.AntomMerchantPrivateKey)
	require.NoError(t, err)
	pub, err := ParsePublicKey(emulator.AntomGatewayPublicKey)
	require.NoError(t, err)
	return Config{Gateway: gateway, ClientID: emulator.AntomClientID, PrivateKey: priv, AntomPublicKey: pub,
		Backoff: 5 * time.Millisecond}
}

func newClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	c, err := New(cfg)
	require.NoError(t, err)
	return c
}

func initReq(id, user string) InitRequest {
	return InitRequest{AuthenticationType: "OTP", AuthenticationRequestId: id, AuthenticationChannelType: "SMS",
		UserIdentityType: "WALLET_TOKEN", UserIdentityValue: user}
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// resultOf returns the Antom result an error carries.
func resultOf(t *testing.T, err error) (*apierr.Error, Result) {
	t.Helper()
	require.Error(t, err)
	var re *ResultError
	require.True(t, errors.As(err, &re), "error carries a ResultError: %v", err)
	return apierr.As(err), re.Result
}

func TestInitThenVerify(t *testing.T) {
	emu, url := startEmulator(t)
	c := newClient(t, testConfig(t, url))
	res, err := c.InitAuthentication(ctxFor(t, 5*time.Second), initReq("id-1", token))
	require.NoError(t, err)
	assert.Equal(t, Result{"SUCCESS", "S", "success"}, res.Result)
	assert.Equal(t, "id-1", res.AuthenticationRequestId)

	otp, ok := emu.AntomOTP("id-1")
	require.True(t, ok)
	wrong := "000000"
	if otp == wrong {
		wrong = "111111"
	}
	v, err := c.VerifyAuthentication(ctxFor(t, 5*time.Second), VerifyRequest{"OTP", "id-1", wrong})
	require.NoError(t, err)
	assert.False(t, bool(v.IsPassed))
	v, err = c.VerifyAuthentication(ctxFor(t, 5*time.Second), VerifyRequest{"OTP", "id-1", otp})
	require.NoError(t, err)
	assert.True(t, bool(v.IsPassed))
	assert.Equal(t, "S", v.Result.ResultStatus)
}

func TestUnknownIsRepeatedWithTheSameBody(t *testing.T) {
	emu, url := startEmulator(t)
	c := newClient(t, testConfig(t, url))
	emu.InjectFault(emulator.Antom, APIInit, emulator.Fault{Kind: emulator.AntomFaultUnknown, Times: 2})
	res, err := c.InitAuthentication(ctxFor(t, 5*time.Second), initReq("id-u", token))
	require.NoError(t, err)
	assert.Equal(t, "S", res.Result.ResultStatus)

	seen := emu.AntomRequests("id-u")
	require.Len(t, seen, 3, "U, U, S")
	for _, r := range seen[1:] {
		assert.Equal(t, seen[0].Body, r.Body, "byte-identical body on every attempt")
	}
	_, sent := emu.AntomOTP("id-u")
	assert.True(t, sent)
}

func TestTransientFailuresAreRepeated(t *testing.T) {
	for _, kind := range []emulator.FaultKind{emulator.AntomFaultHTTPError, emulator.AntomFaultThrottle} {
		t.Run(string(kind), func(t *testing.T) {
			emu, url := startEmulator(t)
			c := newClient(t, testConfig(t, url))
			emu.InjectFault(emulator.Antom, "", emulator.Fault{Kind: kind, Times: 1})
			_, err := c.InitAuthentication(ctxFor(t, 5*time.Second), initReq("id-t", token))
			require.NoError(t, err)
			assert.Len(t, emu.AntomRequests("id-t"), 2)
		})
	}
}

func TestUnknownUntilTheDeadline(t *testing.T) {
	emu, url := startEmulator(t)
	c := newClient(t, testConfig(t, url))
	emu.InjectFault(emulator.Antom, APIInit, emulator.Fault{Kind: emulator.AntomFaultUnknown})
	start := time.Now()
	_, err := c.InitAuthentication(ctxFor(t, 1500*time.Millisecond), initReq("id-dl", token))
	e, res := resultOf(t, err)
	assert.Equal(t, "U", res.ResultStatus)
	assert.Equal(t, "UNKNOWN_EXCEPTION", e.Code)
	assert.Equal(t, "id-dl", e.RequestID, "the id to repeat with")
	assert.Equal(t, http.StatusServiceUnavailable, apierr.Status(err))
	assert.Less(t, time.Since(start), 3*time.Second, "stops within the deadline")
	assert.Greater(t, len(emu.AntomRequests("id-dl")), 1, "repeated while time was left")
}

func TestFinalResultsAreNotRepeated(t *testing.T) {
	cases := []struct {
		user, code string
		status     int
	}{
		{"USER_NOT_EXIST-1", "USER_NOT_EXIST", 404},
		{"USER_STATUS_ABNORMAL-1", "USER_STATUS_ABNORMAL", 403},
		{"INVALID_ACCESS_TOKEN-1", "INVALID_ACCESS_TOKEN", 422},
		{"SEND_TIMES_EXCEED_LIMIT-1", "SEND_TIMES_EXCEED_LIMIT", 429},
	}
	emu, url := startEmulator(t)
	c := newClient(t, testConfig(t, url))
	for _, tc := range cases {
		t.Run(tc.code, func(t *testing.T) {
			_, err := c.InitAuthentication(ctxFor(t, 5*time.Second), initReq("id-"+tc.code, tc.user))
			e, res := resultOf(t, err)
			assert.Equal(t, Result{tc.code, "F", res.ResultMessage}, res)
			assert.Equal(t, tc.code, e.Code)
			assert.Equal(t, tc.status, apierr.Status(err))
			assert.Len(t, emu.AntomRequests("id-"+tc.code), 1, "an F is never repeated")
		})
	}
}

func TestSendLimitAndIdempotency(t *testing.T) {
	emu, url := startEmulator(t)
	c := newClient(t, testConfig(t, url))
	emu.SetAntomSendLimit(1)
	ctx := ctxFor(t, 5*time.Second)
	_, err := c.InitAuthentication(ctx, initReq("first", token))
	require.NoError(t, err)
	_, err = c.InitAuthentication(ctx, initReq("first", token))
	require.NoError(t, err, "the same id and parameters: the same answer, no second send")
	_, err = c.InitAuthentication(ctx, initReq("second", token))
	e, _ := resultOf(t, err)
	assert.Equal(t, "SEND_TIMES_EXCEED_LIMIT", e.Code)

	other := initReq("first", token)
	other.AuthenticationChannelType = "EMAIL"
	_, err = c.InitAuthentication(ctx, other)
	e, _ = resultOf(t, err)
	assert.Equal(t, "REPEAT_REQ_INCONSISTENT", e.Code)
	assert.Equal(t, http.StatusConflict, apierr.Status(err))
}

func TestAnswerSignatures(t *testing.T) {
	t.Run("unsigned S is refused", func(t *testing.T) {
		emu, url := startEmulator(t)
		c := newClient(t, testConfig(t, url))
		emu.InjectFault(emulator.Antom, APIInit, emulator.Fault{Kind: emulator.AntomFaultUnsigned})
		_, err := c.InitAuthentication(ctxFor(t, 5*time.Second), initReq("id-us", token))
		e, res := resultOf(t, err)
		assert.Equal(t, apierr.BadUpstreamAnswer, e.Code)
		assert.Equal(t, "U", res.ResultStatus, "whether the code went out is unknown")
		assert.ErrorContains(t, err, "not signed")
		assert.Len(t, emu.AntomRequests("id-us"), 1)
	})
	t.Run("unsigned F is read", func(t *testing.T) {
		emu, url := startEmulator(t)
		c := newClient(t, testConfig(t, url))
		emu.InjectFault(emulator.Antom, APIInit, emulator.Fault{Kind: emulator.AntomFaultUnsigned})
		_, err := c.InitAuthentication(ctxFor(t, 5*time.Second), initReq("id-uf", "USER_NOT_EXIST"))
		e, res := resultOf(t, err)
		assert.Equal(t, "USER_NOT_EXIST", e.Code)
		assert.Equal(t, "F", res.ResultStatus)
	})
	t.Run("bad signature is refused", func(t *testing.T) {
		emu, url := startEmulator(t)
		c := newClient(t, testConfig(t, url))
		emu.InjectFault(emulator.Antom, APIInit, emulator.Fault{Kind: emulator.AntomFaultBadSignature})
		_, err := c.InitAuthentication(ctxFor(t, 5*time.Second), initReq("id-bs", token))
		assert.ErrorIs(t, err, ErrBadSignature)
		assert.Equal(t, http.StatusBadGateway, apierr.Status(err))
	})
	t.Run("the wrong Antom public key refuses every answer", func(t *testing.T) {
		_, url := startEmulator(t)
		cfg := testConfig(t, url)
		cfg.AntomPublicKey = vectorKeys(t)["gateway"].pub
		_, err := newClient(t, cfg).InitAuthentication(ctxFor(t, 5*time.Second), initReq("id-wp", token))
		assert.ErrorIs(t, err, ErrBadSignature)
		assert.ErrorContains(t, err, "ANTOM_PUBLIC_KEY")
	})
	t.Run("the wrong merchant key gets an unsigned INVALID_SIGNATURE", func(t *testing.T) {
		emu, url := startEmulator(t)
		cfg := testConfig(t, url)
		cfg.PrivateKey = vectorKeys(t)["merchant"].priv
		_, err := newClient(t, cfg).InitAuthentication(ctxFor(t, 5*time.Second), initReq("id-wk", token))
		e, res := resultOf(t, err)
		assert.Equal(t, "INVALID_SIGNATURE", e.Code)
		assert.Equal(t, "F", res.ResultStatus)
		assert.Equal(t, http.StatusBadGateway, apierr.Status(err))
		assert.Empty(t, emu.AntomRequests("id-wk"), "the emulator accepted nothing")
	})
	t.Run("another client id is CLIENT_INVALID", func(t *testing.T) {
		_, url := startEmulator(t)
		cfg := testConfig(t, url)
		cfg.ClientID = "5X00SOMEONEELSE"
		_, err := newClient(t, cfg).InitAuthentication(ctxFor(t, 5*time.Second), initReq("id-ci", token))
		e, _ := resultOf(t, err)
		assert.Equal(t, "CLIENT_INVALID", e.Code)
	})
}

func TestSandboxSignsTheSandboxPath(t *testing.T) {
	emu, url := startEmulator(t)
	cfg := testConfig(t, url)
	cfg.ClientID, cfg.Sandbox = emulator.AntomSandboxClientID, true
	c := newClient(t, cfg)
	assert.Equal(t, "/ams/sandbox/api/v1/users/initAuthentication", c.Path(APIInit))
	_, err := c.InitAuthentication(ctxFor(t, 5*time.Second), initReq("id-sb", token))
	require.NoError(t, err)
	_, sent := emu.AntomOTP("id-sb")
	assert.True(t, sent)

	cfg.Sandbox = false // a sandbox client on the production path
	_, err = newClient(t, cfg).InitAuthentication(ctxFor(t, 5*time.Second), initReq("id-sb2", token))
	e, _ := resultOf(t, err)
	assert.Equal(t, "CLIENT_INVALID", e.Code)
}

func TestGateways(t *testing.T) {
	for _, ok := range []string{"https://open-sea-global.alipay.com", "open-na-global.alipay.com",
		"https://open-de-global.alipay.com/", "http://127.0.0.1:8600"} {
		_, err := gatewayURL(ok)
		assert.NoError(t, err, ok)
	}
	for _, bad := range []string{"https://open-eu-global.alipay.com", "http://open-sea-global.alipay.com",
		"https://example.com", "https://open-sea-global.alipay.com/ams/api", "ftp://x"} {
		_, err := gatewayURL(bad)
		assert.ErrorContains(t, err, "ANTOM_GATEWAY", bad)
	}
}

func TestConfigFromEnv(t *testing.T) {
	set := func(t *testing.T, kv map[string]string) {
		base := map[string]string{
			"ANTOM_CLIENT_ID": emulator.AntomClientID, "ANTOM_PRIVATE_KEY": emulator.AntomMerchantPrivateKey,
			"ANTOM_PUBLIC_KEY": emulator.AntomGatewayPublicKey, "ANTOM_GATEWAY": "", "ANTOM_SANDBOX": "", "ANTOM_KEY_VERSION": "",
		}
		for k, v := range kv {
			base[k] = v
		}
		for k, v := range base {
			t.Setenv(k, v)
		}
	}
	for name, tc := range map[string]struct {
		env  map[string]string
		want string // the variable the error names; "" when there is none
		ok   func(t *testing.T, c Config)
	}{
		"ok": {nil, "", func(t *testing.T, c Config) {
			assert.Equal(t, DefaultGateway, c.Gateway)
			assert.Equal(t, "1", c.KeyVersion)
			assert.False(t, c.Sandbox)
		}},
		"sandbox from the client id": {map[string]string{"ANTOM_CLIENT_ID": emulator.AntomSandboxClientID}, "", func(t *testing.T, c Config) {
			assert.True(t, c.Sandbox)
		}},
		"no client id":        {map[string]string{"ANTOM_CLIENT_ID": ""}, "ANTOM_CLIENT_ID", nil},
		"malformed private":   {map[string]string{"ANTOM_PRIVATE_KEY": "MIIE"}, "ANTOM_PRIVATE_KEY", nil},
		"missing public":      {map[string]string{"ANTOM_PUBLIC_KEY": ""}, "ANTOM_PUBLIC_KEY", nil},
		"own key as Antom's":  {map[string]string{"ANTOM_PUBLIC_KEY": emulator.AntomMerchantPublicKey}, "ANTOM_PUBLIC_KEY", nil},
		"key version":         {map[string]string{"ANTOM_KEY_VERSION": "v1"}, "ANTOM_KEY_VERSION", nil},
		"sandbox mismatch":    {map[string]string{"ANTOM_SANDBOX": "true"}, "ANTOM_SANDBOX", nil},
		"sandbox not boolean": {map[string]string{"ANTOM_SANDBOX": "yes please"}, "ANTOM_SANDBOX", nil},
	} {
		t.Run(name, func(t *testing.T) {
			set(t, tc.env)
			c, err := ConfigFromEnv()
			if tc.want == "" {
				require.NoError(t, err)
				tc.ok(t, c)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "PRIVATE KEY-----", "never echoes a key")
		})
	}
}

func TestBoolReadsStringsToo(t *testing.T) {
	for in, want := range map[string]bool{`true`: true, `"true"`: true, `false`: false, `"false"`: false} {
		var b Bool
		require.NoError(t, b.UnmarshalJSON([]byte(in)))
		assert.Equal(t, want, bool(b), in)
	}
	var b Bool
	assert.Error(t, b.UnmarshalJSON([]byte(`"yes"`)))
}

// A signed answer whose client-id header is another merchant's is refused,
// even when the signature itself is good for that client id.
func TestAnswerForAnotherClientIsRefused(t *testing.T) {
	keys := vectorKeys(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := []byte(`{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"}}`)
		sig, _ := Sign(keys["gateway"].priv, Content(r.URL.Path, "OTHER", "2024-01-01T00:00:00+08:00", body))
		w.Header().Set("client-id", "OTHER")
		w.Header().Set("response-time", "2024-01-01T00:00:00+08:00")
		w.Header().Set("signature", SignatureHeader("1", sig))
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	cfg := testConfig(t, srv.URL)
	cfg.AntomPublicKey = keys["gateway"].pub
	_, err := newClient(t, cfg).InitAuthentication(ctxFor(t, 5*time.Second), initReq("id-oc", token))
	assert.ErrorIs(t, err, ErrBadSignature)
	assert.True(t, strings.Contains(err.Error(), "client-id"))
}

func TestUnknownWithoutDeadlineStops(t *testing.T) {
	emu, url := startEmulator(t)
	c := newClient(t, testConfig(t, url))
	emu.InjectFault(emulator.Antom, APIInit, emulator.Fault{Kind: emulator.AntomFaultUnknown})
	_, err := c.InitAuthentication(context.Background(), initReq("id-nd", token))
	_, res := resultOf(t, err)
	assert.Equal(t, "U", res.ResultStatus)
	assert.Len(t, emu.AntomRequests("id-nd"), maxAttemptsNoDeadline)
}

// A slow answer is given up after AttemptTimeout and repeated; the first
// request was carried out at the emulator, so the repeat gets its S again
// (idempotency) and only one code is sent.
func TestSlowAttemptIsRepeated(t *testing.T) {
	emu, url := startEmulator(t)
	cfg := testConfig(t, url)
	cfg.AttemptTimeout = 200 * time.Millisecond
	c := newClient(t, cfg)
	emu.InjectFault(emulator.Antom, APIInit, emulator.Fault{Kind: emulator.FaultSlow, Delay: 2 * time.Second, Times: 1})
	res, err := c.InitAuthentication(ctxFor(t, 5*time.Second), initReq("id-slow", token))
	require.NoError(t, err)
	assert.Equal(t, "S", res.Result.ResultStatus)
	seen := emu.AntomRequests("id-slow")
	require.Len(t, seen, 2)
	assert.Equal(t, seen[0].Body, seen[1].Body)
}

// TestConnectionsAreReused: calls share one keep-alive pool, so concurrent
// rounds of calls reuse the connections the first round opened instead of
// opening one per call (the default transport keeps only 2 idle per host).
func TestConnectionsAreReused(t *testing.T) {
	emu := emulator.New(emulator.Config{})
	srv := httptest.NewUnstartedServer(emu.Handler())
	srv.Config.ConnState = emu.ConnState
	srv.Start()
	t.Cleanup(srv.Close)
	cfg := testConfig(t, srv.URL)
	cfg.HTTPClient = nil // the client's own transport is what is under test
	c := newClient(t, cfg)

	const concurrency, rounds = 20, 5
	for r := range rounds {
		var wg sync.WaitGroup
		errs := make(chan error, concurrency)
		for i := range concurrency {
			wg.Go(func() {
				_, err := c.InitAuthentication(ctxFor(t, 10*time.Second),
					initReq(fmt.Sprintf("conn-%d-%d", r, i), fmt.Sprintf("%s-%d-%d", token, r, i)))
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
	}
	require.LessOrEqual(t, emu.Stats().Connections, int64(concurrency),
		"%d calls in rounds of %d opened more connections than one round needs", concurrency*rounds, concurrency)
}
