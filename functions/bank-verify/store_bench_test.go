package main

import (
	"net/http"
	"testing"

	"github.com/idverify/fc-kyc/internal/handlerbench"
	"github.com/idverify/fc-kyc/pkg/budget"
	"github.com/idverify/fc-kyc/pkg/fcrt"
)

// redisStack is the function's HTTP handler as deployed with Redis: an
// authenticated caller and user (their limits, and the card's), the
// BANK_CARD_N_META QPS budget in a real redis-server, the emulator in its
// own process.
func redisStack(tb testing.TB) (http.Handler, *handlerbench.Redis) {
	r := handlerbench.NewRedis(tb, "bank-verify", budget.BankCardNMeta)
	h := &Handler{Upstream: r.Upstream, HashPlaintext: true, PerCard: handlerbench.Unreached, CardKey: []byte("bench-card-limit-key-0123456789abcdef"), Limits: r.Limits}
	return r.Handler(fcrt.OperationFunction("bank-verify", h.Verify, fcrt.WithMaxBody(maxBody))), r
}

// BenchmarkRequestWithRedisStore is the request as deployed with Redis: an
// authenticated caller and user, their limits and the card's, and the
// BANK_CARD_N_META QPS budget, all in a real redis-server, and the
// verification against the emulator in its own process. store-trips/op
// counts the round trips to Redis per request.
func BenchmarkRequestWithRedisStore(b *testing.B) {
	h, r := redisStack(b)
	r.Serve(b, h, valid4())
}

// TestStoreRoundTripsPerRequest counts the request's store work as Redis
// sees it: the limits (caller, subject, card) and the budget in one script
// before the call, nothing after it.
func TestStoreRoundTripsPerRequest(t *testing.T) {
	h, r := redisStack(t)
	r.RoundTrips(t, h, valid4(), 1)
}
