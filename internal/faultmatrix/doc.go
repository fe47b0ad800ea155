// Package faultmatrix holds the fault matrix: one table-driven test that
// runs every function's real binary against the emulator's process and,
// for each failure its upstream can produce, checks the answer's status and
// code, that it came within the function's deadline, how many upstream
// attempts the emulator counted (billed calls are never
// repeated once they may have reached the service), and that nothing was
// left running.
//
// The package has no code of its own; the matrix is in faultmatrix_test.go.
package faultmatrix
