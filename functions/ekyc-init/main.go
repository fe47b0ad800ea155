// Command ekyc-init starts an eKYC transaction (ID Verification Initialize,
// KYC_GLOBAL) for a front-end or a back-end service. See handler.go for the
// operation, callback.go for the CallbackUrl it sets, and docs/configuration.md for its
// configuration.
package main

import (
	"time"

	"github.com/idverify/fc-kyc/pkg/budget"
	"github.com/idverify/fc-kyc/pkg/cloudauth"
	"github.com/idverify/fc-kyc/pkg/fcrt"
	"github.com/idverify/fc-kyc/pkg/frontdoor"
	"github.com/idverify/fc-kyc/pkg/idempotency"
	"github.com/idverify/fc-kyc/pkg/ratelimit"
)

// main serves ekyc-init behind its front door, whose default limits are
// 600 calls a minute per caller and 20 an hour per subject.
func main() {
	frontdoor.Main("ekyc-init", ratelimit.Rule{Limit: 600, Window: time.Minute}, ratelimit.Rule{Limit: 20, Window: time.Hour}, build)
}

// build reads the configuration once, at start: a bad value stops the
// function with a message naming it.
func build(door frontdoor.Door) (fcrt.Function, error) {
	st := door.Store
	client, err := cloudauth.FromEnv(st) // the account's eKYC QPS, shared by all instances
	if err != nil {
		return fcrt.Function{}, err
	}
	h := &Handler{Upstream: client, Now: time.Now, Store: st, Limits: door.Limits}
	if h.CallbackBase, h.Tokens, err = callbackConfig(); err != nil {
		return fcrt.Function{}, err
	}
	h.Limits.Group = budget.EKYC // beside the eKYC budget: one store round trip decides both
	if h.Starts, err = idempotency.FromEnv(st); err != nil {
		return fcrt.Function{}, err
	}
	return fcrt.OperationFunction("ekyc-init", h.Initialize, fcrt.WithMaxBody(maxBody)), nil
}
