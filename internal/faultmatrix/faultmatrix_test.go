package faultmatrix

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/idverify/fc-kyc/internal/contract"
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
var matrix = []row{
	{"ekyc-init", "throttled once", fault(emulator.Cloudauth, emulator.FaultThrottle, 1, 0), 200, "Success", exactly(2)},
	{"ekyc-init", "throttled", fault(emulator.Cloudauth, emulator.FaultThrottle, 0, 0), 503, "Throttling.Api", exactly(3)},
	{"ekyc-init", "503", fault(emulator.Cloudauth, emulator.FaultServerError, 0, 0), 503, "ServiceUnavailable", once},
	{"ekyc-init", "500", fault(emulator.Cloudauth, emulator.FaultInternalError, 0, 0), 502, "InternalError", once},
	{"ekyc-init", "hangs past the deadline", fault(emulator.Cloudauth, emulator.FaultSlow, 0, hang), 504, "UpstreamTimeout", once},
	{"ekyc-init", "connection reset", fault(emulator.Cloudauth, emulator.FaultReset, 0, 0), 502, "BadUpstreamAnswer", once},
	{"ekyc-init", "malformed body", fault(emulator.Cloudauth, emulator.FaultMalformed, 0, 0), 502, "BadUpstreamAnswer", once},

	{"bank-verify", "throttled once", fault(emulator.Cloudauth, emulator.FaultThrottle, 1, 0), 200, "200", exactly(2)},
	{"bank-verify", "throttled", fault(emulator.Cloudauth, emulator.FaultThrottle, 0, 0), 503, "Throttling.Api", exactly(3)},
	{"bank-verify", "503", fault(emulator.Cloudauth, emulator.FaultServerError, 0, 0), 503, "ServiceUnavailable", once},
	{"bank-verify", "500", fault(emulator.Cloudauth, emulator.FaultInternalError, 0, 0), 502, "InternalError", once},
	{"bank-verify", "hangs past the deadline", fault(emulator.Cloudauth, emulator.FaultSlow, 0, hang), 504, "UpstreamTimeout", once},
	{"bank-verify", "connection reset", fault(emulator.Cloudauth, emulator.FaultReset, 0, 0), 502, "BadUpstreamAnswer", once},
	{"bank-verify", "malformed body", fault(emulator.Cloudauth, emulator.FaultMalformed, 0, 0), 502, "BadUpstreamAnswer", once},

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
		status, body, _ := s.do(t, f.request(t, s))
		require.Equal(t, http.StatusOK, status, "%s without a fault: %v", f.name, body)
		before[f.name] = f.proc.stats(t)
	}

	for _, r := range matrix {
		f := s.fns[r.fn]
		require.NotNil(t, f, "matrix names an unknown function %q", r.fn)
		t.Run(r.fn+"/"+r.fault, func(t *testing.T) {
			req := f.request(t, s) // before the fault: the callback's needs a transaction
			n0 := f.attempts(t, s)
			require.NoError(t, r.inject(s, f))
			t.Cleanup(func() { s.clearFaults(t) })

			start := time.Now()
			status, body, header := s.do(t, req)
			took := time.Since(start)

			assert.Equal(t, r.status, status, "status; answer %v", body)
			assert.Equal(t, r.code, f.code(body), "code; answer %v", body)
			assert.LessOrEqual(t, took, deadline+margin, "answered within FUNCTION_TIMEOUT_S")
			if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
				if strings.Contains(r.code, "Throttling") {
					assert.NotEmpty(t, header.Get("Retry-After"), "a throttled answer says when to retry")
				}
			}
			got := settledCount(t, s, f, n0, r.attempts.min)
			assert.GreaterOrEqual(t, got, r.attempts.min, "upstream attempts")
			assert.LessOrEqual(t, got, r.attempts.max, "upstream attempts")
			if f.check != nil {
				f.check(t, s, body)
			}
			t.Logf("%d %s in %v after %d attempt(s)", status, f.code(body), took.Round(time.Millisecond), got)
		})
	}

	// Still healthy, and nothing piled up inside the function processes.
	for _, f := range s.fns {
		status, body, _ := s.do(t, f.request(t, s))
		assert.Equal(t, http.StatusOK, status, "%s after the matrix: %v", f.name, body)
		after := f.proc.stats(t)
		t.Logf("%s: open files %d → %d, threads %d → %d", f.name, before[f.name].fds, after.fds, before[f.name].threads, after.threads)
		if before[f.name].fds > 0 {
			// A connection or goroutine leaked per faulty call would add one
			// descriptor per row; idle pooled connections are a few.
			assert.LessOrEqual(t, after.fds, before[f.name].fds+4, "%s: descriptors leaked", f.name)
		}
	}
}

// settledCount waits until the emulator has counted at least min attempts
// since n0 (an attempt the function gave up on is counted when the
// emulator notices), then a moment more for stragglers.
func settledCount(t *testing.T, s *stack, f *function, n0, min int64) int64 {
	t.Helper()
	end := time.Now().Add(5 * time.Second)
	for f.attempts(t, s)-n0 < min && time.Now().Before(end) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	return f.attempts(t, s) - n0
}

// function is one function under test: how to call it, how to read its
// answer's code, and how the emulator counts its upstream calls.
type function struct {
	name     string
	proc     *proc
	op       string // the upstream action, method or API the faults target
	request  func(t *testing.T, s *stack) *http.Request
	code     func(body map[string]any) string
	attempts func(t *testing.T, s *stack) int64
	// check, when set, holds for every answer of the function.
	check func(t *testing.T, s *stack, body map[string]any)
}

type stack struct {
	emu    *emulator.Remote
	proxy  *faultProxy
	client *http.Client
	fns    map[string]*function
	seq    int
}

func startStack(t *testing.T) *stack {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	s := &stack{client: &http.Client{Transport: contract.Transport(tr), Timeout: 60 * time.Second}, fns: map[string]*function{}}

	emu := testproc.StartEmulator(t)
	s.emu = &emulator.Remote{BaseURL: emu.URL(), Client: s.client}
	s.proxy = newFaultProxy(t, emu.URL())

	keyFile := filepath.Join(t.TempDir(), "alipay_app_key.pem")
	require.NoError(t, os.WriteFile(keyFile, []byte(emulator.AlipayTestAppPrivateKey), 0o600))
	const callbackSecret = "faultmatrix-callback-secret-0123456789abcdef"
	common := []string{
		"FUNCTION_TIMEOUT_S=" + strconv.Itoa(timeoutS),
		"AUTH_MODE=none",
		"CLOUDAUTH_ENDPOINT=" + emu.URL(),
		"ALIBABA_CLOUD_ACCESS_KEY_ID=" + emulator.DefaultAccessKeyID,
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + emulator.DefaultAccessKeySecret,
		"STORE_URL=file://" + t.TempDir(),
		"CALLBACK_SECRET=" + callbackSecret,
	}
	callback := start(t, "callback", common)
	ekyc := start(t, "ekyc-init", append(common, "EKYC_CALLBACK_URL="+callback.URL()+"/ekyc/callback"))
	bank := start(t, "bank-verify", common)
	zhima := start(t, "zhima-init", append(common,
		"ALIPAY_GATEWAY="+s.proxy.URL()+"/gateway.do",
		"ALIPAY_APP_ID="+emulator.AlipayTestAppID,
		"ALIPAY_PRIVATE_KEY_FILE="+keyFile,
		"ALIPAY_PUBLIC_KEY="+emulator.AlipayTestPublicKey))
	otp := start(t, "otp-init", append(common,
		"ANTOM_GATEWAY="+s.proxy.URL(),
		"ANTOM_CLIENT_ID="+emulator.AntomClientID,
		"ANTOM_PRIVATE_KEY="+emulator.AntomMerchantPrivateKey,
		"ANTOM_PUBLIC_KEY="+emulator.AntomGatewayPublicKey))

	add := func(f *function) { s.fns[f.name] = f }

	add(&function{name: "ekyc-init", proc: ekyc, op: "Initialize", code: field("Code"),
		request: func(t *testing.T, s *stack) *http.Request {
			return post(t, ekyc.URL()+"/", map[string]any{
				"MetaInfo":       map[string]any{"zimVer": "3.0.0", "appName": "com.example.app", "deviceType": "h5"},
				"MerchantUserId": "faultmatrix-user",
				"DocType":        "01560000",
			})
		},
		attempts: emulatorCount("Initialize")})
	add(&function{name: "bank-verify", proc: bank, op: "BankMetaVerifyIntl", code: field("Code"),
		request: func(t *testing.T, s *stack) *http.Request {
			return post(t, bank.URL()+"/", map[string]any{"ProductType": "BANK_CARD_4_META",
				"BankCard": "6222020101987654", "UserName": "欧阳明月", "IdentifyNum": "42900119900101821X", "Mobile": "13912345678"})
		},
		attempts: emulatorCount("BankMetaVerifyIntl")})
	add(&function{name: "callback", proc: callback, op: "CheckResult", code: field("Code"),
		request: func(t *testing.T, s *stack) *http.Request {
			// A transaction made through ekyc-init and finished by the
			// user; the notification is sent by the test, as the service
			// would send it, so that the test reads the answer.
			status, body, _ := s.do(t, s.fns["ekyc-init"].request(t, s))
			require.Equal(t, http.StatusOK, status, "%v", body)
			result, _ := body["Result"].(map[string]any)
			txID, _ := result["TransactionId"].(string)
			require.NoError(t, s.emu.CompleteWithCallbacks(context.Background(), txID, "Y", "200", 0))
			tx, err := s.emu.Transaction(txID)
			require.NoError(t, err)
			q := url.Values{"callbackToken": {tx.CallbackToken}, "transactionId": {txID}, "passed": {"Y"}, "subCode": {"200"}}
			sep := "?"
			if strings.Contains(tx.CallbackURL, "?") {
				sep = "&"
			}
			req, err := http.NewRequest(http.MethodGet, tx.CallbackURL+sep+q.Encode(), nil)
			require.NoError(t, err)
			return req
		},
		attempts: emulatorCount("CheckResult")})
	add(&function{name: "zhima-init", proc: zhima, op: alipay.MethodZhimaInitialize, code: zhimaCode,
		request: func(t *testing.T, s *stack) *http.Request {
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
		request: func(t *testing.T, s *stack) *http.Request {
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

// do sends req and returns the status and the JSON answer.
func (s *stack) do(t *testing.T, req *http.Request) (int, map[string]any, http.Header) {
	t.Helper()
	res, err := s.client.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	var body map[string]any
	require.NoError(t, json.Unmarshal(raw, &body), "the answer is a JSON object: %s", raw)
	return res.StatusCode, body, res.Header
}

func post(t *testing.T, u string, body any) *http.Request {
	t.Helper()
	raw, err := json.Marshal(body)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(raw))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	return req
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

// proc is a function's process, with what /proc says about it.
type proc struct{ *testproc.Proc }

func start(t *testing.T, name string, env []string) *proc {
	t.Helper()
	p := testproc.StartFunction(t, name, env...)
	contract.Register(t, name, p.URL())
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.Output())
		}
	})
	return &proc{Proc: p}
}

type procStats struct{ fds, threads int }

// stats counts the process's open descriptors and OS threads. Goroutines
// inside another process cannot be counted from here; a goroutine stuck on
// a connection keeps its descriptor, which is what this sees. Zero where
// /proc is not available.
func (p *proc) stats(t *testing.T) procStats {
	t.Helper()
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
