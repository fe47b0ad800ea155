package emulator

import (
	"context"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// The performance harness (cmd/benchtable) reports the latency a function
// ADDS to an upstream call: its answer time minus the time the upstream (here
// the emulator) spent answering the function. A function never passes the
// upstream's timing through to its caller, so the emulator measures its own
// handling time per API request and hands out a summary on the control API:
//
//	GET    /_emulator/timing   HandlingTimes of the API requests since the last reset
//	DELETE /_emulator/timing   forget them (POST /_emulator/reset does too)
//
// Handling time runs from the moment the handler is entered (headers read)
// to the moment it returns (answer written to the connection's buffer); the
// control API itself is not timed.

// maxTimingSamples bounds the memory of the samples (8 MiB); later requests
// are still served but no longer timed.
const maxTimingSamples = 1 << 20

// HandlingTimes summarises the emulator's handling time of API requests.
// Durations are in nanoseconds in JSON.
type HandlingTimes struct {
	Count int           `json:"count"`
	P50   time.Duration `json:"p50Ns"`
	P99   time.Duration `json:"p99Ns"`
	Mean  time.Duration `json:"meanNs"`
	Max   time.Duration `json:"maxNs"`
}

// timed wraps the emulator's mux with the handling-time recorder.
type timed struct {
	next    http.Handler
	mu      sync.Mutex
	samples []time.Duration
}

func withHandlingTimes(next http.Handler) http.Handler { return &timed{next: next} }

func (t *timed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/_emulator/timing" && r.Method == http.MethodGet:
		writeControl(w, http.StatusOK, t.summary())
	case r.URL.Path == "/_emulator/timing" && r.Method == http.MethodDelete:
		t.reset()
		w.WriteHeader(http.StatusNoContent)
	case strings.HasPrefix(r.URL.Path, "/_emulator/"):
		if r.URL.Path == "/_emulator/reset" && r.Method == http.MethodPost {
			t.reset()
		}
		t.next.ServeHTTP(w, r)
	default:
		start := time.Now()
		t.next.ServeHTTP(w, r)
		d := time.Since(start)
		t.mu.Lock()
		if len(t.samples) < maxTimingSamples {
			t.samples = append(t.samples, d)
		}
		t.mu.Unlock()
	}
}

func (t *timed) reset() {
	t.mu.Lock()
	t.samples = t.samples[:0]
	t.mu.Unlock()
}

func (t *timed) summary() HandlingTimes {
	t.mu.Lock()
	s := slices.Clone(t.samples)
	t.mu.Unlock()
	if len(s) == 0 {
		return HandlingTimes{}
	}
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return HandlingTimes{
		Count: len(s),
		P50:   Percentile(s, 50),
		P99:   Percentile(s, 99),
		Mean:  sum / time.Duration(len(s)),
		Max:   s[len(s)-1],
	}
}

// Percentile returns the p-th percentile (nearest rank) of sorted, which
// must be in ascending order and not empty. HandlingTimes are computed
// with it; cmd/benchtable computes the functions' answer times with it too,
// so that subtracting one from the other compares like with like.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(rank, len(sorted)-1))]
}

// HandlingTimes returns the emulator's handling times of API requests since
// the last reset.
func (r *Remote) HandlingTimes() (HandlingTimes, error) {
	return remoteGet[HandlingTimes](r, "/_emulator/timing")
}

// ResetHandlingTimes forgets the handling times, leaving the other state.
func (r *Remote) ResetHandlingTimes() error {
	return r.call(context.Background(), http.MethodDelete, "/_emulator/timing", nil, nil)
}
