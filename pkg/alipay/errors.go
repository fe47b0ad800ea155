package alipay

import "net/http"

// Gateway codes (public error codes of the open platform, reference §3.4).
const (
	CodeSuccess         = "10000"
	CodeUnavailable     = "20000" // isp.unknow-error, aop.unknow-error
	CodeNoAuth          = "20001" // aop.invalid-auth-token, ...
	CodeMissingArgument = "40001" // isv.missing-*
	CodeInvalidArgument = "40002" // isv.invalid-signature, isv.invalid-app-id, ...
	CodeCondition       = "40003"
	CodeBusinessFailed  = "40004" // sub_code says which: INVALID_PARAMETER, ...
	CodeRateLimited     = "40005"
	CodeNoPermission    = "40006"
)

// GatewayError is a failure the gateway answered, in its own vocabulary.
// Its JSON form is the gateway's: {code, msg, sub_code, sub_msg}.
type GatewayError struct {
	Code    string `json:"code"`
	Msg     string `json:"msg"`
	SubCode string `json:"sub_code,omitempty"`
	SubMsg  string `json:"sub_msg,omitempty"`
	// Verified is whether the answer carried a sign that verified. The
	// gateway signs most error answers; an unsigned one is still read as
	// an error, never as a success.
	Verified bool `json:"-"`
}

func (e *GatewayError) Error() string {
	s := "Alipay gateway " + e.Code + " " + e.Msg
	if e.SubCode != "" {
		s += ": " + e.SubCode
	}
	if e.SubMsg != "" {
		s += " " + e.SubMsg
	}
	return s
}

// codeStatus is the HTTP status of the gateway codes that are not the
// merchant's set-up (keys, permissions, contract): the gateway's own
// trouble is 503; a business failure (40004) is refused for this request,
// 422, unless subCodeStatus knows its sub_code better.
var codeStatus = map[string]int{
	CodeUnavailable:    http.StatusServiceUnavailable,
	CodeRateLimited:    http.StatusServiceUnavailable,
	CodeBusinessFailed: http.StatusUnprocessableEntity,
}

// subCodeStatus is the HTTP status of the 40004 sub_codes of
// zhima.customer.certification.initialize (upstream documentation "业务错误码") and of
// the ones a caller can act on.
var subCodeStatus = map[string]int{
	"INVALID_PARAMETER":    http.StatusBadRequest,          // the caller's parameter: fix it
	"UNSUPPORTED_BIZ_CODE": http.StatusBadRequest,          // biz_code not signed for
	"SYSTEM_ERROR":         http.StatusServiceUnavailable,  // busy: retry later
	"TRANSACTION_ERROR":    http.StatusServiceUnavailable,  // "try again later"
	"ARRANGEMENT_ERROR":    http.StatusBadGateway,          // the merchant's contract
	"BIZ_ERROR":            http.StatusUnprocessableEntity, // refused for this request
}

// HTTPStatus maps the gateway's answer to the status the function answers
// with: what the caller can fix is 4xx; what is the merchant's set-up
// (keys, permissions, contract) or the gateway's own trouble is 502/503,
// since the caller cannot fix it.
func (e *GatewayError) HTTPStatus() int {
	if s, ok := subCodeStatus[e.SubCode]; ok && e.Code == CodeBusinessFailed {
		return s
	}
	if s, ok := codeStatus[e.Code]; ok {
		return s
	}
	return http.StatusBadGateway
}
