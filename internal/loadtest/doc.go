// Package loadtest holds the load test: tens of
// thousands of requests at concurrency 200 to one instance of each function,
// the built binary, against the in-process emulator, with a slice of the
// requests invalid and a slice hitting injected upstream faults. It asserts
// zero unexpected answers, a bounded peak RSS (VmHWM) and no goroutine
// growth after the load, and logs the figures.
//
// The size is configurable: LOAD_REQUESTS per function (default 2000, the
// run in `make test`) and LOAD_CONCURRENCY (default 200); `make load` runs
// it with LOAD_REQUESTS=20000. It skips itself under -race, which slows the
// in-process emulator past the functions' deadlines: `make test` runs it
// separately, without. Linux only (it reads /proc).
package loadtest
