//go:build !linux

package testproc

import "os/exec"

// dieWithParent: only Linux offers a parent-death signal; elsewhere a
// server outlives a test binary that panics.
func dieWithParent(*exec.Cmd) {}
