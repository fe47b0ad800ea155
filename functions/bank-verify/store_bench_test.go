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

// BenchmarkRequestWithRedisStore is the request as deployed with Redis: an
// authenticated caller and user, their limits and the card's, and the
// BANK_CARD_N_META QPS budget, all in a real redis-server, and the
// verification against the emulator in its own process. store-trips/op
// counts the round trips to Redis per request.
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
	qps := &budget.Budget{Store: trips, Limits: map[string]int64{budget.BankCardNMeta: 1 << 30}} // never waits: the store's cost alone
	client, err := cloudauth.New(cloudauth.Config{Endpoint: emu.URL(), BeforeAttempt: qps.Wait})
	if err != nil {
		b.Fatal(err)
	}
	many := ratelimit.Rule{Limit: 1 << 20, Window: time.Hour}
	h := &Handler{Upstream: client, HashPlaintext: true, PerCard: many, CardKey: []byte("bench-card-limit-key-0123456789abcdef"),
		Limits: &ratelimit.Limiter{Store: trips, Function: "bank-verify", Group: budget.BankCardNMeta, PerCaller: many, PerSubject: many}}
	api, event := fcrt.Operation(h.Verify, fcrt.WithMaxBody(maxBody))
	caller := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api.ServeHTTP(w, r.WithContext(auth.WithIdentity(r.Context(), auth.Identity{Caller: "key:0123456789abcdef", Subject: "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"})))
	})
	handler := fcrt.Handler(fcrt.Function{Name: "bank-verify", HTTP: caller, Event: event},
		fcrt.Options{Timeout: 10 * time.Second, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	trips.trips.Store(0)
	serve(b, handler, benchBody(b, valid4()), http.StatusOK)
	b.ReportMetric(float64(trips.trips.Load())/float64(b.N), "store-trips/op")
}
