package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/callbacktoken"
	"github.com/idverify/fc-kyc/pkg/cloudauth"
	"github.com/idverify/fc-kyc/pkg/logging"
	"github.com/idverify/fc-kyc/pkg/store"
	"github.com/idverify/fc-kyc/pkg/webhook"
)

// Checker is the upstream call; *cloudauth.Client implements it.
type Checker interface {
	CheckResult(context.Context, cloudauth.CheckResultRequest) (*cloudauth.CheckResultResponse, error)
}

// Service confirms, records and delivers eKYC results. The callback
// (callback.go) and the timer (reconcile.go) both go through check and
// finish, so a result is confirmed the same way whichever finds it first,
// and the store makes sure it is recorded, and posted, once.
type Service struct {
	Upstream Checker
	Store    store.Store
	Tokens   *callbacktoken.Signer
	// Webhook posts recorded results; nil when RESULT_WEBHOOK_URL is unset.
	Webhook *Poster
	Now     func() time.Time

	// Zhima confirms Zhima certifications (zhima.go); nil: eKYC only.
	Zhima *Zhima

	// ReconcileAfter is the age past which a pending transaction is asked
	// about; its callback has had time to arrive by then.
	ReconcileAfter time.Duration
	// MaxAge is the age past which a still-pending transaction is marked
	// expired (see defaultMaxAge).
	MaxAge time.Duration
	// Batch bounds the CheckResult calls and the deliveries of one timer run.
	Batch int
}

// eventID is the id of the event for a transaction's result: derived from
// the TransactionId alone, so every process that records or posts that
// result names it the same, and a receiver can dedupe on it.
func eventID(transactionID string) string {
	h := sha256.Sum256([]byte("ekyc.result|" + transactionID))
	return "evt_" + hex.EncodeToString(h[:16])
}

// kind is what the callback does differently for each kind of transaction
// (store.Transaction.Kind): ask the upstream that has the result, and post
// it under its event type. The rest (record once, deliver, reconcile) is
// the same for all.
type kind struct {
	check     func(s *Service, ctx context.Context, tx store.Transaction) (status store.Status, passed, subCode string, err error)
	eventType string
}

var kinds = map[string]kind{
	store.KindEKYC:  {check: (*Service).checkEKYC, eventType: webhook.EventType},
	store.KindZhima: {check: (*Service).checkZhima, eventType: ZhimaEventType}, // zhima.go
}

// kindOf is tx's kind; records without one (written before the field
// existed) are eKYC.
func kindOf(tx store.Transaction) kind {
	if k, ok := kinds[tx.Kind]; ok {
		return k
	}
	return kinds[store.KindEKYC]
}

// check asks the upstream for tx's result.
func (s *Service) check(ctx context.Context, tx store.Transaction) (status store.Status, passed, subCode string, err error) {
	return kindOf(tx).check(s, ctx, tx)
}

// checkEKYC asks CheckResult for tx's result: Passed for Y, Failed for N,
// Pending for P (the user has not finished; the timer asks again). The
// result in the callback's query is never used: CheckResult is the only
// authority. Only Passed and SubCode are read: the rest of the answer
// (document and face data) is personal data and is never kept or logged.
func (s *Service) checkEKYC(ctx context.Context, tx store.Transaction) (status store.Status, passed, subCode string, err error) {
	res, err := s.Upstream.CheckResult(ctx, cloudauth.CheckResultRequest{
		MerchantBizId: tx.MerchantBizID, TransactionId: tx.TransactionID,
	})
	if err != nil {
		e := apierr.As(err)
		logging.From(ctx).Warn("CheckResult failed", "transaction_id", tx.TransactionID, "merchant_biz_id", tx.MerchantBizID,
			"code", e.Code, "upstream_request_id", e.RequestID)
		return store.Pending, "", "", err
	}
	switch res.Result.Passed {
	case "Y":
		status = store.Passed
	case "N":
		status = store.Failed
	default: // P; the client refuses any other value
		status = store.Pending
	}
	return status, res.Result.Passed, res.Result.SubCode, nil
}

// finish records a final status once. The caller posts the result when
// this call recorded it.
func (s *Service) finish(ctx context.Context, tx store.Transaction, status store.Status, passed, subCode string) (store.Transaction, bool, error) {
	r := store.Result{EventID: eventID(tx.TransactionID), Passed: passed, SubCode: subCode, RecordedAt: s.Now().UTC()}
	recorded, err := s.Store.Finish(ctx, tx.TransactionID, status, r)
	if err != nil {
		return tx, false, storeFailed(ctx, "Finish", tx.TransactionID, err)
	}
	logging.From(ctx).Info("result", "transaction_id", tx.TransactionID, "merchant_biz_id", tx.MerchantBizID,
		"status", string(status), "sub_code", subCode, "recorded", recorded)
	if recorded {
		tx.Status, tx.Result, tx.Delivery = status, &r, store.Delivery{}
	}
	return tx, recorded, nil
}

// storeFailed logs a store failure and turns it into a 503 that says the
// sender may try again: nothing was recorded, the transaction stays pending.
func storeFailed(ctx context.Context, op, transactionID string, err error) error {
	logging.From(ctx).Error("store failed", "op", op, "transaction_id", transactionID, "error", err.Error())
	return &apierr.Error{
		Code:       apierr.UpstreamUnavailable,
		HTTPStatus: 503,
		RetryAfter: 30 * time.Second,
		Message:    "The transaction store is unavailable; nothing was recorded. Try again later: the result is not lost.",
		Err:        err,
	}
}
