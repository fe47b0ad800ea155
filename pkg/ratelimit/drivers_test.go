package ratelimit

// The limiter against both store drivers, as deployments run it: the
// embedded file store and a real redis-server.

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/store/storetest"
)

func TestNPlusOneIsRefusedWithBothDrivers(t *testing.T) {
	for name, backend := range storetest.Drivers() {
		t.Run(name, func(t *testing.T) {
			const n = 5
			// Two instances of bank-verify sharing the store.
			open := backend(t)
			a := &Limiter{Store: open(), Function: "bank-verify", PerSubject: Rule{n, time.Hour}, PerCaller: Rule{1000, time.Minute}}
			b := &Limiter{Store: open(), Function: "bank-verify", PerSubject: Rule{n, time.Hour}, PerCaller: Rule{1000, time.Minute}}
			ctx := httpCtx("key:0123456789abcdef")
			subject := "subject-" + name
			for i := range n {
				l := a
				if i%2 == 1 {
					l = b
				}
				require.NoError(t, allow(l, ctx, subject), "call %d of %d", i+1, n)
			}
			for _, l := range []*Limiter{a, b} {
				err := allow(l, ctx, subject)
				require.Error(t, err, "call %d is over the limit on every instance", n+1)
				e := apierr.As(err)
				assert.Equal(t, http.StatusTooManyRequests, apierr.Status(e))
				assert.Greater(t, e.RetryAfter, time.Duration(0))
				assert.LessOrEqual(t, e.RetryAfter, time.Hour)
			}
			assert.NoError(t, allow(a, ctx, "another-"+subject), "another subject has its own count")
		})
	}
}

func TestPerCallerWithBothDrivers(t *testing.T) {
	for name, backend := range storetest.Drivers() {
		t.Run(name, func(t *testing.T) {
			l := &Limiter{Store: backend(t)(), Function: "ekyc-init", PerCaller: Rule{3, time.Minute}}
			ctx := httpCtx("jwt:" + name)
			for i := range 3 {
				require.NoError(t, allow(l, ctx, ""), "call %d", i+1)
			}
			assert.Equal(t, http.StatusTooManyRequests, apierr.Status(allow(l, ctx, "")))
		})
	}
}
