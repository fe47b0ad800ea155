// Command bank-verify checks that a bank card matches a name, an ID number
// and a mobile number (ID Verification BankMetaVerifyIntl, 2, 3 or 4
// factors). See handler.go for the operation and docs/configuration.md for its
// configuration.
package main

import (
	"fmt"
	"time"

	"github.com/idverify/fc-kyc/pkg/budget"
	"github.com/idverify/fc-kyc/pkg/cloudauth"
	"github.com/idverify/fc-kyc/pkg/config"
	"github.com/idverify/fc-kyc/pkg/fcrt"
	"github.com/idverify/fc-kyc/pkg/frontdoor"
	"github.com/idverify/fc-kyc/pkg/ratelimit"
)

// main serves bank-verify behind its front door, whose default limits are
// 600 calls a minute per caller and 5 an hour per subject: low, since each
// call tells whether a card matches a person.
func main() {
	frontdoor.Main("bank-verify", ratelimit.Rule{Limit: 600, Window: time.Minute}, ratelimit.Rule{Limit: 5, Window: time.Hour}, build)
}

// build reads the configuration once, at start: a bad value stops the
// function with a message naming it.
func build(door frontdoor.Door) (fcrt.Function, error) {
	client, err := cloudauth.FromEnv(door.Store) // the account's BANK_CARD_N_META QPS, shared by all instances
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
	h := &Handler{Upstream: client, HashPlaintext: paramType == "md5", Limits: door.Limits}
	h.Limits.Group = budget.BankCardNMeta // beside the budget: one store round trip decides both
	if h.PerCard, h.CardKey, err = cardLimit(); err != nil {
		return fcrt.Function{}, err
	}
	return fcrt.OperationFunction("bank-verify", h.Verify, fcrt.WithMaxBody(maxBody)), nil
}

// defaultPerCard is RATE_LIMIT_PER_CARD's default: a card's owner checks it
// a few times; someone trying names against it needs many more.
var defaultPerCard = ratelimit.Rule{Limit: 10, Window: 24 * time.Hour}

// minCardKey is BANK_CARD_LIMIT_SECRET's shortest length, as for the
// project's other HMAC keys.
const minCardKey = 32

// cardLimit reads RATE_LIMIT_PER_CARD ("<count>/<window>" or off, default
// 10/24h) and BANK_CARD_LIMIT_SECRET, the HMAC key of the hash it counts
// cards by. The key is required when callers are counted (AUTH_MODE jwt or
// apikey) and the limit is on: without it the store would have to hold
// something from which card numbers (16 digits, a check digit) can be
// recovered by trying them all. Every instance must share it.
func cardLimit() (ratelimit.Rule, []byte, error) {
	rule := defaultPerCard
	s, err := config.String("RATE_LIMIT_PER_CARD", "")
	if err != nil {
		return rule, nil, err
	}
	if s != "" {
		if rule, err = ratelimit.ParseRule("RATE_LIMIT_PER_CARD", s); err != nil {
			return rule, nil, err
		}
	}
	secret, err := config.String("BANK_CARD_LIMIT_SECRET", "")
	if err != nil {
		return rule, nil, err
	}
	mode, err := config.String("AUTH_MODE", "")
	if err != nil {
		return rule, nil, err
	}
	switch {
	case rule.Off():
		return rule, nil, nil
	case secret == "" && mode == "none":
		return rule, nil, nil // no caller is counted under AUTH_MODE=none
	case len(secret) < minCardKey:
		return rule, nil, fmt.Errorf("BANK_CARD_LIMIT_SECRET must be set, at least %d characters (for example the output of openssl rand -base64 32), the same in every instance: it keys the hash by which RATE_LIMIT_PER_CARD (%v) counts each card, so that no card number reaches the store; or set RATE_LIMIT_PER_CARD=off", minCardKey, rule)
	}
	return rule, []byte(secret), nil
}
