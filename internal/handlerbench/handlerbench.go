// Package handlerbench is what the functions' in-process benchmarks share:
// a function's full HTTP handler as fcrt serves it, the loop that sends it
// one request over and over, and the handler as deployed with Redis (the
// caller limits and the QPS budget counted in a real redis-server, the
// emulator as the upstream) with the store round trips a request costs.
package handlerbench

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/auth"
	"github.com/idverify/fc-kyc/pkg/budget"
	"github.com/idverify/fc-kyc/pkg/cloudauth"
	"github.com/idverify/fc-kyc/pkg/emulator"
	"github.com/idverify/fc-kyc/pkg/fcrt"
	"github.com/idverify/fc-kyc/pkg/ratelimit"
	"github.com/idverify/fc-kyc/pkg/store"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

// Handler is f's full HTTP handler, as fcrt serves it: a 10 s timeout,
// the log lines discarded.
func Handler(f fcrt.Function) http.Handler {
	return fcrt.Handler(f, fcrt.Options{Timeout: 10 * time.Second, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
}

// Serve is b's loop: body (JSON-encoded, unless []byte) sent to h with
// the STS credentials FC passes (the emulator's keys), each answer to
// have status want.
func Serve(b *testing.B, h http.Handler, body any, want int) {
	raw := encode(b, body)
	for b.Loop() {
		if w := send(h, raw); w.Code != want {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

func send(h http.Handler, raw []byte) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(raw))
	r.Header.Set("x-fc-access-key-id", emulator.DefaultAccessKeyID)
	r.Header.Set("x-fc-access-key-secret", emulator.DefaultAccessKeySecret)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func encode(tb testing.TB, body any) []byte {
	if raw, ok := body.([]byte); ok {
		return raw
	}
	raw, err := json.Marshal(body)
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

// Cloudauth is a client (cfg, its Endpoint set) of the emulator, which
// runs as its own process until tb ends.
func Cloudauth(tb testing.TB, cfg cloudauth.Config) *cloudauth.Client {
	tb.Helper()
	cfg.Endpoint = testproc.StartEmulator(tb).URL()
	client, err := cloudauth.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return client
}

// Trips is a store that counts the calls a request makes of it: each Admit
// (the limits and the budget, one script) and each Create. Each is one
// round trip here, where records have no owner (an owned Create adds the
// owner's lookup entry: 2); RoundTrips counts what Redis itself sees.
type Trips struct {
	store.Store
	n atomic.Int64
}

// Admit counts one call.
func (c *Trips) Admit(ctx context.Context, g string, cells []store.Cell) (store.Admission, error) {
	c.n.Add(1)
	return c.Store.Admit(ctx, g, cells)
}

// Create counts one call.
func (c *Trips) Create(ctx context.Context, t store.Transaction) error {
	c.n.Add(1)
	return c.Store.Create(ctx, t)
}

// Load is how many round trips the store has been asked for.
func (c *Trips) Load() int64 { return c.n.Load() }

// Redis is a function's side of a deployment with Redis: a real
// redis-server, and in it the QPS budget of Group and the function's caller
// limits (so high they never refuse or wait: the store's cost alone).
type Redis struct {
	Server *testproc.RedisServer
	// Store is the Redis store, counting its round trips.
	Store *Trips
	// Upstream is a client of the emulator, run as its own process, that
	// waits on the budget before each attempt.
	Upstream *cloudauth.Client
	// Limits are the function's caller limits, beside the budget.
	Limits *ratelimit.Limiter
}

// NewRedis starts redis-server and the emulator for function, whose QPS
// budget group is group. A test (not a benchmark) is skipped under -short.
func NewRedis(tb testing.TB, function, group string) *Redis {
	tb.Helper()
	if _, isTest := tb.(*testing.T); isTest && testing.Short() {
		tb.Skip("runs redis-server and the emulator")
	}
	srv := testproc.Redis(tb)
	st, err := store.Open(context.Background(), srv.URL)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	trips := &Trips{Store: st}
	qps := &budget.Budget{Store: trips, Limits: map[string]int64{group: 1 << 30}} // never waits: the store's cost alone
	return &Redis{Server: srv, Store: trips, Upstream: Cloudauth(tb, cloudauth.Config{BeforeAttempt: qps.Wait}),
		Limits: &ratelimit.Limiter{Store: trips, Function: function, Group: group, PerCaller: Unreached, PerSubject: Unreached}}
}

// Unreached is a limit no benchmark reaches: counted, never refusing.
var Unreached = ratelimit.Rule{Limit: 1 << 20, Window: time.Hour}

// Handler is Handler(f) with every request from one authenticated caller
// and user, as AUTH_MODE=apikey or jwt would let them in: their limits are
// counted.
func (r *Redis) Handler(f fcrt.Function) http.Handler {
	api := f.HTTP
	f.HTTP = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		api.ServeHTTP(w, req.WithContext(auth.WithIdentity(req.Context(), auth.Identity{Caller: "key:0123456789abcdef", Subject: "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"})))
	})
	return Handler(f)
}

// Serve is Serve, each answer 200, reporting store-trips/op: the round
// trips to Redis per request.
func (r *Redis) Serve(b *testing.B, h http.Handler, body any) {
	before := r.Store.Load()
	Serve(b, h, body, http.StatusOK)
	b.ReportMetric(float64(r.Store.Load()-before)/float64(b.N), "store-trips/op")
}

// RoundTrips checks that a request (body, answered 200) sends Redis
// perRequest commands, as Redis sees them (MONITOR,
// testproc.RedisServer.Commands: every command a client sends and, marked
// "lua", the commands its scripts run), after a first request that loads
// the scripts (NOSCRIPT, then EVAL).
func (r *Redis) RoundTrips(t *testing.T, h http.Handler, body any, perRequest int) {
	t.Helper()
	raw := encode(t, body)
	call := func() {
		w := send(h, raw)
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	}
	call()
	const requests = 10
	sent, scripted := r.Server.Commands(func() {
		for range requests {
			call()
		}
	})
	assert.Len(t, sent, perRequest*requests, "commands sent to Redis for %d requests:\n%s", requests, strings.Join(sent, "\n"))
	assert.NotEmpty(t, scripted, "MONITOR shows the scripts' own commands too")
}
