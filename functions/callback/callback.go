package main

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/callbacktoken"
	"github.com/idverify/fc-kyc/pkg/logging"
	"github.com/idverify/fc-kyc/pkg/store"
	"github.com/idverify/fc-kyc/pkg/validate"
)

// The query parameters of the notification: merchantBizId is ours (in the
// CallbackUrl ekyc-init gave), the others are appended by the service.
const (
	paramToken         = "callbackToken"
	paramTransactionID = "transactionId"
	paramPassed        = "passed"
	paramSubCode       = "subCode"
)

// maxTransactionID bounds the TransactionId we pass on to CheckResult; the
// service's ids are about 32 characters.
const maxTransactionID = 64

// Answer is the body of a 200: what happened, without the result itself
// (the caller of this URL needs to know only that it may stop).
type Answer struct {
	Code          string `json:"Code"`
	TransactionId string `json:"TransactionId"`
	// Status is "recorded" (this notification recorded the result),
	// "duplicate" (it was recorded before) or "pending" (Passed=P: the
	// reconciler asks again later).
	Status string `json:"Status"`
}

// ServeHTTP answers the GET notification. In order: the parameters are
// present and merchantBizId is a valid MerchantBizId (400), the token is an
// eKYC callback token of ours, for this MerchantBizId and unexpired
// (403: a forged, altered or replayed-late URL costs no upstream call), the
// transaction is this MerchantBizId's (403), it is not already recorded (200
// at once), then CheckResult decides. A store failure, or a CheckResult
// that fails for want of an answer (throttling, timeout, outage), is 5xx so
// that the sender tries again; the transaction stays pending for the
// reconciler either way. An id the service refuses keeps the service's 4xx.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.isZhimaReturn(r) { // zhima.go: the browser back from Zhima
		s.serveZhimaReturn(w, r)
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		apierr.Write(w, r, apierr.New(apierr.UnsupportedMethod, "The eKYC callback is a GET."))
		return
	}
	a, err := s.callback(r.Context(), r.URL.Query())
	if err != nil {
		apierr.Write(w, r, err)
		return
	}
	apierr.WriteJSON(w, http.StatusOK, a)
}

func (s *Service) callback(ctx context.Context, q url.Values) (Answer, error) {
	bizID, token, txID, err := params(q)
	if err != nil {
		return Answer{}, err
	}
	// A merchantBizId ekyc-init could not have sent is refused before
	// anything else: no token made for another purpose, over another kind
	// of subject, is ever weighed here.
	if err := validate.MerchantBizID(callbacktoken.BizIDParam, bizID); err != nil {
		logging.From(ctx).Warn("callback refused", "reason", "merchantBizId is not a MerchantBizId")
		return Answer{}, err
	}
	if err := s.Tokens.Verify(callbacktoken.EKYCCallback, bizID, token, s.Now()); err != nil {
		logging.From(ctx).Warn("callback refused", "reason", err.Error(), "merchant_biz_id", bizID)
		return Answer{}, forbidden("The callbackToken is not valid for this merchantBizId, or it has expired.")
	}
	// Only now is the TransactionId worth checking: the URL is ours.
	if err := validate.First(validate.MaxLen(paramTransactionID, txID, maxTransactionID), idChars(txID)); err != nil {
		return Answer{}, err
	}
	// passed and subCode are logged as the hint they are, never used.
	logging.From(ctx).Info("callback", "transaction_id", txID, "merchant_biz_id", bizID,
		"hint_passed", short(q.Get(paramPassed)), "hint_sub_code", short(q.Get(paramSubCode)))

	tx, found, err := s.lookup(ctx, bizID, txID)
	if err != nil {
		return Answer{}, err
	}
	if tx.Status.Final() {
		return Answer{Code: "Success", TransactionId: txID, Status: "duplicate"}, nil
	}
	status, passed, subCode, err := s.check(ctx, tx)
	if err != nil {
		return Answer{}, retryable(err)
	}
	if !found {
		if err := s.adopt(ctx, tx); err != nil {
			return Answer{}, err
		}
	}
	if status == store.Pending {
		return Answer{Code: "Success", TransactionId: txID, Status: "pending"}, nil
	}
	tx, recorded, err := s.finish(ctx, tx, status, passed, subCode)
	switch {
	case err != nil:
		return Answer{}, err
	case !recorded: // another notification or the timer got there first
		return Answer{Code: "Success", TransactionId: txID, Status: "duplicate"}, nil
	}
	// Posted now, so the merchant hears at once; a failure only delays it
	// to a timer run, and does not change this answer: the result is safe.
	if s.Webhook != nil {
		s.deliver(ctx, tx)
	}
	return Answer{Code: "Success", TransactionId: txID, Status: "recorded"}, nil
}

// lookup returns the stored transaction, or, when the store has never seen
// it (ekyc-init's write failed, see ekyc-init), a pending one built from the
// notification, with found false. A transaction recorded under another
// MerchantBizId is refused: the token covers that MerchantBizId only.
func (s *Service) lookup(ctx context.Context, bizID, txID string) (tx store.Transaction, found bool, err error) {
	tx, err = s.Store.Get(ctx, txID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Transaction{TransactionID: txID, MerchantBizID: bizID, Status: store.Pending, CreatedAt: s.Now().UTC()}, false, nil
	case err != nil:
		return tx, false, storeFailed(ctx, "Get", txID, err)
	case tx.MerchantBizID != bizID:
		logging.From(ctx).Warn("callback refused", "reason", "transaction of another MerchantBizId", "transaction_id", txID, "merchant_biz_id", bizID)
		return tx, false, forbidden("The transactionId does not belong to this merchantBizId.")
	}
	return tx, true, nil
}

// adopt records a transaction the store did not know, once CheckResult has
// confirmed that the service knows it under this MerchantBizId: a token
// holder cannot make us store ids the service never issued. From then on
// the reconciler knows it too.
func (s *Service) adopt(ctx context.Context, tx store.Transaction) error {
	err := s.Store.Create(ctx, tx)
	switch {
	case errors.Is(err, store.ErrExists): // a concurrent notification created it
		return nil
	case err != nil:
		return storeFailed(ctx, "Create", tx.TransactionID, err)
	}
	logging.From(ctx).Warn("callback for a transaction the store did not know; recorded it now", "transaction_id", tx.TransactionID)
	return nil
}

// params reads the three parameters that must each be there once.
func params(q url.Values) (bizID, token, txID string, err error) {
	get := func(name string) (string, error) {
		v := q[name]
		switch {
		case len(v) == 0 || v[0] == "":
			return "", apierr.Missing(name)
		case len(v) > 1:
			return "", apierr.Invalid(name, "must be given once")
		}
		return v[0], nil
	}
	if bizID, err = get(callbacktoken.BizIDParam); err != nil {
		return
	}
	if token, err = get(paramToken); err != nil {
		return
	}
	txID, err = get(paramTransactionID)
	return
}

// idChars accepts letters, digits, '-' and '_': what the service's ids are
// made of, and nothing that could change the meaning of a store key or a log.
func idChars(v string) error { return validate.IDChars(paramTransactionID, v) }

// short keeps a hint printable and small before it is logged.
func short(v string) string {
	if len(v) > 8 || idChars(v) != nil {
		return "?"
	}
	return v
}

func forbidden(msg string) error {
	return &apierr.Error{Code: "Forbidden.CallbackToken", HTTPStatus: http.StatusForbidden, Message: msg}
}

// retryable answers the notification's sender with a 5xx when our own QPS
// budget refused the CheckResult (429): the sender tries again only on a
// 5xx, and the result must not wait for the timer when it need not.
func retryable(err error) error {
	e := apierr.As(err)
	if apierr.Status(e) != http.StatusTooManyRequests {
		return err
	}
	return &apierr.Error{Code: e.Code, Message: e.Message, RequestID: e.RequestID,
		RetryAfter: e.RetryAfter, HTTPStatus: http.StatusServiceUnavailable, Err: err}
}
