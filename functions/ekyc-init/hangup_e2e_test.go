package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/internal/e2e"
	"github.com/idverify/fc-kyc/pkg/emulator"
)

// The false alerts: callers who hang up while Initialize is in
// flight were logged as 503/504 at ERROR. The built function, a slow
// upstream and a client that gives up: one invocation line, INFO, status
// 499, and no line at ERROR.
func TestEndToEndClientHangUpIsLoggedAs499(t *testing.T) {
	s := startStack(t)
	require.NoError(t, s.emu.InjectFault(emulator.Cloudauth, "Initialize", emulator.Fault{Kind: emulator.FaultSlow, Delay: time.Minute}))
	b, err := json.Marshal(validBody())
	require.NoError(t, err)
	call := e2e.Send(t, s.fn.URL()+"/", nil, b)
	// Hang up once the call is upstream.
	for {
		st, err := s.emu.Stats()
		require.NoError(t, err)
		if st.Requests["Initialize"] > 0 {
			break
		}
		select {
		case err := <-call.Done():
			t.Fatalf("answered before the upstream call: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	assert.True(t, errors.Is(call.HangUp(), context.Canceled))

	var inv map[string]any
	for deadline := time.Now().Add(time.Minute); inv == nil; { // a hang guard, not a measurement
		require.True(t, time.Now().Before(deadline), "no invocation line was logged:\n%s", s.fn.Output())
		for _, line := range strings.Split(strings.TrimSpace(s.fn.Output()), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "invocation" && m["kind"] == "http" {
				inv = m
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	require.NoError(t, s.emu.ClearFaults())
	assert.Equal(t, "INFO", inv["level"], "%v", inv)
	assert.EqualValues(t, 499, inv["status"])
	assert.NotContains(t, s.fn.Output(), `"level":"ERROR"`)
	assert.Equal(t, 1, strings.Count(s.fn.Output(), `"msg":"invocation"`), "logged once")
}
