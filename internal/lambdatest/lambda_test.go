package lambdatest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/internal/e2e"
	"github.com/idverify/fc-kyc/internal/registry"
	"github.com/idverify/fc-kyc/pkg/alipay"
	"github.com/idverify/fc-kyc/pkg/emulator"
	"github.com/idverify/fc-kyc/pkg/testproc"
	"github.com/idverify/fc-kyc/pkg/webhook/webhooktest"
)

const (
	// lambdaTimeoutS is every function's Lambda timeout: shorter than the
	// FUNCTION_TIMEOUT_S the functions are given, so that Lambda's deadline
	// is the one that must win.
	lambdaTimeoutS = "3"
	// hang is how long the emulator holds a faulty call: far past the
	// Lambda timeout (it ends early when the function gives up).
	hang = 20 * time.Second

	apiKey         = "lambdatest-api-key-0123456789"
	callbackSecret = "lambdatest-callback-secret-0123456789abcdef"
	webhookSecret  = "lambdatest-webhook-secret-0123456789abcdef"
	// servingLine is what a function logs once per process on Lambda: its
	// count in the output is the number of cold starts.
	servingLine = `"msg":"serving through the Lambda Runtime API"`
)

// lambdaFn is one function's bootstrap under its own aws-lambda-rie, which
// takes one invocation at a time.
type lambdaFn struct {
	name   string
	rie    *testproc.Proc
	client *http.Client
	calls  atomic.Int64 // invocations sent
}

// startLambda runs functions/<name> as a bootstrap under aws-lambda-rie,
// with env on top of the Lambda timeout.
func startLambda(t *testing.T, name string, env ...string) *lambdaFn {
	t.Helper()
	rie := testproc.RIE(t)
	fn, ok := registry.Lookup(name)
	require.True(t, ok, "no function %s in internal/registry", name)
	dir := t.TempDir()
	bootstrap := filepath.Join(dir, "bootstrap") // the name `make package` gives it
	require.NoError(t, os.Symlink(testproc.Build(t, fn.Package()), bootstrap))
	// Both of the RIE's addresses are chosen here, racy as that is: given
	// port 0 for its Runtime API, it tells the bootstrap port 0 (it makes
	// AWS_LAMBDA_RUNTIME_API before it binds), and its invoke endpoint
	// never prints the address it bound, so the test could not find it.
	port, apiPort := testproc.FreePort(t), testproc.FreePort(t)
	args := []string{"--log-level", "info",
		"--runtime-api-address", "127.0.0.1:" + apiPort,
		"--runtime-interface-emulator-address", "127.0.0.1:" + port,
		bootstrap}
	env = append([]string{"AWS_LAMBDA_FUNCTION_TIMEOUT=" + lambdaTimeoutS, "AWS_LAMBDA_FUNCTION_NAME=" + name}, env...)
	f := &lambdaFn{name: name, rie: testproc.StartArgs(t, rie, args, port, env...)}
	tr := &http.Transport{}
	f.client = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	return f
}

// invoke sends payload as Lambda's Invoke API does and returns the RIE's
// status and answer.
func (f *lambdaFn) invoke(t *testing.T, payload []byte) (int, []byte) {
	t.Helper()
	f.calls.Add(1)
	res, err := f.client.Post(f.rie.URL()+"/2015-03-31/functions/function/invocations", "application/json", bytes.NewReader(payload))
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, b
}

// coldStarts is how many times the bootstrap has started.
func (f *lambdaFn) coldStarts() int { return strings.Count(f.rie.Output(), servingLine) }

// proxyAnswer is an HTTP event's answer, in payload format 1.0 or 2.0.
type proxyAnswer struct {
	StatusCode        int                 `json:"statusCode"`
	Headers           map[string]string   `json:"headers"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
	Body              string              `json:"body"`
	IsBase64Encoded   bool                `json:"isBase64Encoded"`
}

// functionError is the Invoke answer of an invocation that failed.
type functionError struct {
	Type    string `json:"errorType"`
	Message string `json:"errorMessage"`
}

// call is one request to a function's HTTP API.
type call struct {
	method, path string
	query        url.Values
	header       http.Header
	body         []byte
}

// The front doors an HTTP request reaches a function through on Lambda;
// the fourth way in, direct Invoke, is eventCases.
type door struct {
	name  string
	event func(c call) []byte
	// rest: the answer is payload format 1.0 (multiValueHeaders).
	rest bool
}

var doors = []door{
	{name: "HTTP API (payload 2.0)", event: func(c call) []byte {
		return httpEvent(c, "POST /kyc/"+c.path, "abc123.execute-api.eu-central-1.amazonaws.com", false)
	}},
	{name: "REST API (payload 1.0)", event: restEvent, rest: true},
	{name: "Function URL", event: func(c call) []byte {
		return httpEvent(c, "", "abc123.lambda-url.eu-central-1.on.aws", true)
	}},
}

// httpEvent is the payload format 2.0 event API Gateway's HTTP API (with
// routeKey) or a Function URL (without) sends for c, the body in base64 when
// b64.
func httpEvent(c call, routeKey, domain string, b64 bool) []byte {
	h := map[string]string{"host": domain, "user-agent": "lambdatest"}
	for k, v := range c.header {
		h[strings.ToLower(k)] = strings.Join(v, ",")
	}
	ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: routeKey, RawPath: c.path,
		RawQueryString: c.query.Encode(), Headers: h,
		RequestContext: events.APIGatewayV2HTTPRequestContext{AccountID: "123456789012", APIID: "abc123",
			DomainName: domain, Stage: "$default", RequestID: "gw-req",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: c.method, Path: c.path,
				Protocol: "HTTP/1.1", SourceIP: "203.0.113.9", UserAgent: "lambdatest"}},
		Body: string(c.body)}
	if b64 && len(c.body) > 0 {
		ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(c.body), true
	}
	b, _ := json.Marshal(ev)
	return b
}

// restEvent is the payload format 1.0 event a REST API sends for c: every
// header and query parameter in both the single- and multi-value maps, as
// API Gateway sends them, and the body in base64 (a binary media type).
func restEvent(c call) []byte {
	const domain = "abc123.execute-api.eu-central-1.amazonaws.com"
	mh := map[string][]string{"Host": {domain}, "User-Agent": {"lambdatest"}, "Accept": {"application/json", "*/*"}}
	for k, v := range c.header {
		mh[k] = v
	}
	h := map[string]string{}
	for k, v := range mh {
		h[k] = v[len(v)-1]
	}
	q := map[string]string{}
	for k, v := range c.query {
		q[k] = v[len(v)-1]
	}
	ev := events.APIGatewayProxyRequest{Resource: "/kyc/{proxy+}", Path: c.path, HTTPMethod: c.method,
		Headers: h, MultiValueHeaders: mh, QueryStringParameters: q, MultiValueQueryStringParameters: c.query,
		RequestContext: events.APIGatewayProxyRequestContext{AccountID: "123456789012", APIID: "abc123",
			Stage: "prod", DomainName: domain, RequestID: "gw-req", HTTPMethod: c.method, Path: "/prod" + c.path,
			ResourcePath: "/kyc/{proxy+}", Identity: events.APIGatewayRequestIdentity{SourceIP: "203.0.113.9"}}}
	if len(c.body) > 0 {
		ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(c.body), true
	}
	b, _ := json.Marshal(ev)
	return b
}

// httpCall sends c through d and returns the answer's status and body.
func (f *lambdaFn) httpCall(t *testing.T, d door, c call) (int, map[string]any) {
	t.Helper()
	status, raw := f.invoke(t, d.event(c))
	return httpAnswer(t, d, status, raw)
}

// httpAnswer decodes an HTTP event's answer, checks its format, and
// returns its status and JSON body.
func httpAnswer(t *testing.T, d door, status int, raw []byte) (int, map[string]any) {
	t.Helper()
	require.Equal(t, http.StatusOK, status, "the invocation failed: %s", raw)
	var a proxyAnswer
	require.NoError(t, json.Unmarshal(raw, &a), "not a proxy answer: %s", raw)
	require.NotZero(t, a.StatusCode, "not a proxy answer: %s", raw)
	if d.rest {
		assert.Empty(t, a.Headers, "payload 1.0: headers are in multiValueHeaders")
		assert.Contains(t, a.MultiValueHeaders["Content-Type"], "application/json; charset=utf-8", "%s", raw)
	} else {
		assert.Nil(t, a.MultiValueHeaders)
		assert.Equal(t, "application/json; charset=utf-8", a.Headers["Content-Type"], "%s", raw)
	}
	body := a.Body
	if a.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(a.Body)
		require.NoError(t, err)
		body = string(b)
	}
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &m), "the answer's body is not a JSON object: %s", body)
	return a.StatusCode, m
}

// stack is one function under test with its own emulator process.
type stack struct {
	fn  *lambdaFn
	emu *emulator.Remote
	// upstream counts the calls that reached the function's upstream.
	upstream func(t *testing.T) int64
	// hang makes the upstream hang until clear.
	hang  func(t *testing.T)
	clear func(t *testing.T)
	// valid and invalid are HTTP requests: invalid is refused with a 4xx
	// before any upstream call.
	valid, invalid func(t *testing.T) call
	// event and badEvent are direct Invoke payloads.
	event, badEvent func(t *testing.T) []byte
}

// common is function name's configuration against the emulator e: its
// upstream's client (internal/registry says which), the API key, the store.
func common(name string, e *emulator.Remote, storeURL string) []string {
	sum := sha256.Sum256([]byte(apiKey))
	env := []string{
		"FUNCTION_TIMEOUT_S=10", // longer than Lambda's 3 s: Lambda's deadline must win
		"AUTH_MODE=apikey", "API_KEY_HASHES=" + hex.EncodeToString(sum[:]),
		"STORE_URL=" + storeURL,
		"CALLBACK_SECRET=" + callbackSecret,
		"BANK_CARD_LIMIT_SECRET=lambdatest-card-limit-key-0123456789abc", // bank-verify's per-card limit
	}
	if f, ok := registry.Lookup(name); ok && f.Upstream != registry.None {
		env = append(env, emulator.ClientEnv(emulator.Upstream(f.Upstream), e.BaseURL)...)
	}
	return env
}

func post(path string, body string) func(t *testing.T) call {
	return func(t *testing.T) call {
		return call{method: http.MethodPost, path: path, body: []byte(body),
			header: http.Header{"Content-Type": {"application/json"}, "X-Api-Key": {apiKey}}}
	}
}

func payload(body string) func(t *testing.T) []byte {
	return func(t *testing.T) []byte { return []byte(body) }
}

// emulatorCount is the emulator's count of requests for a cloudauth action
// or an Antom API (both are counted in Stats.Requests).
func emulatorCount(e *emulator.Remote, action string) func(t *testing.T) int64 {
	return func(t *testing.T) int64 {
		st, err := e.Stats()
		require.NoError(t, err)
		return st.Requests[action]
	}
}

// hangs returns start, which makes upstream u's operation op hang past the
// Lambda timeout, and stop, which ends that.
func hangs(e *emulator.Remote, u emulator.Upstream, op string) (start, stop func(t *testing.T)) {
	return func(t *testing.T) {
			require.NoError(t, e.InjectFault(u, op, emulator.Fault{Kind: emulator.FaultSlow, Delay: hang}))
		}, func(t *testing.T) {
			require.NoError(t, e.ClearFaults())
		}
}

const ekycRequest = `{"MetaInfo":{"zimVer":"3.0.0","appName":"com.example.app","deviceType":"h5"},"MerchantUserId":"lambdatest-user","DocType":"01560000"}`

func ekycStack(t *testing.T) *stack {
	_, e := e2e.Emulator(t)
	s := &stack{emu: e, upstream: emulatorCount(e, "Initialize"),
		valid: post("/kyc/ekyc-init", ekycRequest), invalid: post("/kyc/ekyc-init", `{"MerchantUserId":"lambdatest-user"}`),
		event: payload(ekycRequest), badEvent: payload(`{"MerchantUserId":"lambdatest-user"}`)}
	s.hang, s.clear = hangs(e, emulator.Cloudauth, "Initialize")
	s.fn = startLambda(t, "ekyc-init", append(common("ekyc-init", e, "file://"+t.TempDir()),
		"EKYC_CALLBACK_URL=https://api.example.com/kyc/callback")...)
	return s
}

func bankStack(t *testing.T) *stack {
	_, e := e2e.Emulator(t)
	const req = `{"ProductType":"BANK_CARD_4_META","BankCard":"6222020101987654","UserName":"欧阳明月","IdentifyNum":"42900119900101821X","Mobile":"13912345678"}`
	const bad = `{"ProductType":"BANK_CARD_4_META"}`
	s := &stack{emu: e, upstream: emulatorCount(e, "BankMetaVerifyIntl"),
		valid: post("/kyc/bank-verify", req), invalid: post("/kyc/bank-verify", bad), event: payload(req), badEvent: payload(bad)}
	s.hang, s.clear = hangs(e, emulator.Cloudauth, "BankMetaVerifyIntl")
	s.fn = startLambda(t, "bank-verify", common("bank-verify", e, "file://"+t.TempDir())...)
	return s
}

func zhimaStack(t *testing.T) *stack {
	_, e := e2e.Emulator(t)
	const req = `{"biz_code":"FACE","identity_param":{"identity_type":"CERT_INFO","cert_type":"IDENTITY_CARD","cert_name":"张三","cert_no":"260104197909275964"}}`
	const bad = `{"biz_code":"FACE"}`
	s := &stack{emu: e, valid: post("/kyc/zhima-init", req), invalid: post("/kyc/zhima-init", bad),
		event: payload(req), badEvent: payload(bad),
		upstream: func(t *testing.T) int64 {
			st, err := e.AlipayStats()
			require.NoError(t, err)
			return st.Requests[alipay.MethodZhimaInitialize]
		}}
	s.hang, s.clear = hangs(e, emulator.Alipay, alipay.MethodZhimaInitialize)
	s.fn = startLambda(t, "zhima-init", append(common("zhima-init", e, "file://"+t.TempDir()),
		"ZHIMA_RETURN_URL=https://api.example.com/kyc/zhima/return")...)
	return s
}

func otpStack(t *testing.T) *stack {
	_, e := e2e.Emulator(t)
	var seq atomic.Int64
	req := func() string {
		n := seq.Add(1)
		return fmt.Sprintf(`{"authenticationType":"OTP","authenticationChannelType":"SMS","authenticationRequestId":"lambdatest-%d-%d",`+
			`"userIdentityType":"WALLET_TOKEN","userIdentityValue":"lambdatest-wallet-%d"}`, time.Now().UnixNano(), n, n)
	}
	const bad = `{"authenticationType":"OTP"}`
	s := &stack{emu: e, upstream: emulatorCount(e, "initAuthentication"),
		valid:   func(t *testing.T) call { return post("/kyc/otp-init", req())(t) },
		invalid: post("/kyc/otp-init", bad),
		event:   func(t *testing.T) []byte { return []byte(req()) }, badEvent: payload(bad)}
	s.hang, s.clear = hangs(e, emulator.Antom, "initAuthentication")
	s.fn = startLambda(t, "otp-init", common("otp-init", e, "file://"+t.TempDir())...)
	return s
}

// callbackStack runs the callback on Lambda beside an ekyc-init served as
// on FC (the quickest way to make transactions), on one store and emulator.
// Its HTTP request is ID Verification's notification of a transaction the
// emulator has completed; its event is the schedule's timer event.
func callbackStack(t *testing.T) *stack {
	_, e := e2e.Emulator(t)
	storeURL := "file://" + t.TempDir()
	hook := webhooktest.NewReceiver(t, []byte(webhookSecret))
	ekyc := e2e.Function(t, "ekyc-init", e.BaseURL, append(common("ekyc-init", e, storeURL),
		"EKYC_CALLBACK_URL=https://api.example.com/kyc/callback")...)
	// completed makes a transaction the user has finished; the service's
	// notification is left to the test.
	completed := func(t *testing.T) emulator.Transaction {
		a := e2e.Post(t, ekyc.URL()+"/", map[string]string{"X-Api-Key": apiKey}, ekycRequest)
		require.Equal(t, http.StatusOK, a.Status, "%s", a.Raw)
		id := a.Str("Result", "TransactionId")
		require.NoError(t, e.CompleteWithCallbacks(context.Background(), id, "Y", "200", 0))
		tx, err := e.Transaction(id)
		require.NoError(t, err)
		return tx
	}
	notification := func(t *testing.T, tamper bool) call {
		tx := completed(t)
		u, err := url.Parse(tx.CallbackURL)
		require.NoError(t, err)
		token := tx.CallbackToken
		if tamper { // one character changed
			b := []byte(token)
			b[len(b)/2] ^= 1
			token = string(b)
		}
		q := u.Query()
		q.Set("callbackToken", token)
		q.Set("transactionId", tx.ID)
		q.Set("passed", "Y")
		q.Set("subCode", "200")
		return call{method: http.MethodGet, path: u.Path, query: q, header: http.Header{}}
	}
	timer := `{"triggerTime":"2026-11-23T04:00:00Z","triggerName":"reconcile","payload":""}`
	s := &stack{emu: e, upstream: emulatorCount(e, "CheckResult"),
		valid:   func(t *testing.T) call { return notification(t, false) },
		invalid: func(t *testing.T) call { return notification(t, true) },
		// A transaction the notification missed, for the timer to find.
		event:    func(t *testing.T) []byte { completed(t); return []byte(timer) },
		badEvent: payload(`{"triggerTime":"2026-11-23T04:00:00Z","triggerName":"reconcile","payload":"not json"}`)}
	s.hang, s.clear = hangs(e, emulator.Cloudauth, "CheckResult")
	s.fn = startLambda(t, "callback", append(common("callback", e, storeURL),
		"RECONCILE_AFTER=1ms",
		"RESULT_WEBHOOK_URL="+hook.URL()+"/kyc/results", "RESULT_WEBHOOK_SECRET="+webhookSecret)...)
	return s
}

// TestLambdaFunctions runs the five functions side by side, each under its
// own aws-lambda-rie (one invocation at a time), through every front door.
func TestLambdaFunctions(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds and runs every function under aws-lambda-rie")
	}
	t.Parallel()
	testproc.RIE(t) // skips here, once, when it cannot be built
	for name, start := range map[string]func(*testing.T) *stack{
		"ekyc-init": ekycStack, "bank-verify": bankStack, "zhima-init": zhimaStack,
		"otp-init": otpStack, "callback": callbackStack,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := start(t)
			for _, d := range doors {
				t.Run(d.name, func(t *testing.T) { s.httpCases(t, d) })
			}
			t.Run("direct Invoke", s.eventCases)
			assert.Equal(t, 1, s.fn.coldStarts(), "the process was replaced: a timeout cost a cold start")
			s.checkLog(t)
		})
	}
}

func (s *stack) httpCases(t *testing.T, d door) {
	t.Run("valid", func(t *testing.T) {
		c := s.valid(t)
		n := s.upstream(t)
		status, body := s.fn.httpCall(t, d, c)
		assert.Equal(t, http.StatusOK, status, "%v", body)
		assert.Equal(t, n+1, s.upstream(t), "one upstream call")
	})
	t.Run("invalid", func(t *testing.T) {
		c := s.invalid(t)
		n := s.upstream(t)
		status, body := s.fn.httpCall(t, d, c)
		assert.GreaterOrEqual(t, status, 400, "%v", body)
		assert.Less(t, status, 500, "%v", body)
		assert.Equal(t, n, s.upstream(t), "an invalid request cost an upstream call")
	})
	if s.fn.name != "callback" { // its notification carries its own token
		t.Run("no API key", func(t *testing.T) {
			c := s.valid(t)
			c.header.Del("X-Api-Key")
			n := s.upstream(t)
			status, body := s.fn.httpCall(t, d, c)
			assert.Equal(t, http.StatusUnauthorized, status, "%v", body)
			assert.Equal(t, n, s.upstream(t), "a refused caller cost an upstream call")
		})
	}
	t.Run("upstream hangs past the Lambda timeout", func(t *testing.T) {
		c := s.valid(t)
		s.hang(t)
		defer s.clear(t)
		status, raw := s.fn.invoke(t, d.event(c))
		require.NotContains(t, string(raw), "Task timed out", "Lambda cut the function off before it answered")
		status, body := httpAnswer(t, d, status, raw)
		assert.Equal(t, http.StatusGatewayTimeout, status, "%v", body)
		s.clear(t)
		// The next call is served by the same process.
		status, body = s.fn.httpCall(t, d, s.valid(t))
		assert.Equal(t, http.StatusOK, status, "%v", body)
		assert.Equal(t, 1, s.fn.coldStarts(), "the process was replaced after the timeout")
	})
}

func (s *stack) eventCases(t *testing.T) {
	t.Run("valid", func(t *testing.T) {
		ev := s.event(t)
		n := s.upstream(t)
		status, raw := s.fn.invoke(t, ev)
		require.Equal(t, http.StatusOK, status, "%s", raw)
		var fe functionError
		require.NoError(t, json.Unmarshal(raw, &fe), "%s", raw)
		require.Empty(t, fe.Type, "the invocation failed: %s", raw)
		if s.fn.name == "callback" {
			var rep struct{ Checked, Recorded, Delivered int }
			require.NoError(t, json.Unmarshal(raw, &rep), "%s", raw)
			assert.GreaterOrEqual(t, rep.Recorded, 1, "the timer recorded what the notification missed: %s", raw)
			assert.GreaterOrEqual(t, rep.Delivered, 1, "and posted it: %s", raw)
			assert.Equal(t, n+int64(rep.Checked), s.upstream(t), "%s", raw)
			return
		}
		assert.Equal(t, n+1, s.upstream(t), "one upstream call")
	})
	t.Run("invalid", func(t *testing.T) {
		n := s.upstream(t)
		status, raw := s.fn.invoke(t, s.badEvent(t))
		require.Equal(t, http.StatusOK, status, "%s", raw)
		var fe functionError
		require.NoError(t, json.Unmarshal(raw, &fe), "%s", raw)
		assert.NotEmpty(t, fe.Type, "an invalid event is a failed invocation: %s", raw)
		assert.NotEmpty(t, fe.Message, "%s", raw)
		assert.Equal(t, n, s.upstream(t), "an invalid event cost an upstream call")
	})
	t.Run("upstream hangs past the Lambda timeout", func(t *testing.T) {
		ev := s.event(t)
		s.hang(t)
		defer s.clear(t)
		status, raw := s.fn.invoke(t, ev)
		require.NotContains(t, string(raw), "Task timed out", "Lambda cut the function off before it answered")
		require.Equal(t, http.StatusOK, status, "%s", raw)
		var fe functionError
		require.NoError(t, json.Unmarshal(raw, &fe), "%s", raw)
		if s.fn.name == "callback" {
			// The timer's report comes back: what it could not check is
			// counted, and asked again on the next run.
			var rep struct{ Errors int }
			require.NoError(t, json.Unmarshal(raw, &rep), "%s", raw)
			assert.Empty(t, fe.Type, "%s", raw)
			assert.GreaterOrEqual(t, rep.Errors, 1, "%s", raw)
		} else {
			assert.Equal(t, "UpstreamTimeout", fe.Type, "%s", raw)
		}
		s.clear(t)
		status, raw = s.fn.invoke(t, s.event(t))
		require.Equal(t, http.StatusOK, status, "%s", raw)
		assert.NotContains(t, string(raw), "errorType", "%s", raw)
		assert.Equal(t, 1, s.fn.coldStarts(), "the process was replaced after the timeout")
	})
}

// checkLog: every invocation was logged in one JSON line of the function's
// own, and aws-lambda-go's copy of a failed event's error was not.
func (s *stack) checkLog(t *testing.T) {
	want := int(s.fn.calls.Load())
	var got int
	assert.Eventually(t, func() bool {
		got = strings.Count(s.fn.rie.Output(), `"msg":"invocation"`)
		return got >= want
	}, 5*time.Second, 20*time.Millisecond)
	assert.Equal(t, want, got, "one log line per invocation")
	for _, line := range strings.Split(s.fn.rie.Output(), "\n") {
		if strings.HasPrefix(line, "{") {
			assert.True(t, json.Valid([]byte(line)), "a function line that is not JSON: %s", line)
			assert.NotContains(t, line, "errorMessage", "aws-lambda-go's copy of an error was logged")
		}
	}
}

// TestLambdaStartFailure: a function that cannot start answers the
// invocation with its reason, through the Runtime API's init/error.
func TestLambdaStartFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds and runs a function under aws-lambda-rie")
	}
	t.Parallel()
	f := startLambda(t, "ekyc-init", "FUNCTION_TIMEOUT_S=10") // no AUTH_MODE
	status, raw := f.invoke(t, []byte(ekycRequest))
	assert.Equal(t, http.StatusBadGateway, status, "%s", raw)
	var fe functionError
	require.NoError(t, json.Unmarshal(raw, &fe), "%s", raw)
	assert.Equal(t, "Runtime.InitError", fe.Type)
	assert.Contains(t, fe.Message, "AUTH_MODE is required")
}
