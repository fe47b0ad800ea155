// Command otp-init sends a one-time password to a wallet user by SMS or
// email (Antom initAuthentication) and checks the code the user typed
// (verifyAuthentication), so that one deployment serves the whole flow. See
// handler.go for the operations, api.go for how a request picks one, and
// docs/configuration.md for the configuration.
package main

import (
	"time"

	"github.com/idverify/fc-kyc/pkg/antom"
	"github.com/idverify/fc-kyc/pkg/fcrt"
	"github.com/idverify/fc-kyc/pkg/frontdoor"
	"github.com/idverify/fc-kyc/pkg/ratelimit"
)

// main serves otp-init behind its front door, whose default limits are
// 600 calls a minute per caller and 10 codes sent an hour per subject.
func main() {
	frontdoor.Main("otp-init", ratelimit.Rule{Limit: 600, Window: time.Minute}, ratelimit.Rule{Limit: 10, Window: time.Hour}, build)
}

// build reads the configuration and parses the keys once, at start: a
// missing or malformed value stops the function with a message naming it.
func build(door frontdoor.Door) (fcrt.Function, error) {
	client, err := antom.FromEnv()
	if err != nil {
		return fcrt.Function{}, err
	}
	return function(&Handler{Upstream: client, Limits: door.Limits}), nil
}

// function is otp-init's Function before its front door (CORS and
// authentication): what the tests run.
func function(h *Handler) fcrt.Function {
	api, event := newOperations(h)
	return fcrt.Function{Name: "otp-init", HTTP: api, Event: event, ErrorShape: failure}
}
