package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
	ctx, hangUp := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.fn.URL()+"/", bytes.NewReader(b))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	done := make(chan error, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
		}
		done <- err
	}()
	// Hang up once the call is upstream.
	for {
		st, err := s.emu.Stats()
		require.NoError(t, err)
		if st.Requests["Initialize"] > 0 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("answered before the upstream call: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	hangUp()
	assert.True(t, errors.Is(<-done, context.Canceled))

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
