package emulator

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A QPS limit is per product per second: Initialize and CheckResult share
// eKYC's, BankMetaVerifyIntl has its own, and the next second starts afresh.
func TestQPSLimitThrottlesPerProductPerSecond(t *testing.T) {
	var mu sync.Mutex
	now := time.Now().Truncate(time.Second).Add(100 * time.Millisecond)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	emu, srv := startEmulator(t, Config{Now: clock})
	c := newSDKClient(t, srv)
	emu.SetQPSLimit("eKYC", 2)
	ctx := context.Background()

	codeOf := func(action string, q map[string]string) string {
		_, err := callSDK(ctx, c, action, "", q, nil)
		if err == nil {
			return "Success"
		}
		code, status, ok := sdkErrorCode(err)
		require.True(t, ok, "%v", err)
		if code == "Throttling.Api" {
			assert.Equal(t, 403, status)
		}
		return code
	}
	assert.Equal(t, "Success", codeOf("Initialize", validInitialize()))
	assert.NotEqual(t, "Throttling.Api", codeOf("CheckResult", map[string]string{"MerchantBizId": "b", "TransactionId": "none"}),
		"second eKYC request of the second: within the limit")
	assert.Equal(t, "Throttling.Api", codeOf("Initialize", validInitialize()), "third eKYC request of the second")
	assert.Equal(t, "Throttling.Api", codeOf("CheckResult", map[string]string{"MerchantBizId": "b", "TransactionId": "none"}))

	mu.Lock()
	now = now.Add(time.Second)
	mu.Unlock()
	assert.Equal(t, "Success", codeOf("Initialize", validInitialize()), "a new second")

	st := emu.QPS()
	assert.Equal(t, map[string]int64{"eKYC": 4}, st.Max)
	assert.Equal(t, map[string]int64{"eKYC": 2}, st.Throttled)
	assert.Equal(t, map[int64]int64{now.Unix() - 1: 4, now.Unix(): 1}, st.Seconds["eKYC"])
	assert.Equal(t, int64(2), emu.Stats().Rejected["Throttling.Api"], "throttled answers count with the other rejections")
	first := now.Add(-time.Second).UnixMicro()
	assert.Equal(t, []int64{first, first, first, first, now.UnixMicro()}, st.Arrivals["eKYC"], "every arrival, throttled ones too")

	emu.ResetQPS()
	assert.Empty(t, emu.QPS().Max)
	assert.Empty(t, emu.QPS().Limits)
}

func TestQPSRemote(t *testing.T) {
	emu, srv := startEmulator(t, Config{})
	r := &Remote{BaseURL: srv.URL}
	require.NoError(t, r.SetQPSLimit("BANK_CARD_N_META", 50))
	assert.Equal(t, map[string]int64{"BANK_CARD_N_META": 50}, emu.QPS().Limits)
	c := newSDKClient(t, srv)
	_, err := callSDK(context.Background(), c, "Initialize", "", validInitialize(), nil)
	require.NoError(t, err)
	st, err := r.QPS()
	require.NoError(t, err)
	assert.Equal(t, int64(1), st.Max["eKYC"])
	assert.Len(t, st.Seconds["eKYC"], 1)
	assert.Len(t, st.Arrivals["eKYC"], 1)
	require.NoError(t, r.SetQPSLimit("BANK_CARD_N_META", 0))
	assert.Empty(t, emu.QPS().Limits)
	require.NoError(t, r.ResetQPS())
	st, err = r.QPS()
	require.NoError(t, err)
	assert.Empty(t, st.Max)
	assert.Error(t, r.SetQPSLimit("", 3), "a product is required")
}

// SlidingMax counts what a limiter over sliding windows counts: five calls
// straddling a second boundary are within one second even though no Unix
// second holds more than three.
func TestSlidingMax(t *testing.T) {
	s := int64(1_800_000_000_000_000) // a whole second, in µs
	arrivals := []int64{s + 100_000, s + 800_000, s + 900_000, s + 1_000_000, s + 1_050_000, s + 1_900_000, s + 2_000_000}
	assert.Equal(t, 5, SlidingMax(arrivals, time.Second), "0.1 s to 1.05 s")
	assert.Equal(t, 1, SlidingMax(arrivals, 50*time.Millisecond), "50 ms apart is apart (half-open)")
	assert.Equal(t, 7, SlidingMax(arrivals, 2*time.Second))
	assert.Equal(t, 0, SlidingMax(nil, time.Second))
}
