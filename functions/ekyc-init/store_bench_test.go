package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idverify/fc-kyc/pkg/auth"
	"github.com/idverify/fc-kyc/pkg/budget"
	"github.com/idverify/fc-kyc/pkg/cloudauth"
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

func (c *tripCounter) Create(ctx context.Context, t store.Transaction) error {
	c.trips.Add(1)
	return c.Store.Create(ctx, t)
}

// BenchmarkRequestWithRedisStore is the request as deployed with Redis: an
// authenticated caller and user (their limits), the eKYC QPS budget, the
// pending record, all in a real redis-server, and Initialize against the
// emulator in its own process. store-trips/op counts the round trips to
// Redis per request (the limits and the budget before the call, the record
// after it).
func BenchmarkRequestWithRedisStore(b *testing.B) {
	srv := testproc.Redis(b)
	st, err := store.Open(context.Background(), srv.URL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	trips := &tripCounter{Store: st}
	port := testproc.FreePort(b)
	emu := testproc.Start(b, testproc.Build(b, "github.com/idverify/fc-kyc/cmd/emulator"), port, "EMULATOR_ADDR=127.0.0.1:"+port)
	qps := &budget.Budget{Store: trips, Limits: map[string]int64{budget.EKYC: 1 << 30}} // never waits: the store's cost alone
	client, err := cloudauth.New(cloudauth.Config{Endpoint: emu.URL(), BeforeAttempt: qps.Wait})
	if err != nil {
		b.Fatal(err)
	}
	many := ratelimit.Rule{Limit: 1 << 20, Window: time.Hour}
	h := &Handler{Upstream: client, Now: time.Now, Store: trips,
		Limits: &ratelimit.Limiter{Store: trips, Function: "ekyc-init", Group: budget.EKYC, PerCaller: many, PerSubject: many}}
	api, event := fcrt.Operation(h.Initialize, fcrt.WithMaxBody(maxBody))
	caller := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api.ServeHTTP(w, r.WithContext(auth.WithIdentity(r.Context(), auth.Identity{Caller: "key:0123456789abcdef", Subject: "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"})))
	})
	handler := fcrt.Handler(fcrt.Function{Name: "ekyc-init", HTTP: caller, Event: event},
		fcrt.Options{Timeout: 10 * time.Second, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	trips.trips.Store(0)
	serve(b, handler, benchBody(b), http.StatusOK)
	b.ReportMetric(float64(trips.trips.Load())/float64(b.N), "store-trips/op")
}
