package ratelimit

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/auth"
	"github.com/idverify/fc-kyc/pkg/store"
)

// clock is the settable clock of a file store opened by newMem.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

// memStore is a file store on a clock the test moves, which records the
// groups and keys it is asked about and can be made to fail.
type memStore struct {
	store.Store
	c    *clock
	mu   sync.Mutex
	keys []string
	err  error
}

func newMem(t *testing.T) *memStore {
	c := &clock{now: time.Unix(1_800_000_000, 0)}
	f, err := store.NewFile(t.TempDir(), store.Options{Now: c.Now})
	require.NoError(t, err)
	return &memStore{Store: f, c: c}
}

func (m *memStore) Admit(ctx context.Context, group string, cells []store.Cell) (store.Admission, error) {
	m.mu.Lock()
	for _, c := range cells {
		m.keys = append(m.keys, group+"/"+c.Key)
	}
	err := m.err
	m.mu.Unlock()
	if err != nil {
		return store.Admission{}, err
	}
	return m.Store.Admit(ctx, group, cells)
}

func (m *memStore) advance(d time.Duration) {
	m.c.mu.Lock()
	m.c.now = m.c.now.Add(d)
	m.c.mu.Unlock()
}

func TestParseRule(t *testing.T) {
	tests := []struct {
		in   string
		want Rule
		bad  bool
	}{
		{"5/1h", Rule{5, time.Hour}, false},
		{"600/1m", Rule{600, time.Minute}, false},
		{"1/1s", Rule{1, time.Second}, false},
		{"off", Rule{}, false},
		{"5", Rule{}, true},
		{"5/h", Rule{}, true},
		{"0/1h", Rule{}, true},
		{"-1/1h", Rule{}, true},
		{"5/10ms", Rule{}, true},
		{"five/1h", Rule{}, true},
		{"", Rule{}, true},
	}
	for _, tt := range tests {
		got, err := ParseRule("RATE_LIMIT_PER_SUBJECT", tt.in)
		if tt.bad {
			assert.ErrorContains(t, err, "RATE_LIMIT_PER_SUBJECT", tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
	assert.Equal(t, "5/1h0m0s", Rule{5, time.Hour}.String())
	assert.Equal(t, "off", Rule{}.String())
}

func TestFromEnv(t *testing.T) {
	def := Limiter{PerCaller: Rule{600, time.Minute}, PerSubject: Rule{5, time.Hour}}
	t.Setenv("RATE_LIMIT_PER_CALLER", "")
	t.Setenv("RATE_LIMIT_PER_SUBJECT", "")
	l, err := FromEnv("bank-verify", newMem(t), def.PerCaller, def.PerSubject)
	require.NoError(t, err)
	assert.Equal(t, def.PerCaller, l.PerCaller)
	assert.Equal(t, def.PerSubject, l.PerSubject)

	t.Setenv("RATE_LIMIT_PER_CALLER", "off")
	t.Setenv("RATE_LIMIT_PER_SUBJECT", "2/10m")
	l, err = FromEnv("bank-verify", newMem(t), def.PerCaller, def.PerSubject)
	require.NoError(t, err)
	assert.True(t, l.PerCaller.Off())
	assert.Equal(t, Rule{2, 10 * time.Minute}, l.PerSubject)

	t.Setenv("RATE_LIMIT_PER_SUBJECT", "lots")
	_, err = FromEnv("bank-verify", newMem(t), def.PerCaller, def.PerSubject)
	assert.ErrorContains(t, err, "RATE_LIMIT_PER_SUBJECT")

	t.Setenv("RATE_LIMIT_PER_SUBJECT", "")
	_, err = FromEnv("bank-verify", nil, def.PerCaller, def.PerSubject)
	assert.ErrorContains(t, err, "no store")
}

func httpCtx(caller string) context.Context {
	return auth.WithIdentity(context.Background(), auth.Identity{Caller: caller})
}

func TestPerSubject(t *testing.T) {
	m := newMem(t)
	l := &Limiter{Store: m, Function: "bank-verify", PerSubject: Rule{3, time.Hour}}
	ctx := httpCtx("key:0000")
	for i := range 3 {
		require.NoError(t, allow(l, ctx, "alice"), "call %d", i+1)
	}
	err := allow(l, ctx, "alice")
	require.Error(t, err)
	e := apierr.As(err)
	assert.Equal(t, http.StatusTooManyRequests, apierr.Status(e))
	assert.Equal(t, "Throttling.User", e.Code)
	assert.Contains(t, e.Message, "this user")
	assert.Greater(t, e.RetryAfter, time.Duration(0))
	assert.LessOrEqual(t, e.RetryAfter, time.Hour)

	assert.NoError(t, allow(l, ctx, "bob"), "subjects are counted apart")
	assert.NoError(t, allow(l, ctx, ""), "no subject, no subject limit")

	m.advance(20 * time.Minute)
	assert.NoError(t, allow(l, ctx, "alice"), "one slot back every 20 minutes")
	assert.Error(t, allow(l, ctx, "alice"), "and only one")
}

func TestPerCaller(t *testing.T) {
	m := newMem(t)
	l := &Limiter{Store: m, Function: "ekyc-init", PerCaller: Rule{2, time.Minute}, PerSubject: Rule{100, time.Hour}}
	a, b := httpCtx("key:aaaa"), httpCtx("key:bbbb")
	require.NoError(t, allow(l, a, "u1"))
	require.NoError(t, allow(l, a, "u2"))
	err := allow(l, a, "u3")
	e := apierr.As(err)
	require.Equal(t, http.StatusTooManyRequests, apierr.Status(e))
	assert.Contains(t, e.Message, "this caller")
	assert.NoError(t, allow(l, b, "u3"), "callers are counted apart")
	for _, k := range m.keys {
		assert.Contains(t, k, "ekyc-init/ekyc-init:")
	}
}

func TestEventsAreNotCounted(t *testing.T) {
	m := newMem(t)
	l := &Limiter{Store: m, Function: "bank-verify", PerCaller: Rule{1, time.Minute}, PerSubject: Rule{1, time.Hour}}
	for range 5 {
		require.NoError(t, allow(l, context.Background(), "alice"))
	}
	assert.Empty(t, m.keys, "no caller in the context: an event, which FC authorised")
}

func TestStoreDownRefusesTheCall(t *testing.T) {
	m := newMem(t)
	m.err = errors.New("dial tcp: connection refused")
	l := &Limiter{Store: m, Function: "bank-verify", PerSubject: Rule{5, time.Hour}}
	err := allow(l, httpCtx("key:0000"), "alice")
	e := apierr.As(err)
	assert.Equal(t, http.StatusServiceUnavailable, apierr.Status(e))
	assert.NotContains(t, e.Message, "connection refused", "the cause is for the log, not the caller")
	assert.ErrorIs(t, err, m.err)
}

func TestNilLimiterAllows(t *testing.T) {
	var l *Limiter
	assert.NoError(t, allow(l, httpCtx("key:0000"), "alice"))
}

func TestAnswerCarriesRetryAfter(t *testing.T) {
	m := newMem(t)
	l := &Limiter{Store: m, Function: "bank-verify", PerSubject: Rule{1, time.Hour}}
	require.NoError(t, allow(l, httpCtx("key:0000"), "alice"))
	w := httptest.NewRecorder()
	apierr.Write(w, httptest.NewRequest(http.MethodPost, "/", nil), allow(l, httpCtx("key:0000"), "alice"))
	assert.Equal(t, 429, w.Code)
	assert.Equal(t, "3600", w.Header().Get("Retry-After"), "1 per hour: the next slot an hour after the first")
	assert.Contains(t, w.Body.String(), `"Code":"Throttling.User"`)
}

// allow is Allow's error alone.
func allow(l *Limiter, ctx context.Context, subject string, also ...Key) error {
	_, err := l.Allow(ctx, subject, also...)
	return err
}

// A refusal by one rule costs the others nothing: the caller's count is
// not spent by calls the subject's rule refused.
func TestRefusedCallSpendsNoOtherRule(t *testing.T) {
	m := newMem(t)
	l := &Limiter{Store: m, Function: "bank-verify", PerCaller: Rule{3, time.Minute}, PerSubject: Rule{1, time.Hour}}
	ctx := httpCtx("key:0000")
	require.NoError(t, allow(l, ctx, "alice"))
	for range 5 {
		e := apierr.As(allow(l, ctx, "alice"))
		require.Equal(t, "Throttling.User", e.Code)
		assert.Contains(t, e.Message, "this user")
	}
	require.NoError(t, allow(l, ctx, "bob"), "the caller's second slot")
	require.NoError(t, allow(l, ctx, "carol"), "and its third")
	assert.Contains(t, apierr.As(allow(l, ctx, "dave")).Message, "this caller")
}

// One card, many names: the per-card key refuses whoever sends it, and a
// slot given back (an unbilled call) is there again.
func TestExtraKeyAndGiveBack(t *testing.T) {
	m := newMem(t)
	l := &Limiter{Store: m, Function: "bank-verify", PerCaller: Rule{100, time.Minute}, PerSubject: Rule{5, time.Hour}}
	card := Key{Scope: "card", ID: "hmac-of-card", Rule: Rule{2, 24 * time.Hour}, Who: "this card"}
	ctx := httpCtx("key:0000")
	h1, err := l.Allow(ctx, "alice", card)
	require.NoError(t, err)
	_, err = l.Allow(ctx, "bob", card)
	require.NoError(t, err)
	e := apierr.As(allow(l, ctx, "carol", card))
	require.Equal(t, "Throttling.User", e.Code, "a third name on the card")
	assert.Contains(t, e.Message, "this card")
	assert.Equal(t, 12*time.Hour, e.RetryAfter, "2 per 24 h: a slot back every 12 h")

	h1.GiveBack(ctx) // alice's call was not billed
	h1.GiveBack(ctx) // a second give-back of one call gives nothing more
	require.NoError(t, allow(l, ctx, "carol", card), "the slot given back")
	assert.Error(t, allow(l, ctx, "dave", card))
}

// Defer leaves the decision to whoever runs the call's first attempt (the
// budget): the hold is pending until settled, and decided once.
func TestDeferIsDecidedOnce(t *testing.T) {
	m := newMem(t)
	l := &Limiter{Store: m, Function: "ekyc-init", Group: "eKYC", PerCaller: Rule{1, time.Minute}}
	ctx, h := l.Defer(httpCtx("key:0000"), "")
	require.Same(t, h, Held(ctx))
	group, cells, ok := h.Pending()
	require.True(t, ok)
	assert.Equal(t, "eKYC", group)
	require.Len(t, cells, 1)
	assert.Empty(t, m.keys, "nothing decided by Defer itself")
	require.NoError(t, h.Decide(ctx))
	_, _, ok = h.Pending()
	assert.False(t, ok)
	require.NoError(t, h.Decide(ctx), "decided already: no second count")
	assert.Len(t, m.keys, 1)

	ev, h := l.Defer(context.Background(), "")
	assert.Nil(t, h, "an event has no caller: nothing to hold")
	assert.Nil(t, Held(ev))
}
