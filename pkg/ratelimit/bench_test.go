package ratelimit

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/idverify/fc-kyc/pkg/store/storetest"
)

// The cost of the limits on one billed call (caller and subject: one Admit),
// with each store driver.
func BenchmarkAllow(b *testing.B) {
	ctx := httpCtx("key:0123456789abcdef")
	drivers := storetest.Drivers()
	for _, name := range slices.Sorted(maps.Keys(drivers)) {
		b.Run(name, func(b *testing.B) {
			l := &Limiter{Store: drivers[name](b)(), Function: "bank-verify", PerCaller: Rule{1 << 62, time.Minute}, PerSubject: Rule{1 << 62, time.Hour}}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := l.Allow(ctx, "subject"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
