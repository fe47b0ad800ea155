package emulator

import (
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// This file holds the emulated cloudauth-intl operations. They check what the
// real service documents (the eKYC Initialize page for ProductCode
// KYC_GLOBAL, and the SDK's request models) and nothing more.

var (
	merchantBizIDPattern = regexp.MustCompile(`^[A-Za-z0-9]{1,32}$`)
	docTypePattern       = regexp.MustCompile(`^[0-9]{8}$`)
)

// initializeResult is Initialize's Result; every field is a string.
type initializeResult struct {
	TransactionId  string
	TransactionUrl string
	Protocol       string
	ClientCfg      string
}

// initialize starts an eKYC transaction (ProductCode KYC_GLOBAL). A required
// parameter that is absent or empty is MissingParameter; a value the service
// would refuse is InvalidParameter. Checks run in the documented order of the
// parameters, so a request with several problems reports the first.
func (e *Emulator) initialize(r *http.Request, p params) (any, *apiError) {
	for _, name := range []string{"ProductCode", "MerchantBizId", "MetaInfo", "MerchantUserId", "DocType"} {
		if p[name] == "" {
			return nil, errMissing(name)
		}
	}
	var meta map[string]json.RawMessage
	switch {
	case p["ProductCode"] != "KYC_GLOBAL":
		return nil, errInvalid("ProductCode", "the eKYC solution takes KYC_GLOBAL")
	case !merchantBizIDPattern.MatchString(p["MerchantBizId"]):
		return nil, errInvalid("MerchantBizId", "it takes up to 32 letters and digits")
	case json.Unmarshal([]byte(p["MetaInfo"]), &meta) != nil || meta == nil:
		return nil, errInvalid("MetaInfo", "it must be the JSON object the client SDK produced")
	case !docTypePattern.MatchString(p["DocType"]):
		return nil, errInvalid("DocType", "it is an 8-digit document type code")
	case p["ProductFlow"] != "" && p["ProductFlow"] != "DOC_FACE" && p["ProductFlow"] != "FACE_DOC":
		return nil, errInvalid("ProductFlow", "it takes DOC_FACE or FACE_DOC")
	case p["DocScanMode"] != "" && p["DocScanMode"] != "manual":
		return nil, errInvalid("DocScanMode", "it takes manual")
	}
	if cb := p["CallbackUrl"]; cb != "" && !e.callbackURLAllowed(cb) {
		why := "it must start with https://"
		if e.allowHTTPCB {
			why += " (or http:// to a loopback host)"
		}
		return nil, errInvalid("CallbackUrl", why)
	}

	tx := e.newTransaction(p)
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return initializeResult{
		TransactionId:  tx.ID,
		TransactionUrl: scheme + "://" + r.Host + ekycPagePath + tx.ID,
	}, nil
}

// callbackURLAllowed reports whether Initialize accepts raw as CallbackUrl:
// https with a host, or, when the emulator allows it, http to a loopback host.
func (e *Emulator) callbackURLAllowed(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return false
	}
	switch u.Scheme {
	case "https":
		return true
	case "http":
		h := u.Hostname()
		ip := net.ParseIP(h)
		return e.allowHTTPCB && (strings.EqualFold(h, "localhost") || ip != nil && ip.IsLoopback())
	}
	return false
}

// checkResultResult is CheckResult's Result; every field is a string and the
// Ext* values are JSON documents encoded as strings, as the real API has them.
type checkResultResult struct {
	Passed       string
	SubCode      string
	EkycResult   string
	ExtBasicInfo string
	ExtIdInfo    string
	ExtFaceInfo  string
	ExtRiskInfo  string
	ExtInfo      string
}

// checkResult reports a transaction's state: P (pending) until Complete
// sets Y or N.
func (e *Emulator) checkResult(_ *http.Request, p params) (any, *apiError) {
	for _, name := range []string{"MerchantBizId", "TransactionId"} {
		if p[name] == "" {
			return nil, errMissing(name)
		}
	}
	tx, ok := e.Transaction(p["TransactionId"])
	if !ok {
		return nil, errInvalid("TransactionId", "no such transaction")
	}
	if tx.MerchantBizID != p["MerchantBizId"] {
		return nil, errInvalid("MerchantBizId", "it does not belong to the transaction")
	}
	res := checkResultResult{Passed: tx.Passed, SubCode: tx.SubCode}
	if tx.Passed == "Y" {
		// Small stand-ins for the real documents, which carry OCR and face
		// data; enough for a client to see well-formed JSON strings.
		docType, _ := json.Marshal(tx.DocType)
		res.ExtBasicInfo = `{"docType":` + string(docType) + `}`
		res.ExtIdInfo = `{"ocrIdInfo":{},"spoofInfo":{"spoofResult":"N"}}`
		res.ExtFaceInfo = `{"faceAttack":"N","faceComparisonScore":99.5}`
		res.ExtRiskInfo = `{}`
		res.ExtInfo = `{}`
	}
	return res, nil
}
