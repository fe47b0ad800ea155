package cloudauth

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/credentials"
	"github.com/idverify/fc-kyc/pkg/emulator"
)

var akCtx = credentials.NewContext(context.Background(), credentials.Credentials{
	AccessKeyID: emulator.DefaultAccessKeyID, AccessKeySecret: emulator.DefaultAccessKeySecret})

func initReq() InitializeRequest {
	return InitializeRequest{ProductCode: "KYC_GLOBAL", MerchantBizId: "biz1", MetaInfo: `{"zimVer":"3.0.0"}`,
		MerchantUserId: "u1", DocType: "01560000", ProductFlow: "DOC_FACE"}
}

// newEmulator runs the in-process emulator and a client pointed at it.
func newEmulator(t *testing.T, cfg Config) (*emulator.Emulator, *Client) {
	t.Helper()
	emu := emulator.New(emulator.Config{})
	srv := httptest.NewUnstartedServer(emu.Handler())
	srv.Config.ConnState = emu.ConnState
	srv.Start()
	t.Cleanup(srv.Close)
	cfg.Endpoint = srv.URL
	if cfg.BaseBackoff == 0 {
		cfg.BaseBackoff = time.Millisecond
	}
	c, err := New(cfg)
	require.NoError(t, err)
	return emu, c
}

func TestInitializeAndCheckResultAgainstTheEmulator(t *testing.T) {
	emu, c := newEmulator(t, Config{})
	res, err := c.Initialize(akCtx, initReq())
	require.NoError(t, err)
	assert.Equal(t, "Success", res.Code)
	require.NotEmpty(t, res.Result.TransactionId)
	assert.NotEmpty(t, res.RequestId)

	got, ok := emu.LastRequest("Initialize")
	require.True(t, ok)
	assert.Equal(t, `{"zimVer":"3.0.0"}`, got.Params["MetaInfo"], "sent byte for byte")
	_, sentEmpty := got.Params["CallbackUrl"]
	assert.False(t, sentEmpty, "empty fields are not sent")

	cr, err := c.CheckResult(akCtx, CheckResultRequest{MerchantBizId: "biz1", TransactionId: res.Result.TransactionId})
	require.NoError(t, err)
	assert.Equal(t, "P", cr.Result.Passed)

	require.NoError(t, emu.Complete(context.Background(), res.Result.TransactionId, "Y", "200", false))
	cr, err = c.CheckResult(akCtx, CheckResultRequest{MerchantBizId: "biz1", TransactionId: res.Result.TransactionId})
	require.NoError(t, err)
	assert.Equal(t, "Y", cr.Result.Passed)
	assert.Equal(t, "200", cr.Result.SubCode)
}

func TestCredentials(t *testing.T) {
	emu, c := newEmulator(t, Config{})
	t.Run("STS from the context", func(t *testing.T) {
		ctx := credentials.NewContext(context.Background(), credentials.Credentials{
			AccessKeyID: emulator.DefaultSTSAccessKeyID, AccessKeySecret: emulator.DefaultSTSAccessKeySecret,
			SecurityToken: emulator.DefaultSecurityToken})
		_, err := c.Initialize(ctx, initReq())
		require.NoError(t, err)
		got, _ := emu.LastRequest("Initialize")
		assert.Equal(t, emulator.DefaultSTSAccessKeyID, got.AccessKeyID)
		assert.Equal(t, emulator.DefaultSecurityToken, got.SecurityToken)
	})
	t.Run("environment when the context has none", func(t *testing.T) {
		t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", emulator.DefaultAccessKeyID)
		t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", emulator.DefaultAccessKeySecret)
		t.Setenv("ALIBABA_CLOUD_SECURITY_TOKEN", "")
		_, err := c.Initialize(context.Background(), initReq())
		require.NoError(t, err)
	})
	t.Run("none at all", func(t *testing.T) {
		t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "")
		before := emu.Stats().Requests["Initialize"]
		_, err := c.Initialize(context.Background(), initReq())
		assert.Equal(t, "InvalidCredentials", apierr.As(err).Code)
		assert.Equal(t, before, emu.Stats().Requests["Initialize"], "nothing is sent")
	})
	t.Run("wrong secret keeps the upstream code and RequestId", func(t *testing.T) {
		ctx := credentials.NewContext(context.Background(), credentials.Credentials{
			AccessKeyID: emulator.DefaultAccessKeyID, AccessKeySecret: "wrong"})
		_, err := c.Initialize(ctx, initReq())
		e := apierr.As(err)
		assert.Equal(t, "SignatureDoesNotMatch", e.Code)
		assert.NotEmpty(t, e.RequestID)
		assert.Equal(t, http.StatusBadGateway, apierr.Status(err))
		assert.Contains(t, e.Message, "credentials the function runs with")
	})
}

// TestRetryPolicy is the retry table (docs/design.md): what is repeated, for
// which operation, and what the caller gets.
func TestRetryPolicy(t *testing.T) {
	tests := []struct {
		name      string
		action    string
		fault     emulator.Fault
		wantCalls int64
		wantCode  string // "" = success
		wantHTTP  int
	}{
		{"Initialize throttled once: retried", "Initialize", emulator.Fault{Kind: emulator.FaultThrottle, Times: 1}, 2, "", 200},
		{"Initialize throttled always: gives up with 503", "Initialize", emulator.Fault{Kind: emulator.FaultThrottle}, 3, "Throttling.Api", 503},
		{"Initialize 503: billed, not repeated", "Initialize", emulator.Fault{Kind: emulator.FaultServerError, Times: 1}, 1, "ServiceUnavailable", 503},
		{"Initialize 500: not repeated, 502", "Initialize", emulator.Fault{Kind: emulator.FaultInternalError, Times: 1}, 1, "InternalError", 502},
		{"Initialize reset: may have reached, not repeated", "Initialize", emulator.Fault{Kind: emulator.FaultReset, Times: 1}, 1, apierr.BadUpstreamAnswer, 502},
		{"Initialize malformed: not repeated", "Initialize", emulator.Fault{Kind: emulator.FaultMalformed, Times: 1}, 1, apierr.BadUpstreamAnswer, 502},
		{"CheckResult 503 once: retried", "CheckResult", emulator.Fault{Kind: emulator.FaultServerError, Times: 1}, 2, "", 200},
		{"CheckResult reset once: retried", "CheckResult", emulator.Fault{Kind: emulator.FaultReset, Times: 1}, 2, "", 200},
		{"CheckResult malformed once: retried", "CheckResult", emulator.Fault{Kind: emulator.FaultMalformed, Times: 1}, 2, "", 200},
		{"CheckResult 500 always: three attempts", "CheckResult", emulator.Fault{Kind: emulator.FaultInternalError}, 3, "InternalError", 502},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu, c := newEmulator(t, Config{})
			tx, err := c.Initialize(akCtx, initReq())
			require.NoError(t, err)
			emu.InjectFault(emulator.Cloudauth, tt.action, tt.fault)
			before := emu.Stats().Requests[tt.action]
			if tt.action == "Initialize" {
				_, err = c.Initialize(akCtx, initReq())
			} else {
				_, err = c.CheckResult(akCtx, CheckResultRequest{MerchantBizId: "biz1", TransactionId: tx.Result.TransactionId})
			}
			assert.Equal(t, tt.wantCalls, emu.Stats().Requests[tt.action]-before, "upstream attempts")
			if tt.wantCode == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Equal(t, tt.wantCode, apierr.As(err).Code)
			assert.Equal(t, tt.wantHTTP, apierr.Status(err))
		})
	}
}

func TestThrottlingAnswerCarriesRetryAfter(t *testing.T) {
	emu, c := newEmulator(t, Config{MaxAttempts: 1})
	emu.InjectFault(emulator.Cloudauth, "Initialize", emulator.Fault{Kind: emulator.FaultThrottle})
	_, err := c.Initialize(akCtx, initReq())
	assert.GreaterOrEqual(t, apierr.As(err).RetryAfter, time.Second)
}

func TestNeverSentIsRetriedEvenWhenBilled(t *testing.T) {
	// A port nothing listens on: every dial is refused, so the request
	// provably never left, and Initialize may be tried again.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	var dials atomic.Int32
	tr := &http.Transport{DialContext: func(ctx context.Context, n, a string) (net.Conn, error) {
		dials.Add(1)
		return (&net.Dialer{}).DialContext(ctx, n, a)
	}}
	c, err := New(Config{Endpoint: "http://" + addr, Transport: tr, BaseBackoff: time.Millisecond})
	require.NoError(t, err)
	_, err = c.Initialize(akCtx, initReq())
	assert.Equal(t, apierr.UpstreamUnavailable, apierr.As(err).Code)
	assert.Equal(t, 503, apierr.Status(err))
	assert.EqualValues(t, 3, dials.Load())
}

func TestDeadline(t *testing.T) {
	emu, c := newEmulator(t, Config{})
	emu.InjectFault(emulator.Cloudauth, "Initialize", emulator.Fault{Kind: emulator.FaultSlow, Delay: 5 * time.Second})
	ctx, cancel := context.WithTimeout(akCtx, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Initialize(ctx, initReq())
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.Equal(t, apierr.UpstreamTimeout, apierr.As(err).Code)
	assert.Equal(t, 504, apierr.Status(err))
}

func TestUpstreamValidationErrorsPassThrough(t *testing.T) {
	_, c := newEmulator(t, Config{})
	r := initReq()
	r.DocType = "123"
	_, err := c.Initialize(akCtx, r)
	e := apierr.As(err)
	assert.Equal(t, "InvalidParameter", e.Code)
	assert.NotEmpty(t, e.RequestID)
	assert.Equal(t, 400, apierr.Status(err))
}

// fakeAnswer serves one canned HTTP 200 body, for shapes the emulator does not produce.
func fakeAnswer(t *testing.T, body string) *Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	c, err := New(Config{Endpoint: srv.URL})
	require.NoError(t, err)
	return c
}

// The actions, each called with a valid request, for the tests of how
// their answers are read.
func initialize(c *Client) error {
	_, err := c.Initialize(akCtx, initReq())
	return err
}

func bankMeta(c *Client) error {
	_, err := c.BankMetaVerifyIntl(akCtx, bankReq())
	return err
}

func checkResult(c *Client) error {
	_, err := c.CheckResult(akCtx, CheckResultRequest{MerchantBizId: "b", TransactionId: "t"})
	return err
}

func TestBusinessCodes(t *testing.T) {
	tests := []struct {
		name           string
		call           func(*Client) error
		body, wantCode string
		wantHTTP       int
	}{
		{"word Code", initialize, `{"RequestId":"R1","Code":"OcrFail","Message":"The document is unreadable."}`, "OcrFail", 422},
		{"documented shape: numeric Code, word Message", initialize, `{"RequestId":"R1","Code":"400","Message":"InvalidParameter"}`, "InvalidParameter", 400},
		{"upstream InternalError is 502", initialize, `{"RequestId":"R1","Code":"InternalError","Message":"x"}`, "InternalError", 502},
		{"Forbidden is the deployment's problem", initialize, `{"RequestId":"R1","Code":"Forbidden.RAMUserAccessDenied","Message":"x"}`, "Forbidden.RAMUserAccessDenied", 502},
		{"no Code", initialize, `{"RequestId":"R1"}`, apierr.BadUpstreamAnswer, 502},
		{"success without TransactionId", initialize, `{"RequestId":"R1","Code":"Success","Result":{}}`, apierr.BadUpstreamAnswer, 502},
		{"success shaped wrongly", initialize, `{"RequestId":"R1","Code":"Success","Result":"x"}`, apierr.BadUpstreamAnswer, 502},
		{"bank: documented table shape: numeric Code, word Message", bankMeta, `{"RequestId":"R1","Code":"400","Message":"MissingParameter"}`, "MissingParameter", 400},
		{"bank: Forbidden.AccountAccessDenied", bankMeta, `{"RequestId":"R1","Code":"Forbidden.AccountAccessDenied","Message":"x"}`, "Forbidden.AccountAccessDenied", 502},
		{"bank: Throttling.Api", bankMeta, `{"RequestId":"R1","Code":"Throttling.Api","Message":"x"}`, "Throttling.Api", 503},
		{"bank: success without BizCode", bankMeta, `{"RequestId":"R1","Code":"200","ResultObject":{}}`, apierr.BadUpstreamAnswer, 502},
		{"bank: success under Result instead of ResultObject", bankMeta, `{"RequestId":"R1","Code":"200","Result":{"BizCode":"1"}}`, apierr.BadUpstreamAnswer, 502},
		{"CheckResult Passed outside Y/N/P", checkResult, `{"RequestId":"R1","Code":"Success","Result":{"Passed":"T"}}`, apierr.BadUpstreamAnswer, 502},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(fakeAnswer(t, tt.body))
			require.Error(t, err)
			assert.Equal(t, tt.wantCode, apierr.As(err).Code)
			assert.Equal(t, "R1", apierr.As(err).RequestID)
			assert.Equal(t, tt.wantHTTP, apierr.Status(err))
		})
	}
	t.Run("documented success shape Code 200", func(t *testing.T) {
		res, err := fakeAnswer(t, `{"RequestId":"R1","Code":"200","Message":"Success","Result":{"TransactionId":"hk1"}}`).Initialize(akCtx, initReq())
		require.NoError(t, err)
		assert.Equal(t, "hk1", res.Result.TransactionId)
	})
}

func TestEndpoint(t *testing.T) {
	tests := []struct {
		in, host, protocol, err string
	}{
		{"", DefaultEndpoint, "https", ""},
		{"cloudauth-intl-vpc.ap-southeast-1.aliyuncs.com", "cloudauth-intl-vpc.ap-southeast-1.aliyuncs.com", "https", ""},
		{"https://cloudauth-intl.cn-hongkong.aliyuncs.com", "cloudauth-intl.cn-hongkong.aliyuncs.com", "https", ""},
		{"https://cloudauth-intl.cn-hongkong.aliyuncs.com/", "cloudauth-intl.cn-hongkong.aliyuncs.com", "https", ""},
		{"http://127.0.0.1:8600", "127.0.0.1:8600", "http", ""},
		{"http://localhost:8600", "localhost:8600", "http", ""},
		{"http://[::1]:8600", "[::1]:8600", "http", ""},
		{"http://cloudauth-intl.cn-hongkong.aliyuncs.com", "", "", "loopback"},
		{"http://10.1.2.3:8600", "", "", "loopback"},
		{"ftp://x", "", "", "https"},
		{"https://x/api", "", "", "only scheme and host"},
		{"host/with/path", "", "", "neither a host nor a URL"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			host, protocol, err := parseEndpoint(tt.in)
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				assert.True(t, strings.Contains(err.Error(), "CLOUDAUTH_ENDPOINT"), "the error names the variable")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.host, host)
			assert.Equal(t, tt.protocol, protocol)
		})
	}
}

func TestTransportErrorsDoNotCarryTheQuery(t *testing.T) {
	emu, c := newEmulator(t, Config{})
	emu.InjectFault(emulator.Cloudauth, "Initialize", emulator.Fault{Kind: emulator.FaultReset})
	r := initReq()
	r.MerchantUserId = "private-user-7781"
	_, err := c.Initialize(akCtx, r)
	require.Error(t, err)
	cause := apierr.As(err).Err
	require.Error(t, cause, "the cause is kept for the log")
	assert.NotContains(t, cause.Error(), "private-user-7781")
	assert.NotContains(t, err.Error(), "private-user-7781")
}

// Codes that blame the deployment's credentials, and look-alikes that do not.
func TestCredentialCodes(t *testing.T) {
	for code, want := range map[string]bool{
		"SignatureDoesNotMatch": true, "IncompleteSignature": true, "SignatureNonceUsed": true, "NoPermission": true,
		"InvalidAccessKeyId.NotFound": true, "InvalidSecurityToken.Expired": true, "InvalidTimeStamp.Expired": true,
		"Forbidden.RAMUserAccessDenied": true, "Forbidden": true,
		"InvalidParameter": false, "Throttling.Api": false, "NoPermissions": false, "XSignatureDoesNotMatch": false, "": false,
	} {
		assert.Equal(t, want, isCredentialCode(code), code)
	}
}

// An HTTP error answer in XML (the gateway's other format) is read like JSON.
func TestXMLErrorAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml;charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><RequestId>R9</RequestId><Code>MissingParameter</Code><Message>ProductCode is mandatory.</Message></Error>`))
	}))
	t.Cleanup(srv.Close)
	c, err := New(Config{Endpoint: srv.URL})
	require.NoError(t, err)
	_, err = c.Initialize(akCtx, initReq())
	e := apierr.As(err)
	assert.Equal(t, "MissingParameter", e.Code)
	assert.Equal(t, "R9", e.RequestID)
	assert.Equal(t, "ProductCode is mandatory.", e.Message)
}

// The issue: after Throttling.Api asked to wait 12 s, three attempts went
// out within 2 s. Now no attempt goes out before the wait has passed; a call
// whose deadline comes first is answered at once with that Retry-After, and
// so is a later call of the instance while the wait runs.
func TestThrottlingWaitIsHonoured(t *testing.T) {
	card := BankMetaVerifyRequest{ProductType: "BANK_CARD_2_META", ParamType: "normal", BankCard: "6222020101987654", UserName: "欧阳明月"}
	t.Run("past the deadline: one attempt, 503 with its Retry-After", func(t *testing.T) {
		var attempts atomic.Int32
		emu, c := newEmulator(t, Config{BeforeAttempt: func(context.Context, string) error { attempts.Add(1); return nil }})
		emu.InjectFault(emulator.Cloudauth, "BankMetaVerifyIntl", emulator.Fault{Kind: emulator.FaultThrottle, Delay: 12 * time.Second})
		ctx, cancel := context.WithTimeout(akCtx, 9500*time.Millisecond) // a 10 s function's deadline
		defer cancel()
		_, err := c.BankMetaVerifyIntl(ctx, card)
		require.Error(t, err)
		assert.EqualValues(t, 1, emu.Stats().Requests["BankMetaVerifyIntl"], "exactly one attempt")
		assert.Equal(t, "Throttling.Api", apierr.As(err).Code)
		assert.Equal(t, http.StatusServiceUnavailable, apierr.Status(err))
		assert.GreaterOrEqual(t, apierr.As(err).RetryAfter, 12*time.Second)
		w := httptest.NewRecorder()
		apierr.Write(w, httptest.NewRequest("POST", "/", nil), err)
		assert.Equal(t, "12", w.Header().Get("Retry-After"))

		// Another call while the wait runs is not sent at all, nor does it
		// spend a QPS slot.
		emu.ClearFaults()
		_, err = c.BankMetaVerifyIntl(ctx, card)
		require.Error(t, err)
		assert.EqualValues(t, 1, emu.Stats().Requests["BankMetaVerifyIntl"], "nothing sent before the wait has passed")
		assert.EqualValues(t, 1, attempts.Load(), "no QPS slot taken for a call not sent")
		assert.Equal(t, "Throttling.Api", apierr.As(err).Code)
		assert.Equal(t, http.StatusServiceUnavailable, apierr.Status(err))
		assert.Greater(t, apierr.As(err).RetryAfter, 10*time.Second, "what is left of the 12 s")
		assert.True(t, Unbilled(err), "a call not sent gives its abuse-limit slots back")

		// Other actions are not held.
		_, err = c.Initialize(akCtx, initReq())
		assert.NoError(t, err)
	})
	t.Run("within the deadline: the retry waits as asked", func(t *testing.T) {
		const asked = 400 * time.Millisecond
		var mu sync.Mutex
		var at []time.Time
		emu, c := newEmulator(t, Config{BeforeAttempt: func(context.Context, string) error {
			mu.Lock()
			defer mu.Unlock()
			at = append(at, time.Now())
			return nil
		}})
		emu.InjectFault(emulator.Cloudauth, "BankMetaVerifyIntl", emulator.Fault{Kind: emulator.FaultThrottle, Delay: asked, Times: 1})
		ctx, cancel := context.WithTimeout(akCtx, 9500*time.Millisecond)
		defer cancel()
		_, err := c.BankMetaVerifyIntl(ctx, card)
		require.NoError(t, err)
		assert.EqualValues(t, 2, emu.Stats().Requests["BankMetaVerifyIntl"])
		require.Len(t, at, 2)
		assert.GreaterOrEqual(t, at[1].Sub(at[0]), asked, "the second attempt came no sooner than the throttling answer asked")
	})
}

// A caller that hangs up is not the upstream being slow: the error (which
// only the log reads) says so.
func TestCallerHangUpIsNotBlamedOnTheUpstream(t *testing.T) {
	emu, c := newEmulator(t, Config{})
	emu.InjectFault(emulator.Cloudauth, "Initialize", emulator.Fault{Kind: emulator.FaultSlow, Delay: time.Minute})
	ctx, hangUp := context.WithCancel(akCtx)
	go func() {
		for emu.Stats().Requests["Initialize"] == 0 {
			time.Sleep(time.Millisecond)
		}
		hangUp()
	}()
	_, err := c.Initialize(ctx, initReq())
	require.Error(t, err)
	assert.Contains(t, apierr.As(err).Message, "caller went away")
	assert.EqualValues(t, 1, emu.Stats().Requests["Initialize"], "billed: not repeated")
}

// A 4xx or 5xx page that is neither JSON nor XML (a proxy's or load
// balancer's) is read by its status: a 503 is the caller's 503, retried for
// a read, and not billed; a 404 is not retried.
func TestErrorPageIsReadByItsStatus(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		call     func(*Client) error
		attempts int64
		wantHTTP int
		unbilled bool
	}{
		{"503 to a billed call: one attempt", http.StatusServiceUnavailable, initialize, 1, 503, true},
		{"503 to a read: retried", http.StatusServiceUnavailable, checkResult, 3, 503, true},
		{"502 to a billed call: may have run", http.StatusBadGateway, initialize, 1, 502, false},
		{"404 to a read: not retried", http.StatusNotFound, checkResult, 1, 502, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var attempts atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				attempts.Add(1)
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte("<html><body><h1>" + http.StatusText(tt.status) + "</h1></body></html>"))
			}))
			t.Cleanup(srv.Close)
			c, err := New(Config{Endpoint: srv.URL})
			require.NoError(t, err)
			err = tt.call(c)
			require.Error(t, err)
			assert.Equal(t, tt.attempts, attempts.Load(), "attempts")
			assert.Equal(t, apierr.BadUpstreamAnswer, apierr.As(err).Code)
			assert.Equal(t, tt.wantHTTP, apierr.Status(err))
			assert.Contains(t, apierr.As(err).Message, "neither JSON nor XML")
			assert.Equal(t, tt.unbilled, Unbilled(err), "Unbilled")
		})
	}
}
