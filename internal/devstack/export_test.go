package devstack

import (
	"syscall"
	"time"
)

// KillForTest kills the process called name, as if it had crashed.
func KillForTest(s *Stack, name string) error {
	for _, p := range s.procs {
		if p.name == name {
			return p.cmd.Process.Signal(syscall.SIGKILL)
		}
	}
	return nil
}

// SetShutdownTimeout sets how long Stop waits before it kills, until the
// test ends.
func SetShutdownTimeout(t interface{ Cleanup(func()) }, d time.Duration) {
	old := shutdownTimeout
	shutdownTimeout = d
	t.Cleanup(func() { shutdownTimeout = old })
}
