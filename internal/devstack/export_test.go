package devstack

import "syscall"

// KillForTest kills the process called name, as if it had crashed.
func KillForTest(s *Stack, name string) error {
	for _, p := range s.procs {
		if p.name == name {
			return p.cmd.Process.Signal(syscall.SIGKILL)
		}
	}
	return nil
}
