package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/idverify/fc-kyc/pkg/callbacktoken"
	"github.com/idverify/fc-kyc/pkg/config"
	"github.com/idverify/fc-kyc/pkg/logging"
	"github.com/idverify/fc-kyc/pkg/store"
)

// The return_url the certify URL carries is ZHIMA_RETURN_URL, a path of the
// callback function, with these parameters added. The gateway sends the
// user's browser there unsigned, so the callback believes only what our
// token covers: the biz_no it will query and the caller's transaction_id.
// The names are the callback's (functions/callback/zhima.go), and differ
// from the gateway's own biz_no so that nothing it appends can collide.
const (
	returnBizNo         = "bizNo"
	returnTransactionID = "transactionId"
	returnToken         = "callbackToken"
)

// storeWriteTimeout bounds recording the certification, so that a slow
// store still leaves time to answer with the biz_no.
const storeWriteTimeout = 2 * time.Second

// returnURL is the certify URL's return_url for a certification:
// ZHIMA_RETURN_URL as it is when no keys are configured, else with the
// certification's ids and their token added.
func (h *Handler) returnURL(bizNo, transactionID string) (string, error) {
	if h.Tokens == nil || h.ReturnURL == "" {
		return h.ReturnURL, nil
	}
	u, err := url.Parse(h.ReturnURL) // checked at start (returnConfig)
	if err != nil {
		return "", fmt.Errorf("ZHIMA_RETURN_URL: %w", err)
	}
	q := u.Query()
	q.Set(returnBizNo, bizNo)
	q.Set(returnTransactionID, transactionID)
	q.Set(returnToken, h.Tokens.Token(callbacktoken.ZhimaReturn, callbacktoken.ZhimaSubject(bizNo, transactionID), h.Now()))
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// returnConfig reads ZHIMA_RETURN_URL and, when it is set, the keys that
// sign the return tokens (CALLBACK_SECRET, the callback function's) and
// their lifetime (CALLBACK_TOKEN_TTL, as for eKYC).
func returnConfig() (string, *callbacktoken.Signer, error) {
	raw, err := config.String("ZHIMA_RETURN_URL", "")
	if err != nil || raw == "" {
		return "", nil, err
	}
	if _, err := config.SecureURL("ZHIMA_RETURN_URL", raw); err != nil {
		return "", nil, err
	}
	signer, err := callbacktoken.FromEnv("ZHIMA_RETURN_URL is set (the callback function refuses a return without our token)")
	return raw, signer, err
}

// record stores the certification as pending, so that the callback (when
// the user returns) and its reconciler (when the user does not) confirm and
// deliver its result. Initialize has succeeded, so a store failure does not
// fail the answer: an error would make the caller start a second
// certification and lose the first, whose biz_no it never received. The
// failure is logged at error level with both ids instead. The result is
// still not lost: the callback records a certification it did not know
// when the user returns with a valid token. Only the reconciler cannot find
// it, if the user never returns as well.
//
// subject is the caller's authenticated user (AUTH_MODE=jwt), kept only as
// a hash; empty when there is none.
func (h *Handler) record(ctx context.Context, bizNo, transactionID, subject string) {
	if h.Store == nil {
		return
	}
	tx := store.Transaction{
		TransactionID: bizNo,
		MerchantBizID: transactionID,
		Kind:          store.KindZhima,
		Status:        store.Pending,
		CreatedAt:     h.Now().UTC(),
		Owner:         h.Starts.Owner(ctx), // the result function shows it to this caller only
	}
	if subject != "" {
		sum := sha256.Sum256([]byte(subject))
		tx.UserHash = hex.EncodeToString(sum[:])
	}
	sctx, cancel := context.WithTimeout(ctx, storeWriteTimeout)
	defer cancel()
	if err := h.Store.Create(sctx, tx); err != nil && !errors.Is(err, store.ErrExists) {
		logging.From(ctx).Error("certification not recorded: re-create it, or rely on the user's return", "biz_no", bizNo,
			"transaction_id", transactionID, "error", err.Error())
	}
}
