package testproc_test

import (
	"errors"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/testproc"
)

func health(t *testing.T, p *testproc.Proc) int {
	t.Helper()
	resp, err := http.Get(p.URL() + "/_emulator/health")
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// A process started on port 0 binds a port itself, and Start learns it from
// its output; a restart reads the new process's line, not the old one.
func TestAnyPortKillAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the emulator")
	}
	emu := testproc.StartEmulator(t)
	require.NotEmpty(t, emu.Addr)
	assert.False(t, strings.HasSuffix(emu.Addr, ":0"), emu.Addr)
	assert.Equal(t, http.StatusOK, health(t, emu))
	assert.Positive(t, emu.Pid())

	first := emu.Addr
	emu.Kill()
	assert.True(t, emu.Wait(0), "killed")
	_, err := http.Get(emu.URL() + "/_emulator/health")
	assert.Error(t, err, "nothing serves on the old port")

	emu.Restart(t)
	assert.Equal(t, http.StatusOK, health(t, emu))
	assert.False(t, emu.Wait(0), "running again")
	t.Logf("first %s, after the restart %s", first, emu.Addr)

	// Two at once never race for a port.
	other := testproc.StartEmulator(t)
	assert.NotEqual(t, emu.Addr, other.Addr)
	assert.Equal(t, http.StatusOK, health(t, other))
}

// A process that ended by itself (here on a signal the test sent) is
// stopped at cleanup without a data race on its state: -race fails the test
// otherwise.
func TestStopAfterTheProcessEndedByItself(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the emulator")
	}
	emu := testproc.StartEmulator(t)
	pid := emu.Pid()
	require.NoError(t, emu.Signal(syscall.SIGTERM))
	// Gone once reaped, by the goroutine that waits for it: nothing here
	// synchronises with that goroutine before Stop.
	require.Eventually(t, func() bool { return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) },
		10*time.Second, 10*time.Millisecond)
	assert.NoError(t, emu.Stop())
	emu.Kill()
}

// Restart refuses while the process runs: a second process on the same
// port would fail to bind.
func TestRestartNeedsAStoppedProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the emulator")
	}
	emu := testproc.StartEmulator(t)
	rec := &recorder{T: t}
	func() {
		defer func() { _ = recover() }()
		emu.Restart(rec)
	}()
	assert.True(t, rec.failed, "Restart of a running process must fail the test")
}

// recorder is a testing.TB whose Fatalf records instead of failing.
type recorder struct {
	*testing.T
	failed bool
}

func (r *recorder) Fatalf(string, ...any) { r.failed = true; panic("fatal") }
