package main

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/auth"
	"github.com/idverify/fc-kyc/pkg/cloudauth"
	"github.com/idverify/fc-kyc/pkg/logging"
	"github.com/idverify/fc-kyc/pkg/pii"
	"github.com/idverify/fc-kyc/pkg/ratelimit"
	"github.com/idverify/fc-kyc/pkg/validate"
)

// Limits the upstream documentation leaves open.
const (
	// maxUserName: Chinese names are 2 to 4 characters, transliterated
	// minority and foreign names (with "·") run to about 30; 64 leaves room
	// for any real name and still bounds what reaches the query string.
	maxUserName = 64
	// maxOtherID: passports and permits are under 20 characters.
	maxOtherID      = 32
	maxIdentityType = 16 // the code table is not published; "01" is the one documented value
	maxBody         = 4 << 10
)

// Request is the caller's JSON: the upstream documentation's request parameters, less the ones
// the server owns. ProductCode and VerifyMode are fields only so that a
// caller who sends them is told they are the server's.
type Request struct {
	ProductType  string          `json:"ProductType"`
	ParamType    string          `json:"ParamType"`
	BankCard     string          `json:"BankCard"`
	UserName     string          `json:"UserName"`
	IdentityType string          `json:"IdentityType"`
	IdentifyNum  string          `json:"IdentifyNum"`
	Mobile       string          `json:"Mobile"`
	ProductCode  json.RawMessage `json:"ProductCode"`
	VerifyMode   json.RawMessage `json:"VerifyMode"`
}

// Response is the upstream answer passed through, plus what its BizCode and
// SubCode mean, from the documented tables.
type Response struct {
	cloudauth.BankMetaVerifyResponse
	BizCodeMeaning string `json:"BizCodeMeaning"`
	SubCodeMeaning string `json:"SubCodeMeaning"`
}

// Verifier is the upstream call; *cloudauth.Client implements it.
type Verifier interface {
	BankMetaVerifyIntl(context.Context, cloudauth.BankMetaVerifyRequest) (*cloudauth.BankMetaVerifyResponse, error)
}

// Handler runs the operation.
type Handler struct {
	Upstream Verifier
	// HashPlaintext (BANK_VERIFY_PARAM_TYPE=md5) turns a plaintext request
	// into the documented md5 forms before it leaves the function.
	HashPlaintext bool
	// Limits caps billed calls per caller and per JWT subject; nil is no
	// limit. A low per-subject limit keeps the function from being an
	// oracle for which card belongs to whom. They are decided by the
	// Upstream's QPS budget with its first attempt
	// (ratelimit.Limiter.Defer; cloudauth.FromEnv installs it).
	Limits *ratelimit.Limiter
	// PerCard caps billed calls per card, whoever sends it, so that one card
	// cannot be tried against many names; counted (with Limits, by
	// authenticated callers only) on an HMAC of the card under CardKey.
	// Off, or a nil CardKey, counts nothing.
	PerCard ratelimit.Rule
	CardKey []byte
}

// factors is how many elements each ProductType verifies.
var factors = map[string]int{"BANK_CARD_2_META": 2, "BANK_CARD_3_META": 3, "BANK_CARD_4_META": 4}

// Verify validates req, hashes it when the deployment asks for it, and
// calls BankMetaVerifyIntl.
func (h *Handler) Verify(ctx context.Context, req Request) (Response, error) {
	up, err := check(req)
	if err != nil {
		return Response{}, err
	}
	if h.HashPlaintext && up.ParamType == "normal" {
		up = hashed(up)
	}
	log := logging.From(ctx).With("product_type", up.ProductType, "param_type", up.ParamType, "card", pii.Card(req.BankCard))
	// The limits are decided with the QPS budget, in one store round trip
	// before the call, and given back if the call is not billed.
	ctx, hold := h.Limits.Defer(ctx, auth.Subject(ctx), h.cardKey(up)...)
	res, err := h.Upstream.BankMetaVerifyIntl(ctx, up)
	if err != nil {
		if cloudauth.Unbilled(err) {
			hold.GiveBack(ctx)
		}
		e := apierr.As(err)
		log.Warn("BankMetaVerifyIntl failed", "code", e.Code, "upstream_request_id", e.RequestID)
		return Response{}, err
	}
	log.Info("BankMetaVerifyIntl ok", "biz_code", res.ResultObject.BizCode, "sub_code", res.ResultObject.SubCode, "upstream_request_id", res.RequestId)
	return Response{
		BankMetaVerifyResponse: *res,
		BizCodeMeaning:         meaning(bizCodes, res.ResultObject.BizCode),
		SubCodeMeaning:         meaning(subCodes, res.ResultObject.SubCode),
	}, nil
}

var (
	digitsOnly   = regexp.MustCompile(`^[0-9]{12,19}$`)
	idCardNumber = regexp.MustCompile(`^(?:[0-9]{17}[0-9Xx]|[0-9]{15})$`)
	mobileNumber = regexp.MustCompile(`^\+?[0-9]{5,20}$`)

	md5Card   = regexp.MustCompile(`^[0-9]{6,13}[0-9a-f]{32}$`)
	md5Prefix = regexp.MustCompile(`^[0-9a-f]{32}`)
	md5IDCard = regexp.MustCompile(`^[0-9]{6}[0-9a-f]{32}[0-9]{3}[0-9Xx]$`)
	md5Other  = regexp.MustCompile(`^[0-9A-Za-z]{0,30}[0-9a-f]{32}$`)
	md5Whole  = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

// check applies the rules in the upstream documentation's parameter order and returns what to
// send. Fields the ProductType does not use are neither checked nor sent.
// Messages never echo a value: every one of them is personal data.
func check(req Request) (cloudauth.BankMetaVerifyRequest, error) {
	var up cloudauth.BankMetaVerifyRequest
	if len(req.ProductCode) > 0 {
		return up, apierr.Invalid("ProductCode", "it is set by the server (BANK_CARD_N_META); do not send it")
	}
	if len(req.VerifyMode) > 0 {
		return up, apierr.Invalid("VerifyMode", "it is set by the server (VERIFY_BANK_CARD); do not send it")
	}
	if req.ParamType == "" {
		req.ParamType = "normal"
	}
	err := validate.First(
		validate.OneOf("ParamType", req.ParamType, "normal", "md5"),
		validate.Required("ProductType", req.ProductType),
		validate.OneOf("ProductType", req.ProductType, "BANK_CARD_2_META", "BANK_CARD_3_META", "BANK_CARD_4_META"),
		validate.Required("BankCard", req.BankCard),
		validate.Required("UserName", req.UserName),
	)
	if err != nil {
		return up, err
	}
	n := factors[req.ProductType]
	up = cloudauth.BankMetaVerifyRequest{ProductType: req.ProductType, ParamType: req.ParamType,
		BankCard: req.BankCard, UserName: strings.TrimSpace(req.UserName)}
	if n >= 3 {
		if err := validate.Required("IdentifyNum", req.IdentifyNum); err != nil {
			return up, err
		}
		up.IdentityType, up.IdentifyNum = req.IdentityType, req.IdentifyNum
	}
	if n == 4 {
		if err := validate.Required("Mobile", req.Mobile); err != nil {
			return up, err
		}
		up.Mobile = req.Mobile
	}
	idCard := up.IdentityType == "" || up.IdentityType == "01"
	if idCard {
		// The last character of an ID card number may be the check
		// character X; x is the same character.
		if rest, ok := strings.CutSuffix(up.IdentifyNum, "x"); ok {
			up.IdentifyNum = rest + "X"
		}
	}
	if up.ParamType == "md5" {
		return up, checkMD5(up, idCard)
	}
	return up, checkPlain(up, idCard)
}

func checkPlain(up cloudauth.BankMetaVerifyRequest, idCard bool) error {
	var err error
	switch {
	case !digitsOnly.MatchString(up.BankCard):
		err = apierr.Invalid("BankCard", "must be the card number as 12 to 19 digits, digits only (no spaces or dashes)")
	case utf8.RuneCountInString(up.UserName) > maxUserName:
		err = apierr.Invalid("UserName", "must be at most 64 characters")
	case hasControl(up.UserName):
		err = apierr.Invalid("UserName", "must not contain control characters")
	}
	if err != nil || up.IdentifyNum == "" {
		return err
	}
	if err = checkIdentityType(up.IdentityType); err != nil {
		return err
	}
	switch {
	case idCard && !idCardNumber.MatchString(up.IdentifyNum):
		return apierr.Invalid("IdentifyNum", "an ID card number must be 18 characters (17 digits, then a digit or X) or 15 digits")
	case !idCard && (len(up.IdentifyNum) > maxOtherID || validate.Alnum("IdentifyNum", up.IdentifyNum) != nil):
		return apierr.Invalid("IdentifyNum", "must be at most 32 letters and digits")
	case up.Mobile != "" && !mobileNumber.MatchString(up.Mobile):
		return apierr.Invalid("Mobile", "must be 5 to 20 digits, optionally after a leading +")
	}
	return nil
}

// checkMD5 checks the documented md5 shapes: every hash is 32 lowercase hex
// characters, in the documented place.
func checkMD5(up cloudauth.BankMetaVerifyRequest, idCard bool) error {
	switch {
	case !md5Card.MatchString(up.BankCard):
		return apierr.Invalid("BankCard", "with ParamType md5 it must be the card's digits up to the last 6, then md5 of the last 6 digits as 32 lowercase hex characters")
	case !md5Prefix.MatchString(up.UserName):
		return apierr.Invalid("UserName", "with ParamType md5 it must be md5 of the first character as 32 lowercase hex characters, then the other characters")
	case utf8.RuneCountInString(up.UserName) > 32+maxUserName-1 || hasControl(up.UserName):
		return apierr.Invalid("UserName", "must be at most 64 characters, with no control characters, before hashing")
	}
	if up.IdentifyNum == "" {
		return nil
	}
	if err := checkIdentityType(up.IdentityType); err != nil {
		return err
	}
	switch {
	case idCard && !md5IDCard.MatchString(up.IdentifyNum):
		return apierr.Invalid("IdentifyNum", "with ParamType md5 an ID card number must be its first 6 digits, md5 of the 8-digit birth date as 32 lowercase hex characters, then its last 4 characters")
	case !idCard && !md5Other.MatchString(up.IdentifyNum):
		return apierr.Invalid("IdentifyNum", "with ParamType md5 it must be the number up to its last 2 characters, then md5 of those 2 as 32 lowercase hex characters")
	case up.Mobile != "" && !md5Whole.MatchString(up.Mobile):
		return apierr.Invalid("Mobile", "with ParamType md5 it must be md5 of the whole number as 32 lowercase hex characters")
	}
	return nil
}

func checkIdentityType(t string) error {
	return validate.First(validate.MaxLen("IdentityType", t, maxIdentityType), validate.Alnum("IdentityType", t))
}

func hasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}

// hashed returns a checked plaintext request in the documented md5 forms.
func hashed(up cloudauth.BankMetaVerifyRequest) cloudauth.BankMetaVerifyRequest {
	up.ParamType = "md5"
	up.BankCard = hashedCard(up.BankCard)
	_, size := utf8.DecodeRuneInString(up.UserName)
	up.UserName = md5Hex(up.UserName[:size]) + up.UserName[size:]
	if id := up.IdentifyNum; id != "" {
		if up.IdentityType == "" || up.IdentityType == "01" {
			if len(id) == 15 {
				id = upgradeID(id)
			}
			up.IdentifyNum = id[:6] + md5Hex(id[6:14]) + id[14:]
		} else {
			cut := max(0, len(id)-2)
			up.IdentifyNum = id[:cut] + md5Hex(id[cut:])
		}
	}
	if up.Mobile != "" {
		up.Mobile = md5Hex(up.Mobile)
	}
	return up
}

// upgradeID turns a 15-digit ID card number into its 18-character form
// (GB 11643-1999): the birth year gains "19" (15-digit numbers were issued
// only to people born in the 1900s) and a check character is appended. The
// md5 form hashes an 8-digit birth date and keeps 4 characters after it,
// which only the 18-character form has.
func upgradeID(id15 string) string {
	id17 := id15[:6] + "19" + id15[6:]
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(id17[i]-'0') * w
	}
	return id17 + string("10X98765432"[sum%11])
}

// hashedCard is a checked plaintext card number in its documented md5
// form: the last 6 digits hashed.
func hashedCard(card string) string {
	return card[:len(card)-6] + md5Hex(card[len(card)-6:])
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// bizCodes and subCodes are the documented result tables (upstream documentation
// "BANK_CARD_N_META").
var bizCodes = map[string]string{
	"1": "consistent (billed)",
	"2": "inconsistent (billed)",
	"3": "no record found (not billed)",
}

var subCodes = map[string]string{
	"101": "verification passed",
	"201": "authentication information inconsistent: cardholder information incorrect",
	"202": "authentication information inconsistent: authenticated payment not enabled",
	"203": "authentication information inconsistent: card expired",
	"204": "authentication information inconsistent: card restricted",
	"205": "authentication information inconsistent: card confiscated",
	"206": "authentication information inconsistent: card invalid",
	"207": "authentication information inconsistent: no issuing bank for this card",
	"208": "authentication information inconsistent: card not initialised or dormant",
	"209": "authentication information inconsistent: card fraudulent or retained",
	"210": "authentication information inconsistent: card reported lost",
	"211": "authentication information inconsistent: too many wrong password attempts",
	"212": "authentication information inconsistent: the issuing bank does not support the transaction",
	"213": "authentication information inconsistent: card status abnormal or invalid",
	"214": "authentication information inconsistent: no phone number registered with the card",
	"215": "authentication information inconsistent: wrong password, expiry date or CVN2",
	"216": "authentication information inconsistent: other card exception",
	"301": "verification unavailable: the card does not support this service",
	"302": "verification unavailable: rejected by the bank; contact the issuing bank",
	"303": "verification unavailable: the card does not support phone number verification",
	"304": "verification unavailable: card number incorrect",
	"305": "verification unavailable: other reasons",
	"306": "verification unavailable: too many verification attempts",
}

func meaning(table map[string]string, code string) string {
	if m, ok := table[code]; ok {
		return m
	}
	return "not in the documented table"
}

// cardKey is the per-card limit's key for up: an HMAC of the card in its
// md5 form (the same for a card sent plain or already in md5 form), so that
// the store holds no card number and the count cannot be reversed without
// the key.
func (h *Handler) cardKey(up cloudauth.BankMetaVerifyRequest) []ratelimit.Key {
	if h.CardKey == nil || h.PerCard.Off() {
		return nil
	}
	card := up.BankCard
	if up.ParamType == "normal" {
		card = hashedCard(card)
	}
	m := hmac.New(sha256.New, h.CardKey)
	m.Write([]byte(card))
	return []ratelimit.Key{{Scope: "card", ID: hex.EncodeToString(m.Sum(nil)[:16]), Rule: h.PerCard, Who: "this card"}}
}
