// Package ratelimit caps how often billed operations run, per subject (the
// end user a JWT names), per caller (the credential that called) and, where
// a function asks for it, per other key (bank-verify: a keyed hash of the
// card), so that a leaked key or a scripted front-end cannot spend the
// merchant's money without bound, and bank-verify cannot be used as an
// oracle that tells whether a card matches a person.
//
// A rule "N per W" is a generic cell rate (see store.Cell): N calls at once,
// then one more every W/N. Unlike the fixed windows it replaces, no window
// edge lets 2N through in an instant; over any stretch of length W at most
// 2N-1 pass, and N per W in the long run.
//
// The state lives in the store (store.Admitter: Redis in deployments), so
// every instance of a function shares it, and a call's limits are decided
// together, all or nothing: a call refused by one rule uses up none of the
// others. Functions whose billed call counts against an upstream QPS budget
// (package budget) hand their limits to the budget with Defer, and the
// budget decides them in the same store round trip as its own slot; the
// others call Allow.
//
// A slot is spent only by a call the upstream bills: when the call ends in
// an error that provably cost nothing upstream (never sent, throttled,
// answered 503), the handler gives the slots back (Hold.GiveBack).
//
// Only authenticated HTTP requests are counted (AUTH_MODE jwt or apikey;
// see package auth): an event invocation carries no caller because
// Function Compute has already authorised it, and under AUTH_MODE=none
// there is no one to count by.
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
	"sync"
	"time"

	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/auth"
	"github.com/idverify/fc-kyc/pkg/config"
	"github.com/idverify/fc-kyc/pkg/logging"
	"github.com/idverify/fc-kyc/pkg/store"
)

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

// cell is r as the store's generic cell rate: Limit at once, one more every
// Window/Limit.
func (r Rule) cell(key string) store.Cell {
	return store.Cell{Key: key, Every: max(r.Window/time.Duration(r.Limit), time.Microsecond), Burst: r.Limit}
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

// Limiter applies a function's rules.
type Limiter struct {
	Store store.Admitter
	// Function names the function in the keys, so that functions sharing a
	// store keep separate counts.
	Function string
	// Group is where the limits live in the store (one hash slot on a
	// Redis Cluster): for a function whose billed call counts against an
	// upstream QPS budget, that budget's product, so that the budget
	// decides both in one script; the function's name when empty.
	Group      string
	PerCaller  Rule
	PerSubject Rule
}

// Key is one more thing a call is counted by, besides its caller and
// subject: bank-verify counts each card (by a keyed hash, never the number).
type Key struct {
	Scope string // names the key's kind in the store and in logs ("card")
	ID    string // the value counted; no personal data (hash it first)
	Rule  Rule
	Who   string // for the refusal: "this card"
}

// FromEnv reads RATE_LIMIT_PER_CALLER and RATE_LIMIT_PER_SUBJECT, each
// "<count>/<window>" or "off", defaulting to the function's own rules.
func FromEnv(function string, st store.Admitter, perCaller, perSubject Rule) (*Limiter, error) {
	l := &Limiter{Store: st, Function: function, PerCaller: perCaller, PerSubject: perSubject}
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
	if st == nil && (!l.PerCaller.Off() || !l.PerSubject.Off()) {
		return nil, errors.New("ratelimit: limits are set but there is no store to count in (STORE_URL)")
	}
	return l, nil
}

// Allow decides ctx's call now, by its caller, subject (when not empty) and
// the extra keys, in one store round trip, and returns an apierr error to
// answer with when a rule refuses it. Call it after the request has been
// checked, right before the upstream call, so that refused and invalid
// requests cost nothing. The Hold gives the slots back if the upstream does
// not bill the call. A nil Limiter allows everything.
func (l *Limiter) Allow(ctx context.Context, subject string, also ...Key) (*Hold, error) {
	h := l.hold(ctx, subject, also)
	return h, h.Decide(ctx)
}

// Defer is Allow for a call whose upstream attempts pass through the QPS
// budget (budget.Budget.Wait, which cloudauth.FromEnv installs): the limits
// ride on ctx and are decided with the first attempt's budget slot, in the
// same store round trip. Use the returned context for the upstream call.
func (l *Limiter) Defer(ctx context.Context, subject string, also ...Key) (context.Context, *Hold) {
	h := l.hold(ctx, subject, also)
	if h == nil {
		return ctx, nil
	}
	return context.WithValue(ctx, holdKey{}, h), h
}

// Held returns the limits Defer put on ctx, or nil.
func Held(ctx context.Context) *Hold {
	h, _ := ctx.Value(holdKey{}).(*Hold)
	return h
}

type holdKey struct{}

// hold collects the cells that count ctx's call; nil when none applies.
func (l *Limiter) hold(ctx context.Context, subject string, also []Key) *Hold {
	if l == nil {
		return nil
	}
	caller, ok := auth.Caller(ctx)
	if !ok {
		return nil // an event, or AUTH_MODE=none: no one to count by
	}
	h := &Hold{store: l.Store, group: cmpOr(l.Group, l.Function)}
	add := func(scope, id, who string, r Rule) {
		if r.Off() || id == "" {
			return
		}
		h.cells = append(h.cells, r.cell(l.Function+":"+scope+":"+id))
		h.keys = append(h.keys, Key{Scope: scope, Rule: r, Who: who})
	}
	add("caller", caller, "this caller", l.PerCaller)
	add("subject", subject, "this user", l.PerSubject)
	for _, k := range also {
		add(k.Scope, k.ID, k.Who, k.Rule)
	}
	if len(h.cells) == 0 {
		return nil
	}
	return h
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Hold is one call's limits: decided once (by Allow, or by the budget with
// the first attempt), and given back if the upstream did not bill the call.
// Its methods are safe on a nil Hold (nothing to count).
type Hold struct {
	store store.Admitter
	group string
	cells []store.Cell
	keys  []Key // for messages, parallel to cells

	mu    sync.Mutex
	spent bool // decided and admitted, not given back
	done  bool // decided (admitted or refused)
}

// Pending returns the group and cells while the hold is not decided yet.
func (h *Hold) Pending() (group string, cells []store.Cell, ok bool) {
	if h == nil {
		return "", nil, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done {
		return "", nil, false
	}
	return h.group, h.cells, true
}

// Decide decides the hold alone (one store round trip), if it is pending.
func (h *Hold) Decide(ctx context.Context) error {
	group, cells, ok := h.Pending()
	if !ok {
		return nil
	}
	a, err := h.store.Admit(ctx, group, cells)
	return h.Settle(ctx, a, err)
}

// Settle records the store's decision on the hold's cells (an Admit of
// exactly those, or of those followed by others): nil when admitted, the
// answer to give when a rule refused or the store failed. A refusal by a
// cell past the hold's own is not the hold's to answer: it is left to the
// caller, and the hold stays pending.
func (h *Hold) Settle(ctx context.Context, a store.Admission, err error) error {
	if h == nil {
		return nil
	}
	if err != nil {
		return unavailable(err)
	}
	if !a.OK && a.Refused >= len(h.cells) {
		return nil
	}
	h.mu.Lock()
	h.done, h.spent = true, a.OK
	h.mu.Unlock()
	if a.OK {
		return nil
	}
	k := h.keys[a.Refused]
	logging.From(ctx).Warn("rate limit reached", "scope", k.Scope, "rule", k.Rule.String())
	return &apierr.Error{Code: "Throttling.User", HTTPStatus: http.StatusTooManyRequests, RetryAfter: max(a.Wait, time.Second),
		Message: fmt.Sprintf("Too many requests from %s: at most %d per %v. Try again after the time in Retry-After.", k.Who, k.Rule.Limit, k.Rule.Window)}
}

// unavailable is the answer when the store that keeps the limits cannot be
// reached: the billed call is not made.
func unavailable(err error) error {
	return &apierr.Error{Code: "ServiceUnavailable", HTTPStatus: http.StatusServiceUnavailable, RetryAfter: time.Second,
		Message: "The store that keeps the abuse limits cannot be reached, so this billed call is not made; try again shortly.", Err: err}
}

// giveBackTimeout bounds the give-back's store call: it runs after the
// upstream answered, often with the request's deadline spent.
const giveBackTimeout = 2 * time.Second

// GiveBack returns the slots of an admitted call that the upstream did not
// bill (one store round trip, on that failure path only). It is best
// effort: a failure is logged, and the slots then come back with time, as
// spent ones do.
func (h *Hold) GiveBack(ctx context.Context) {
	if h == nil {
		return
	}
	h.mu.Lock()
	spent := h.spent
	h.spent = false
	h.mu.Unlock()
	if !spent {
		return
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), giveBackTimeout)
	defer cancel()
	if err := h.store.GiveBack(sctx, h.group, h.cells); err != nil {
		logging.From(ctx).Warn("rate limit slots not given back", "error", err.Error())
	}
}
