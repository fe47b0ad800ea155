package ratelimit

// The limiter against both store drivers, as deployments run it: the
// embedded file store and a real redis-server.

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/store"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

// drivers opens two handles on one backing store per driver, as two
// function instances would.
func drivers(t *testing.T) map[string][2]store.Store {
	t.Helper()
	dir := t.TempDir()
	f1, err := store.NewFile(dir, store.Options{})
	require.NoError(t, err)
	f2, err := store.NewFile(dir, store.Options{})
	require.NoError(t, err)
	out := map[string][2]store.Store{"file": {f1, f2}}

	if url := testproc.Redis(t).URL; url != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		r1, err := store.Open(ctx, url)
		require.NoError(t, err)
		r2, err := store.Open(ctx, url)
		require.NoError(t, err)
		t.Cleanup(func() { r1.Close(); r2.Close() })
		out["redis"] = [2]store.Store{r1, r2}
	}
	return out
}

func TestNPlusOneIsRefusedWithBothDrivers(t *testing.T) {
	for name, st := range drivers(t) {
		t.Run(name, func(t *testing.T) {
			const n = 5
			// Two instances of bank-verify sharing the store.
			a := &Limiter{Store: st[0], Function: "bank-verify", PerSubject: Rule{n, time.Hour}, PerCaller: Rule{1000, time.Minute}}
			b := &Limiter{Store: st[1], Function: "bank-verify", PerSubject: Rule{n, time.Hour}, PerCaller: Rule{1000, time.Minute}}
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
	for name, st := range drivers(t) {
		t.Run(name, func(t *testing.T) {
			l := &Limiter{Store: st[0], Function: "ekyc-init", PerCaller: Rule{3, time.Minute}}
			ctx := httpCtx("jwt:" + name)
			for i := range 3 {
				require.NoError(t, allow(l, ctx, ""), "call %d", i+1)
			}
			assert.Equal(t, http.StatusTooManyRequests, apierr.Status(allow(l, ctx, "")))
		})
	}
}
