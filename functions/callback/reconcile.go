package main

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/logging"
	"github.com/idverify/fc-kyc/pkg/store"
)

// Reconciliation defaults.
const (
	defaultReconcileAfter = 10 * time.Minute
	// defaultMaxAge is a day short of the 30-day retention, both upstream
	// (after which CheckResult can no longer confirm anything) and in the
	// store (after which the record is gone). A transaction still pending
	// then was abandoned; marking it expired a day early leaves a day of
	// timer runs, an outage included, to record that and post the
	// "expired" event before both sides forget the transaction.
	defaultMaxAge = store.Retention - 24*time.Hour
	// defaultBatch bounds the CheckResult calls of one run, well inside the
	// eKYC QPS limit (10/s per account, shared with ekyc-init) and the
	// default 10 s deadline; the run reads no more pending transactions
	// than that from the store.
	defaultBatch = 50
	// backoffFactor: the k-th check that finds a transaction still pending
	// schedules the next one RECONCILE_AFTER × backoffFactor^k later, so
	// a transaction is asked about soon after its callback should have
	// come (when a lost callback is likeliest), then ever more rarely: with
	// the defaults at 10 min, 50 min, 3.5 h, 14 h, 2.4 d, 9.5 d and at the
	// maximum age, seven CheckResult calls over 29 days for an abandoned
	// transaction.
	backoffFactor = 4
	// answerReserve is the time a run keeps, at the end, to record its last
	// delivery outcome and answer.
	answerReserve = 250 * time.Millisecond
)

// ReconcileRequest is the timer's payload; a run needs no parameter.
type ReconcileRequest struct{}

// ReconcileReport says what one run did; it is the timer invocation's
// answer and its log line.
type ReconcileReport struct {
	Listed       int  `json:"listed"`       // pending transactions due for a check, at most the batch
	Checked      int  `json:"checked"`      // CheckResult (or Zhima query) calls
	Recorded     int  `json:"recorded"`     // final results recorded by this run
	StillPending int  `json:"stillPending"` // Passed=P, due again later (backoff)
	Expired      int  `json:"expired"`      // marked expired past the maximum age
	Errors       int  `json:"errors"`       // CheckResult or store failures, retried later
	Delivered    int  `json:"delivered"`    // events acknowledged by the receiver
	NotDelivered int  `json:"notDelivered"` // posts that failed, retried with backoff
	Unfinished   bool `json:"unfinished"`   // the batch or the deadline stopped the run early
}

// Reconcile is the timer run: confirm what the callbacks missed, expire the
// abandoned, then post every result not yet acknowledged (those it has just
// recorded among them). It spends at most half its time confirming, so
// deliveries always get their turn.
//
// It asks the store only for the transactions that are due (store.Due), at
// most RECONCILE_BATCH: first those never checked whose RECONCILE_AFTER has
// passed, newest first (a lost callback's merchant is waiting), then those
// whose next check has come, by due time. Each check that leaves a
// transaction pending sets its next one further out (see backoffFactor and
// nextCheck), so long-abandoned transactions come up rarely and never crowd
// out recent ones, however many are pending. A transaction past the
// maximum age is asked once more, then recorded or expired, so no late
// result is thrown away. eKYC transactions and Zhima certifications share
// the schedule; check picks the upstream by kind.
func (s *Service) Reconcile(ctx context.Context, _ ReconcileRequest) (ReconcileReport, error) {
	var rep ReconcileReport
	now := s.Now()
	half := time.Now().Add(timeLeft(ctx) / 2)

	due, err := s.Store.Due(ctx, now.Add(-s.ReconcileAfter), now, s.Batch)
	if err != nil {
		return rep, storeFailed(ctx, "Due", "", err)
	}
	rep.Listed = len(due)
	rep.Unfinished = len(due) == s.Batch

checks:
	for _, tx := range due {
		if time.Now().After(half) || ctx.Err() != nil {
			rep.Unfinished = true
			break
		}
		rep.Checked++
		expiring := now.Sub(tx.CreatedAt) >= s.MaxAge
		status, passed, subCode, err := s.check(ctx, tx)
		switch {
		case err != nil && expiring && apierr.Status(err) < 500:
			// The service no longer knows it (or refuses it for good):
			// nothing to confirm any more.
			status, passed, subCode = store.Expired, "", ""
		case err != nil && apierr.Status(err) == http.StatusServiceUnavailable:
			// Throttled or unreachable: more calls now would only add to
			// it. What is left stays due; the next run starts over.
			rep.Errors++
			rep.Unfinished = true
			break checks
		case err != nil:
			// Asked again later, on the same backoff as a pending one, so
			// that a transaction the upstream keeps refusing cannot take
			// every run's batch.
			rep.Errors++
			s.reschedule(ctx, tx, now, &rep)
			continue
		case status == store.Pending && expiring:
			status, passed, subCode = store.Expired, "", ""
		case status == store.Pending:
			rep.StillPending++
			s.reschedule(ctx, tx, now, &rep)
			continue
		}
		_, recorded, err := s.finish(ctx, tx, status, passed, subCode)
		switch {
		case err != nil:
			rep.Errors++
		case recorded && status == store.Expired:
			rep.Expired++
		case recorded:
			rep.Recorded++
		}
	}
	s.redeliver(ctx, &rep)
	logging.From(ctx).Info("reconciled", "report", rep)
	return rep, nil
}

// nextCheck is when a transaction that a check at now found still pending
// (after tx.Checks earlier such checks) is due again: RECONCILE_AFTER ×
// backoffFactor^(Checks+1) later, but no later than its maximum age, when
// it is asked a last time and expired.
func (s *Service) nextCheck(tx store.Transaction, now time.Time) time.Time {
	wait := s.ReconcileAfter
	for range tx.Checks + 1 {
		if wait >= s.MaxAge {
			break
		}
		wait *= backoffFactor
	}
	next := now.Add(wait)
	if last := tx.CreatedAt.Add(s.MaxAge); next.After(last) && now.Before(last) {
		next = last
	}
	return next
}

// reschedule records a check that left tx pending; a store failure only
// means it is asked again sooner.
func (s *Service) reschedule(ctx context.Context, tx store.Transaction, now time.Time, rep *ReconcileReport) {
	if err := s.Store.Reschedule(ctx, tx.TransactionID, s.nextCheck(tx, now)); err != nil && !errors.Is(err, store.ErrNotFound) {
		_ = storeFailed(ctx, "Reschedule", tx.TransactionID, err)
		rep.Errors++
	}
}

// redeliver posts the recorded results that are due, oldest first, until
// the batch or the deadline ends.
func (s *Service) redeliver(ctx context.Context, rep *ReconcileReport) {
	if s.Webhook == nil {
		return
	}
	due, err := s.Store.Undelivered(ctx, s.Now(), s.Batch)
	if err != nil {
		_ = storeFailed(ctx, "Undelivered", "", err)
		rep.Errors++
		return
	}
	for _, tx := range due {
		// Stop while the run can still record the last outcome and answer.
		if timeLeft(ctx) < answerReserve {
			rep.Unfinished = true
			return
		}
		if s.deliver(ctx, tx) {
			rep.Delivered++
		} else {
			rep.NotDelivered++
		}
	}
	rep.Unfinished = rep.Unfinished || len(due) == s.Batch
}

// timeLeft is the time until ctx's deadline (a minute when it has none),
// on the wall clock: the deadline is real time even when s.Now is not.
func timeLeft(ctx context.Context) time.Duration {
	d, ok := ctx.Deadline()
	if !ok {
		return time.Minute
	}
	return time.Until(d)
}
