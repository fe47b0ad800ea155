// Package frontdoor is what every function that callers reach directly (the
// init functions and result) reads first, in one place: the wrapper that
// stands before its HTTP API, in one order (CORS first: a browser's
// preflight carries no credentials, and a refused origin costs nothing;
// then caller authentication, AUTH_MODE), the store its limits are counted
// in, and those limits. All are read from the environment once, at start,
// and a bad value stops the function with a message naming it.
//
// Event invocations do not pass through the wrapper: Function Compute has
// already authorised them.
package frontdoor

import (
	"net/http"

	"github.com/idverify/fc-kyc/pkg/auth"
	"github.com/idverify/fc-kyc/pkg/cors"
	"github.com/idverify/fc-kyc/pkg/ratelimit"
	"github.com/idverify/fc-kyc/pkg/store"
)

// Door is a function's front door. Its Store and Limits are the
// function's to use; Build puts the rest on the function itself.
type Door struct {
	// Store is STORE_URL's store (transactions, claims, limit counters).
	Store store.Store
	// Limits are the function's caller limits, counted in Store.
	Limits *ratelimit.Limiter
	// wrap puts CORS and authentication before an HTTP API; ready reports
	// whether Store answers (fcrt.Function.Ready).
	wrap  func(http.Handler) http.Handler
	ready func() error
}

// fromEnv reads AUTH_MODE (and its keys), CORS_ALLOWED_ORIGINS, STORE_URL
// and RATE_LIMIT_PER_CALLER / RATE_LIMIT_PER_SUBJECT, whose defaults are the
// function's own rules; see packages auth, cors, store and ratelimit.
func fromEnv(function string, perCaller, perSubject ratelimit.Rule) (Door, error) {
	authenticate, err := auth.FromEnv()
	if err != nil {
		return Door{}, err
	}
	allowOrigins, err := cors.FromEnv()
	if err != nil {
		return Door{}, err
	}
	d := Door{wrap: func(api http.Handler) http.Handler { return allowOrigins(authenticate(api)) }}
	if d.Store, d.ready, err = store.FromEnv(); err != nil {
		return Door{}, err
	}
	if d.Limits, err = ratelimit.FromEnv(function, d.Store, perCaller, perSubject); err != nil {
		return Door{}, err
	}
	return d, nil
}
