package emulator

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"
)

// FaultKind names a failure the emulator can be told to produce.
type FaultKind string

// The fault kinds. Their values are the names used by the control API.
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
	// normally.
	FaultSlow FaultKind = "slow"
	// FaultMalformed answers HTTP 200 with a truncated JSON body, without
	// running the action.
	FaultMalformed FaultKind = "malformed"
	// FaultReset reads the whole request and closes the connection without
	// answering: the request reached the server but the client gets a
	// transport error. The action is not run.
	FaultReset FaultKind = "reset"
)

func (k FaultKind) valid() bool {
	switch k {
	case FaultThrottle, FaultServerError, FaultInternalError, FaultSlow, FaultMalformed, FaultReset:
		return true
	}
	return false
}

// Fault is a failure injected into the answers to one action.
type Fault struct {
	Kind FaultKind
	// Times is how many requests the fault applies to; 0 means until cleared.
	Times int
	// Delay is the wait of FaultSlow and the TimeLeft of FaultThrottle.
	Delay time.Duration
}

// InjectFault makes requests for action fail as f says; action "" or "*"
// means any action. A fault for a named action takes precedence over the
// "any action" one, and injecting for an action replaces its previous fault.
//
// Faults apply only to requests that pass the signature checks and name a
// known version and action (see serveCloudauth). An unknown kind or negative
// Times is a programming error and panics.
func (e *Emulator) InjectFault(action string, f Fault) {
	if !f.Kind.valid() || f.Times < 0 || f.Delay < 0 {
		panic(fmt.Sprintf("emulator: invalid fault %+v", f))
	}
	if action == "" {
		action = "*"
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults[action] = &f
}

// ClearFaults removes every injected fault.
func (e *Emulator) ClearFaults() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = map[string]*Fault{}
}

// takeFault returns the fault that applies to this request of action, if
// any, and counts it down.
func (e *Emulator) takeFault(action string) (Fault, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	key := action
	f, ok := e.faults[key]
	if !ok {
		key = "*"
		if f, ok = e.faults[key]; !ok {
			return Fault{}, false
		}
	}
	if f.Times > 0 {
		if f.Times--; f.Times == 0 {
			delete(e.faults, key)
		}
	}
	e.faulted[string(f.Kind)]++
	return *f, true
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
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
			return nil, false
		case <-r.Context().Done():
			return nil, true // nobody is listening any more
		}
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
