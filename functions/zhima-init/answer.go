package main

import (
	"errors"

	"github.com/idverify/fc-kyc/pkg/alipay"
	"github.com/idverify/fc-kyc/pkg/apierr"
)

// ErrorBody is a failed answer in the gateway's vocabulary, so that a caller
// reads zhima-init's failures as it would read Alipay's: code and msg are
// the gateway's public codes, sub_code says which failure. The gateway's own
// answers pass through as they came. Failures of the function itself (a bad
// request, no answer from the gateway) take the gateway code that fits and
// their own sub_code:
//
//	bad parameter             400  40004 Business Failed, INVALID_PARAMETER
//	transaction_id in use     409  40004 Business Failed, IdempotentParameterMismatch / IdempotentProcessing
//	not POST, body too large  405, 413  40002 Invalid Arguments, UnsupportedMethod / RequestTooLarge
//	caller not authenticated  401  20001 Insufficient Token Permissions, Unauthorized
//	gateway unreachable, slow, unverifiable answer, our own fault
//	                          502, 503, 504, 500  20000 Service Currently Unavailable, UpstreamUnavailable / ...
type ErrorBody struct {
	Code      string `json:"code"`
	Msg       string `json:"msg"`
	SubCode   string `json:"sub_code,omitempty"`
	SubMsg    string `json:"sub_msg,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// errorBody puts err into the gateway's vocabulary: the function's
// ErrorShape, so that every failure of its HTTP side, from CORS and
// authentication to the gateway's own, answers in it.
func errorBody(err error) any {
	var g *alipay.GatewayError
	if errors.As(err, &g) {
		return ErrorBody{Code: g.Code, Msg: g.Msg, SubCode: g.SubCode, SubMsg: g.SubMsg}
	}
	e := apierr.As(err)
	b := ErrorBody{SubCode: e.Code, SubMsg: e.Message, RequestID: e.RequestID}
	switch e.Code {
	case apierr.InvalidParameter, apierr.MissingParameter:
		b.Code, b.Msg, b.SubCode = alipay.CodeBusinessFailed, "Business Failed", "INVALID_PARAMETER"
	case apierr.IdempotentParameterMismatch, apierr.IdempotentProcessing:
		b.Code, b.Msg = alipay.CodeBusinessFailed, "Business Failed"
	case apierr.UnsupportedMethod, apierr.RequestTooLarge:
		b.Code, b.Msg = alipay.CodeInvalidArgument, "Invalid Arguments"
	case apierr.Unauthorized:
		b.Code, b.Msg = alipay.CodeNoAuth, "Insufficient Token Permissions"
	default:
		b.Code, b.Msg = alipay.CodeUnavailable, "Service Currently Unavailable"
	}
	return b
}
