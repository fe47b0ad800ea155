package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/idverify/fc-kyc/pkg/callbacktoken"
	"github.com/idverify/fc-kyc/pkg/logging"
	"github.com/idverify/fc-kyc/pkg/store"
)

// benchService is the callback with the real file store and a fake upstream.
func benchService(b *testing.B) *Service {
	b.Helper()
	fs, err := store.NewFile(b.TempDir(), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	tokens, err := callbacktoken.New([]string{key}, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	return &Service{Upstream: &fakeChecker{passed: map[string]string{txID: "Y"}}, Store: fs, Tokens: tokens,
		Now: time.Now, ReconcileAfter: time.Minute, MaxAge: defaultMaxAge, Batch: 10}
}

var quiet = slog.New(slog.DiscardHandler)

func benchGet(b *testing.B, s *Service, target string, want int) {
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, target, nil)
		s.ServeHTTP(rec, req.WithContext(logging.NewContext(req.Context(), quiet)))
		if rec.Code != want {
			b.Fatalf("status %d, want %d: %s", rec.Code, want, rec.Body)
		}
	}
}

// BenchmarkCallbackDuplicate: a repeated notification (token check and one
// store read, no upstream call), the common case when the service retries.
func BenchmarkCallbackDuplicate(b *testing.B) {
	s := benchService(b)
	ctx := context.Background()
	if err := s.Store.Create(ctx, store.Transaction{TransactionID: txID, MerchantBizID: bizID}); err != nil {
		b.Fatal(err)
	}
	if _, err := s.Store.Finish(ctx, txID, store.Passed, store.Result{EventID: eventID(txID), Passed: "Y"}); err != nil {
		b.Fatal(err)
	}
	q := "/cb?merchantBizId=" + bizID + "&callbackToken=" + s.Tokens.Token(callbacktoken.EKYCCallback, bizID, time.Now()) + "&transactionId=" + txID
	benchGet(b, s, q, http.StatusOK)
}

// BenchmarkCallbackForged: what a forged notification costs us (403 before
// any store or upstream call).
func BenchmarkCallbackForged(b *testing.B) {
	s := benchService(b)
	other, _ := callbacktoken.New([]string{"another-key-of-at-least-32-characters!"}, time.Hour)
	q := "/cb?merchantBizId=" + bizID + "&callbackToken=" + other.Token(callbacktoken.EKYCCallback, bizID, time.Now()) + "&transactionId=" + txID
	benchGet(b, s, q, http.StatusForbidden)
}
