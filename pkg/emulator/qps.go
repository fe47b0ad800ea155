package emulator

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// This file counts ID Verification requests per product per second, as the
// real service does for its per-account QPS limits, and can throttle above a
// set limit with the real Throttling.Api answer. The fleet's QPS budget
// (pkg/budget) is shown against it: no second may exceed the budget.
//
// Seconds are whole Unix seconds of the emulator's clock at the request's
// arrival. Every request to a counted action is counted, before the
// signature check: a throttled request never reaches the signature check,
// as with a gateway that throttles first.
//
// Control API:
//
//	GET    /_emulator/qps        QPSStats
//	POST   /_emulator/qps        {"product":"eKYC","limit":10} → 204 (limit 0 removes it)
//	DELETE /_emulator/qps        204: forget the counts and the limits
//
// /_emulator/reset does not clear them; DELETE /_emulator/qps does.

// qpsProducts is the product of the QPS table each action counts against:
// a limit applies to every API of its product.
var qpsProducts = map[string]string{
	"Initialize":         "eKYC",
	"CheckResult":        "eKYC",
	"BankMetaVerifyIntl": "BANK_CARD_N_META",
}

// qpsKeep is how many recent seconds QPSStats lists; the maximum covers all.
const qpsKeep = 600

// meters holds each emulator's meter, so that the Emulator struct and its
// Reset are left as they are (the meter joined later, with its own reset).
var meters sync.Map // *Emulator → *qpsMeter

type qpsMeter struct {
	mu        sync.Mutex
	limits    map[string]int64
	seconds   map[string]map[int64]int64 // product → Unix second → requests
	max       map[string]int64
	throttled map[string]int64
	arrivals  map[string][]int64 // product → arrival times (Unix µs), the last qpsKeep seconds
}

// QPSStats is what the emulator saw per product and second.
type QPSStats struct {
	// Limits are the throttling limits set, by product.
	Limits map[string]int64 `json:"limits"`
	// Max is, by product, the most requests that arrived in one second.
	Max map[string]int64 `json:"max"`
	// Seconds are the requests by product and Unix second, for the last
	// ten minutes.
	Seconds map[string]map[int64]int64 `json:"seconds"`
	// Throttled counts the requests answered Throttling.Api for being over
	// a limit, by product.
	Throttled map[string]int64 `json:"throttled"`
	// Arrivals are the arrival times of the requests, by product, in
	// microseconds since the Unix epoch, oldest first, for the last ten
	// minutes: what a limiter counting sliding windows would count (see
	// SlidingMax).
	Arrivals map[string][]int64 `json:"arrivals"`
}

// SlidingMax is the most of arrivals (sorted, Unix µs) that fall inside
// any half-open interval of length window: the count a limiter over
// sliding windows sees at its busiest.
func SlidingMax(arrivals []int64, window time.Duration) int {
	most, j := 0, 0
	for i := range arrivals {
		for arrivals[i]-arrivals[j] >= window.Microseconds() {
			j++
		}
		most = max(most, i-j+1)
	}
	return most
}

func (e *Emulator) meter() *qpsMeter {
	if m, ok := meters.Load(e); ok {
		return m.(*qpsMeter)
	}
	m, _ := meters.LoadOrStore(e, newQPSMeter())
	return m.(*qpsMeter)
}

func newQPSMeter() *qpsMeter {
	return &qpsMeter{limits: map[string]int64{}, seconds: map[string]map[int64]int64{},
		max: map[string]int64{}, throttled: map[string]int64{}, arrivals: map[string][]int64{}}
}

// SetQPSLimit makes requests to product beyond limit in one second fail
// with Throttling.Api; 0 removes the limit.
func (e *Emulator) SetQPSLimit(product string, limit int64) {
	m := e.meter()
	m.mu.Lock()
	defer m.mu.Unlock()
	if limit <= 0 {
		delete(m.limits, product)
		return
	}
	m.limits[product] = limit
}

// QPS returns a copy of the per-second counts.
func (e *Emulator) QPS() QPSStats {
	m := e.meter()
	m.mu.Lock()
	defer m.mu.Unlock()
	st := QPSStats{Limits: maps.Clone(m.limits), Max: maps.Clone(m.max), Throttled: maps.Clone(m.throttled),
		Seconds: make(map[string]map[int64]int64, len(m.seconds)), Arrivals: make(map[string][]int64, len(m.arrivals))}
	for p, a := range m.arrivals {
		st.Arrivals[p] = slices.Clone(a)
	}
	for p, s := range m.seconds {
		st.Seconds[p] = maps.Clone(s)
	}
	return st
}

// ResetQPS forgets the counts and the limits.
func (e *Emulator) ResetQPS() {
	meters.Store(e, newQPSMeter())
}

// admit counts one request to product arriving at now and reports whether
// it is within the limit.
func (m *qpsMeter) admit(product string, now time.Time) bool {
	sec := now.Unix()
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.seconds[product]
	if s == nil {
		s = map[int64]int64{}
		m.seconds[product] = s
	}
	s[sec]++
	n := s[sec]
	a := append(m.arrivals[product], now.UnixMicro())
	cut := 0
	for cut < len(a) && a[cut] <= now.Add(-qpsKeep*time.Second).UnixMicro() {
		cut++
	}
	m.arrivals[product] = a[cut:]
	m.max[product] = max(m.max[product], n)
	if len(s) > qpsKeep {
		for old := range s {
			if old <= sec-qpsKeep {
				delete(s, old)
			}
		}
	}
	if limit := m.limits[product]; limit > 0 && n > limit {
		m.throttled[product]++
		return false
	}
	return true
}

// countPerSecond wraps the emulator's handler: it serves the QPS control API
// and counts (and, over a limit, throttles) ID Verification requests.
func (e *Emulator) countPerSecond(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/_emulator/qps" {
			e.serveQPSControl(w, r)
			return
		}
		product, counted := qpsProducts[r.Header.Get(hdrAction)]
		if !counted || r.URL.Path != "/" {
			next.ServeHTTP(w, r)
			return
		}
		now := e.now()
		if e.meter().admit(product, now) {
			next.ServeHTTP(w, r)
			return
		}
		e.count(&e.requests, r.Header.Get(hdrAction))
		e.count(&e.rejected, "Throttling.Api")
		left := time.Second - time.Duration(now.UnixNano()%int64(time.Second))
		w.Header().Set("x-ratelimit-user-api", "TimeLeft:"+strconv.FormatInt(max(left.Milliseconds(), 1), 10))
		writeAPIError(w, r, newRequestID(), &apiError{"Throttling.Api", "Request was denied due to api flow control."})
	})
}

func (e *Emulator) serveQPSControl(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		writeControl(w, http.StatusOK, e.QPS())
	case http.MethodPost:
		var req struct {
			Product string `json:"product"`
			Limit   int64  `json:"limit"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Product == "" || req.Limit < 0 {
			writeControlError(w, http.StatusBadRequest, `want {"product":"eKYC","limit":10}; limit 0 removes the limit`)
			return
		}
		e.SetQPSLimit(req.Product, req.Limit)
		w.WriteHeader(http.StatusNoContent)
	case http.MethodDelete:
		e.ResetQPS()
		w.WriteHeader(http.StatusNoContent)
	default:
		writeControlError(w, http.StatusMethodNotAllowed, "use GET, POST or DELETE")
	}
}

// QPS returns the per-second counts of the remote emulator.
func (r *Remote) QPS() (QPSStats, error) {
	var st QPSStats
	err := r.call(context.Background(), http.MethodGet, "/_emulator/qps", nil, &st)
	return st, err
}

// SetQPSLimit sets the remote emulator's throttling limit for product.
func (r *Remote) SetQPSLimit(product string, limit int64) error {
	return r.call(context.Background(), http.MethodPost, "/_emulator/qps", map[string]any{"product": product, "limit": limit}, nil)
}

// ResetQPS forgets the remote emulator's per-second counts and limits.
func (r *Remote) ResetQPS() error {
	return r.call(context.Background(), http.MethodDelete, "/_emulator/qps", nil, nil)
}
