// Package store keeps eKYC transactions from Initialize until their result
// is recorded and delivered, the claims of idempotent starts, and the state
// of the abuse limits and the upstream QPS budget.
//
// One interface, two drivers chosen by STORE_URL (see Open): an embedded
// file-backed driver with no server (the default, for local runs, tests and
// single-instance deployments) and Redis (ApsaraDB for Redis / Tair in the
// same VPC) for deployments. Records expire after Retention, the upstream's
// own retention of a transaction.
//
// The operations are the ones the callback, the reconciler and the limits
// need, each atomic in every driver: a result is recorded once however many
// callbacks, retries and timer runs race for it.
package store

import (
	"context"
	"errors"
	"time"
)

// Retention is how long a record lives: cloudauth-intl keeps a transaction
// for 30 days, after which CheckResult can no longer confirm it.
const Retention = 30 * 24 * time.Hour

// Status is where a transaction is in its life.
type Status string

const (
	// Pending: initialised, no final result yet (Passed absent or P).
	Pending Status = "pending"
	// Passed and Failed: CheckResult gave Passed=Y or Passed=N.
	Passed Status = "passed"
	Failed Status = "failed"
	// Expired: still pending past the reconciler's maximum age.
	Expired Status = "expired"
)

// The kinds of transaction (Transaction.Kind).
const (
	KindEKYC  = "ekyc"
	KindZhima = "zhima"
)

// Final reports whether s is a recorded outcome (no further change).
func (s Status) Final() bool { return s == Passed || s == Failed || s == Expired }

// Transaction is one eKYC transaction. It holds no personal data: the
// merchant's user id only as a hash, the result only as codes.
type Transaction struct {
	TransactionID string    `json:"transactionId"`
	MerchantBizID string    `json:"merchantBizId"`
	UserHash      string    `json:"userHash,omitempty"` // hex SHA-256 of MerchantUserId
	Status        Status    `json:"status"`
	CreatedAt     time.Time `json:"createdAt"`
	// Result is set when Status is final.
	Result *Result `json:"result,omitempty"`
	// Delivery is the state of the result webhook; zero until a result is
	// recorded.
	Delivery Delivery `json:"delivery"`
	// Kind is the flow that started it: KindEKYC (also when empty, as in
	// records written before the field existed) or KindZhima, whose
	// TransactionID is the Zhima biz_no and MerchantBizID the caller's
	// transaction_id. It picks the upstream that confirms the result.
	Kind string `json:"kind,omitempty"`
	// Checks counts the reconciler's checks that left the transaction
	// pending, and NextCheck is when it is due again (see Reschedule).
	// Both are zero until the first such check: a new transaction is due
	// RECONCILE_AFTER after CreatedAt (see Due).
	Checks    int       `json:"checks,omitzero"`
	NextCheck time.Time `json:"nextCheck,omitzero"`
	// Owner is a keyed hash of the caller who started it (the owner of
	// package idempotency: JWT subject, API key or the anonymous caller),
	// never the caller itself; empty when the starting function had no key.
	// Only a transaction with an Owner can be found with Lookup.
	Owner string `json:"owner,omitempty"`
}

// undelivered reports whether t has a recorded result still to deliver:
// what Undelivered lists, and what both drivers index for it.
func (t Transaction) undelivered() bool { return t.Status.Final() && !t.Delivery.Delivered }

// Result is the authoritative outcome, from CheckResult.
type Result struct {
	EventID    string    `json:"eventId"` // stable id of the delivered event
	Passed     string    `json:"passed"`  // Y or N; empty when expired
	SubCode    string    `json:"subCode,omitempty"`
	RecordedAt time.Time `json:"recordedAt"`
}

// Delivery tracks posting a recorded result to RESULT_WEBHOOK_URL.
type Delivery struct {
	Delivered   bool      `json:"delivered"`
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"nextAttempt,omitzero"` // when the timer may post again
	LastError   string    `json:"lastError,omitempty"`
}

// Sentinel errors. Drivers wrap them; test with errors.Is.
var (
	// ErrNotFound: no record with that TransactionId (never created, or expired).
	ErrNotFound = errors.New("store: transaction not found")
	// ErrExists: Create found a record with that TransactionId.
	ErrExists = errors.New("store: transaction already exists")
	// ErrUnavailable wraps a failure to reach the backing store; the caller
	// should answer 5xx so that the sender tries again.
	ErrUnavailable = errors.New("store: unavailable")
	// ErrNotFinal: SetDelivery on a transaction that has no recorded result
	// yet; there is nothing to deliver.
	ErrNotFinal = errors.New("store: transaction has no final result")
)

// Store is implemented by every driver. All methods are safe for concurrent
// use, by goroutines and by several processes sharing the same backing store.
type Store interface {
	Starts   // starts.go: the claims of idempotent starts
	Admitter // admit.go: the abuse limits and the upstream QPS budget
	// Create records a new pending transaction; ErrExists if one with the
	// same TransactionID is already there.
	Create(ctx context.Context, t Transaction) error
	// Get returns a transaction; ErrNotFound when absent.
	Get(ctx context.Context, transactionID string) (Transaction, error)
	// Lookup returns the transaction of the kind (KindEKYC, KindZhima)
	// that owner started under the caller's order id merchantBizID (the
	// newest, if owner reused the id), read through an index that Create
	// writes for every transaction with an Owner. ErrNotFound when there
	// is none, when owner is empty, and when the id is another owner's:
	// the answer never tells those apart.
	Lookup(ctx context.Context, kind, merchantBizID, owner string) (Transaction, error)
	// Finish records a final result once: if the transaction is pending it
	// becomes status with result r and recorded is true; if it is already
	// final nothing changes and recorded is false. ErrNotFound when absent.
	Finish(ctx context.Context, transactionID string, status Status, r Result) (recorded bool, err error)
	// Due lists up to limit pending transactions that are due for a check:
	// first those never checked (Checks == 0) created at or before
	// firstBefore, newest first, whose merchants are likeliest to be
	// waiting; then those whose NextCheck is at or before now, earliest
	// first. Drivers keep both in indexes ordered by those times, so a call
	// reads at most limit records however many transactions are pending.
	// It may return fewer than limit when it meets index entries of
	// records that are gone (it drops them).
	Due(ctx context.Context, firstBefore, now time.Time, limit int) ([]Transaction, error)
	// Reschedule records a check that left a pending transaction pending:
	// Checks grows by one and it is due again at next. A transaction that
	// is already final is left as it is (no error: its result won).
	// ErrNotFound when absent.
	Reschedule(ctx context.Context, transactionID string, next time.Time) error
	// Undelivered lists up to limit final transactions whose result is not
	// delivered and whose NextAttempt is at or before due, oldest first.
	Undelivered(ctx context.Context, due time.Time, limit int) ([]Transaction, error)
	// SetDelivery replaces a final transaction's delivery state.
	SetDelivery(ctx context.Context, transactionID string, d Delivery) error
	// Close releases the driver's resources.
	Close() error
}
