package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/store"
)

// window of the suite's starts: a real Redis TTL never fires during a test.
const window = 10 * time.Minute

func claim(id string) store.Start {
	return store.Start{ClaimID: id, Owner: "owner-" + id, Fingerprint: "fp-" + id}
}

func testClaimOnce(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	cur, claimed, err := s.ClaimStart(ctx, "ekyc:ORDER1", claim("a"), window)
	require.NoError(t, err)
	assert.True(t, claimed)
	assert.Zero(t, cur)

	cur, claimed, err = s.ClaimStart(ctx, "ekyc:ORDER1", claim("b"), window)
	require.NoError(t, err)
	assert.False(t, claimed, "the id is taken")
	assert.Equal(t, "a", cur.ClaimID)
	assert.Equal(t, "owner-a", cur.Owner)
	assert.Equal(t, "fp-a", cur.Fingerprint)
	assert.Empty(t, cur.Answer, "no answer yet")
	sameTime(t, c.Now(), cur.ClaimedAt, "ClaimedAt")

	_, claimed, err = s.ClaimStart(ctx, "zhima:ORDER1", claim("c"), window)
	require.NoError(t, err)
	assert.True(t, claimed, "another key is another claim")

	for name, bad := range map[string]func() error{
		"no key":     func() error { _, _, err := s.ClaimStart(ctx, "", claim("d"), window); return err },
		"no ClaimID": func() error { _, _, err := s.ClaimStart(ctx, "k", store.Start{}, window); return err },
		"no ttl":     func() error { _, _, err := s.ClaimStart(ctx, "k", claim("d"), 0); return err },
		"with answer": func() error {
			a := claim("d")
			a.Answer = json.RawMessage(`{}`)
			_, _, err := s.ClaimStart(ctx, "k", a, window)
			return err
		},
	} {
		assert.Error(t, bad(), name)
	}
}

func testAnswerStart(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	a := claim("a")
	_, claimed, err := s.ClaimStart(ctx, "ekyc:ORDER1", a, window)
	require.NoError(t, err)
	require.True(t, claimed)

	other := claim("b")
	other.Answer = json.RawMessage(`{"x":1}`)
	assert.ErrorIs(t, s.AnswerStart(ctx, "ekyc:ORDER1", other), store.ErrNotClaimed, "not b's claim")
	assert.ErrorIs(t, s.AnswerStart(ctx, "ekyc:ORDER2", other), store.ErrNotClaimed, "no claim there")

	a.Answer = json.RawMessage(`{"TransactionId":"hk1"}`)
	require.NoError(t, s.AnswerStart(ctx, "ekyc:ORDER1", a))
	c.Advance(window / 2)
	cur, claimed, err := s.ClaimStart(ctx, "ekyc:ORDER1", claim("c"), window)
	require.NoError(t, err)
	assert.False(t, claimed)
	assert.Equal(t, "a", cur.ClaimID)
	assert.JSONEq(t, `{"TransactionId":"hk1"}`, string(cur.Answer))

	c.Advance(window/2 + time.Second)
	_, claimed, err = s.ClaimStart(ctx, "ekyc:ORDER1", claim("c"), window)
	require.NoError(t, err)
	assert.True(t, claimed, "answering does not extend the window")
}

func testReleaseStart(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	a := claim("a")
	_, _, err := s.ClaimStart(ctx, "k1", a, window)
	require.NoError(t, err)
	assert.ErrorIs(t, s.ReleaseStart(ctx, "k1", claim("b")), store.ErrNotClaimed)
	require.NoError(t, s.ReleaseStart(ctx, "k1", a))
	_, claimed, err := s.ClaimStart(ctx, "k1", claim("b"), window)
	require.NoError(t, err)
	assert.True(t, claimed, "a released id can be claimed again")
	assert.ErrorIs(t, s.ReleaseStart(ctx, "k1", a), store.ErrNotClaimed, "a's claim is gone")

	// An answered claim is kept: its retries are answered from it.
	a.Answer = json.RawMessage(`{}`)
	_, _, err = s.ClaimStart(ctx, "k2", claim("a"), window)
	require.NoError(t, err)
	require.NoError(t, s.AnswerStart(ctx, "k2", a))
	require.NoError(t, s.ReleaseStart(ctx, "k2", a))
	cur, claimed, err := s.ClaimStart(ctx, "k2", claim("b"), window)
	require.NoError(t, err)
	assert.False(t, claimed)
	assert.Equal(t, "a", cur.ClaimID)
}

func testStartExpiry(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	a := claim("a")
	_, _, err := s.ClaimStart(ctx, "k", a, window)
	require.NoError(t, err)
	c.Advance(window)
	_, claimed, err := s.ClaimStart(ctx, "k", claim("b"), window)
	require.NoError(t, err)
	assert.True(t, claimed, "an expired claim is replaced")
	a.Answer = json.RawMessage(`{}`)
	assert.ErrorIs(t, s.AnswerStart(ctx, "k", a), store.ErrNotClaimed, "the old claim cannot answer")
	cur, _, err := s.ClaimStart(ctx, "k", claim("c"), window)
	require.NoError(t, err)
	assert.Equal(t, "b", cur.ClaimID)
}

// testClaimRace: of many concurrent claims of one id, exactly one claims,
// and every other sees that one.
func testClaimRace(t *testing.T, s store.Store, c *Clock) {
	const n = 16
	var wg sync.WaitGroup
	winners := make(chan string, n)
	seen := make(chan string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cur, claimed, err := s.ClaimStart(context.Background(), "race", claim(fmt.Sprint(i)), window)
			if !assert.NoError(t, err) {
				return
			}
			if claimed {
				winners <- fmt.Sprint(i)
			} else {
				seen <- cur.ClaimID
			}
		}()
	}
	wg.Wait()
	close(winners)
	close(seen)
	var won []string
	for w := range winners {
		won = append(won, w)
	}
	require.Len(t, won, 1, "exactly one claim")
	for id := range seen {
		assert.Equal(t, won[0], id)
	}
}
