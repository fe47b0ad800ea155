// Command result answers how a transaction ended, from the transaction
// store, to the caller who started it: a front-end asks by the eKYC
// MerchantBizId or the Zhima transaction_id / biz_no it got from ekyc-init
// or zhima-init, and may wait (long polling) for the result to be recorded.
// It makes no upstream call: the callback function and its reconciler
// record results. See handler.go for the operation and
// docs/configuration.md for its configuration.
package main

import (
	"errors"
	"time"

	"github.com/idverify/fc-kyc/pkg/fcrt"
	"github.com/idverify/fc-kyc/pkg/frontdoor"
	"github.com/idverify/fc-kyc/pkg/idempotency"
	"github.com/idverify/fc-kyc/pkg/ratelimit"
)

// main serves result behind its front door, whose default limits are 6000
// calls a minute per caller (a front-end's users polling) and 600 an hour
// per subject (one user polling every 6 s for an hour).
func main() {
	frontdoor.Main("result", ratelimit.Rule{Limit: 6000, Window: time.Minute}, ratelimit.Rule{Limit: 600, Window: time.Hour}, build)
}

// build reads the configuration once, at start: a bad value stops the
// function with a message naming it.
func build(door frontdoor.Door) (fcrt.Function, error) {
	// The owner keys are the init functions': the same IDEMPOTENCY_SECRET
	// (or CALLBACK_SECRET) makes the same owner hash.
	owners, err := idempotency.FromEnv(door.Store)
	if err != nil {
		return fcrt.Function{}, err
	}
	if owners == nil {
		return fcrt.Function{}, errors.New("IDEMPOTENCY_SECRET or CALLBACK_SECRET is required, with the value ekyc-init and zhima-init have: results are shown only to the caller who started the transaction, whom the init functions record as a hash under that key")
	}
	h := &Handler{Store: door.Store, Limits: door.Limits, Owners: owners}
	return fcrt.OperationFunction("result", h.Result, fcrt.WithMaxBody(maxBody)), nil
}
