package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/idverify/fc-kyc/internal/handlerbench"
	"github.com/idverify/fc-kyc/pkg/budget"
	"github.com/idverify/fc-kyc/pkg/fcrt"
)

// redisStack is the function's HTTP handler as deployed with Redis: an
// authenticated caller and user (their limits), the QPS budget and the
// store in a real redis-server, the emulator in its own process.
func redisStack(tb testing.TB) (http.Handler, *handlerbench.Redis) {
	r := handlerbench.NewRedis(tb, "ekyc-init", budget.EKYC)
	h := &Handler{Upstream: r.Upstream, Now: time.Now, Store: r.Store, Limits: r.Limits}
	return r.Handler(fcrt.OperationFunction("ekyc-init", h.Initialize, fcrt.WithMaxBody(maxBody))), r
}

// BenchmarkRequestWithRedisStore is the request as deployed with Redis: an
// authenticated caller and user (their limits), the eKYC QPS budget, the
// pending record, all in a real redis-server, and Initialize against the
// emulator in its own process. store-trips/op counts the round trips to
// Redis per request (the limits and the budget before the call, the record
// after it).
func BenchmarkRequestWithRedisStore(b *testing.B) {
	h, r := redisStack(b)
	r.Serve(b, h, validBody())
}

// TestStoreRoundTripsPerRequest counts the request's store work as Redis
// sees it: the limits and the budget in one script before the call, the
// pending record in one after it.
func TestStoreRoundTripsPerRequest(t *testing.T) {
	h, r := redisStack(t)
	r.RoundTrips(t, h, validBody(), 2)
}
