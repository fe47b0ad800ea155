package idempotency

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/auth"
	"github.com/idverify/fc-kyc/pkg/store"
	"github.com/idverify/fc-kyc/pkg/store/storetest"
)

const key = "idempotency-test-key-0123456789abcdef"

var scope = Scope{Function: "ekyc-init", Param: "MerchantBizId"}

type answer struct{ TransactionID string }

type req struct{ MerchantBizId, MerchantUserId string }

func guard(t *testing.T, st store.Store) *Guard {
	return &Guard{Store: st, Keys: [][]byte{[]byte(key)}, Window: time.Minute, Wait: 2 * time.Second}
}

func fileStore(t *testing.T) (store.Store, string) {
	dir := t.TempDir()
	st, err := store.NewFile(dir, store.Options{})
	require.NoError(t, err)
	return st, dir
}

func as(subject string) context.Context {
	return auth.WithIdentity(context.Background(), auth.Identity{Caller: "jwt:0011223344556677", Subject: subject})
}

// counted is an upstream call that counts and answers a new transaction.
func counted(n *atomic.Int64) func() (answer, error) {
	return func() (answer, error) {
		return answer{TransactionID: "hk" + string(rune('0'+n.Add(1)))}, nil
	}
}

func code(err error) string { return apierr.As(err).Code }

func TestRetryIsAnsweredAndOthersAreRefused(t *testing.T) {
	st, dir := fileStore(t)
	g := guard(t, st)
	var calls atomic.Int64
	alice := req{"ORDER123", "alice@example.com"}

	a, replayed, err := Do(as("alice"), g, scope, "ORDER123", alice, counted(&calls))
	require.NoError(t, err)
	assert.False(t, replayed)
	a2, replayed, err := Do(as("alice"), g, scope, "ORDER123", alice, counted(&calls))
	require.NoError(t, err)
	assert.True(t, replayed, "alice's retry is answered from the store")
	assert.Equal(t, a, a2)
	assert.EqualValues(t, 1, calls.Load())

	_, _, err = Do(as("bob"), g, scope, "ORDER123", alice, counted(&calls))
	assert.Equal(t, apierr.IdempotentParameterMismatch, code(err), "bob may not take alice's order id, even with her very request")
	assert.Equal(t, 409, apierr.Status(err))
	assert.Contains(t, err.Error(), "another caller")
	_, _, err = Do(as("alice"), g, scope, "ORDER123", req{"ORDER123", "alice2@example.com"}, counted(&calls))
	assert.Equal(t, apierr.IdempotentParameterMismatch, code(err))
	assert.Contains(t, err.Error(), "different request")
	_, _, err = Do(context.Background(), g, scope, "ORDER123", alice, counted(&calls))
	assert.Equal(t, apierr.IdempotentParameterMismatch, code(err), "an anonymous caller is another owner")
	assert.EqualValues(t, 1, calls.Load(), "no refused start reached the upstream")

	_, replayed, err = Do(as("bob"), g, Scope{Function: "zhima-init", Param: "transaction_id"}, "ORDER123", alice, counted(&calls))
	require.NoError(t, err)
	assert.False(t, replayed, "another function's ids are apart")

	// What the store keeps names neither the user nor the caller.
	files, err := filepath.Glob(filepath.Join(dir, "start", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, secret := range []string{"alice", "bob", "ORDER123", "0011223344556677"} {
			assert.NotContains(t, string(b), secret)
		}
	}
}

func TestAFailedCallGivesTheIdBack(t *testing.T) {
	st, _ := fileStore(t)
	g := guard(t, st)
	boom := &apierr.Error{Code: "Throttling.User", Message: "slow down"}
	_, _, err := Do(as("alice"), g, scope, "ORDER1", req{"ORDER1", "a"}, func() (answer, error) { return answer{}, boom })
	require.ErrorIs(t, err, boom)
	var calls atomic.Int64
	_, replayed, err := Do(as("alice"), g, scope, "ORDER1", req{"ORDER1", "a"}, counted(&calls))
	require.NoError(t, err)
	assert.False(t, replayed)
	assert.EqualValues(t, 1, calls.Load(), "the retry reached the upstream")
}

// TestConcurrentIdenticalStartsCallOnce, against both drivers: the repeats
// wait for the first answer.
func TestConcurrentIdenticalStartsCallOnce(t *testing.T) {
	for name, backend := range storetest.Drivers() {
		t.Run(name, func(t *testing.T) {
			g := guard(t, backend(t)())
			var calls atomic.Int64
			slow := func() (answer, error) {
				time.Sleep(200 * time.Millisecond)
				return counted(&calls)()
			}
			const n = 8
			var wg sync.WaitGroup
			answers := make([]answer, n)
			errs := make([]error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					answers[i], _, errs[i] = Do(as("alice"), g, scope, "ORDER9", req{"ORDER9", "a"}, slow)
				}()
			}
			wg.Wait()
			assert.EqualValues(t, 1, calls.Load(), "one upstream call")
			for i := range n {
				require.NoError(t, errs[i])
				assert.Equal(t, answers[0], answers[i])
			}
		})
	}
}

func TestARepeatThatCannotWaitIsToldToRetry(t *testing.T) {
	st, _ := fileStore(t)
	g := guard(t, st)
	g.Wait = 100 * time.Millisecond
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		_, _, err := Do(as("alice"), g, scope, "ORDER2", req{"ORDER2", "a"}, func() (answer, error) {
			close(started) // the id is claimed by now
			<-release
			return answer{"hk"}, nil
		})
		done <- err
	}()
	<-started
	_, _, err := Do(as("alice"), g, scope, "ORDER2", req{"ORDER2", "a"}, func() (answer, error) { t.Error("second call"); return answer{}, nil })
	assert.Equal(t, apierr.IdempotentProcessing, code(err))
	assert.Equal(t, 409, apierr.Status(err))
	assert.Equal(t, time.Second, apierr.As(err).RetryAfter)
	close(release)
	require.NoError(t, <-done)
	got, replayed, err := Do(as("alice"), g, scope, "ORDER2", req{"ORDER2", "a"}, func() (answer, error) { t.Error("third call"); return answer{}, nil })
	require.NoError(t, err)
	assert.True(t, replayed)
	assert.Equal(t, answer{"hk"}, got)
}

func TestKeyRotation(t *testing.T) {
	st, _ := fileStore(t)
	old := guard(t, st)
	var calls atomic.Int64
	_, _, err := Do(as("alice"), old, scope, "ORDER3", req{"ORDER3", "a"}, counted(&calls))
	require.NoError(t, err)
	rotated := guard(t, st)
	rotated.Keys = [][]byte{[]byte(strings.Repeat("n", 32)), []byte(key)}
	_, replayed, err := Do(as("alice"), rotated, scope, "ORDER3", req{"ORDER3", "a"}, counted(&calls))
	require.NoError(t, err)
	assert.True(t, replayed, "a claim hashed under the previous key still matches")
	_, _, err = Do(as("bob"), rotated, scope, "ORDER3", req{"ORDER3", "a"}, counted(&calls))
	assert.Equal(t, apierr.IdempotentParameterMismatch, code(err))
}

func TestStoreDownRefusesBeforeTheCall(t *testing.T) {
	g := &Guard{Store: downStore{}, Keys: [][]byte{[]byte(key)}, Window: time.Minute}
	_, _, err := Do(as("alice"), g, scope, "ORDER4", req{}, func() (answer, error) { t.Error("called"); return answer{}, nil })
	assert.Equal(t, 503, apierr.Status(err))
}

type downStore struct{ store.Starts }

func (downStore) ClaimStart(context.Context, string, store.Start, time.Duration) (store.Start, bool, error) {
	return store.Start{}, false, errors.Join(store.ErrUnavailable, errors.New("down"))
}

func TestNilGuardCallsEveryTime(t *testing.T) {
	var calls atomic.Int64
	for range 2 {
		_, replayed, err := Do(as("alice"), nil, scope, "ORDER5", req{}, counted(&calls))
		require.NoError(t, err)
		assert.False(t, replayed)
	}
	assert.EqualValues(t, 2, calls.Load())
}

func TestFromEnv(t *testing.T) {
	st, _ := fileStore(t)
	for _, k := range []string{"IDEMPOTENCY_SECRET", "CALLBACK_SECRET", "IDEMPOTENCY_WINDOW"} {
		t.Setenv(k, "") // restored after the test
		os.Unsetenv(k)
	}
	g, err := FromEnv(st)
	require.NoError(t, err)
	assert.Nil(t, g, "no key: off")

	t.Setenv("CALLBACK_SECRET", key)
	g, err = FromEnv(st)
	require.NoError(t, err)
	require.NotNil(t, g)
	assert.Equal(t, DefaultWindow, g.Window)
	require.Len(t, g.Keys, 1)
	assert.NotEqual(t, []byte(key), g.Keys[0], "derived, not the callback key itself")

	t.Setenv("IDEMPOTENCY_SECRET", "short")
	_, err = FromEnv(st)
	assert.ErrorContains(t, err, "IDEMPOTENCY_SECRET")
	t.Setenv("IDEMPOTENCY_SECRET", key+"-a,"+key+"-b")
	t.Setenv("IDEMPOTENCY_WINDOW", "30m")
	g, err = FromEnv(st)
	require.NoError(t, err)
	assert.Equal(t, [][]byte{[]byte(key + "-a"), []byte(key + "-b")}, g.Keys)
	assert.Equal(t, 30*time.Minute, g.Window)
	t.Setenv("IDEMPOTENCY_WINDOW", "soon")
	_, err = FromEnv(st)
	assert.ErrorContains(t, err, "IDEMPOTENCY_WINDOW")
}

func TestAPanickingCallGivesTheIdBack(t *testing.T) {
	st, _ := fileStore(t)
	g := guard(t, st)
	assert.Panics(t, func() {
		_, _, _ = Do(as("alice"), g, scope, "ORDER6", req{}, func() (answer, error) { panic("bug") })
	})
	var calls atomic.Int64
	_, _, err := Do(as("alice"), g, scope, "ORDER6", req{}, counted(&calls))
	require.NoError(t, err)
	assert.EqualValues(t, 1, calls.Load())
}

// TestOwnersByMode: under AUTH_MODE=apikey the owner is the API key; under
// none every request is the one anonymous caller.
func TestOwnersByMode(t *testing.T) {
	st, _ := fileStore(t)
	g := guard(t, st)
	apiKey := func(id string) context.Context {
		return auth.WithIdentity(context.Background(), auth.Identity{Caller: "key:" + id})
	}
	var calls atomic.Int64
	_, _, err := Do(apiKey("aaaa"), g, scope, "ORDER7", req{}, counted(&calls))
	require.NoError(t, err)
	_, replayed, err := Do(apiKey("aaaa"), g, scope, "ORDER7", req{}, counted(&calls))
	require.NoError(t, err)
	assert.True(t, replayed)
	_, _, err = Do(apiKey("bbbb"), g, scope, "ORDER7", req{}, counted(&calls))
	assert.Equal(t, apierr.IdempotentParameterMismatch, code(err), "another API key")

	_, _, err = Do(context.Background(), g, scope, "ORDER8", req{}, counted(&calls))
	require.NoError(t, err)
	_, replayed, err = Do(context.Background(), g, scope, "ORDER8", req{}, counted(&calls))
	require.NoError(t, err)
	assert.True(t, replayed, "the anonymous caller's retry")
	assert.EqualValues(t, 2, calls.Load())
}
