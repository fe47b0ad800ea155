// Command callback receives the eKYC CallbackUrl notification (and the
// user's browser back from a Zhima certification, zhima.go), confirms the
// result with CheckResult (or the Zhima query), records it once in the
// transaction store, and posts it to the merchant's RESULT_WEBHOOK_URL. Its
// timer invocation reconciles what the notifications missed and re-posts
// what the receiver did not acknowledge. See service.go for how, and
// docs/configuration.md for configuration.
package main

import (
	"fmt"
	"time"

	"github.com/idverify/fc-kyc/pkg/cloudauth"
	"github.com/idverify/fc-kyc/pkg/fcrt"
	"github.com/idverify/fc-kyc/pkg/store"
)

func main() { fcrt.Main(build) }

// build reads the configuration once, at start: a bad value stops the
// function with a message naming it. The store is opened (and Redis
// reached) here too, for the same reason.
func build() (fcrt.Function, error) {
	st, storeReady, err := store.FromEnv()
	if err != nil {
		return fcrt.Function{}, err
	}
	client, err := cloudauth.FromEnv(st) // CheckResult counts against the account's eKYC QPS
	if err != nil {
		return fcrt.Function{}, err
	}
	s := &Service{Upstream: client, Now: time.Now, Store: st}
	if err := s.configure(); err != nil {
		return fcrt.Function{}, err
	}
	if s.Zhima, err = zhimaFromEnv(); err != nil { // zhima.go: optional
		return fcrt.Function{}, err
	}
	if s.Zhima != nil && s.Zhima.SettleAfter >= s.MaxAge {
		return fcrt.Function{}, fmt.Errorf("ZHIMA_SETTLE_AFTER (%s) must be shorter than RECONCILE_MAX_AGE (%s): a certification must settle before it expires", s.Zhima.SettleAfter, s.MaxAge)
	}
	_, event := fcrt.Operation(s.Reconcile, fcrt.WithMaxBody(1<<10))
	return fcrt.Function{Name: "callback", HTTP: s, Event: event, Ready: storeReady}, nil
}
