// Command bank-verify checks that a bank card matches a name, an ID number
// and a mobile number (ID Verification BankMetaVerifyIntl, 2, 3 or 4
// factors). See handler.go for the operation and docs/configuration.md for its
// configuration.
package main

import (
	"fmt"
	"time"

	"github.com/idverify/fc-kyc/pkg/cloudauth"
	"github.com/idverify/fc-kyc/pkg/config"
	"github.com/idverify/fc-kyc/pkg/fcrt"
	"github.com/idverify/fc-kyc/pkg/frontdoor"
	"github.com/idverify/fc-kyc/pkg/ratelimit"
	"github.com/idverify/fc-kyc/pkg/store"
)

func main() { fcrt.Main(build) }

// build reads the configuration once, at start: a bad value stops the
// function with a message naming it.
func build() (fcrt.Function, error) {
	guard, err := frontdoor.FromEnv()
	if err != nil {
		return fcrt.Function{}, err
	}
	st, storeReady, err := store.FromEnv()
	if err != nil {
		return fcrt.Function{}, err
	}
	client, err := cloudauth.FromEnv(st) // the account's BANK_CARD_N_META QPS, shared by all instances
	if err != nil {
		return fcrt.Function{}, err
	}
	paramType, err := config.String("BANK_VERIFY_PARAM_TYPE", "normal")
	if err != nil {
		return fcrt.Function{}, err
	}
	if paramType != "normal" && paramType != "md5" {
		return fcrt.Function{}, fmt.Errorf("BANK_VERIFY_PARAM_TYPE=%q is not normal or md5", paramType)
	}
	h := &Handler{Upstream: client, HashPlaintext: paramType == "md5"}
	// The default per subject is low: each call tells whether a card
	// matches a person.
	if h.Limits, err = ratelimit.FromEnv("bank-verify", st,
		ratelimit.Rule{Limit: 600, Window: time.Minute}, // per caller
		ratelimit.Rule{Limit: 5, Window: time.Hour},     // per subject
	); err != nil {
		return fcrt.Function{}, err
	}
	httpAPI, event := fcrt.Operation(h.Verify, fcrt.WithMaxBody(maxBody))
	return fcrt.Function{Name: "bank-verify", HTTP: guard(httpAPI), Event: event, Ready: storeReady}, nil
}
