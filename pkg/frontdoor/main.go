package frontdoor

import (
	"github.com/idverify/fc-kyc/pkg/fcrt"
	"github.com/idverify/fc-kyc/pkg/ratelimit"
)

// Main runs (fcrt.Main) a function that callers reach directly, built by
// Build.
func Main(function string, perCaller, perSubject ratelimit.Rule, build func(Door) (fcrt.Function, error)) {
	fcrt.Main(func() (fcrt.Function, error) { return Build(function, perCaller, perSubject, build) })
}

// Build reads the function's front door (with its default limits), then
// the rest of its configuration with build, and returns build's Function
// with the door before its HTTP API and the store's check as its Ready
// (build leaves Ready unset). Event invocations keep build's
// handler: Function Compute has already authorised them.
func Build(function string, perCaller, perSubject ratelimit.Rule, build func(Door) (fcrt.Function, error)) (fcrt.Function, error) {
	door, err := fromEnv(function, perCaller, perSubject)
	if err != nil {
		return fcrt.Function{}, err
	}
	f, err := build(door)
	if err != nil {
		return fcrt.Function{}, err
	}
	f.HTTP = door.wrap(f.HTTP)
	f.Ready = door.ready
	return f, nil
}
