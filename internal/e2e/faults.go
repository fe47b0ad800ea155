package e2e

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/emulator"
)

// Fault resets the emulator (its transactions, faults and counters) and
// injects f on op of upstream u. sent counts the requests for op the
// emulator has had since.
func Fault(t testing.TB, emu *emulator.Remote, u emulator.Upstream, op string, f emulator.Fault) (sent func() int64) {
	t.Helper()
	require.NoError(t, emu.Reset())
	require.NoError(t, emu.InjectFault(u, op, f))
	return func() int64 {
		t.Helper()
		st, err := emu.Stats()
		require.NoError(t, err)
		return st.Requests[op]
	}
}

// BilledCallRetries checks how a function calls op, an ID Verification
// operation billed per call, through the emulator emu: send (one request to
// the function) is answered 502 after an attempt reset once sent, which
// the service may have served and billed, is not repeated; and 200 after
// an attempt refused with throttling, which it did not serve, is retried.
// It returns that 200 answer, for the caller's own checks (the emulator
// still holds what it did for it).
func BilledCallRetries(t *testing.T, emu *emulator.Remote, op string, send func() Answer) Answer {
	t.Helper()
	sent := Fault(t, emu, emulator.Cloudauth, op, emulator.Fault{Kind: emulator.FaultReset, Times: 1})
	a := send()
	assert.Equal(t, http.StatusBadGateway, a.Status, "after a reset: %s", a.Raw)
	assert.EqualValues(t, 1, sent(), "%s is billed: a call that may have reached the service is not repeated", op)

	sent = Fault(t, emu, emulator.Cloudauth, op, emulator.Fault{Kind: emulator.FaultThrottle, Times: 1})
	ok := send()
	require.Equal(t, http.StatusOK, ok.Status, "after a throttled attempt: %s", ok.Raw)
	assert.EqualValues(t, 2, sent(), "one throttled, one accepted")
	return ok
}
