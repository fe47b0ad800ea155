package emulator

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The handling times count API requests only, grow with what the emulator
// really spends (an injected slow answer), and are forgotten on reset.
func TestHandlingTimes(t *testing.T) {
	_, srv := startEmulator(t, Config{})
	remote := &Remote{BaseURL: srv.URL}
	client := &http.Client{}
	initialize := func() {
		status, _ := do(t, client, defaultSigner.request(t, "POST", srv.URL, "Initialize", values(validInitialize()), url.Values{}))
		require.Equal(t, 200, status)
	}

	h, err := remote.HandlingTimes()
	require.NoError(t, err)
	assert.Equal(t, HandlingTimes{}, h, "nothing served yet")

	for range 3 {
		initialize()
	}
	_, err = remote.Stats() // control requests are not timed
	require.NoError(t, err)
	h, err = remote.HandlingTimes()
	require.NoError(t, err)
	assert.Equal(t, 3, h.Count)
	assert.Positive(t, h.P50)
	assert.LessOrEqual(t, h.P50, h.P99)
	assert.LessOrEqual(t, h.P99, h.Max)
	assert.Less(t, h.Max, 50*time.Millisecond, "a plain Initialize is served at once")

	require.NoError(t, remote.ResetHandlingTimes())
	require.NoError(t, remote.InjectFault(Cloudauth, "Initialize", Fault{Kind: FaultSlow, Delay: 50 * time.Millisecond}))
	initialize()
	initialize()
	h, err = remote.HandlingTimes()
	require.NoError(t, err)
	assert.Equal(t, 2, h.Count)
	assert.GreaterOrEqual(t, h.P50, 50*time.Millisecond, "the slow fault's wait is handling time")
	assert.GreaterOrEqual(t, h.Mean, 50*time.Millisecond)

	require.NoError(t, remote.Reset())
	h, err = remote.HandlingTimes()
	require.NoError(t, err)
	assert.Zero(t, h.Count, "POST /_emulator/reset forgets the handling times too")
}

func TestPercentile(t *testing.T) {
	s := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	assert.Equal(t, time.Duration(5), Percentile(s, 50))
	assert.Equal(t, time.Duration(10), Percentile(s, 99))
	assert.Equal(t, time.Duration(1), Percentile(s, 0))
	assert.Equal(t, time.Duration(7), Percentile([]time.Duration{7}, 99))
}
