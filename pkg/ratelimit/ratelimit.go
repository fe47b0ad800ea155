// Package ratelimit caps how often billed operations run, per subject (the
// end user a JWT names) and per caller (the credential that called), so that
// a leaked key or a scripted front-end cannot spend the merchant's money
// without bound, and bank-verify cannot be used as an oracle that tells
// whether a card matches a person.
//
// The counts live in the store (store.Store's Hit: Redis in deployments),
// so every instance of a function shares them. Windows are fixed: the N+1th
// call in a window is refused with 429 and a Retry-After of the time left in
// it. Only authenticated HTTP requests are counted (AUTH_MODE jwt or
// apikey; see package auth): an event invocation carries no caller because
// Function Compute has already authorised it, and under AUTH_MODE=none there
// is no one to count by.
//
// When the store cannot be reached the call is refused (503), not let
// through: an unlimited billed call is the failure this package exists to
// prevent.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/auth"
	"github.com/idverify/fc-kyc/pkg/config"
	"github.com/idverify/fc-kyc/pkg/logging"
)

// Counter counts events in fixed windows; store.Store satisfies it.
type Counter interface {
	// Hit counts one event for key in the window of the given length and
	// returns the count in the current window, this one included, and the
	// time until the window ends.
	Hit(ctx context.Context, key string, window time.Duration) (count int64, resetIn time.Duration, err error)
}

// Rule allows Limit events per Window; a zero Limit is no limit.
type Rule struct {
	Limit  int64
	Window time.Duration
}

// Off reports whether r limits nothing.
func (r Rule) Off() bool { return r.Limit <= 0 }

func (r Rule) String() string {
	if r.Off() {
		return "off"
	}
	return strconv.FormatInt(r.Limit, 10) + "/" + r.Window.String()
}

// ParseRule reads "<count>/<window>", such as 5/1h or 600/1m, or "off".
// name is the variable it came from, for the error.
func ParseRule(name, s string) (Rule, error) {
	if s == "off" {
		return Rule{}, nil
	}
	count, window, ok := strings.Cut(s, "/")
	n, err1 := strconv.ParseInt(count, 10, 64)
	w, err2 := time.ParseDuration(window)
	if !ok || err1 != nil || err2 != nil || n <= 0 || w < time.Second {
		return Rule{}, fmt.Errorf("%s=%q is not <count>/<window> such as 5/1h or 600/1m (window at least 1s), or off", name, s)
	}
	return Rule{Limit: n, Window: w}, nil
}

// Limiter applies a function's two rules.
type Limiter struct {
	Counter Counter
	// Function names the function in the counters' keys, so that functions
	// sharing a store keep separate counts.
	Function   string
	PerCaller  Rule
	PerSubject Rule
}

// FromEnv reads RATE_LIMIT_PER_CALLER and RATE_LIMIT_PER_SUBJECT, each
// "<count>/<window>" or "off", defaulting to the function's own rules.
func FromEnv(function string, counter Counter, perCaller, perSubject Rule) (*Limiter, error) {
	l := &Limiter{Counter: counter, Function: function, PerCaller: perCaller, PerSubject: perSubject}
	for _, v := range []struct {
		name string
		rule *Rule
	}{{"RATE_LIMIT_PER_CALLER", &l.PerCaller}, {"RATE_LIMIT_PER_SUBJECT", &l.PerSubject}} {
		s, err := config.String(v.name, "")
		if err != nil {
			return nil, err
		}
		if s == "" {
			continue
		}
		if *v.rule, err = ParseRule(v.name, s); err != nil {
			return nil, err
		}
	}
	if counter == nil && (!l.PerCaller.Off() || !l.PerSubject.Off()) {
		return nil, errors.New("ratelimit: limits are set but there is no counter (store)")
	}
	return l, nil
}

// Allow counts one billed call for ctx's caller, then for subject when it
// is not empty, and returns an apierr error to answer with when either is
// over its rule. Call it after the request has been checked, right before
// the upstream call, so that refused and invalid requests cost nothing.
// A nil Limiter allows everything.
func (l *Limiter) Allow(ctx context.Context, subject string) error {
	if l == nil {
		return nil
	}
	caller, ok := auth.Caller(ctx)
	if !ok {
		return nil // an event, or AUTH_MODE=none: no one to count by
	}
	if err := l.hit(ctx, "caller", caller, l.PerCaller); err != nil {
		return err
	}
	if subject == "" {
		return nil
	}
	return l.hit(ctx, "subject", subject, l.PerSubject)
}

func (l *Limiter) hit(ctx context.Context, scope, id string, r Rule) error {
	if r.Off() {
		return nil
	}
	// The window is part of the key, so a changed rule starts fresh counts.
	key := "rl:" + l.Function + ":" + scope + ":" + strconv.FormatInt(int64(r.Window/time.Second), 10) + ":" + id
	n, resetIn, err := l.Counter.Hit(ctx, key, r.Window)
	if err != nil {
		return &apierr.Error{Code: "ServiceUnavailable", HTTPStatus: http.StatusServiceUnavailable, RetryAfter: time.Second,
			Message: "The store that keeps the abuse limits cannot be reached, so this billed call is not made; try again shortly.", Err: err}
	}
	if n <= r.Limit {
		return nil
	}
	resetIn = max(resetIn, time.Second)
	logging.From(ctx).Warn("rate limit reached", "scope", scope, "rule", r.String(), "count", n)
	who := "this caller"
	if scope == "subject" {
		who = "this user"
	}
	return &apierr.Error{Code: "Throttling.User", HTTPStatus: http.StatusTooManyRequests, RetryAfter: resetIn,
		Message: fmt.Sprintf("Too many requests from %s: at most %d per %v. Try again after the time in Retry-After.", who, r.Limit, r.Window)}
}
