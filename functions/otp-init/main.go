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

func main() { fcrt.Main(build) }

// build reads the configuration and parses the keys once, at start: a
// missing or malformed value stops the function with a message naming it.
func build() (fcrt.Function, error) {
	door, err := frontdoor.FromEnv("otp-init",
		ratelimit.Rule{Limit: 600, Window: time.Minute}, // per caller
		ratelimit.Rule{Limit: 10, Window: time.Hour},    // per subject: codes sent
	)
	if err != nil {
		return fcrt.Function{}, err
	}
	cfg, err := antom.ConfigFromEnv()
	if err != nil {
		return fcrt.Function{}, err
	}
	client, err := antom.New(cfg)
	if err != nil {
		return fcrt.Function{}, err
	}
	f := function(&Handler{Upstream: client, Limits: door.Limits})
	f.HTTP = door.Wrap(f.HTTP)
	f.Ready = door.Ready
	return f, nil
}

// function is otp-init's Function before its front door (CORS and
// authentication): what the tests run.
func function(h *Handler) fcrt.Function {
	api, event := newOperations(h)
	return fcrt.Function{Name: "otp-init", HTTP: api, Event: event, ErrorShape: failure}
}
