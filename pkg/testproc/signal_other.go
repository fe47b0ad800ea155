//go:build !unix

package testproc

import "os"

// No SIGSTOP outside Unix: Pause and Resume skip the test.
var pauseSignal, resumeSignal os.Signal

// lockFile does not lock outside Unix: test processes may build a binary twice at once there.
func lockFile(string) (func(), error) { return func() {}, nil }
