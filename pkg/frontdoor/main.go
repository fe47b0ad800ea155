package frontdoor

import (
	"github.com/idverify/fc-kyc/pkg/fcrt"
	"github.com/idverify/fc-kyc/pkg/ratelimit"
)

// Main runs (fcrt.Main) a function that callers reach directly: it reads
// its front door (FromEnv, with the function's default limits), then the
// rest of its configuration with build, and serves build's Function with
// the door before its HTTP API and the store's check as its Ready (build
// leaves Ready unset).
func Main(function string, perCaller, perSubject ratelimit.Rule, build func(Door) (fcrt.Function, error)) {
	fcrt.Main(func() (fcrt.Function, error) {
		door, err := FromEnv(function, perCaller, perSubject)
		if err != nil {
			return fcrt.Function{}, err
		}
		f, err := build(door)
		if err != nil {
			return fcrt.Function{}, err
		}
		f.HTTP = door.Wrap(f.HTTP)
		f.Ready = door.Ready
		return f, nil
	})
}
