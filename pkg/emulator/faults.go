package emulator

import (
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Upstream names one of the emulated services, each with its own faults.
type Upstream string

// The emulated upstreams.
const (
	Cloudauth Upstream = "cloudauth" // faults target an action (Initialize, CheckResult, ...)
	Alipay    Upstream = "alipay"    // faults target a gateway method (zhima.customer.certification.query, ...)
	Antom     Upstream = "antom"     // faults target an API (initAuthentication, verifyAuthentication)
)

// FaultKind names a failure the emulator can be told to produce. Each
// upstream has its own kinds (faultKinds); their values are the names used
// by the control API.
type FaultKind string

// cloudauth-intl's fault kinds.
const (
	// FaultThrottle answers HTTP 403 Throttling.Api, with an
	// x-ratelimit-user-api header whose TimeLeft is Delay in milliseconds
	// (200 when Delay is 0); the darabonba client reads it as RetryAfter.
	FaultThrottle FaultKind = "throttle"
	// FaultServerError answers HTTP 503 ServiceUnavailable.
	FaultServerError FaultKind = "server_error"
	// FaultInternalError answers HTTP 500 InternalError.
	FaultInternalError FaultKind = "internal_error"
	// FaultSlow waits Delay (or until the client gives up) and then answers
	// normally. Every upstream has it.
	FaultSlow FaultKind = "slow"
	// FaultMalformed answers HTTP 200 with a truncated JSON body, without
	// running the action.
	FaultMalformed FaultKind = "malformed"
	// FaultReset reads the whole request and closes the connection without
	// answering: the request reached the server but the client gets a
	// transport error. The action is not run.
	FaultReset FaultKind = "reset"
)

// The Alipay gateway's fault kinds (and FaultSlow).
const (
	// AlipayFaultBadSignature runs the method and answers with its sign
	// altered.
	AlipayFaultBadSignature FaultKind = "bad_signature"
	// AlipayFaultDuplicateNode runs the method and appends a second,
	// forged response node after the signed one.
	AlipayFaultDuplicateNode FaultKind = "duplicate_node"
	// AlipayFaultUnsigned runs the method and answers without a sign.
	AlipayFaultUnsigned FaultKind = "unsigned"
	// AlipayFaultUnavailable answers 20000 isp.unknow-error (signed)
	// without running the method.
	AlipayFaultUnavailable FaultKind = "unavailable"
)

// Antom's fault kinds (and FaultSlow).
const (
	// AntomFaultUnknown answers U UNKNOWN_EXCEPTION, signed, without
	// running the operation.
	AntomFaultUnknown FaultKind = "unknown"
	// AntomFaultThrottle answers U REQUEST_TRAFFIC_EXCEED_LIMIT, signed,
	// without running the operation.
	AntomFaultThrottle FaultKind = "throttle"
	// AntomFaultHTTPError answers HTTP 502 with no Antom body, without
	// running the operation.
	AntomFaultHTTPError FaultKind = "http_error"
	// AntomFaultUnsigned runs the operation and answers without the
	// signature and response-time headers.
	AntomFaultUnsigned FaultKind = "unsigned"
	// AntomFaultBadSignature runs the operation and answers with a
	// signature that does not verify (made over another response-time).
	AntomFaultBadSignature FaultKind = "bad_signature"
)

// faultKinds are the kinds each upstream can produce.
var faultKinds = map[Upstream][]FaultKind{
	Cloudauth: {FaultThrottle, FaultServerError, FaultInternalError, FaultSlow, FaultMalformed, FaultReset},
	Alipay:    {AlipayFaultBadSignature, AlipayFaultDuplicateNode, AlipayFaultUnsigned, AlipayFaultUnavailable, FaultSlow},
	Antom:     {AntomFaultUnknown, AntomFaultThrottle, AntomFaultHTTPError, AntomFaultUnsigned, AntomFaultBadSignature, FaultSlow},
}

// Fault is a failure injected into an upstream's answers.
type Fault struct {
	Kind FaultKind
	// Times is how many requests the fault applies to; 0 means until cleared.
	Times int
	// Delay is the wait of FaultSlow and the TimeLeft of FaultThrottle.
	Delay time.Duration
}

// faultError says what is wrong with a fault, or "" when it is valid for u.
func faultError(u Upstream, f Fault) string {
	kinds, ok := faultKinds[u]
	if !ok {
		return "upstream must be cloudauth, alipay or antom"
	}
	if !slices.Contains(kinds, f.Kind) {
		names := make([]string, len(kinds))
		for i, k := range kinds {
			names[i] = string(k)
		}
		return "kind must be one of " + strings.Join(names, ", ") + " for " + string(u)
	}
	if f.Times < 0 || f.Delay < 0 {
		return "times and delay must not be negative"
	}
	return ""
}

// faultTable holds the faults injected into one upstream, by target ("*":
// any), and counts those that fired, by kind.
type faultTable struct {
	mu       sync.Mutex
	byTarget map[string]*Fault
	fired    map[string]int64
}

func newFaultTable() *faultTable {
	return &faultTable{byTarget: map[string]*Fault{}, fired: map[string]int64{}}
}

func (t *faultTable) inject(target string, f Fault) {
	if target == "" {
		target = "*"
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.byTarget[target] = &f
}

func (t *faultTable) clear() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.byTarget = map[string]*Fault{}
}

// reset clears the faults and the counts.
func (t *faultTable) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.byTarget, t.fired = map[string]*Fault{}, map[string]int64{}
}

// take returns the fault that applies to this request for target, if any,
// and counts it down. A fault for a named target takes precedence over the
// "any" one.
func (t *faultTable) take(target string) (Fault, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	key := target
	f, ok := t.byTarget[key]
	if !ok {
		key = "*"
		if f, ok = t.byTarget[key]; !ok {
			return Fault{}, false
		}
	}
	if f.Times > 0 {
		if f.Times--; f.Times == 0 {
			delete(t.byTarget, key)
		}
	}
	t.fired[string(f.Kind)]++
	return *f, true
}

// counts returns the fired counts, each name prefixed.
func (t *faultTable) counts(prefix string) map[string]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]int64, len(t.fired))
	for k, v := range t.fired {
		out[prefix+k] = v
	}
	return out
}

// InjectFault makes requests of upstream u for target (a cloudauth action,
// an Alipay gateway method, an Antom API; "" or "*" means any) fail as f
// says; injecting for a target replaces its previous fault. Faults apply only
// to requests that pass the signature checks. A kind the upstream does not
// have, or a negative Times or Delay, is a programming error and panics.
func (e *Emulator) InjectFault(u Upstream, target string, f Fault) {
	if msg := faultError(u, f); msg != "" {
		panic(fmt.Sprintf("emulator: invalid fault %+v for %s: %s", f, u, msg))
	}
	e.faults[u].inject(target, f)
}

// ClearFaults removes every injected fault, of every upstream.
func (e *Emulator) ClearFaults() {
	for _, t := range e.faults {
		t.clear()
	}
}

// applyFault carries out f. It returns an error answer to send, or whether it
// has already answered (or deliberately not answered); when neither, the
// request proceeds normally.
func (e *Emulator) applyFault(w http.ResponseWriter, r *http.Request, rid string, f Fault) (*apiError, bool) {
	switch f.Kind {
	case FaultThrottle:
		left := f.Delay
		if left == 0 {
			left = 200 * time.Millisecond
		}
		w.Header().Set("x-ratelimit-user-api", "TimeLeft:"+strconv.FormatInt(left.Milliseconds(), 10))
		return &apiError{"Throttling.Api", "Request was denied due to api flow control."}, false
	case FaultServerError:
		return &apiError{"ServiceUnavailable", "The request has failed due to a temporary failure of the server."}, false
	case FaultInternalError:
		return &apiError{"InternalError", "The request processing has failed due to some unknown error."}, false
	case FaultSlow:
		return nil, !waitSlow(r, f.Delay) // when the client gave up, nobody is listening any more
	case FaultMalformed:
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
		w.Header().Set("x-acs-request-id", rid)
		_, _ = w.Write([]byte(`{"RequestId":"` + rid + `","Code":"Success","Message":"success","Result":{"TransactionId":"hk`))
		return nil, true
	default: // FaultReset; the body was read in full before authentication
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return &apiError{"InternalError", "The connection could not be reset: " + err.Error()}, false
		}
		if tcp, ok := conn.(*net.TCPConn); ok {
			_ = tcp.SetLinger(0) // close with RST, as a crashed peer would
		}
		_ = conn.Close()
		return nil, true
	}
}

// waitSlow waits d, the delay of every upstream's FaultSlow. It returns
// false when the client gave up first.
func waitSlow(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}
