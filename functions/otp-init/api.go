package main

import (
	"errors"
	"net/http"
	"strings"

	"github.com/idverify/fc-kyc/pkg/antom"
	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/fcrt"
)

// newOperations serves both Antom operations from one deployment, so that the
// code a user receives can be checked by the function that sent it:
//
//   - HTTP: POST to a path whose last segment is "verify" (/verify, or
//     /otp/verify behind a custom domain) runs verifyAuthentication; POST to
//     any other path runs initAuthentication.
//   - Events: the request's "operation" field, "verify" or "init" (the
//     default when absent), chooses. An HTTP body may carry it too, but it
//     must then agree with the path.
//
// HTTP answers use Antom's own vocabulary, so that a caller reads one shape
// whatever failed: {"result":{"resultCode","resultStatus","resultMessage"},
// "authenticationRequestId"}. Parameter errors are PARAM_ILLEGAL, a wrong
// method METHOD_NOT_SUPPORTED (both F); Antom's F codes pass through; a
// failure whose outcome is unknown (timeout, unreachable, an answer that
// does not verify) is U, meaning: repeat with the same
// authenticationRequestId. Event errors keep the runtime's error body
// ({RequestId, Code, Message}, x-fc-status 404), with the
// authenticationRequestId as RequestId.
func newOperations(h *Handler) (http.Handler, fcrt.EventFunc) {
	initAPI, initEvent := fcrt.Operation(h.Init, fcrt.WithMaxBody(maxBody))
	verifyAPI, verifyEvent := fcrt.Operation(h.Verify, fcrt.WithMaxBody(maxBody))
	return fcrt.Routes{Field: "operation", Default: opInit, MaxBody: maxBody, ByName: map[string]fcrt.Route{
		opInit:   {HTTP: initAPI, Event: initEvent},
		opVerify: {HTTP: verifyAPI, Event: verifyEvent},
	}}.Handlers()
}

// failureBody is an error answer in Antom's shape.
type failureBody struct {
	Result                  antom.Result `json:"result"`
	AuthenticationRequestId string       `json:"authenticationRequestId,omitempty"`
}

// failure turns err into Antom's vocabulary: the function's ErrorShape, so
// that every failure of its HTTP side, from CORS and authentication to
// Antom's own, answers in it.
func failure(err error) any {
	e := apierr.As(err)
	status := apierr.Status(e)
	code := e.Code
	switch code {
	case apierr.MissingParameter, apierr.InvalidParameter, apierr.RequestTooLarge:
		code = "PARAM_ILLEGAL"
	case apierr.UnsupportedMethod:
		code = "METHOD_NOT_SUPPORTED"
	}
	// Our own refusals are final; a failure of ours or upstream (5xx) may
	// have reached Antom, so its outcome is unknown, unless Antom said.
	resultStatus := antom.StatusFailure
	if status >= http.StatusInternalServerError {
		resultStatus = antom.StatusUnknown
	}
	var re *antom.ResultError
	if errors.As(err, &re) {
		resultStatus = re.Result.ResultStatus
	}
	msg := strings.TrimSpace(e.Message)
	return failureBody{
		Result:                  antom.Result{ResultCode: code, ResultStatus: resultStatus, ResultMessage: msg},
		AuthenticationRequestId: e.RequestID,
	}
}
