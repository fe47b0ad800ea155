// Package budget holds every instance of every function under the upstream's
// per-account QPS caps, so that a traffic spike waits briefly (or is refused
// with 429 and Retry-After) instead of turning into a wall of upstream
// Throttling.Api errors.
//
// ID Verification limits each product per Alibaba Cloud account, shared by
// all its callers (Alibaba Cloud doc "ID Verification server-side API QPS
// limits": eKYC 10, BANK_CARD_N_META 50, ...; alibabacloud.com/help/en/ekyc/
// latest/id-verification-kyc-api-qps-limited-description). An instance
// cannot see its peers' calls, so the count lives in the shared store
// (Redis in deployments; the file store for one machine): one counter per
// product per Unix second, through the store's atomic Hit.
//
// Clock assumption: windows are whole Unix seconds of each instance's own
// clock, so instances agree on a window as long as their clocks agree (NTP
// keeps Function Compute and ECS hosts within milliseconds).
//
// A call granted in the last Guard of a second may reach the upstream in the
// next one. Rather than make every such call wait for the next second (a
// quarter of all calls, up to Guard each, even when the budget is far from
// spent), each second's budget is split: calls before the guard zone may use
// Limit - 2×Late slots, and calls in it Late slots of a counter of their own. The upstream's second S
// then sees at most S's early calls, S's late calls that arrived in time and
// S-1's late calls that spilled over: (Limit - 2×Late) + Late + Late = Limit.
// Late is a tenth of the limit (at least 1); under 3 per second there is no
// room to split and calls in the guard zone wait for the next second. A
// cold instance's first call (a new connection on a starved host) can take
// longer than Guard to arrive; the upstream then sees it a second late.
package budget

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/config"
	"github.com/idverify/fc-kyc/pkg/logging"
)

// Counter counts events in fixed windows; store.Store implements it.
type Counter interface {
	Hit(ctx context.Context, key string, window time.Duration) (count int64, resetIn time.Duration, err error)
}

// The products the functions call, as the QPS table names them.
const (
	EKYC           = "eKYC"             // Initialize and CheckResult
	BankCardNMeta  = "BANK_CARD_N_META" // BankMetaVerifyIntl
	window         = time.Second
	defaultMaxWait = 2 * time.Second
	defaultGuard   = 250 * time.Millisecond
	defaultReserve = time.Second
)

// DefaultLimits are the documented per-account caps, in calls per second.
var DefaultLimits = map[string]int64{EKYC: 10, BankCardNMeta: 50}

// Budget grants upstream calls within the per-second limits. A nil *Budget
// grants everything.
type Budget struct {
	Counter Counter
	// Limits is calls per second by product; a product absent or at 0 has
	// no budget (its calls are not counted).
	Limits map[string]int64
	// MaxWait is the longest a call waits for a slot before it is refused
	// with 429; default 2 s. The context's deadline also bounds the wait.
	MaxWait time.Duration
	// Reserve is the time a call needs after its slot: a slot that would be
	// granted later than Reserve before the deadline is refused instead;
	// default 1 s.
	Reserve time.Duration
	// Guard is how close to the end of a second no slot is granted; default
	// 250 ms. It costs no throughput (a second still grants Limit slots,
	// only earlier in it) and buys room for the latency of a loaded host.
	// See the package comment.
	Guard time.Duration
	// Now is the clock (tests); time.Now when nil. It must be the clock the
	// Counter's windows follow.
	Now func() time.Time
}

// FromEnv reads CLOUDAUTH_QPS_EKYC (default 10), CLOUDAUTH_QPS_BANK_CARD_N_META
// (default 50), each calls per second for the whole account or "off", and
// CLOUDAUTH_QPS_MAX_WAIT (default 2s). A nil counter is an error unless
// every limit is off.
func FromEnv(counter Counter) (*Budget, error) {
	b := &Budget{Counter: counter, Limits: map[string]int64{}}
	for product, def := range DefaultLimits {
		name := "CLOUDAUTH_QPS_" + strings.ToUpper(product)
		v, err := config.String(name, "")
		switch {
		case err != nil:
			return nil, err
		case v == "":
			b.Limits[product] = def
		case v == "off":
		default:
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("%s=%q: give the calls per second the account may make (documented cap %d), or off", name, v, def)
			}
			b.Limits[product] = n
		}
	}
	var err error
	if b.MaxWait, err = config.Duration("CLOUDAUTH_QPS_MAX_WAIT", defaultMaxWait); err != nil {
		return nil, err
	}
	if b.MaxWait < 0 {
		return nil, fmt.Errorf("CLOUDAUTH_QPS_MAX_WAIT=%v must not be negative", b.MaxWait)
	}
	if counter == nil && len(b.Limits) > 0 {
		return nil, fmt.Errorf("budget: QPS limits are set but there is no store to count in (STORE_URL)")
	}
	return b, nil
}

// Wait returns once a call to product may be made this second, or an
// apierr error to answer with: 429 Throttling with Retry-After when no slot
// comes within MaxWait or before the deadline, 503 when the store cannot be
// reached (like the abuse limits, a billed call is not made blind).
// Run it before every attempt, retries included: each attempt counts
// upstream.
func (b *Budget) Wait(ctx context.Context, product string) error {
	if b == nil {
		return nil
	}
	limit := b.Limits[product]
	if limit <= 0 {
		return nil
	}
	early, late := shares(limit)
	start := b.now()
	key := "budget:" + product
	for {
		now := b.now()
		left := untilWindowEnd(now)
		var n, allowed int64
		var resetIn time.Duration
		var err error
		inGuard := left <= b.guard()
		switch {
		case !inGuard:
			n, resetIn, err = b.Counter.Hit(ctx, key, window)
			allowed = early
		case late > 0:
			// The guard zone has its own counter: its calls may land in the
			// next second, so they must not use this second's early slots.
			n, resetIn, err = b.Counter.Hit(ctx, key+":late", window)
			allowed = late
		default:
			if err := b.sleep(ctx, start, now, left+b.jitter(), product, limit); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return &apierr.Error{Code: "ServiceUnavailable", HTTPStatus: http.StatusServiceUnavailable, RetryAfter: time.Second,
				Message: "The store that keeps the upstream QPS budget cannot be reached, so the call is not made; try again shortly.", Err: err}
		}
		// An early slot counted after the second entered its guard zone
		// (a slow store) is not used: the call tries the late share.
		if n <= allowed && (inGuard || resetIn > b.guard()) {
			return nil
		}
		var wait time.Duration // early slot counted too late: try the late share now
		switch {
		case !inGuard && n > early && late > 0:
			wait = max(0, resetIn-b.guard()) + b.jitter() // this second's late share
		case inGuard || n > early:
			wait = resetIn + b.jitter() // the next second
		}
		if err := b.sleep(ctx, start, b.now(), wait, product, limit); err != nil {
			return err
		}
	}
}

// shares splits a second's limit into the slots granted before the guard
// zone and those granted in it (see the package comment).
func shares(limit int64) (early, late int64) {
	if limit < 3 {
		return limit, 0
	}
	late = max(1, limit/10)
	return limit - 2*late, late
}

// sleep waits d, or refuses when waking at now+d would pass MaxWait since
// start or leave less than Reserve before the deadline.
func (b *Budget) sleep(ctx context.Context, start, now time.Time, d time.Duration, product string, limit int64) error {
	wake := now.Add(d)
	dl, hasDeadline := ctx.Deadline()
	if wake.Sub(start) > b.maxWait() || (hasDeadline && dl.Sub(wake) < b.reserve()) {
		logging.From(ctx).Warn("upstream QPS budget spent", "product", product, "limit", limit)
		return &apierr.Error{Code: "Throttling", HTTPStatus: http.StatusTooManyRequests, RetryAfter: max(d, time.Second),
			Message: fmt.Sprintf("The %s calls of this account are at their budget of %d per second (shared by every instance); try again after the time in Retry-After.", product, limit)}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return &apierr.Error{Code: apierr.UpstreamTimeout, Err: ctx.Err(),
			Message: "The deadline passed while waiting for the upstream QPS budget; try again."}
	case <-t.C:
		return nil
	}
}

// jitter spreads the waiters' wake-ups over the start of the next second,
// so that they do not all reach the store in the same instant.
func (b *Budget) jitter() time.Duration { return rand.N(b.guard()/2 + 1) }

func (b *Budget) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

// untilWindowEnd is the time left in now's window, aligned as the store
// aligns it (multiples of the window since the Unix epoch).
func untilWindowEnd(now time.Time) time.Duration {
	return window - time.Duration(now.UnixNano()%int64(window))
}

func (b *Budget) maxWait() time.Duration { return orDefault(b.MaxWait, defaultMaxWait) }
func (b *Budget) reserve() time.Duration { return orDefault(b.Reserve, defaultReserve) }
func (b *Budget) guard() time.Duration   { return orDefault(b.Guard, defaultGuard) }

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
