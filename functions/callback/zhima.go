package main

// The Zhima part of the callback: the user's browser coming back from
// zhima.customer.certification.certify to ZHIMA_RETURN_URL, and the query
// that confirms a Zhima result for it and for the reconciler.
//
// The return is unsigned and comes from a browser: like the eKYC callback
// it is a hint. zhima-init put the certification's biz_no and the caller's
// transaction_id into return_url with our token over both
// (functions/zhima-init/record.go); the result is what
// zhima.customer.certification.query says, recorded once in the same store
// and posted in the same event shape as an eKYC result, with type
// "zhima.result".

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"time"

	"github.com/idverify/fc-kyc/pkg/alipay"
	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/callbacktoken"
	"github.com/idverify/fc-kyc/pkg/config"
	"github.com/idverify/fc-kyc/pkg/logging"
	"github.com/idverify/fc-kyc/pkg/store"
	"github.com/idverify/fc-kyc/pkg/validate"
)

// ZhimaEventType is the type of the events of Zhima results; eKYC results
// are webhook.EventType. The rest of the event is the same: transactionId
// is the biz_no, merchantBizId the caller's transaction_id, passed "true"
// or "false" as the query answers it.
const ZhimaEventType = "zhima.result"

// The return_url parameters zhima-init adds (functions/zhima-init/record.go).
const (
	paramBizNo      = "bizNo"
	paramZhimaTxID  = "transactionId"
	paramZhimaToken = paramToken
)

// ZhimaQuerier is the upstream query; *alipay.Client implements it.
type ZhimaQuerier interface {
	ZhimaQuery(ctx context.Context, bizNo string) (alipay.ZhimaResult, error)
}

// Zhima is the callback's Zhima configuration; Service.Zhima is nil when
// neither ZHIMA_RETURN_URL nor ALIPAY_APP_ID is set (eKYC only).
type Zhima struct {
	Upstream ZhimaQuerier
	// ReturnPath is the path of ZHIMA_RETURN_URL, where the browser
	// arrives; empty: the return is not served (the reconciler still
	// confirms Zhima certifications).
	ReturnPath string
	// DoneURL (ZHIMA_DONE_URL), when set, is the merchant's page the
	// browser is sent on to once the result is known, with transaction_id
	// and biz_no; when empty the browser gets a small page.
	DoneURL string
	// SettleAfter (ZHIMA_SETTLE_AFTER) is the age of a certification before
	// which passed "false" is not taken as its result: the query answers
	// "false" both for a failed certification and for one the user has not
	// finished (or is still retrying), so until then it stays pending and
	// is asked about again. Zero takes "false" as final at once.
	SettleAfter time.Duration
}

// defaultSettleAfter is ZHIMA_SETTLE_AFTER's default. A certification is a
// few minutes of the user's time: open the certify URL in Alipay, sign in,
// agree, and pass the face check, which may take several tries. Real users
// are slower than that: they switch apps, take a call, look for their
// glasses, and come back. An hour covers them with a wide margin, while a
// genuine failure still reaches the merchant the same hour (the first timer
// run after it). It stays far below RECONCILE_MAX_AGE, which it must.
const defaultSettleAfter = time.Hour

// zhimaFromEnv reads the Zhima configuration. It is optional: without
// ZHIMA_RETURN_URL and ALIPAY_APP_ID the callback serves eKYC only. With
// either, the Alipay keys are required, as in zhima-init (same variables),
// and a missing or malformed one stops the start with its name.
func zhimaFromEnv() (*Zhima, error) {
	ret, err := config.String("ZHIMA_RETURN_URL", "")
	if err != nil {
		return nil, err
	}
	appID, err := config.String("ALIPAY_APP_ID", "")
	if err != nil || (ret == "" && appID == "") {
		return nil, err
	}
	client, err := alipay.FromEnv()
	if err != nil {
		return nil, fmt.Errorf("Zhima results need the Alipay configuration of zhima-init: %w", err)
	}
	z := &Zhima{Upstream: client}
	if ret != "" {
		u, err := config.SecureURL("ZHIMA_RETURN_URL", ret)
		if err != nil {
			return nil, err
		}
		if z.ReturnPath = u.Path; z.ReturnPath == "" {
			z.ReturnPath = "/"
		}
	}
	if z.SettleAfter, err = config.Duration("ZHIMA_SETTLE_AFTER", defaultSettleAfter); err != nil {
		return nil, err
	}
	if z.DoneURL, err = config.String("ZHIMA_DONE_URL", ""); err != nil || z.DoneURL == "" {
		return z, err
	}
	if _, err := config.SecureURL("ZHIMA_DONE_URL", z.DoneURL); err != nil {
		return nil, err
	}
	return z, nil
}

// isZhimaReturn reports whether r is for the Zhima return path.
func (s *Service) isZhimaReturn(r *http.Request) bool {
	return s.Zhima != nil && s.Zhima.ReturnPath != "" && r.URL.Path == s.Zhima.ReturnPath
}

// checkZhima asks zhima.customer.certification.query for tx's result
// (tx.TransactionID is the biz_no): Passed for "true"; for "false", Pending
// while the certification is younger than SettleAfter, Failed after. The
// query has no pending state of its own: an unfinished certification
// answers "false" too, and the browser may return (or the timer ask)
// before the user is done. A pass is taken whenever it comes, so it always
// wins over an earlier "false", which was never recorded nor posted. Only
// passed is kept: failed_reason is free text, and identity_info may hold
// personal data.
func (s *Service) checkZhima(ctx context.Context, tx store.Transaction) (store.Status, string, string, error) {
	if s.Zhima == nil {
		return store.Pending, "", "", &apierr.Error{Code: apierr.InternalError, HTTPStatus: http.StatusInternalServerError,
			Message: "A Zhima certification is pending but the callback has no Alipay configuration: set ALIPAY_APP_ID, ALIPAY_PRIVATE_KEY and ALIPAY_PUBLIC_KEY as for zhima-init."}
	}
	res, err := s.Zhima.Upstream.ZhimaQuery(ctx, tx.TransactionID)
	if err != nil {
		e := apierr.As(err)
		logging.From(ctx).Warn("zhima query failed", "biz_no", tx.TransactionID, "transaction_id", tx.MerchantBizID,
			"code", e.Code, "error", e.Message)
		return store.Pending, "", "", err
	}
	if res.OK() {
		return store.Passed, res.Passed, "", nil
	}
	if age := s.Now().Sub(tx.CreatedAt); age < s.Zhima.SettleAfter {
		logging.From(ctx).Info("zhima not passed yet; pending until it settles", "biz_no", tx.TransactionID,
			"transaction_id", tx.MerchantBizID, "age", age.Round(time.Second).String(), "settle_after", s.Zhima.SettleAfter.String())
		return store.Pending, "", "", nil
	}
	return store.Failed, res.Passed, "", nil
}

// serveZhimaReturn answers the browser. In order: the parameters are there
// (400), the token is ours for this biz_no and transaction_id and unexpired
// (403, no query), the stored certification is that one (403), it is not
// already recorded (answered at once), then the query decides, the result
// is recorded once and posted. A query or store failure is 5xx: the user
// may reload, and the reconciler confirms it anyway.
func (s *Service) serveZhimaReturn(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		zhimaPage(w, apierr.Status(apierr.New(apierr.UnsupportedMethod, "")), "This address is opened by the browser, with GET.")
		return
	}
	tx, err := s.zhimaReturn(r.Context(), r.URL.Query())
	if err != nil {
		e := apierr.As(err)
		zhimaPage(w, apierr.Status(e), e.Message)
		return
	}
	if s.Zhima.DoneURL != "" {
		u, _ := url.Parse(s.Zhima.DoneURL) // checked at start
		q := u.Query()
		q.Set("transaction_id", tx.MerchantBizID)
		q.Set("biz_no", tx.TransactionID)
		u.RawQuery = q.Encode()
		http.Redirect(w, r, u.String(), http.StatusSeeOther)
		return
	}
	msg := "Your certification is finished. You may close this page."
	if tx.Status == store.Pending {
		msg = "Your certification is being confirmed. You may close this page."
	}
	zhimaPage(w, http.StatusOK, msg)
}

func (s *Service) zhimaReturn(ctx context.Context, q url.Values) (store.Transaction, error) {
	var vals [3]string
	for i, name := range []string{paramBizNo, paramZhimaTxID, paramZhimaToken} {
		v := q[name]
		switch {
		case len(v) == 0 || v[0] == "":
			return store.Transaction{}, apierr.Missing(name)
		case len(v) > 1:
			return store.Transaction{}, apierr.Invalid(name, "must be given once")
		}
		vals[i] = v[0]
	}
	bizNo, txID, token := vals[0], vals[1], vals[2]
	// Ids zhima-init could not have put there are refused before the token
	// is weighed; without ':' in either, the token's subject reads back one
	// way only.
	if err := validate.First(validate.MaxLen(paramBizNo, bizNo, maxTransactionID), validate.IDChars(paramBizNo, bizNo),
		validate.MaxLen(paramZhimaTxID, txID, maxTransactionID), validate.IDChars(paramZhimaTxID, txID)); err != nil {
		logging.From(ctx).Warn("zhima return refused", "reason", "ids of the wrong form")
		return store.Transaction{}, err
	}
	if err := s.Tokens.Verify(callbacktoken.ZhimaReturn, callbacktoken.ZhimaSubject(bizNo, txID), token, s.Now()); err != nil {
		logging.From(ctx).Warn("zhima return refused", "reason", err.Error())
		return store.Transaction{}, forbidden("This return address is not valid, or it has expired.")
	}
	// Only now are the ids worth logging: the URL is ours.
	log := logging.From(ctx).With("biz_no", bizNo, "transaction_id", txID)
	log.Info("zhima return")

	tx, err := s.Store.Get(ctx, bizNo)
	found := err == nil
	switch {
	case errors.Is(err, store.ErrNotFound): // zhima-init's write failed: the token vouches for it
		tx = store.Transaction{TransactionID: bizNo, MerchantBizID: txID, Kind: store.KindZhima, Status: store.Pending, CreatedAt: s.Now().UTC()}
	case err != nil:
		return tx, storeFailed(ctx, "Get", bizNo, err)
	case tx.Kind != store.KindZhima || tx.MerchantBizID != txID:
		log.Warn("zhima return refused", "reason", "the stored transaction is another one")
		return tx, forbidden("This return address does not match the certification.")
	}
	if tx.Status.Final() {
		return tx, nil
	}
	status, passed, subCode, err := s.check(ctx, tx)
	if err != nil {
		return tx, err
	}
	if !found {
		if err := s.adopt(ctx, tx); err != nil {
			return tx, err
		}
	}
	if status == store.Pending {
		return tx, nil
	}
	tx, recorded, err := s.finish(ctx, tx, status, passed, subCode)
	if err != nil {
		return tx, err
	}
	if recorded && s.Webhook != nil {
		s.deliver(ctx, tx)
	}
	if !recorded { // another return or the timer got there first
		tx.Status = status
	}
	return tx, nil
}

// zhimaPage is the small page the browser gets: a sentence, nothing of the
// result's details and nothing personal.
func zhimaPage(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer") // the URL holds a token
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, "<!doctype html><meta charset=\"utf-8\"><title>Certification</title><p>%s</p>\n", html.EscapeString(msg))
}
