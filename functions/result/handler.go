package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/auth"
	"github.com/idverify/fc-kyc/pkg/idempotency"
	"github.com/idverify/fc-kyc/pkg/logging"
	"github.com/idverify/fc-kyc/pkg/ratelimit"
	"github.com/idverify/fc-kyc/pkg/store"
	"github.com/idverify/fc-kyc/pkg/validate"
)

const (
	maxBody = 1 << 10
	// maxZhimaID bounds a Zhima transaction_id (its documented maximum,
	// 32) and biz_no, as the callback bounds them.
	maxZhimaID = 64
	// MaxWait is the longest a caller may wait for a result, in seconds:
	// within every HTTP gateway's idle timeout, and short enough that a
	// waiting request holds an instance's slot only briefly.
	MaxWait = 20
	// Polling the store while waiting: first after pollFirst, then twice
	// as long each time up to pollMax. One read of one record each: a
	// 20 s wait costs some 25 reads.
	pollFirst = 200 * time.Millisecond
	pollMax   = time.Second
	// deadlineReserve is kept from the invocation's deadline to answer.
	deadlineReserve = time.Second
)

// NotFound is the code of the one answer for an id that is unknown, expired,
// not readable by this caller, or another caller's: they are never told
// apart, so nobody can probe for others' transactions.
const NotFound = "TransactionNotFound"

// Request names one transaction by exactly one of the ids the init
// functions answered: MerchantBizId (ekyc-init), transaction_id or biz_no
// (zhima-init). Wait, in seconds (0 to MaxWait), asks to hold the answer
// until the result is recorded, when it is still pending.
type Request struct {
	MerchantBizId string `json:"MerchantBizId"`
	TransactionID string `json:"transaction_id"`
	BizNo         string `json:"biz_no"`
	Wait          int    `json:"wait"`
}

// Response is the recorded state of the transaction. Passed and SubCode
// are the upstream's, as the result event carries them (eKYC: CheckResult's
// Passed, Y or N, and SubCode; Zhima: the query's passed, true or false),
// empty while pending and when expired; RecordedAt is null while pending.
type Response struct {
	Kind          string     `json:"kind"`          // ekyc or zhima
	MerchantBizID string     `json:"merchantBizId"` // eKYC MerchantBizId, Zhima transaction_id
	TransactionID string     `json:"transactionId"` // eKYC TransactionId, Zhima biz_no
	Status        string     `json:"status"`        // pending, passed, failed, expired
	Passed        string     `json:"passed"`
	SubCode       string     `json:"subCode"`
	RecordedAt    *time.Time `json:"recordedAt"`
}

// Reader is what the handler needs of the store.
type Reader interface {
	Get(ctx context.Context, transactionID string) (store.Transaction, error)
	Lookup(ctx context.Context, kind, merchantBizID, owner string) (store.Transaction, error)
}

// Handler runs the operation.
type Handler struct {
	Store Reader
	// Owners makes the caller's owner hashes (every key, for rotation).
	Owners *idempotency.Guard
	// Limits caps reads per caller and per JWT subject; nil is no limit.
	Limits *ratelimit.Limiter
}

// Result answers the transaction's recorded state, after waiting up to
// req.Wait seconds for a pending one to become final.
func (h *Handler) Result(ctx context.Context, req Request) (Response, error) {
	kind, id, err := check(req)
	if err != nil {
		return Response{}, err
	}
	if _, err := h.Limits.Allow(ctx, auth.Subject(ctx)); err != nil {
		return Response{}, err
	}
	owners := h.Owners.Owners(ctx)
	tx, err := h.find(ctx, kind, id, req.BizNo != "", owners)
	if err != nil {
		return Response{}, err
	}
	if req.Wait > 0 && tx.Status == store.Pending {
		tx, err = h.wait(ctx, tx, time.Duration(req.Wait)*time.Second)
		if err != nil {
			return Response{}, err
		}
	}
	return answer(tx), nil
}

// check applies the rules: exactly one id, of the characters and length
// its init function allows; a wait from 0 to MaxWait.
func check(req Request) (kind, id string, err error) {
	n := 0
	for _, v := range []string{req.MerchantBizId, req.TransactionID, req.BizNo} {
		if v != "" {
			n++
		}
	}
	switch {
	case n == 0:
		return "", "", apierr.Missing("MerchantBizId")
	case n > 1:
		return "", "", apierr.Invalid("MerchantBizId", "send exactly one of MerchantBizId (eKYC), transaction_id or biz_no (Zhima)")
	case req.Wait < 0 || req.Wait > MaxWait:
		return "", "", apierr.Invalid("wait", "must be a whole number of seconds from 0 to "+strconv.Itoa(MaxWait))
	case req.MerchantBizId != "":
		return store.KindEKYC, req.MerchantBizId, validate.MerchantBizID("MerchantBizId", req.MerchantBizId)
	case req.TransactionID != "":
		return store.KindZhima, req.TransactionID, validate.First(
			validate.MaxLen("transaction_id", req.TransactionID, maxZhimaID), validate.IDChars("transaction_id", req.TransactionID))
	default:
		return store.KindZhima, req.BizNo, validate.First(
			validate.MaxLen("biz_no", req.BizNo, maxZhimaID), validate.IDChars("biz_no", req.BizNo))
	}
}

// find reads the transaction if one of owners started it; every other case
// is the same NotFound.
func (h *Handler) find(ctx context.Context, kind, id string, byBizNo bool, owners []string) (store.Transaction, error) {
	if byBizNo {
		tx, err := h.Store.Get(ctx, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return tx, notFound()
		case err != nil:
			return tx, storeDown(err)
		case tx.Kind != store.KindZhima || !ownedBy(tx, owners):
			return store.Transaction{}, notFound()
		}
		return tx, nil
	}
	for _, o := range owners {
		tx, err := h.Store.Lookup(ctx, kind, id, o)
		if err == nil {
			return tx, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return tx, storeDown(err)
		}
	}
	return store.Transaction{}, notFound()
}

func ownedBy(tx store.Transaction, owners []string) bool {
	ok := false
	for _, o := range owners {
		ok = tx.Owner != "" && subtle.ConstantTimeCompare([]byte(tx.Owner), []byte(o)) == 1 || ok
	}
	return ok
}

// wait re-reads a pending transaction until it is final, for at most d
// (less when the invocation's deadline is nearer). A store failure while
// waiting ends the wait with what was read before: the caller asks again.
func (h *Handler) wait(ctx context.Context, tx store.Transaction, d time.Duration) (store.Transaction, error) {
	if dl, ok := ctx.Deadline(); ok {
		d = min(d, time.Until(dl)-deadlineReserve)
	}
	end := time.NewTimer(max(d, 0))
	defer end.Stop()
	for poll := pollFirst; ; poll = min(2*poll, pollMax) {
		select {
		case <-ctx.Done():
			return tx, ctx.Err()
		case <-end.C:
			return tx, nil
		case <-time.After(poll):
		}
		cur, err := h.Store.Get(ctx, tx.TransactionID)
		if err != nil {
			logging.From(ctx).Warn("result: a read while waiting failed; answering the last state read", "transaction_id", tx.TransactionID, "error", err.Error())
			return tx, nil
		}
		if cur.Status != tx.Status {
			return cur, nil
		}
	}
}

func answer(tx store.Transaction) Response {
	r := Response{Kind: tx.Kind, MerchantBizID: tx.MerchantBizID, TransactionID: tx.TransactionID, Status: string(tx.Status)}
	if r.Kind == "" {
		r.Kind = store.KindEKYC
	}
	if tx.Result != nil {
		r.Passed, r.SubCode = tx.Result.Passed, tx.Result.SubCode
		at := tx.Result.RecordedAt.UTC()
		r.RecordedAt = &at
	}
	return r
}

func notFound() error {
	return &apierr.Error{Code: NotFound, HTTPStatus: http.StatusNotFound,
		Message: "No transaction of yours has this id. Send the id the init function answered, with the credentials that started it; results are kept 30 days."}
}

func storeDown(err error) error {
	return &apierr.Error{Code: apierr.UpstreamUnavailable, HTTPStatus: http.StatusServiceUnavailable, RetryAfter: 5 * time.Second,
		Message: "The transaction store is unavailable; try again later.", Err: err}
}
