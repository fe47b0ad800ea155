// Package idempotency makes the starts that take a caller-chosen order id
// (ekyc-init's MerchantBizId, zhima-init's transaction_id) idempotent, and
// gives each such id one owner.
//
// Within the window (IDEMPOTENCY_WINDOW, 10 minutes by default) after an id
// is first used:
//
//   - the same owner sending the same request again (a front-end retrying
//     after a lost answer) gets the first answer, without a second billed
//     upstream call and without using a rate-limit slot;
//   - the same owner sending another request under that id, or any other
//     owner sending anything under it, gets 409 IdempotentParameterMismatch
//     before any upstream call;
//   - a repeat that arrives while the first is still waiting for the
//     upstream waits for its answer (up to a few seconds), else gets 409
//     IdempotentProcessing with Retry-After.
//
// The owner is who the front door says called: the JWT subject (AUTH_MODE
// jwt), else the API key (apikey), else one anonymous caller (none, and
// event invocations). Concurrent identical requests make one upstream call:
// the id is claimed atomically in the shared store (store.Starts) before
// the call. A call that fails gives the id back, so a retry may try again.
//
// The store keeps no personal data: the owner and the request only as
// HMAC-SHA256 under IDEMPOTENCY_SECRET (the request holds MerchantUserId,
// identity_param and the like, which a plain hash would let anyone with
// the store guess), the answer only as the upstream's ids and codes.
package idempotency

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/auth"
	"github.com/idverify/fc-kyc/pkg/config"
	"github.com/idverify/fc-kyc/pkg/logging"
	"github.com/idverify/fc-kyc/pkg/store"
)

// DefaultWindow is IDEMPOTENCY_WINDOW's default: far longer than any
// front-end's retries after a lost answer, and short enough that an order
// id a merchant reuses on purpose (a new attempt, later) is free again.
const DefaultWindow = 10 * time.Minute

// MinKeyLen is the shortest IDEMPOTENCY_SECRET key accepted, as for
// CALLBACK_SECRET: 32 characters of a random key.
const MinKeyLen = 32

// Defaults of how a repeat waits for the first request's answer: it polls
// the store, starting at pollFirst and doubling up to pollMax, for at most
// defaultWait (less when the request's deadline is nearer).
const (
	defaultWait = 5 * time.Second
	pollFirst   = 50 * time.Millisecond
	pollMax     = 500 * time.Millisecond
	// deadlineReserve is kept from the request's deadline to answer.
	deadlineReserve = time.Second
)

// Guard applies the rules to one function's starts. A nil *Guard lets
// every call through (no key is configured; see FromEnv).
type Guard struct {
	Store store.Starts
	// Keys are the HMAC keys: the first hashes new claims, every key is
	// tried when matching (rotation).
	Keys   [][]byte
	Window time.Duration
	// Wait bounds how long a repeat waits for the first request's answer.
	Wait time.Duration
}

// FromEnv reads IDEMPOTENCY_WINDOW and the keys: IDEMPOTENCY_SECRET
// (comma-separated, each at least MinKeyLen characters), or, when it is not
// set, keys derived from CALLBACK_SECRET (which every deployment that
// delivers results has). With neither it returns nil, and says so in the
// log: starts are then not deduplicated, and order ids have no owner.
func FromEnv(st store.Starts) (*Guard, error) {
	window, err := config.Duration("IDEMPOTENCY_WINDOW", DefaultWindow)
	if err != nil {
		return nil, err
	}
	keys, err := keysFromEnv()
	if err != nil || keys == nil {
		return nil, err
	}
	return &Guard{Store: st, Keys: keys, Window: window, Wait: defaultWait}, nil
}

func keysFromEnv() ([][]byte, error) {
	for _, name := range []string{"IDEMPOTENCY_SECRET", "CALLBACK_SECRET"} {
		list, err := config.List(name)
		if err != nil {
			return nil, err
		}
		if len(list) == 0 {
			continue
		}
		var keys [][]byte
		for i, k := range list {
			if len(k) < MinKeyLen {
				return nil, fmt.Errorf("%s: key %d of %d is %d characters; each key needs at least %d (for example 32 random bytes, hex-encoded)", name, i+1, len(list), len(k), MinKeyLen)
			}
			if name == "CALLBACK_SECRET" {
				// A key of its own, so that no MAC made here is ever a callback token's.
				m := hmac.New(sha256.New, []byte(k))
				m.Write([]byte("fc-kyc idempotency key v1"))
				keys = append(keys, m.Sum(nil))
			} else {
				keys = append(keys, []byte(k))
			}
		}
		return keys, nil
	}
	logging.From(context.Background()).Warn("IDEMPOTENCY_SECRET and CALLBACK_SECRET are not set: a repeated start is a second upstream call, and caller-chosen order ids have no owner")
	return nil, nil
}

// Scope names one function's ids and the parameter that carries them, as
// the messages name it.
type Scope struct {
	Function string // "ekyc-init", "zhima-init": ids of different functions never meet
	Param    string // "MerchantBizId", "transaction_id"
}

// Do runs call at most once per scope and id within the window, as the
// package says, and returns its answer (replayed reports a stored answer).
// request is what identifies the request: every parameter sent upstream,
// the id included, after defaults are applied; it is hashed, never stored.
// call must do everything that is billed or counted (the rate limits, the
// upstream call) and nothing before it may be.
func Do[T any](ctx context.Context, g *Guard, scope Scope, id string, request any, call func() (T, error)) (answer T, replayed bool, err error) {
	if g == nil {
		answer, err = call()
		return answer, false, err
	}
	body, err := json.Marshal(request)
	if err != nil {
		return answer, false, err
	}
	key := scope.Function + ":" + id
	owner := ownerOf(ctx)
	mine := store.Start{ClaimID: rand.Text(), Owner: g.mac(g.Keys[0], "owner", owner), Fingerprint: g.mac(g.Keys[0], "request|"+scope.Function, string(body))}
	log := logging.From(ctx).With("idempotency_key", key)

	wait := g.Wait
	if d, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(d)-deadlineReserve)
	}
	giveUp := time.Now().Add(wait)
	for poll := pollFirst; ; poll = min(2*poll, pollMax) {
		cur, claimed, err := g.Store.ClaimStart(ctx, key, mine, g.Window)
		if err != nil {
			return answer, false, storeDown(err)
		}
		if claimed {
			return first(ctx, g, key, mine, call)
		}
		switch {
		case !g.matches(cur.Owner, "owner", owner):
			log.Warn("start refused", "reason", "order id of another caller")
			return answer, false, g.mismatch(scope, id, "by another caller")
		case !g.matches(cur.Fingerprint, "request|"+scope.Function, string(body)):
			log.Warn("start refused", "reason", "order id used with another request")
			return answer, false, g.mismatch(scope, id, "with a different request")
		case len(cur.Answer) > 0:
			if err := json.Unmarshal(cur.Answer, &answer); err != nil {
				return answer, false, fmt.Errorf("idempotency: the stored answer of %s is unreadable: %w", key, err)
			}
			log.Info("start repeated: answered from the store", "first_at", cur.ClaimedAt)
			return answer, true, nil
		}
		// The first request is still waiting for the upstream.
		if time.Now().Add(poll).After(giveUp) {
			return answer, false, &apierr.Error{Code: apierr.IdempotentProcessing, RetryAfter: time.Second,
				Message: fmt.Sprintf("A request with this %s is still in progress. Send the same request again shortly to get its answer.", scope.Param)}
		}
		select {
		case <-ctx.Done():
			return answer, false, ctx.Err()
		case <-time.After(poll):
		}
	}
}

// first runs call for the request that claimed key, then stores its
// answer, or gives the key back when it failed. A store failure after the
// call does not fail the answer: the call is billed, and the caller must
// get what it paid for.
func first[T any](ctx context.Context, g *Guard, key string, mine store.Start, call func() (T, error)) (answer T, _ bool, err error) {
	// The answer is stored, or the claim given back, even when ctx has
	// ended: the call was made (or failed).
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	log := logging.From(ctx).With("idempotency_key", key)
	release := func() {
		if rerr := g.Store.ReleaseStart(sctx, key, mine); rerr != nil && !errors.Is(rerr, store.ErrNotClaimed) {
			log.Warn("start not released: the id stays taken until the window ends", "error", rerr.Error())
		}
	}
	returned := false
	defer func() {
		if !returned { // call panicked: give the id back, then go on panicking
			release()
		}
	}()
	answer, err = call()
	returned = true
	if err != nil {
		release()
		return answer, false, err
	}
	if mine.Answer, err = json.Marshal(answer); err == nil {
		err = g.Store.AnswerStart(sctx, key, mine)
	}
	if err != nil {
		log.Error("answer not stored: a repeat of this start will wait, then be told to retry, until the window ends", "error", err.Error())
	}
	return answer, false, nil
}

// storeTimeout bounds storing the answer or releasing the claim.
const storeTimeout = 2 * time.Second

// Owner is the stored form of ctx's caller: the keyed hash that a start's
// claim and a recorded transaction (store.Transaction.Owner) hold, under
// the first key. "" for a nil Guard: without a key there is no owner.
func (g *Guard) Owner(ctx context.Context) string {
	if g == nil {
		return ""
	}
	return g.mac(g.Keys[0], "owner", ownerOf(ctx))
}

// Owners are ctx's caller's stored forms under every key, the first
// first: a record made before a key rotation holds one of the others.
func (g *Guard) Owners(ctx context.Context) []string {
	if g == nil {
		return nil
	}
	out := make([]string, len(g.Keys))
	for i, k := range g.Keys {
		out[i] = g.mac(k, "owner", ownerOf(ctx))
	}
	return out
}

// ownerOf names the caller of ctx: its JWT subject, else its API key, else
// the one anonymous caller.
func ownerOf(ctx context.Context) string {
	if s := auth.Subject(ctx); s != "" {
		return "subject:" + s
	}
	if c, ok := auth.Caller(ctx); ok && c != "" {
		return "caller:" + c
	}
	return "anonymous"
}

// mac is the stored form of a value: hex HMAC-SHA256 under key, of the
// label and the value (the label keeps owners and requests apart).
func (g *Guard) mac(key []byte, label, value string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label + "\x00" + value))
	return hex.EncodeToString(m.Sum(nil))
}

// matches reports whether stored is the mac of value under any key.
func (g *Guard) matches(stored, label, value string) bool {
	ok := false
	for _, k := range g.Keys {
		ok = hmac.Equal([]byte(stored), []byte(g.mac(k, label, value))) || ok
	}
	return ok
}

func (g *Guard) mismatch(scope Scope, id, how string) error {
	return &apierr.Error{Code: apierr.IdempotentParameterMismatch, Message: fmt.Sprintf(
		"The %s %q was used %s within the last %s. Use a new %s for a new start; to get the first answer again, send exactly the same request.",
		scope.Param, id, how, g.Window, scope.Param)}
}

func storeDown(err error) error {
	return &apierr.Error{Code: apierr.UpstreamUnavailable, HTTPStatus: http.StatusServiceUnavailable, RetryAfter: 5 * time.Second,
		Message: "The transaction store is unavailable, so the order id could not be checked; nothing was started. Try again later.", Err: err}
}
