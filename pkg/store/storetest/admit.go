package storetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/store"
)

// The limits (store.Admitter): a generic cell rate per key, several keys
// decided together, all or nothing. Expected values come from the rule
// (Burst at once, then one per Every), not from the code under test.

func testAdmit(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	perHour := store.Cell{Key: "subject:a", Every: 12 * time.Minute, Burst: 5} // 5/h
	for i := range 5 {
		a, err := s.Admit(ctx, "bank", []store.Cell{perHour})
		require.NoError(t, err)
		assert.True(t, a.OK, "call %d of a burst of 5", i+1)
		assert.Zero(t, a.Wait)
	}
	a, err := s.Admit(ctx, "bank", []store.Cell{perHour})
	require.NoError(t, err)
	assert.False(t, a.OK, "the sixth at once")
	assert.Equal(t, 0, a.Refused)
	assert.Equal(t, 12*time.Minute, a.Wait, "one slot comes back per Every")

	other, err := s.Admit(ctx, "bank", []store.Cell{{Key: "subject:b", Every: 12 * time.Minute, Burst: 5}})
	require.NoError(t, err)
	assert.True(t, other.OK, "keys count apart")
	elsewhere, err := s.Admit(ctx, "ekyc", []store.Cell{perHour})
	require.NoError(t, err)
	assert.True(t, elsewhere.OK, "groups count apart")

	c.Advance(11 * time.Minute)
	a, err = s.Admit(ctx, "bank", []store.Cell{perHour})
	require.NoError(t, err)
	assert.False(t, a.OK)
	assert.Equal(t, time.Minute, a.Wait)
	c.Advance(time.Minute)
	a, err = s.Admit(ctx, "bank", []store.Cell{perHour})
	require.NoError(t, err)
	assert.True(t, a.OK, "12 minutes later one more")
	a, err = s.Admit(ctx, "bank", []store.Cell{perHour})
	require.NoError(t, err)
	assert.False(t, a.OK, "and only one")

	c.Advance(time.Hour)
	for i := range 5 {
		a, err := s.Admit(ctx, "bank", []store.Cell{perHour})
		require.NoError(t, err)
		assert.True(t, a.OK, "an hour idle: a full burst again (%d)", i+1)
	}

	// Limits set out of reach (a benchmark's): a burst near the int64 range
	// and an interval under the drivers' microsecond neither overflow nor
	// refuse.
	huge := store.Cell{Key: "huge", Every: time.Nanosecond, Burst: 1 << 62}
	for range 3 {
		a, err := s.Admit(ctx, "bank", []store.Cell{huge})
		require.NoError(t, err)
		assert.True(t, a.OK)
		assert.Zero(t, a.Wait)
	}

	_, err = s.Admit(ctx, "a{b}", []store.Cell{perHour})
	assert.Error(t, err, "a group with a brace")
	_, err = s.Admit(ctx, "bank", []store.Cell{{Key: "k", Every: 0, Burst: 1}})
	assert.Error(t, err, "Every must be positive")
}

// One refusing cell refuses the whole event, and the others do not count it.
func testAdmitAllOrNothing(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	caller := store.Cell{Key: "caller", Every: time.Minute, Burst: 3}
	subject := store.Cell{Key: "subject", Every: time.Hour, Burst: 1}
	a, err := s.Admit(ctx, "g", []store.Cell{caller, subject})
	require.NoError(t, err)
	require.True(t, a.OK)
	for range 5 {
		a, err = s.Admit(ctx, "g", []store.Cell{caller, subject})
		require.NoError(t, err)
		assert.False(t, a.OK)
		assert.Equal(t, 1, a.Refused, "the subject's cell refuses")
		assert.Equal(t, time.Hour, a.Wait)
	}
	// The caller's cell counted the first event only: two more pass.
	for i := range 2 {
		a, err = s.Admit(ctx, "g", []store.Cell{caller})
		require.NoError(t, err)
		assert.True(t, a.OK, "caller slot %d left by the refused events", i+2)
	}
	a, err = s.Admit(ctx, "g", []store.Cell{caller})
	require.NoError(t, err)
	assert.False(t, a.OK)
}

// A cell with a MaxWait books the next slot ahead: the event is admitted
// with the wait until it, and slots are booked one Every apart.
func testAdmitBooks(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	budget := store.Cell{Key: "budget", Every: 100 * time.Millisecond, Burst: 1, MaxWait: 350 * time.Millisecond}
	limit := store.Cell{Key: "caller", Every: time.Second, Burst: 10}
	for i := range 4 {
		a, err := s.Admit(ctx, "eKYC", []store.Cell{limit, budget})
		require.NoError(t, err)
		require.True(t, a.OK, "slot %d", i)
		assert.Equal(t, time.Duration(i)*100*time.Millisecond, a.Wait, "slot %d comes %d Every later", i, i)
	}
	a, err := s.Admit(ctx, "eKYC", []store.Cell{limit, budget})
	require.NoError(t, err)
	assert.False(t, a.OK, "the fifth slot is 400 ms away, past MaxWait")
	assert.Equal(t, 1, a.Refused)
	assert.Equal(t, 400*time.Millisecond, a.Wait)
	c.Advance(250 * time.Millisecond)
	a, err = s.Admit(ctx, "eKYC", []store.Cell{budget})
	require.NoError(t, err)
	assert.True(t, a.OK)
	assert.Equal(t, 150*time.Millisecond, a.Wait, "booked after the slots already booked")
}

// GiveBack undoes an admitted event's slot.
func testGiveBack(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	card := store.Cell{Key: "card", Every: 12 * time.Minute, Burst: 5}
	subject := store.Cell{Key: "subject", Every: 12 * time.Minute, Burst: 5}
	for range 5 {
		a, err := s.Admit(ctx, "bank", []store.Cell{card, subject})
		require.NoError(t, err)
		require.True(t, a.OK)
	}
	for range 3 { // three calls the upstream did not bill
		require.NoError(t, s.GiveBack(ctx, "bank", []store.Cell{card, subject}))
	}
	for i := range 3 {
		a, err := s.Admit(ctx, "bank", []store.Cell{card, subject})
		require.NoError(t, err)
		assert.True(t, a.OK, "given-back slot %d", i+1)
	}
	a, err := s.Admit(ctx, "bank", []store.Cell{card})
	require.NoError(t, err)
	assert.False(t, a.OK, "no more than were given back")

	// Giving back more than was taken leaves the cell unused, not in credit.
	c.Advance(2 * time.Hour)
	require.NoError(t, s.GiveBack(ctx, "bank", []store.Cell{card}))
	for range 5 {
		a, err := s.Admit(ctx, "bank", []store.Cell{card})
		require.NoError(t, err)
		require.True(t, a.OK)
	}
	a, err = s.Admit(ctx, "bank", []store.Cell{card})
	require.NoError(t, err)
	assert.False(t, a.OK, "a burst of 5, not 6")
}

// Racing Admits, as concurrent requests of several instances make: a
// cell with a burst of 7 and a slot an hour admits exactly 7.
func testAdmitRace(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	cell := store.Cell{Key: "race", Every: time.Hour, Burst: 7}
	var ok atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for range 40 {
		wg.Go(func() {
			a, err := s.Admit(ctx, "g", []store.Cell{cell})
			if err != nil {
				errs <- err
				return
			}
			if a.OK {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, int64(7), ok.Load())
}
