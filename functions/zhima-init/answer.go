package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"

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

// errorBody puts err into the gateway's vocabulary.
func errorBody(err error) ErrorBody {
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

// failureKey holds a *error where the operation notes its failure, so that
// gatewayAnswers has the whole error (a *alipay.GatewayError's sub_code),
// not only the runtime's rendering of it.
type failureKey struct{}

func noteFailure(ctx context.Context, err error) {
	if p, ok := ctx.Value(failureKey{}).(*error); ok {
		*p = err
	}
}

// gatewayAnswers rewrites the failed answers of next (the runtime's
// operation handler and the auth check, which answer in the common
// {Code, Message} shape) into ErrorBody, keeping their status and headers
// (Retry-After, Allow). Successful answers pass through untouched.
func gatewayAnswers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var failure error
		r = r.WithContext(context.WithValue(r.Context(), failureKey{}, &failure))
		rec := &buffered{header: w.Header()}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		if rec.status < 400 {
			w.WriteHeader(rec.status)
			_, _ = w.Write(rec.body.Bytes())
			return
		}
		if failure == nil {
			var b apierr.Body
			if json.Unmarshal(rec.body.Bytes(), &b) != nil || b.Code == "" {
				b = apierr.Body{Code: apierr.InternalError, Message: "The function failed unexpectedly; see its log for the request id."}
			}
			failure = &apierr.Error{Code: b.Code, Message: b.Message, RequestID: b.RequestId}
		}
		apierr.WriteJSON(w, rec.status, errorBody(failure))
	})
}

// buffered holds an answer until gatewayAnswers has seen its status. It
// shares the real writer's header map, so headers set below arrive as set.
type buffered struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *buffered) Header() http.Header { return b.header }

func (b *buffered) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *buffered) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}
