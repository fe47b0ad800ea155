package main

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

// tripCounter counts the store calls of a request: each is one round trip
// to Redis.
type tripCounter struct {
	store.Store
	trips atomic.Int64
}

func (c *tripCounter) Admit(ctx context.Context, g string, cells []store.Cell) (store.Admission, error) {
	c.trips.Add(1)
	return c.Store.Admit(ctx, g, cells)
}

// redisStack is the function's HTTP handler as deployed with Redis: an
// authenticated caller and user (their limits), the QPS budget and the
// store in a real redis-server, the emulator in its own process. trips
// counts the round trips the store is asked for; srv is the Redis.
func redisStack(tb testing.TB) (handler http.Handler, trips *tripCounter, srv *testproc.RedisServer) {
	srv = testproc.Redis(tb)
	st, err := store.Open(context.Background(), srv.URL)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	trips = &tripCounter{Store: st}
	emu := testproc.StartEmulator(tb)
	qps := &budget.Budget{Store: trips, Limits: map[string]int64{budget.BankCardNMeta: 1 << 30}} // never waits: the store's cost alone
	client, err := cloudauth.New(cloudauth.Config{Endpoint: emu.URL(), BeforeAttempt: qps.Wait})
	if err != nil {
		tb.Fatal(err)
	}
	many := ratelimit.Rule{Limit: 1 << 20, Window: time.Hour}
	h := &Handler{Upstream: client, HashPlaintext: true, PerCard: many, CardKey: []byte("bench-card-limit-key-0123456789abcdef"),
		Limits: &ratelimit.Limiter{Store: trips, Function: "bank-verify", Group: budget.BankCardNMeta, PerCaller: many, PerSubject: many}}
	api, event := fcrt.Operation(h.Verify, fcrt.WithMaxBody(maxBody))
	caller := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api.ServeHTTP(w, r.WithContext(auth.WithIdentity(r.Context(), auth.Identity{Caller: "key:0123456789abcdef", Subject: "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"})))
	})
	handler = fcrt.Handler(fcrt.Function{Name: "bank-verify", HTTP: caller, Event: event},
		fcrt.Options{Timeout: 10 * time.Second, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	return handler, trips, srv
}

// BenchmarkRequestWithRedisStore is the request as deployed with Redis: an
// authenticated caller and user, their limits and the card's, and the
// BANK_CARD_N_META QPS budget, all in a real redis-server, and the
// verification against the emulator in its own process. store-trips/op
// counts the round trips to Redis per request.
func BenchmarkRequestWithRedisStore(b *testing.B) {
	handler, trips, _ := redisStack(b)
	serve(b, handler, benchBody(b, valid4()), http.StatusOK)
	b.ReportMetric(float64(trips.trips.Load())/float64(b.N), "store-trips/op")
}

// TestStoreRoundTripsPerRequest counts the request's store work as Redis
// sees it (MONITOR, testproc.RedisServer.Monitor: every command a client sends and, marked "lua",
// the commands its scripts run): the limits (caller, subject, card) and the budget in one script before the call, nothing after it.
func TestStoreRoundTripsPerRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("runs redis-server and the emulator")
	}
	handler, _, srv := redisStack(t)
	raw, err := json.Marshal(valid4())
	require.NoError(t, err)
	send := func() {
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(raw))
		r.Header.Set("x-fc-access-key-id", emulator.DefaultAccessKeyID)
		r.Header.Set("x-fc-access-key-secret", emulator.DefaultAccessKeySecret)
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	}
	send() // the first loads the scripts (NOSCRIPT, then EVAL)

	const requests = 10
	sent, scripted := srv.Commands(func() {
		for range requests {
			send()
		}
	})
	assert.Len(t, sent, 1*requests, "commands sent to Redis for %d requests:\n%s", requests, strings.Join(sent, "\n"))
	assert.NotEmpty(t, scripted, "MONITOR shows the scripts' own commands too")
}
