package budget

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/auth"
	"github.com/idverify/fc-kyc/pkg/emulator"
	"github.com/idverify/fc-kyc/pkg/ratelimit"
	"github.com/idverify/fc-kyc/pkg/store"
	"github.com/idverify/fc-kyc/pkg/store/storetest"
)

// Callers beyond the budget book later slots instead of all going through:
// the moments Wait lets them go are a slot apart, so no second, sliding,
// holds more than the limit, and the budget is used at its pace.
func TestWaitSpacesCallersEvenly(t *testing.T) {
	for name, backend := range storetest.Drivers() {
		t.Run(name, func(t *testing.T) {
			const limit, callers = 5, 16
			b := &Budget{Store: backend(t)(), Limits: map[string]int64{EKYC: limit}, MaxWait: 20 * time.Second}
			var (
				wg   sync.WaitGroup
				mu   sync.Mutex
				went []int64 // µs since the Unix epoch
			)
			errs := make(chan error, callers)
			start := time.Now()
			for range callers {
				wg.Go(func() {
					err := b.Wait(context.Background(), EKYC)
					mu.Lock()
					went = append(went, time.Now().UnixMicro())
					mu.Unlock()
					errs <- err
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
			slices.Sort(went)
			assert.LessOrEqual(t, emulator.SlidingMax(went, time.Second), limit, "calls in any one second, sliding")
			// 16 slots 220 ms apart: the last goes 15 slots after the first.
			every := b.every(limit)
			assert.Equal(t, 220*time.Millisecond, every)
			took := time.UnixMicro(went[callers-1]).Sub(start)
			assert.GreaterOrEqual(t, took, (callers-1)*every-20*time.Millisecond, "no slot granted early")
			assert.Less(t, took, (callers-1)*every+time.Second, "the budget used at its pace")
		})
	}
}

func TestWaitRefusesWith429WhenNoSlotComesInTime(t *testing.T) {
	for name, backend := range storetest.Drivers() {
		t.Run(name, func(t *testing.T) {
			st := backend(t)()
			b := &Budget{Store: st, Limits: map[string]int64{BankCardNMeta: 1}, MaxWait: time.Millisecond}
			require.NoError(t, b.Wait(context.Background(), BankCardNMeta), "the first call has its slot")
			err := b.Wait(context.Background(), BankCardNMeta)
			e := apierr.As(err)
			assert.Equal(t, "Throttling", e.Code)
			assert.Equal(t, http.StatusTooManyRequests, apierr.Status(err))
			assert.GreaterOrEqual(t, e.RetryAfter, time.Second, "Retry-After is at least a second")
			assert.Contains(t, e.Message, "BANK_CARD_N_META")
			assert.ErrorIs(t, err, ErrNotSent, "a refusal is not billed")

			// A deadline too close refuses as well, however long MaxWait is.
			b.MaxWait = time.Minute
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			err = b.Wait(ctx, BankCardNMeta) // the next slot is 1.1 s away
			assert.Equal(t, http.StatusTooManyRequests, apierr.Status(err), "waiting would leave less than Reserve before the deadline")
			assert.NoError(t, ctx.Err(), "refused at once, without waiting for the deadline")
		})
	}
}

func TestProductsWithoutBudgetAreNotCounted(t *testing.T) {
	var nilBudget *Budget
	assert.NoError(t, nilBudget.Wait(context.Background(), EKYC))
	b := &Budget{Store: failing{}, Limits: map[string]int64{EKYC: 10}}
	assert.NoError(t, b.Wait(context.Background(), BankCardNMeta), "no limit for the product: the store is not asked")
}

type failing struct{ store.Admitter }

func (failing) Admit(context.Context, string, []store.Cell) (store.Admission, error) {
	return store.Admission{}, store.ErrUnavailable
}

func TestStoreDownIs503(t *testing.T) {
	b := &Budget{Store: failing{}, Limits: map[string]int64{EKYC: 10}}
	err := b.Wait(context.Background(), EKYC)
	assert.Equal(t, http.StatusServiceUnavailable, apierr.Status(err))
	assert.True(t, errors.Is(err, store.ErrUnavailable))
	assert.ErrorIs(t, err, ErrNotSent)
}

func TestFromEnv(t *testing.T) {
	st := failing{}
	t.Setenv("CLOUDAUTH_QPS_EKYC", "")
	t.Setenv("CLOUDAUTH_QPS_BANK_CARD_N_META", "")
	t.Setenv("CLOUDAUTH_QPS_MAX_WAIT", "")
	b, err := FromEnv(st)
	require.NoError(t, err)
	assert.Equal(t, map[string]int64{"eKYC": 10, "BANK_CARD_N_META": 50}, b.Limits, "the documented caps")
	assert.Equal(t, 2*time.Second, b.MaxWait)

	t.Setenv("CLOUDAUTH_QPS_EKYC", "off")
	t.Setenv("CLOUDAUTH_QPS_BANK_CARD_N_META", "20")
	t.Setenv("CLOUDAUTH_QPS_MAX_WAIT", "500ms")
	b, err = FromEnv(st)
	require.NoError(t, err)
	assert.Equal(t, map[string]int64{"BANK_CARD_N_META": 20}, b.Limits)
	assert.Equal(t, 500*time.Millisecond, b.MaxWait)

	for _, bad := range []string{"-1", "0", "ten"} {
		t.Setenv("CLOUDAUTH_QPS_BANK_CARD_N_META", bad)
		_, err = FromEnv(st)
		assert.ErrorContains(t, err, "CLOUDAUTH_QPS_BANK_CARD_N_META", bad)
	}

	t.Setenv("CLOUDAUTH_QPS_BANK_CARD_N_META", "5")
	_, err = FromEnv(nil)
	assert.ErrorContains(t, err, "STORE_URL", "a budget needs a store")
}

// counting counts the Admits and the cells in each, and keeps the last
// decision.
type counting struct {
	store.Store
	mu    sync.Mutex
	cells []int
	last  store.Admission
}

func (c *counting) Admit(ctx context.Context, group string, cells []store.Cell) (store.Admission, error) {
	a, err := c.Store.Admit(ctx, group, cells)
	c.mu.Lock()
	c.cells = append(c.cells, len(cells))
	c.last = a
	c.mu.Unlock()
	return a, err
}

// The limits a handler deferred are decided with the first attempt's slot,
// in one Admit; a retry asks for its slot alone; a limit's refusal costs
// no budget slot and answers Throttling.User.
func TestDeferredLimitsRideOnTheFirstSlot(t *testing.T) {
	for name, backend := range storetest.Drivers() {
		t.Run(name, func(t *testing.T) {
			st := &counting{Store: backend(t)()}
			b := &Budget{Store: st, Limits: map[string]int64{EKYC: 10}, MaxWait: 5 * time.Second}
			l := &ratelimit.Limiter{Store: st, Function: "ekyc-init", Group: EKYC, PerCaller: ratelimit.Rule{Limit: 100, Window: time.Minute},
				PerSubject: ratelimit.Rule{Limit: 1, Window: time.Hour}}
			caller := auth.WithIdentity(context.Background(), auth.Identity{Caller: "key:" + name})

			ctx, hold := l.Defer(caller, "alice")
			require.NoError(t, b.Wait(ctx, EKYC), "first attempt")
			require.NoError(t, b.Wait(ctx, EKYC), "a retry")
			assert.Equal(t, []int{3, 1}, st.cells, "caller, subject and slot in one round trip; the retry's slot alone")
			_, _, pending := hold.Pending()
			assert.False(t, pending)

			ctx, _ = l.Defer(caller, "alice")
			err := b.Wait(ctx, EKYC)
			assert.Equal(t, "Throttling.User", apierr.As(err).Code, "alice's second call this hour")
			assert.ErrorIs(t, err, ErrNotSent)
			assert.Len(t, st.cells, 3, "still one round trip")

			// The refused call booked no slot: the next is the third since
			// the start, two Every after the first. The retry returned at
			// its slot, one Every after the first, so it waits at most one
			// Every (two had the refusal booked one).
			ctx, _ = l.Defer(caller, "bob")
			require.NoError(t, b.Wait(ctx, EKYC))
			assert.True(t, st.last.OK)
			assert.LessOrEqual(t, st.last.Wait, b.every(10), "bob's slot is the one after the retry's")

			// Without a budget for the product the limits are still decided.
			ctx, _ = l.Defer(caller, "alice")
			assert.Equal(t, "Throttling.User", apierr.As(b.Wait(ctx, BankCardNMeta)).Code)
			var none *Budget
			ctx, _ = l.Defer(caller, "alice")
			assert.Equal(t, "Throttling.User", apierr.As(none.Wait(ctx, EKYC)).Code)
		})
	}
}
