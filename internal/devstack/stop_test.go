package devstack_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/internal/devstack"
	"github.com/idverify/fc-kyc/internal/registry"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

// ignoresTERM is a stand-in for every binary of the stack: it reports
// listening on its port as they do, then ignores SIGTERM (sleep inherits
// the ignored signal), as a process stuck in its shutdown would.
const ignoresTERM = `#!/bin/sh
trap '' TERM
echo "listening on ${EMULATOR_ADDR:-127.0.0.1:$FC_CUSTOM_LISTEN_PORT}"
exec sleep 60
`

// Stop kills every process still running after the grace period, not only
// the first one it waits for.
func TestStopKillsEveryProcessThatIgnoresSIGTERM(t *testing.T) {
	dir := t.TempDir()
	for _, name := range append([]string{"emulator"}, registry.Names()...) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(ignoresTERM), 0o755))
	}
	devstack.SetShutdownTimeout(t, 200*time.Millisecond)
	out := &testproc.Buffer{}
	s, err := devstack.Start(devstack.Config{Base: freeBase(t), BinDir: dir, Timer: -1, Out: out})
	require.NoError(t, err, out.String())

	stopped := make(chan struct{})
	go func() { s.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		for _, name := range registry.Names() {
			_ = devstack.KillForTest(s, name)
		}
		t.Fatal("Stop still waiting 10 s after SIGTERM with a 200 ms grace period: a process ignoring SIGTERM was never killed")
	}
}
