package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Start is the claim of a caller-chosen order id (an eKYC MerchantBizId, a
// Zhima transaction_id) by the request that first used it, kept for the
// idempotency window (see package idempotency). It holds no personal data:
// the owner and the request only as keyed hashes, the answer only as the
// upstream's ids and codes.
type Start struct {
	// ClaimID is a random id of this claim: only the request that made it
	// may answer or release it.
	ClaimID string `json:"claimId"`
	// Owner is a keyed hash of the caller (JWT subject, API key, or the
	// anonymous caller); Fingerprint a keyed hash of the request.
	Owner       string `json:"owner"`
	Fingerprint string `json:"fingerprint"`
	// Answer is the answer given to the first request, once it has one;
	// empty while its upstream call runs.
	Answer    json.RawMessage `json:"answer,omitempty"`
	ClaimedAt time.Time       `json:"claimedAt"`
}

// ErrNotClaimed: AnswerStart or ReleaseStart on a start that is not (or no
// longer) the caller's claim: it expired, or another request holds it.
var ErrNotClaimed = errors.New("store: the start is not claimed by this request")

// Starts keeps the claims of idempotent starts. Every method is atomic in
// every driver: of two concurrent ClaimStart calls on one key exactly one
// claims.
type Starts interface {
	// ClaimStart records s under key for ttl unless a live start is there;
	// claimed reports which, and current is the start that was there when
	// it was not claimed.
	ClaimStart(ctx context.Context, key string, s Start, ttl time.Duration) (current Start, claimed bool, err error)
	// AnswerStart sets the answer of the claim s.ClaimID holds under key,
	// keeping its expiry; ErrNotClaimed when that claim is not there.
	AnswerStart(ctx context.Context, key string, s Start) error
	// ReleaseStart removes the claim s.ClaimID holds under key, if it has
	// no answer yet (the upstream call failed: a retry may start again);
	// ErrNotClaimed when that claim is not there.
	ReleaseStart(ctx context.Context, key string, s Start) error
}

// startRecord is what a driver keeps for one start: the start and the
// moment it stops being visible (checked on every read, as for records).
type startRecord struct {
	ExpiresAt time.Time `json:"expiresAt"`
	Start     Start     `json:"start"`
}

func (r startRecord) live(now time.Time) bool { return now.Before(r.ExpiresAt) }

func checkStart(key string, s Start, ttl time.Duration) error {
	switch {
	case key == "":
		return errors.New("store: ClaimStart needs a key")
	case s.ClaimID == "":
		return errors.New("store: ClaimStart needs a ClaimID")
	case ttl <= 0:
		return fmt.Errorf("store: ClaimStart needs a positive ttl, not %v", ttl)
	case len(s.Answer) > 0:
		return errors.New("store: ClaimStart records a claim without an answer; see AnswerStart")
	}
	return nil
}

// owns reports whether cur is the claim s made.
func (s Start) owns(cur Start) bool { return cur.ClaimID == s.ClaimID }
