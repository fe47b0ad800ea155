// Package budget holds every instance of every function under the upstream's
// per-account QPS caps, so that a traffic spike waits briefly (or is refused
// with 429 and Retry-After) instead of turning into a wall of upstream
// Throttling.Api errors.
//
// ID Verification limits each product per Alibaba Cloud account, shared by
// all its callers (Alibaba Cloud doc "ID Verification server-side API QPS
// limits": eKYC 10, BANK_CARD_N_META 50, ...; alibabacloud.com/help/en/ekyc/
// latest/id-verification-kyc-api-qps-limited-description). An instance
// cannot see its peers' calls, so the budget lives in the shared store
// (Redis in deployments; the file store for one machine).
//
// Smooth at every instant: each product's budget is a generic cell rate
// (store.Cell) with a burst of one, whose slots are Every = (1 s + Margin) /
// limit apart. A call books the next free slot in one store round trip and
// sleeps until it comes: calls go upstream evenly spaced, so no interval of
// one second (sliding, not only whole Unix seconds) holds more than the
// limit, as long as no call reaches the upstream more than Margin later than
// another booked after it. The price is the margin: at most limit/(1 s +
// Margin) calls a second, 91 % of the cap with the default 100 ms.
//
// With Redis the slots follow the server's clock (TIME), one clock for the
// whole fleet; with the file store, the machine's.
//
// The call's abuse limits (package ratelimit, handed over with
// Limiter.Defer) are decided in the same Admit as the first attempt's slot:
// one store round trip before the call for all of them.
package budget

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/config"
	"github.com/idverify/fc-kyc/pkg/logging"
	"github.com/idverify/fc-kyc/pkg/ratelimit"
	"github.com/idverify/fc-kyc/pkg/store"
)

// The products the functions call, as the QPS table names them.
const (
	EKYC           = "eKYC"             // Initialize and CheckResult
	BankCardNMeta  = "BANK_CARD_N_META" // BankMetaVerifyIntl
	defaultMaxWait = 2 * time.Second
	defaultMargin  = 100 * time.Millisecond
	defaultReserve = time.Second
)

// DefaultLimits are the documented per-account caps, in calls per second.
var DefaultLimits = map[string]int64{EKYC: 10, BankCardNMeta: 50}

// ErrNotSent marks the budget's refusals: the call was not sent upstream,
// so the upstream did not bill it.
var ErrNotSent = errors.New("budget: the call was not sent upstream")

// Budget grants upstream calls within the per-second limits. A nil *Budget
// grants everything (and still decides the limits Defer put on the call).
type Budget struct {
	Store store.Admitter
	// Limits is calls per second by product; a product absent or at 0 has
	// no budget (its calls are not counted).
	Limits map[string]int64
	// MaxWait is the longest a call waits for its slot; a call whose slot
	// is further away is refused with 429. Default 2 s. The context's
	// deadline also bounds the wait.
	MaxWait time.Duration
	// Reserve is the time a call needs after its slot: a slot later than
	// Reserve before the deadline is not booked; default 1 s.
	Reserve time.Duration
	// Margin stretches the second over which the limit's slots are spread,
	// so that calls delayed on their way by up to Margin more than later
	// ones still never put more than the limit into any one second
	// upstream; default 100 ms.
	Margin time.Duration
}

// FromEnv reads CLOUDAUTH_QPS_EKYC (default 10), CLOUDAUTH_QPS_BANK_CARD_N_META
// (default 50), each calls per second for the whole account or "off", and
// CLOUDAUTH_QPS_MAX_WAIT (default 2s). A nil store is an error unless
// every limit is off.
func FromEnv(st store.Admitter) (*Budget, error) {
	b := &Budget{Store: st, Limits: map[string]int64{}}
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
	if st == nil && len(b.Limits) > 0 {
		return nil, fmt.Errorf("budget: QPS limits are set but there is no store to count in (STORE_URL)")
	}
	return b, nil
}

// budgetKey is the budget's cell in its product's group.
const budgetKey = "budget"

// every is the spacing of product's slots under limit per second.
func (b *Budget) every(limit int64) time.Duration {
	return (time.Second + orDefault(b.Margin, defaultMargin)) / time.Duration(limit)
}

// Wait returns once a call to product may be made, or an apierr error to
// answer with: 429 Throttling with Retry-After when no slot comes within
// MaxWait or before the deadline, 429 Throttling.User when one of the
// call's abuse limits refuses it, 503 when the store cannot be reached
// (like the abuse limits, a billed call is not made blind). Every refusal
// wraps ErrNotSent. Run it before every attempt, retries included: each
// attempt counts upstream.
func (b *Budget) Wait(ctx context.Context, product string) error {
	h := ratelimit.Held(ctx)
	var limit int64
	if b != nil {
		limit = b.Limits[product]
	}
	group, cells, pending := h.Pending()
	if pending && (limit <= 0 || group != product) {
		// No budget, or limits kept elsewhere: they are decided alone.
		if err := h.Decide(ctx); err != nil {
			return notSent(err)
		}
		cells = nil
	}
	if limit <= 0 {
		return nil
	}
	maxWait := orDefault(b.MaxWait, defaultMaxWait)
	if dl, ok := ctx.Deadline(); ok {
		maxWait = max(0, min(maxWait, time.Until(dl)-orDefault(b.Reserve, defaultReserve)))
	}
	all := append(cells[:len(cells):len(cells)], store.Cell{Key: budgetKey, Every: b.every(limit), Burst: 1, MaxWait: maxWait})
	a, err := b.Store.Admit(ctx, product, all)
	if len(cells) > 0 {
		if err := h.Settle(ctx, a, err); err != nil {
			return notSent(err)
		}
	}
	if err != nil {
		return notSent(&apierr.Error{Code: "ServiceUnavailable", HTTPStatus: http.StatusServiceUnavailable, RetryAfter: time.Second,
			Message: "The store that keeps the upstream QPS budget cannot be reached, so the call is not made; try again shortly.", Err: err})
	}
	if !a.OK {
		logging.From(ctx).Warn("upstream QPS budget spent", "product", product, "limit", limit)
		return notSent(&apierr.Error{Code: "Throttling", HTTPStatus: http.StatusTooManyRequests, RetryAfter: max(a.Wait, time.Second),
			Message: fmt.Sprintf("The %s calls of this account are at their budget of %d per second (shared by every instance); try again after the time in Retry-After.", product, limit)})
	}
	if a.Wait <= 0 {
		return nil
	}
	t := time.NewTimer(a.Wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return notSent(&apierr.Error{Code: apierr.UpstreamTimeout, Err: ctx.Err(),
			Message: "The deadline passed while waiting for the upstream QPS budget; try again."})
	case <-t.C:
		return nil
	}
}

// notSent marks an answer as a refusal before the call was sent.
func notSent(err error) error {
	var e *apierr.Error
	if errors.As(err, &e) {
		c := *e
		c.Err = errors.Join(ErrNotSent, e.Err)
		return &c
	}
	return errors.Join(ErrNotSent, err)
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
