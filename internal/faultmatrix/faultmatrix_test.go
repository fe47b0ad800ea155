package faultmatrix

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/idverify/fc-kyc/internal/e2e"
	"github.com/idverify/fc-kyc/pkg/alipay"
	"github.com/idverify/fc-kyc/pkg/emulator"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

// TestMain fails the package if any goroutine of the test process outlives
// the tests: every client, proxy and process watcher must be shut down.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	// timeoutS is every function's FUNCTION_TIMEOUT_S: an answer must come
	// within it, whatever the upstream does.
	timeoutS = 4
	deadline = timeoutS * time.Second
	// margin is what the assertion allows past the deadline: the machine
	// is shared and slow, so this only catches an answer that waited for
	// the upstream instead of the deadline (hang is 30 s).
	margin = 3 * time.Second
	hang   = 30 * time.Second
)

// span is how many upstream attempts the emulator may count for one call.
type span struct{ min, max int64 }

// once: the call may have reached the service, so it is never repeated.
var once = span{1, 1}

// repeatedUntilDeadline: safe to repeat (Antom's U, same id), so repeated
// with backoff until the deadline; more than one, and bounded.
var repeatedUntilDeadline = span{2, 50}

func exactly(n int64) span { return span{n, n} }

// row is one line of the specification: function, fault, what the caller
// gets, how many upstream attempts are allowed.
type row struct {
	fn       string
	fault    string
	inject   injector
	status   int
	code     string
	attempts span
}

// injector makes the next calls of f's upstream operation fail; faults stay
// until the row ends (Times 0) unless the injector says otherwise.
type injector func(s *stack, f *function) error

// fault is an emulator fault of upstream u on f's operation (an action, a
// gateway method or an API); times 0 is until the row ends.
func fault(u emulator.Upstream, kind emulator.FaultKind, times int, delay time.Duration) injector {
	return func(s *stack, f *function) error {
		return s.emu.InjectFault(u, f.op, emulator.Fault{Kind: kind, Times: times, Delay: delay})
	}
}

// wire is a fault the emulator's Alipay and Antom parts cannot make: the
// proxy between the function and the emulator passes the request on (so it
// reaches the service and is counted) and then loses the answer: a reset,
// a truncated body, or a bare HTTP 502 (see faultProxy).
func wire(mode string) injector {
	return func(s *stack, _ *function) error {
		s.proxy.set(mode)
		return nil
	}
}

// matrix is the specification (docs/design.md, retries and errors). Initialize and
// BankMetaVerifyIntl are billed: a throttled call never ran and may be
// repeated, anything else may have reached the service and is answered
// after one attempt. CheckResult is free: 5xx, resets, unreadable answers
// are repeated (3 attempts at most). Antom's U is repeated with the same
// authenticationRequestId until S/F or the deadline. The gateway signs
// its answers: a missing or wrong signature is never believed, and a
// signed answer that fails verification (the malformed rows truncate a
// signed body) is final, not a U.
var matrix = slices.Concat(billed("ekyc-init", "Success"), billed("bank-verify", "200"), []row{
	{"callback", "throttled once", fault(emulator.Cloudauth, emulator.FaultThrottle, 1, 0), 200, "Success", exactly(2)},
	{"callback", "throttled", fault(emulator.Cloudauth, emulator.FaultThrottle, 0, 0), 503, "Throttling.Api", exactly(3)},
	{"callback", "503 once", fault(emulator.Cloudauth, emulator.FaultServerError, 1, 0), 200, "Success", exactly(2)},
	{"callback", "503", fault(emulator.Cloudauth, emulator.FaultServerError, 0, 0), 503, "ServiceUnavailable", exactly(3)},
	{"callback", "500", fault(emulator.Cloudauth, emulator.FaultInternalError, 0, 0), 502, "InternalError", exactly(3)},
	{"callback", "hangs past the deadline", fault(emulator.Cloudauth, emulator.FaultSlow, 0, hang), 504, "UpstreamTimeout", span{1, 3}},
	{"callback", "connection reset", fault(emulator.Cloudauth, emulator.FaultReset, 0, 0), 502, "BadUpstreamAnswer", exactly(3)},
	{"callback", "malformed body", fault(emulator.Cloudauth, emulator.FaultMalformed, 0, 0), 502, "BadUpstreamAnswer", exactly(3)},

	{"zhima-init", "unavailable (20000)", fault(emulator.Alipay, emulator.AlipayFaultUnavailable, 0, 0), 503, "isp.unknow-error", once},
	{"zhima-init", "hangs past the deadline", fault(emulator.Alipay, emulator.FaultSlow, 0, hang), 504, "UpstreamTimeout", once},
	{"zhima-init", "HTTP 502", wire("502"), 503, "UpstreamUnavailable", once},
	{"zhima-init", "connection reset", wire("reset"), 502, "BadUpstreamAnswer", once},
	{"zhima-init", "malformed body", wire("malformed"), 502, "BadUpstreamAnswer", once},
	{"zhima-init", "bad signature", fault(emulator.Alipay, emulator.AlipayFaultBadSignature, 0, 0), 502, "BadUpstreamAnswer", once},
	{"zhima-init", "missing signature", fault(emulator.Alipay, emulator.AlipayFaultUnsigned, 0, 0), 502, "BadUpstreamAnswer", once},
	{"zhima-init", "duplicate response node", fault(emulator.Alipay, emulator.AlipayFaultDuplicateNode, 0, 0), 502, "BadUpstreamAnswer", once},

	{"otp-init", "U once", fault(emulator.Antom, emulator.AntomFaultUnknown, 1, 0), 200, "SUCCESS", exactly(2)},
	{"otp-init", "U until the deadline", fault(emulator.Antom, emulator.AntomFaultUnknown, 0, 0), 503, "UNKNOWN_EXCEPTION", repeatedUntilDeadline},
	{"otp-init", "throttled", fault(emulator.Antom, emulator.AntomFaultThrottle, 0, 0), 503, "REQUEST_TRAFFIC_EXCEED_LIMIT", repeatedUntilDeadline},
	{"otp-init", "HTTP 502", fault(emulator.Antom, emulator.AntomFaultHTTPError, 0, 0), 503, "UpstreamUnavailable", repeatedUntilDeadline},
	{"otp-init", "hangs past the deadline", fault(emulator.Antom, emulator.FaultSlow, 0, hang), 504, "UpstreamTimeout", span{1, 3}},
	{"otp-init", "connection reset", wire("reset"), 503, "UpstreamUnavailable", repeatedUntilDeadline},
	{"otp-init", "malformed body", wire("malformed"), 502, "BadUpstreamAnswer", once},
	{"otp-init", "bad signature", fault(emulator.Antom, emulator.AntomFaultBadSignature, 0, 0), 502, "BadUpstreamAnswer", once},
	{"otp-init", "missing signature", fault(emulator.Antom, emulator.AntomFaultUnsigned, 0, 0), 502, "BadUpstreamAnswer", once},
})

// billed is the specification of fn, whose upstream operation is a billed
// cloudauth action, and whose code is success when it succeeds.
func billed(fn, success string) []row {
	return []row{
		{fn, "throttled once", fault(emulator.Cloudauth, emulator.FaultThrottle, 1, 0), 200, success, exactly(2)},
		{fn, "throttled", fault(emulator.Cloudauth, emulator.FaultThrottle, 0, 0), 503, "Throttling.Api", exactly(3)},
		{fn, "503", fault(emulator.Cloudauth, emulator.FaultServerError, 0, 0), 503, "ServiceUnavailable", once},
		{fn, "500", fault(emulator.Cloudauth, emulator.FaultInternalError, 0, 0), 502, "InternalError", once},
		{fn, "hangs past the deadline", fault(emulator.Cloudauth, emulator.FaultSlow, 0, hang), 504, "UpstreamTimeout", once},
		{fn, "connection reset", fault(emulator.Cloudauth, emulator.FaultReset, 0, 0), 502, "BadUpstreamAnswer", once},
		{fn, "malformed body", fault(emulator.Cloudauth, emulator.FaultMalformed, 0, 0), 502, "BadUpstreamAnswer", once},
	}
}

func TestFaultMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("fault matrix: builds and runs every function and the emulator")
	}
	s := startStack(t)
	before := map[string]procStats{}
	for _, f := range s.fns {
		// A normal call first: clients, pools and lazily started
		// goroutines exist before the baseline is taken.
		a := f.request(t, s)()
		require.Equal(t, http.StatusOK, a.Status, "%s without a fault: %s", f.name, a.Raw)
		before[f.name] = statsOf(f.proc)
	}

	for _, r := range matrix {
		f := s.fns[r.fn]
		require.NotNil(t, f, "matrix names an unknown function %q", r.fn)
		t.Run(r.fn+"/"+r.fault, func(t *testing.T) {
			send := f.request(t, s) // before the fault: the callback's needs a transaction
			n0 := f.attempts(t, s)
			require.NoError(t, r.inject(s, f))
			t.Cleanup(func() { s.clearFaults(t) })

			start := time.Now()
			a := send()
			took := time.Since(start)

			assert.Equal(t, r.status, a.Status, "status; answer %s", a.Raw)
			assert.Equal(t, r.code, f.code(a.Body), "code; answer %s", a.Raw)
			assert.LessOrEqual(t, took, deadline+margin, "answered within FUNCTION_TIMEOUT_S")
			if a.Status == http.StatusServiceUnavailable || a.Status == http.StatusTooManyRequests {
				if strings.Contains(r.code, "Throttling") {
					assert.NotEmpty(t, a.Header.Get("Retry-After"), "a throttled answer says when to retry")
				}
			}
			got := settledCount(t, s, f, n0, r.attempts)
			assert.GreaterOrEqual(t, got, r.attempts.min, "upstream attempts")
			assert.LessOrEqual(t, got, r.attempts.max, "upstream attempts")
			if f.check != nil {
				f.check(t, s, a.Body)
			}
			t.Logf("%d %s in %v after %d attempt(s)", a.Status, f.code(a.Body), took.Round(time.Millisecond), got)
		})
	}

	// Still healthy, and nothing piled up inside the function processes.
	for _, f := range s.fns {
		a := f.request(t, s)()
		assert.Equal(t, http.StatusOK, a.Status, "%s after the matrix: %s", f.name, a.Raw)
		after := statsOf(f.proc)
		t.Logf("%s: open files %d → %d, threads %d → %d", f.name, before[f.name].fds, after.fds, before[f.name].threads, after.threads)
		if before[f.name].fds > 0 {
			// A connection or goroutine leaked per faulty call would add one
			// descriptor per row; idle pooled connections are a few.
			assert.LessOrEqual(t, after.fds, before[f.name].fds+4, "%s: descriptors leaked", f.name)
		}
	}
}

// settledCount is the emulator's count of attempts since n0 once it has
// counted want.min of them (an attempt the function gave up on is counted
// when the emulator notices), watched a moment more for a straggler past
// want.max.
func settledCount(t *testing.T, s *stack, f *function, n0 int64, want span) int64 {
	t.Helper()
	got := f.attempts(t, s) - n0
	for end := time.Now().Add(5 * time.Second); got < want.min && time.Now().Before(end); got = f.attempts(t, s) - n0 {
		time.Sleep(20 * time.Millisecond)
	}
	for end := time.Now().Add(300 * time.Millisecond); got <= want.max && time.Now().Before(end); got = f.attempts(t, s) - n0 {
		time.Sleep(20 * time.Millisecond)
	}
	return got
}

// function is one function under test: how to call it, how to read its
// answer's code, and how the emulator counts its upstream calls.
type function struct {
	name string
	proc *testproc.Proc
	op   string // the upstream action, method or API the faults target
	// request prepares a call, which send makes; its answer is a JSON
	// object, whatever went wrong.
	request  func(t *testing.T, s *stack) (send func() e2e.Answer)
	code     func(body map[string]any) string
	attempts func(t *testing.T, s *stack) int64
	// check, when set, holds for every answer of the function.
	check func(t *testing.T, s *stack, body map[string]any)
}

type stack struct {
	emu   *emulator.Remote
	proxy *faultProxy
	fns   map[string]*function
	seq   int
}

func startStack(t *testing.T) *stack {
	t.Helper()
	s := &stack{fns: map[string]*function{}}
	var emu *testproc.Proc
	emu, s.emu = e2e.Emulator(t)
	s.proxy = newFaultProxy(t, emu.URL())

	common := []string{
		"FUNCTION_TIMEOUT_S=" + strconv.Itoa(timeoutS),
		"STORE_URL=file://" + t.TempDir(), // one store: the callback finds ekyc-init's transactions
		"CALLBACK_SECRET=faultmatrix-callback-secret-0123456789abcdef",
	}
	callback := e2e.Function(t, "callback", emu.URL(), common...)
	ekyc := e2e.Function(t, "ekyc-init", emu.URL(), append(common, "EKYC_CALLBACK_URL="+callback.URL()+"/ekyc/callback")...)
	bank := e2e.Function(t, "bank-verify", emu.URL(), common...)
	// The gateways are reached through the proxy, which can lose answers.
	zhima := e2e.Function(t, "zhima-init", s.proxy.URL(), common...)
	otp := e2e.Function(t, "otp-init", s.proxy.URL(), common...)

	add := func(f *function) { s.fns[f.name] = f }

	add(&function{name: "ekyc-init", proc: ekyc, op: "Initialize", code: field("Code"),
		request: func(t *testing.T, s *stack) func() e2e.Answer {
			return post(t, ekyc.URL()+"/", map[string]any{
				"MetaInfo":       map[string]any{"zimVer": "3.0.0", "appName": "com.example.app", "deviceType": "h5"},
				"MerchantUserId": "faultmatrix-user",
				"DocType":        "01560000",
			})
		},
		attempts: emulatorCount("Initialize")})
	add(&function{name: "bank-verify", proc: bank, op: "BankMetaVerifyIntl", code: field("Code"),
		request: func(t *testing.T, s *stack) func() e2e.Answer {
			return post(t, bank.URL()+"/", map[string]any{"ProductType": "BANK_CARD_4_META",
				"BankCard": "6222020101987654", "UserName": "欧阳明月", "IdentifyNum": "42900119900101821X", "Mobile": "13912345678"})
		},
		attempts: emulatorCount("BankMetaVerifyIntl")})
	add(&function{name: "callback", proc: callback, op: "CheckResult", code: field("Code"),
		request: func(t *testing.T, s *stack) func() e2e.Answer {
			// A transaction made through ekyc-init and finished by the
			// user; the notification is sent by the test, as the service
			// would send it, so that the test reads the answer.
			a := s.fns["ekyc-init"].request(t, s)()
			require.Equal(t, http.StatusOK, a.Status, "%s", a.Raw)
			txID := a.Str("Result", "TransactionId")
			require.NoError(t, s.emu.CompleteWithCallbacks(context.Background(), txID, "Y", "200", 0))
			tx, err := s.emu.Transaction(txID)
			require.NoError(t, err)
			q := url.Values{"callbackToken": {tx.CallbackToken}, "transactionId": {txID}, "passed": {"Y"}, "subCode": {"200"}}
			sep := "?"
			if strings.Contains(tx.CallbackURL, "?") {
				sep = "&"
			}
			return func() e2e.Answer {
				return object(t, e2e.Do(t, http.MethodGet, tx.CallbackURL+sep+q.Encode(), nil, nil))
			}
		},
		attempts: emulatorCount("CheckResult")})
	add(&function{name: "zhima-init", proc: zhima, op: alipay.MethodZhimaInitialize, code: zhimaCode,
		request: func(t *testing.T, s *stack) func() e2e.Answer {
			return post(t, zhima.URL()+"/", map[string]any{"biz_code": "FACE",
				"identity_param": map[string]any{"identity_type": "CERT_INFO", "cert_type": "IDENTITY_CARD",
					"cert_name": "张三", "cert_no": "260104197909275964"}})
		},
		attempts: func(t *testing.T, s *stack) int64 {
			st, err := s.emu.AlipayStats()
			require.NoError(t, err)
			return st.Requests[alipay.MethodZhimaInitialize]
		}})
	add(&function{name: "otp-init", proc: otp, op: "initAuthentication", code: otpCode,
		request: func(t *testing.T, s *stack) func() e2e.Answer {
			s.seq++
			return post(t, otp.URL()+"/", map[string]any{"authenticationType": "OTP", "authenticationChannelType": "SMS",
				"authenticationRequestId": fmt.Sprintf("faultmatrix-%d-%d", time.Now().UnixNano(), s.seq),
				"userIdentityType":        "WALLET_TOKEN", "userIdentityValue": fmt.Sprintf("faultmatrix-wallet-%d", s.seq)})
		},
		attempts: emulatorCount("initAuthentication"),
		check: func(t *testing.T, s *stack, body map[string]any) {
			// Every attempt the emulator accepted for this id is the same
			// bytes: a repeated U is the same request, never a new one.
			id, _ := body["authenticationRequestId"].(string)
			require.NotEmpty(t, id, "the answer names the authenticationRequestId to repeat with")
			seen, err := s.emu.AntomRequests(id)
			require.NoError(t, err)
			for _, r := range seen {
				assert.Equal(t, seen[0].Body, r.Body, "repeats are byte-identical")
			}
		}})
	return s
}

// emulatorCount is the emulator's count of requests for a cloudauth action
// or an Antom API (both are counted in Stats.Requests).
func emulatorCount(action string) func(t *testing.T, s *stack) int64 {
	return func(t *testing.T, s *stack) int64 {
		t.Helper()
		st, err := s.emu.Stats()
		require.NoError(t, err)
		return st.Requests[action]
	}
}

func (s *stack) clearFaults(t *testing.T) {
	s.proxy.set("")
	assert.NoError(t, s.emu.ClearFaults())
}

// post is a call that posts body to u as JSON.
func post(t *testing.T, u string, body any) func() e2e.Answer {
	return func() e2e.Answer { return object(t, e2e.Post(t, u, nil, body)) }
}

// object checks that a's body is a JSON object, as every answer of these
// functions is, a failure's included.
func object(t *testing.T, a e2e.Answer) e2e.Answer {
	t.Helper()
	require.NotNil(t, a.Body, "the answer is a JSON object: %s", a.Raw)
	return a
}

// field reads a cloudauth-style answer's top-level code.
func field(name string) func(map[string]any) string {
	return func(b map[string]any) string { s, _ := b[name].(string); return s }
}

// zhimaCode is the gateway's sub_code when there is one, else its code.
func zhimaCode(b map[string]any) string {
	if s, _ := b["sub_code"].(string); s != "" {
		return s
	}
	s, _ := b["code"].(string)
	return s
}

// otpCode is Antom's result.resultCode.
func otpCode(b map[string]any) string {
	r, _ := b["result"].(map[string]any)
	s, _ := r["resultCode"].(string)
	return s
}

type procStats struct{ fds, threads int }

// statsOf counts the process's open descriptors and OS threads. Goroutines
// inside another process cannot be counted from here; a goroutine stuck on
// a connection keeps its descriptor, which is what this sees. Zero where
// /proc is not available.
func statsOf(p *testproc.Proc) procStats {
	if runtime.GOOS != "linux" {
		return procStats{}
	}
	pid := strconv.Itoa(p.Pid())
	fds, _ := os.ReadDir("/proc/" + pid + "/fd")
	tasks, _ := os.ReadDir("/proc/" + pid + "/task")
	return procStats{fds: len(fds), threads: len(tasks)}
}

// faultProxy sits between zhima-init / otp-init and the emulator. It
// forwards every request, so the emulator runs and counts it, and then,
// when set, loses the answer: "reset" closes the connection with RST,
// "malformed" sends half of the body, "502" answers a bare HTTP 502 as a
// load balancer in front of the service would.
type faultProxy struct {
	srv    *httptest.Server
	target string
	client *http.Client
	mu     sync.Mutex
	mode   string
}

func newFaultProxy(t *testing.T, target string) *faultProxy {
	tr := &http.Transport{}
	p := &faultProxy{target: target, client: &http.Client{Transport: tr}}
	p.srv = httptest.NewServer(p)
	t.Cleanup(func() {
		p.srv.Close()
		tr.CloseIdleConnections()
	})
	return p
}

func (p *faultProxy) URL() string { return p.srv.URL }

func (p *faultProxy) set(mode string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = mode
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	out, err := http.NewRequestWithContext(r.Context(), r.Method, p.target+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	out.Header = r.Header.Clone()
	res, err := p.client.Do(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	answer, _ := io.ReadAll(res.Body)
	res.Body.Close()

	p.mu.Lock()
	mode := p.mode
	p.mu.Unlock()
	switch mode {
	case "reset":
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if tcp, ok := conn.(*net.TCPConn); ok {
			_ = tcp.SetLinger(0)
		}
		_ = conn.Close()
		return
	case "malformed":
		answer = answer[:len(answer)/2]
	case "502":
		http.Error(w, "502 Bad Gateway", http.StatusBadGateway)
		return
	}
	for k, v := range res.Header {
		if k != "Content-Length" {
			w.Header()[k] = v
		}
	}
	w.WriteHeader(res.StatusCode)
	_, _ = w.Write(answer)
}
