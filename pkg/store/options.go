package store

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Options change how a driver sees time. Deployments leave them zero; the
// conformance suite sets them so that it sees records expire and limit
// windows reset without waiting 30 days.
type Options struct {
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Retention is how long a record stays visible after Create; the
	// package's Retention when zero.
	Retention time.Duration
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o Options) retention() time.Duration {
	if o.Retention > 0 {
		return o.Retention
	}
	return Retention
}

// record is what a driver keeps for one transaction: the transaction and the
// moment it stops being visible. Drivers check ExpiresAt against their clock
// on every read, so an expired record is invisible even before it is swept
// (or, in Redis, before its TTL fires).
type record struct {
	ExpiresAt time.Time   `json:"expiresAt"`
	Tx        Transaction `json:"tx"`
}

func (r record) live(now time.Time) bool { return now.Before(r.ExpiresAt) }

// newRecord checks t for Create and fills what the caller may leave out.
func newRecord(t Transaction, o Options) (record, error) {
	if t.TransactionID == "" {
		return record{}, errors.New("store: Create needs a TransactionID")
	}
	switch t.Status {
	case "":
		t.Status = Pending
	case Pending:
	default:
		return record{}, fmt.Errorf("store: Create records pending transactions only, not %q", t.Status)
	}
	now := o.now()
	if t.CreatedAt.IsZero() {
		t.CreatedAt = now
	}
	return record{ExpiresAt: now.Add(o.retention()), Tx: t}, nil
}

// finish applies a final result to a pending transaction.
func finish(t *Transaction, status Status, r Result, now time.Time) {
	if r.RecordedAt.IsZero() {
		r.RecordedAt = now
	}
	t.Status = status
	t.Result = &r
	t.Delivery = Delivery{}
}

// reschedule applies a check that left t pending; false (nothing to write)
// when t is already final.
func reschedule(t *Transaction, next time.Time) bool {
	if t.Status.Final() {
		return false
	}
	t.Checks++
	t.NextCheck = next
	return true
}

func checkFinal(status Status) error {
	if !status.Final() {
		return fmt.Errorf("store: Finish needs a final status (passed, failed or expired), not %q", status)
	}
	return nil
}

// hashName is the file-safe, fixed-length name of an id or key: ids come
// from upstreams and keys from callers, so neither is trusted as a path.
func hashName(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// unavailable wraps a backend failure so that callers can test it with
// errors.Is(err, ErrUnavailable) and still read the cause.
func unavailable(op string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrUnavailable, op, err)
}

// score is the sort key of a time in both drivers: microseconds since the
// epoch, exact in a Redis sorted-set score (a float64), and 0 for the zero
// time (a result not yet attempted is due at once).
func score(t time.Time) int64 {
	if t.Unix() <= 0 {
		return 0
	}
	return t.UnixMicro()
}

// refName is the name of the Lookup index entry of an owner's order id: a
// hash, so that the index shows neither the id nor the owner's hash. 128
// bits of it are plenty (a collision would only hide one entry, since
// Lookup checks the record it finds) and keep the Redis key short.
func refName(kind, merchantBizID, owner string) string {
	if kind == "" {
		kind = KindEKYC
	}
	return hashName("ref\x00" + kind + "\x00" + owner + "\x00" + merchantBizID)[:32]
}

// ref is a Lookup index entry: the TransactionID it names, and when it
// stops being visible (the record's own expiry).
type ref struct {
	TransactionID string    `json:"transactionId"`
	ExpiresAt     time.Time `json:"expiresAt"`
}

// owns reports whether t is the transaction Lookup was asked for: the index
// entry is a hint, the record is the truth (an entry may be stale, or name
// a record another Create replaced).
func owns(t Transaction, kind, merchantBizID, owner string) bool {
	k := t.Kind
	if k == "" {
		k = KindEKYC
	}
	if kind == "" {
		kind = KindEKYC
	}
	return owner != "" && t.Owner == owner && t.MerchantBizID == merchantBizID && k == kind
}
