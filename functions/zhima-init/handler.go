package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/idverify/fc-kyc/pkg/alipay"
	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/auth"
	"github.com/idverify/fc-kyc/pkg/callbacktoken"
	"github.com/idverify/fc-kyc/pkg/idempotency"
	"github.com/idverify/fc-kyc/pkg/logging"
	"github.com/idverify/fc-kyc/pkg/ratelimit"
	"github.com/idverify/fc-kyc/pkg/store"
	"github.com/idverify/fc-kyc/pkg/validate"
)

// The documented maximum lengths (characters).
const (
	maxTransactionID       = 32
	maxProductCode         = 32
	maxBizCode             = 32
	maxIdentityParam       = 4096
	maxMerchantConfig      = 1024
	maxExtBizParam         = 4096
	maxLinkedMerchantID    = 16
	maxFaceContrastPicture = 1048576
	// maxBody leaves room for the largest picture and every other field at
	// its maximum, with JSON escaping.
	maxBody = maxFaceContrastPicture + 64<<10
)

// DefaultProductCode is the documented product code (ZHIMA_PRODUCT_CODE).
const DefaultProductCode = "w1010100000000002978"

// Request is the caller's JSON: the upstream documentation's request parameters. The common
// parameters (app_id, method, sign, ...) are the server's; they are fields
// only so that a caller who sends one is told so.
type Request struct {
	TransactionID       string     `json:"transaction_id"`
	ProductCode         string     `json:"product_code"`
	BizCode             string     `json:"biz_code"`
	IdentityParam       objectText `json:"identity_param"`
	MerchantConfig      objectText `json:"merchant_config"`
	ExtBizParam         objectText `json:"ext_biz_param"`
	LinkedMerchantID    string     `json:"linked_merchant_id"`
	FaceContrastPicture string     `json:"face_contrast_picture"`

	AppID     json.RawMessage `json:"app_id"`
	Method    json.RawMessage `json:"method"`
	Format    json.RawMessage `json:"format"`
	Charset   json.RawMessage `json:"charset"`
	SignType  json.RawMessage `json:"sign_type"`
	Sign      json.RawMessage `json:"sign"`
	Timestamp json.RawMessage `json:"timestamp"`
	Version   json.RawMessage `json:"version"`
}

// objectText is a parameter the API takes as a JSON object inside a string
// (identity_param, merchant_config, ext_biz_param). A caller may send the
// object itself or the string; either way it becomes the object's compact
// text, with its keys in the caller's order.
type objectText struct {
	text string
	set  bool
}

func (o *objectText) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	o.set = true
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		b = []byte(s)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil || buf.Len() == 0 || buf.Bytes()[0] != '{' {
		o.text = "-" // not an object; check says so, naming the parameter
		return nil
	}
	o.text = buf.String()
	return nil
}

// Response is the initialize answer ({code, msg, biz_no}), the
// transaction_id used (generated when the caller sent none), and the signed
// certify URL that takes the user on with that biz_no.
type Response struct {
	Code          string `json:"code"`
	Msg           string `json:"msg"`
	BizNo         string `json:"biz_no"`
	TransactionID string `json:"transaction_id"`
	CertifyURL    string `json:"certify_url"`
}

// Gateway is the upstream; *alipay.Client implements it.
type Gateway interface {
	ZhimaInitialize(context.Context, alipay.ZhimaInitialize) (alipay.ZhimaInitialized, error)
	ZhimaCertifyURL(bizNo, returnURL string) (string, error)
}

// Handler runs the operation.
type Handler struct {
	Upstream    Gateway
	ProductCode string // ZHIMA_PRODUCT_CODE, used when the caller sends none
	ReturnURL   string // ZHIMA_RETURN_URL, the certify URL's return_url
	// Tokens signs the return token added to ReturnURL (see returnURL);
	// nil adds none.
	Tokens *callbacktoken.Signer
	// Store records each started certification as pending, so that the
	// callback function and its reconciler know it; nil records nothing.
	Store store.Store
	// Limits caps billed initializations per caller and per JWT subject;
	// nil is no limit.
	Limits *ratelimit.Limiter
	// Starts makes a caller-chosen transaction_id idempotent and gives it
	// one owner; nil lets every start through.
	Starts *idempotency.Guard
	Now    func() time.Time
}

// Initialize checks req, calls zhima.customer.certification.initialize and
// builds the certify URL for the biz_no it returns. A transaction_id the
// caller chose is claimed first (see package idempotency): the same request
// again within the window is answered with the first biz_no (and a freshly
// signed certify URL for it), without a second initialize, and another
// request or another caller under that id is refused with 409 before any
// upstream call.
func (h *Handler) Initialize(ctx context.Context, req Request) (Response, error) {
	chosen := req.TransactionID != ""
	biz, err := h.check(req)
	if err != nil {
		return Response{}, err
	}
	log := logging.From(ctx).With("transaction_id", biz.TransactionID, "biz_code", biz.BizCode, "product_code", biz.ProductCode)
	start := func() (alipay.ZhimaInitialized, error) {
		hold, err := h.Limits.Allow(ctx, auth.Subject(ctx))
		if err != nil {
			return alipay.ZhimaInitialized{}, err
		}
		res, err := h.Upstream.ZhimaInitialize(ctx, biz)
		if err != nil {
			if alipay.Unbilled(err) { // never sent, or refused for its rate: the slot comes back
				hold.GiveBack(ctx)
			}
			e := apierr.As(err)
			log.Warn("zhima initialize failed", "code", e.Code, "error", e.Message)
			return res, err
		}
		h.record(ctx, res.BizNo, biz.TransactionID, auth.Subject(ctx))
		return res, nil
	}
	var res alipay.ZhimaInitialized
	if chosen {
		var replayed bool
		res, replayed, err = idempotency.Do(ctx, h.Starts, startScope, biz.TransactionID, biz, start)
		if replayed {
			log.Info("zhima initialize repeated: first biz_no given again", "biz_no", res.BizNo)
		}
	} else { // generated: new, nothing to repeat
		res, err = start()
	}
	if err != nil {
		return Response{}, err
	}
	ret, err := h.returnURL(res.BizNo, biz.TransactionID)
	if err != nil {
		return Response{}, err
	}
	certify, err := h.Upstream.ZhimaCertifyURL(res.BizNo, ret)
	if err != nil {
		return Response{}, err
	}
	log.Info("zhima initialize ok", "biz_no", res.BizNo)
	return Response{Code: res.Code, Msg: res.Msg, BizNo: res.BizNo, TransactionID: biz.TransactionID, CertifyURL: certify}, nil
}

// startScope names zhima-init's order ids to package idempotency.
var startScope = idempotency.Scope{Function: "zhima-init", Param: "transaction_id"}

var (
	transactionID = regexp.MustCompile(`^[A-Za-z0-9_]{1,32}$`)
	// codeForm is the form of product_code and biz_code (w1010100000000002978,
	// FACE, SMART_FACE, CERT_PHOTO_FACE, ...).
	codeForm = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	// linkedMerchant is an Alipay partner id (2088...) or similar.
	linkedMerchant = regexp.MustCompile(`^[A-Za-z0-9]+$`)
)

// check applies the upstream documentation's rules in its parameter order and returns the
// biz_content to send. Messages never echo a value: identity_param and the
// picture are personal data.
func (h *Handler) check(req Request) (alipay.ZhimaInitialize, error) {
	var biz alipay.ZhimaInitialize
	for _, p := range [...]struct {
		name string
		v    json.RawMessage
	}{{"app_id", req.AppID}, {"method", req.Method}, {"format", req.Format}, {"charset", req.Charset},
		{"sign_type", req.SignType}, {"sign", req.Sign}, {"timestamp", req.Timestamp}, {"version", req.Version}} {
		if len(p.v) > 0 {
			return biz, apierr.Invalid(p.name, "it is a common parameter the server sets and signs; do not send it")
		}
	}
	biz.TransactionID = req.TransactionID
	if biz.TransactionID == "" {
		biz.TransactionID = h.newTransactionID()
	} else if !transactionID.MatchString(biz.TransactionID) {
		return biz, apierr.Invalid("transaction_id", "must be 1 to 32 letters, digits and underscores, unique per request (or leave it out and one is generated)")
	}
	biz.ProductCode = req.ProductCode
	if biz.ProductCode == "" {
		biz.ProductCode = h.ProductCode
	}
	if len(biz.ProductCode) > maxProductCode || !codeForm.MatchString(biz.ProductCode) {
		return biz, apierr.Invalid("product_code", "must be at most 32 letters, digits and underscores, such as "+DefaultProductCode)
	}
	if err := validate.Required("biz_code", req.BizCode); err != nil {
		return biz, err
	}
	if len(req.BizCode) > maxBizCode || !codeForm.MatchString(req.BizCode) {
		return biz, apierr.Invalid("biz_code", "must be at most 32 letters, digits and underscores, a scene your contract covers, such as FACE")
	}
	biz.BizCode = req.BizCode
	var err error
	if biz.IdentityParam, err = identityParam(req.IdentityParam); err != nil {
		return biz, err
	}
	if biz.MerchantConfig, err = optionalObject("merchant_config", req.MerchantConfig, maxMerchantConfig); err != nil {
		return biz, err
	}
	if biz.ExtBizParam, err = optionalObject("ext_biz_param", req.ExtBizParam, maxExtBizParam); err != nil {
		return biz, err
	}
	if l := req.LinkedMerchantID; l != "" && (len(l) > maxLinkedMerchantID || !linkedMerchant.MatchString(l)) {
		return biz, apierr.Invalid("linked_merchant_id", "must be at most 16 letters and digits (the sub-merchant id, 2088...)")
	}
	biz.LinkedMerchantID = req.LinkedMerchantID
	if p := req.FaceContrastPicture; p != "" {
		if len(p) > maxFaceContrastPicture {
			return biz, apierr.Invalid("face_contrast_picture", "must be at most 1048576 characters of base64")
		}
		// Go's decoder skips line breaks; the gateway's field is one line.
		if _, err := base64.StdEncoding.DecodeString(p); err != nil || strings.ContainsAny(p, "\r\n") {
			return biz, apierr.Invalid("face_contrast_picture", "must be the picture in standard base64 (A-Z a-z 0-9 + /, = padding, no line breaks)")
		}
	}
	biz.FaceContrastPicture = req.FaceContrastPicture
	return biz, nil
}

// identityParam checks identity_param: a JSON object of at most 4096
// characters with identity_type, and with cert_type, cert_name and cert_no
// when identity_type is CERT_INFO.
func identityParam(o objectText) (string, error) {
	const name = "identity_param"
	if !o.set || o.text == "{}" {
		return "", apierr.Missing(name)
	}
	if o.text == "-" {
		return "", apierr.Invalid(name, "must be a JSON object, or a string holding one")
	}
	if utf8.RuneCountInString(o.text) > maxIdentityParam {
		return "", apierr.Invalid(name, "must be at most 4096 characters as compact JSON")
	}
	var p map[string]any
	if err := json.Unmarshal([]byte(o.text), &p); err != nil {
		return "", apierr.Invalid(name, "must be a JSON object, or a string holding one")
	}
	str := func(k string) string { s, _ := p[k].(string); return s }
	if str("identity_type") == "" {
		return "", apierr.Invalid(name, `must have identity_type as a string, such as "CERT_INFO"`)
	}
	if str("identity_type") == "CERT_INFO" {
		for _, k := range []string{"cert_type", "cert_name", "cert_no"} {
			if str(k) == "" {
				return "", apierr.Invalid(name, "with identity_type CERT_INFO it must have cert_type, cert_name and cert_no as strings; "+k+" is missing or empty")
			}
		}
	}
	return o.text, nil
}

// optionalObject checks an optional JSON-object parameter of at most max characters.
func optionalObject(name string, o objectText, max int) (string, error) {
	switch {
	case !o.set:
		return "", nil
	case o.text == "-":
		return "", apierr.Invalid(name, "must be a JSON object, or a string holding one")
	}
	if err := validate.MaxLen(name, o.text, max); err != nil {
		return "", apierr.Invalid(name, "must be at most "+strconv.Itoa(max)+" characters as compact JSON")
	}
	return o.text, nil
}

// newTransactionID is "ZM", the Beijing date and time to the second, and 16
// random characters: 32 characters, the documented form (letters, digits),
// sortable by time as the upstream documentation recommends, and unique without a lookup.
func (h *Handler) newTransactionID() string {
	return "ZM" + h.Now().In(alipay.Beijing).Format("20060102150405") + rand.Text()[:16]
}
