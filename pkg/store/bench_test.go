package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/idverify/fc-kyc/pkg/store"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

// The store's cost on the request paths: ekyc-init's Create, the callback's
// Finish, the limits' Admit; and the reconciler's Due scan.
//
//	go test -run '^$' -bench . -benchmem ./pkg/store/

func benchStores(b *testing.B, fn func(b *testing.B, s store.Store)) {
	b.Run("file", func(b *testing.B) {
		s, err := store.NewFile(b.TempDir(), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		fn(b, s)
	})
	b.Run("redis", func(b *testing.B) {
		srv := testproc.Redis(b)
		s, err := store.OpenRedis(context.Background(), srv.URL, store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		fn(b, s)
	})
}

func BenchmarkCreateFinish(b *testing.B) {
	benchStores(b, func(b *testing.B, s store.Store) {
		ctx := context.Background()
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			id := fmt.Sprintf("tx-%d", i)
			if err := s.Create(ctx, store.Transaction{TransactionID: id, MerchantBizID: "biz"}); err != nil {
				b.Fatal(err)
			}
			if ok, err := s.Finish(ctx, id, store.Passed, store.Result{EventID: "ev", Passed: "Y"}); err != nil || !ok {
				b.Fatal(ok, err)
			}
		}
	})
}

// BenchmarkAdmit is a call's abuse limits: a caller's and a subject's
// cell, decided together.
func BenchmarkAdmit(b *testing.B) {
	benchStores(b, func(b *testing.B, s store.Store) {
		ctx := context.Background()
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			cells := []store.Cell{
				{Key: "caller:c", Every: time.Microsecond, Burst: 1 << 40},
				{Key: fmt.Sprintf("subject:%d", i%100), Every: time.Microsecond, Burst: 1 << 40},
			}
			if _, err := s.Admit(ctx, "bench", cells); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkDue is the reconciler's scan among 2,000 live records, 100 of
// them pending: both drivers range their due index and read the 100
// records.
func BenchmarkDue(b *testing.B) {
	benchStores(b, func(b *testing.B, s store.Store) {
		ctx := context.Background()
		t0 := time.Now().Add(-time.Hour)
		for i := range 2_000 {
			id := fmt.Sprintf("tx-%05d", i)
			if err := s.Create(ctx, store.Transaction{TransactionID: id, MerchantBizID: "biz", CreatedAt: t0.Add(time.Duration(i) * time.Millisecond)}); err != nil {
				b.Fatal(err)
			}
			if i%20 != 0 { // every 20th stays pending: 100 in all
				if _, err := s.Finish(ctx, id, store.Passed, store.Result{EventID: "ev", Passed: "Y"}); err != nil {
					b.Fatal(err)
				}
			}
		}
		// The first scan of a process also sweeps every record (then at most
		// hourly); leave that out of the figure.
		if _, err := s.Due(ctx, time.Now(), time.Now(), 100); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			got, err := s.Due(ctx, time.Now(), time.Now(), 100)
			if err != nil || len(got) != 100 {
				b.Fatal(len(got), err)
			}
		}
	})
}
