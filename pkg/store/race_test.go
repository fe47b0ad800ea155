//go:build race

package store_test

// raceEnabled: the race detector slows the Go side of a bulk load several
// times over; measurements that need one skip under it.
const raceEnabled = true
