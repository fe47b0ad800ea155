package ratelimit

import (
	"context"
	"testing"
	"time"

	"github.com/idverify/fc-kyc/pkg/store"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

// The cost of the limits on one billed call (caller and subject: one Admit),
// with each store driver.
func BenchmarkAllow(b *testing.B) {
	f, err := store.NewFile(b.TempDir(), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	counters := map[string]store.Admitter{"file": f}
	if url := testproc.Redis(b).URL; url != "" {
		r, err := store.Open(context.Background(), url)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { r.Close() })
		counters["redis"] = r
	}
	ctx := httpCtx("key:0123456789abcdef")
	for _, name := range []string{"file", "redis"} {
		c, ok := counters[name]
		if !ok {
			continue
		}
		l := &Limiter{Store: c, Function: "bank-verify", PerCaller: Rule{1 << 62, time.Minute}, PerSubject: Rule{1 << 62, time.Hour}}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := l.Allow(ctx, "subject"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
