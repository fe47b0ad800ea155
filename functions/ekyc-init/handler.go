package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"
	"time"

	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/auth"
	"github.com/idverify/fc-kyc/pkg/callbacktoken"
	"github.com/idverify/fc-kyc/pkg/cloudauth"
	"github.com/idverify/fc-kyc/pkg/idempotency"
	"github.com/idverify/fc-kyc/pkg/logging"
	"github.com/idverify/fc-kyc/pkg/ratelimit"
	"github.com/idverify/fc-kyc/pkg/store"
	"github.com/idverify/fc-kyc/pkg/validate"
)

// Limits the upstream documentation leaves open, chosen well above real values and well below
// what would strain the query string the upstream takes them in.
const (
	maxMetaInfo       = 4096 // the client SDK's MetaInfo is a few hundred bytes
	maxMerchantUserId = 256
	maxBody           = 16 << 10
	// storeWriteTimeout bounds recording the transaction, so that a slow
	// store still leaves time to answer with the TransactionId.
	storeWriteTimeout = 2 * time.Second
)

// Request is the caller's JSON: the upstream documentation's request parameters, less the
// ones the server owns. CallbackUrl and CallbackToken are fields only so
// that a caller who sends them is told they are the server's.
type Request struct {
	ProductCode    string          `json:"ProductCode"`
	MerchantBizId  string          `json:"MerchantBizId"`
	MetaInfo       json.RawMessage `json:"MetaInfo"`
	MerchantUserId string          `json:"MerchantUserId"`
	DocType        string          `json:"DocType"`
	DocScanMode    string          `json:"DocScanMode"`
	ProductFlow    string          `json:"ProductFlow"`
	CallbackUrl    json.RawMessage `json:"CallbackUrl"`
	CallbackToken  json.RawMessage `json:"CallbackToken"`
}

// Response is the upstream answer, plus the MerchantBizId used (generated
// when the caller sent none), which the caller needs for CheckResult.
type Response struct {
	cloudauth.InitializeResponse
	MerchantBizId string `json:"MerchantBizId"`
}

// Initializer is the upstream call; *cloudauth.Client implements it.
type Initializer interface {
	Initialize(context.Context, cloudauth.InitializeRequest) (*cloudauth.InitializeResponse, error)
}

// Handler runs the operation.
type Handler struct {
	Upstream Initializer
	// CallbackBase is EKYC_CALLBACK_URL; nil means no callback is asked
	// for, and results are read with CheckResult only.
	CallbackBase *url.URL
	Tokens       *callbacktoken.Signer // set when CallbackBase is
	// Store records each started transaction as pending, so that the
	// callback function and its reconciler know it; nil records nothing.
	Store store.Store
	// Limits caps billed calls per caller and per JWT subject; nil is no
	// limit. They are decided by the Upstream's QPS budget with its first
	// attempt (ratelimit.Limiter.Defer; cloudauth.FromEnv installs it).
	Limits *ratelimit.Limiter
	// Starts makes a caller-chosen MerchantBizId idempotent and gives it
	// one owner; nil lets every start through.
	Starts *idempotency.Guard
	Now    func() time.Time
}

// Initialize validates req, then starts a KYC_GLOBAL transaction. A
// MerchantBizId the caller chose is claimed first (see package
// idempotency): the same request again within the window is answered with
// the first answer, without a second billed Initialize, and another
// request or another caller under that id is refused with 409 before any
// upstream call.
func (h *Handler) Initialize(ctx context.Context, req Request) (Response, error) {
	// With AUTH_MODE=jwt the user is the token's (hashed) sub, whatever the
	// body says: the token is signed, the body is not.
	subject := auth.Subject(ctx)
	if subject != "" {
		req.MerchantUserId = subject
	}
	metaInfo, err := check(&req)
	if err != nil {
		return Response{}, err
	}
	up := cloudauth.InitializeRequest{
		ProductCode:    "KYC_GLOBAL",
		MerchantBizId:  req.MerchantBizId,
		MetaInfo:       metaInfo,
		MerchantUserId: req.MerchantUserId,
		DocType:        req.DocType,
		DocScanMode:    req.DocScanMode,
		ProductFlow:    req.ProductFlow,
	}
	if up.ProductFlow == "" {
		up.ProductFlow = "DOC_FACE" // the documented default, sent since the SDK calls it required for KYC_GLOBAL
	}
	start := func() (Response, error) {
		// The limits are decided with the QPS budget, in one store round
		// trip before the call, and given back if the call is not billed.
		ctx, hold := h.Limits.Defer(ctx, subject)
		res, err := h.initialize(ctx, up)
		if cloudauth.Unbilled(err) {
			hold.GiveBack(ctx)
		}
		return res, err
	}
	if up.MerchantBizId == "" { // generated: new, nothing to repeat
		up.MerchantBizId = newBizID()
		return start()
	}
	res, replayed, err := idempotency.Do(ctx, h.Starts, startScope, up.MerchantBizId, up, start)
	if replayed {
		logging.From(ctx).Info("Initialize repeated: first answer given again", "merchant_biz_id", res.MerchantBizId, "transaction_id", res.Result.TransactionId)
	}
	return res, err
}

// startScope names ekyc-init's order ids to package idempotency.
var startScope = idempotency.Scope{Function: "ekyc-init", Param: "MerchantBizId"}

// initialize makes the billed call and records the transaction.
func (h *Handler) initialize(ctx context.Context, up cloudauth.InitializeRequest) (Response, error) {
	if h.CallbackBase != nil {
		up.CallbackUrl = callbacktoken.CallbackURL(h.CallbackBase, up.MerchantBizId)
		up.CallbackToken = h.Tokens.Token(callbacktoken.EKYCCallback, up.MerchantBizId, h.Now())
	}
	res, err := h.Upstream.Initialize(ctx, up)
	if err != nil {
		logging.From(ctx).Warn("Initialize failed", "merchant_biz_id", up.MerchantBizId, "code", apierr.As(err).Code, "upstream_request_id", apierr.As(err).RequestID)
		return Response{}, err
	}
	logging.From(ctx).Info("Initialize ok", "merchant_biz_id", up.MerchantBizId, "transaction_id", res.Result.TransactionId, "upstream_request_id", res.RequestId)
	h.record(ctx, up.MerchantBizId, up.MerchantUserId, res.Result.TransactionId)
	return Response{InitializeResponse: *res, MerchantBizId: up.MerchantBizId}, nil
}

// record stores the transaction as pending. Initialize is billed and has
// succeeded, so a store failure does not fail the answer: a 5xx would make
// the caller start (and pay for) a second transaction and drop the first,
// whose id it never received. Instead the caller gets its TransactionId and
// the failure is logged at error level with both ids, for an operator to
// re-create the record. The result is still not lost: the callback function
// records a transaction it did not know when its notification arrives, and
// the caller can always ask CheckResult with the ids it holds. Only the
// reconciler cannot find it, if the notification is lost as well.
func (h *Handler) record(ctx context.Context, bizID, userID, txID string) {
	if h.Store == nil {
		return
	}
	sum := sha256.Sum256([]byte(userID))
	// Not ended by the caller hanging up: the call is billed and the
	// transaction exists upstream whether or not anyone waits for the answer.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeWriteTimeout)
	defer cancel()
	err := h.Store.Create(sctx, store.Transaction{
		TransactionID: txID,
		MerchantBizID: bizID,
		UserHash:      hex.EncodeToString(sum[:]),
		Status:        store.Pending,
		CreatedAt:     h.Now().UTC(),
		Owner:         h.Starts.Owner(ctx), // the result function shows it to this caller only
	})
	if err != nil && !errors.Is(err, store.ErrExists) {
		logging.From(ctx).Error("transaction not recorded: re-create it, or rely on its callback", "merchant_biz_id", bizID,
			"transaction_id", txID, "error", err.Error())
	}
}

// check applies the upstream documentation's rules in its order and returns MetaInfo as the
// string the upstream takes.
func check(req *Request) (string, error) {
	if len(req.CallbackUrl) > 0 {
		return "", apierr.Invalid("CallbackUrl", "it is set by the server (EKYC_CALLBACK_URL); do not send it")
	}
	if len(req.CallbackToken) > 0 {
		return "", apierr.Invalid("CallbackToken", "it is set by the server; do not send it")
	}
	metaInfo, err := metaInfoText(req.MetaInfo)
	if err != nil {
		return "", err
	}
	var bizID error // empty: one is generated
	if req.MerchantBizId != "" {
		bizID = validate.MerchantBizID("MerchantBizId", req.MerchantBizId)
	}
	return metaInfo, validate.First(
		validate.OneOf("ProductCode", req.ProductCode, "KYC_GLOBAL"),
		bizID,
		validate.Required("MerchantUserId", req.MerchantUserId),
		validate.MaxLen("MerchantUserId", req.MerchantUserId, maxMerchantUserId),
		validate.Required("DocType", req.DocType),
		validate.Digits("DocType", req.DocType, 8),
		validate.OneOf("DocScanMode", req.DocScanMode, "manual"),
		validate.OneOf("ProductFlow", req.ProductFlow, "DOC_FACE", "FACE_DOC"),
	)
}

// metaInfoText accepts MetaInfo as the client SDK returns it (a string
// holding a JSON object) or as that object itself, and passes the text on
// unchanged: the service reads it, we only check it is one JSON object.
func metaInfoText(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "", apierr.Missing("MetaInfo")
	}
	text := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &text); err != nil {
			return "", apierr.Invalid("MetaInfo", "must be a JSON object, or a string holding one")
		}
		if text == "" {
			return "", apierr.Missing("MetaInfo")
		}
	}
	if len(text) > maxMetaInfo {
		return "", apierr.Invalid("MetaInfo", "must be at most 4096 bytes")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(text), &obj); err != nil || obj == nil {
		return "", apierr.Invalid("MetaInfo", "must be a JSON object (the client SDK's getMetaInfo() result), or a string holding one")
	}
	return text, nil
}

// newBizID is 32 hex digits: the documented maximum, letters and digits,
// and unique enough that two transactions never share one.
func newBizID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}
