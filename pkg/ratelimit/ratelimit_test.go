package ratelimit

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/auth"
)

// memCounter is a fixed-window counter on a clock the test moves.
type memCounter struct {
	mu   sync.Mutex
	now  time.Time
	hits map[string]int64
	keys []string
	err  error
}

func newMem() *memCounter {
	return &memCounter{now: time.Unix(1_800_000_000, 0), hits: map[string]int64{}}
}

func (m *memCounter) Hit(_ context.Context, key string, window time.Duration) (int64, time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return 0, 0, m.err
	}
	idx := m.now.UnixNano() / int64(window)
	k := key + "@" + strconv.FormatInt(idx, 10)
	m.hits[k]++
	m.keys = append(m.keys, key)
	end := time.Unix(0, (idx+1)*int64(window))
	return m.hits[k], end.Sub(m.now), nil
}

func (m *memCounter) advance(d time.Duration) {
	m.mu.Lock()
	m.now = m.now.Add(d)
	m.mu.Unlock()
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
	l, err := FromEnv("bank-verify", newMem(), def.PerCaller, def.PerSubject)
	require.NoError(t, err)
	assert.Equal(t, def.PerCaller, l.PerCaller)
	assert.Equal(t, def.PerSubject, l.PerSubject)

	t.Setenv("RATE_LIMIT_PER_CALLER", "off")
	t.Setenv("RATE_LIMIT_PER_SUBJECT", "2/10m")
	l, err = FromEnv("bank-verify", newMem(), def.PerCaller, def.PerSubject)
	require.NoError(t, err)
	assert.True(t, l.PerCaller.Off())
	assert.Equal(t, Rule{2, 10 * time.Minute}, l.PerSubject)

	t.Setenv("RATE_LIMIT_PER_SUBJECT", "lots")
	_, err = FromEnv("bank-verify", newMem(), def.PerCaller, def.PerSubject)
	assert.ErrorContains(t, err, "RATE_LIMIT_PER_SUBJECT")

	t.Setenv("RATE_LIMIT_PER_SUBJECT", "")
	_, err = FromEnv("bank-verify", nil, def.PerCaller, def.PerSubject)
	assert.ErrorContains(t, err, "no counter")
}

func httpCtx(caller string) context.Context {
	return auth.WithIdentity(context.Background(), auth.Identity{Caller: caller})
}

func TestPerSubject(t *testing.T) {
	m := newMem()
	l := &Limiter{Counter: m, Function: "bank-verify", PerSubject: Rule{3, time.Hour}}
	ctx := httpCtx("key:0000")
	for i := range 3 {
		require.NoError(t, l.Allow(ctx, "alice"), "call %d", i+1)
	}
	err := l.Allow(ctx, "alice")
	require.Error(t, err)
	e := apierr.As(err)
	assert.Equal(t, http.StatusTooManyRequests, apierr.Status(e))
	assert.Equal(t, "Throttling.User", e.Code)
	assert.Contains(t, e.Message, "this user")
	assert.Greater(t, e.RetryAfter, time.Duration(0))
	assert.LessOrEqual(t, e.RetryAfter, time.Hour)

	assert.NoError(t, l.Allow(ctx, "bob"), "subjects are counted apart")
	assert.NoError(t, l.Allow(ctx, ""), "no subject, no subject limit")

	m.advance(time.Hour)
	assert.NoError(t, l.Allow(ctx, "alice"), "a new window")
}

func TestPerCaller(t *testing.T) {
	m := newMem()
	l := &Limiter{Counter: m, Function: "ekyc-init", PerCaller: Rule{2, time.Minute}, PerSubject: Rule{100, time.Hour}}
	a, b := httpCtx("key:aaaa"), httpCtx("key:bbbb")
	require.NoError(t, l.Allow(a, "u1"))
	require.NoError(t, l.Allow(a, "u2"))
	err := l.Allow(a, "u3")
	e := apierr.As(err)
	require.Equal(t, http.StatusTooManyRequests, apierr.Status(e))
	assert.Contains(t, e.Message, "this caller")
	assert.NoError(t, l.Allow(b, "u3"), "callers are counted apart")
	for _, k := range m.keys {
		assert.Contains(t, k, "rl:ekyc-init:")
	}
}

func TestEventsAreNotCounted(t *testing.T) {
	m := newMem()
	l := &Limiter{Counter: m, Function: "bank-verify", PerCaller: Rule{1, time.Minute}, PerSubject: Rule{1, time.Hour}}
	for range 5 {
		require.NoError(t, l.Allow(context.Background(), "alice"))
	}
	assert.Empty(t, m.keys, "no caller in the context: an event, which FC authorised")
}

func TestStoreDownRefusesTheCall(t *testing.T) {
	m := newMem()
	m.err = errors.New("dial tcp: connection refused")
	l := &Limiter{Counter: m, Function: "bank-verify", PerSubject: Rule{5, time.Hour}}
	err := l.Allow(httpCtx("key:0000"), "alice")
	e := apierr.As(err)
	assert.Equal(t, http.StatusServiceUnavailable, apierr.Status(e))
	assert.NotContains(t, e.Message, "connection refused", "the cause is for the log, not the caller")
	assert.ErrorIs(t, err, m.err)
}

func TestNilLimiterAllows(t *testing.T) {
	var l *Limiter
	assert.NoError(t, l.Allow(httpCtx("key:0000"), "alice"))
}

func TestAnswerCarriesRetryAfter(t *testing.T) {
	m := newMem()
	m.now = time.Unix(1_800_000_000, 0).Truncate(time.Hour).Add(59*time.Minute + 30*time.Second + 200*time.Millisecond)
	l := &Limiter{Counter: m, Function: "bank-verify", PerSubject: Rule{1, time.Hour}}
	require.NoError(t, l.Allow(httpCtx("key:0000"), "alice"))
	w := httptest.NewRecorder()
	apierr.Write(w, httptest.NewRequest(http.MethodPost, "/", nil), l.Allow(httpCtx("key:0000"), "alice"))
	assert.Equal(t, 429, w.Code)
	assert.Equal(t, "30", w.Header().Get("Retry-After"), "29.8 s left in the window, rounded up")
	assert.Contains(t, w.Body.String(), `"Code":"Throttling.User"`)
}
