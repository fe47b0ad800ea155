package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"

	"github.com/idverify/fc-kyc/pkg/antom"
	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/fcrt"
	"github.com/idverify/fc-kyc/pkg/logging"
)

// operations serves both Antom operations from one deployment, so that the
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
type operations struct {
	byName map[string]fcrt.EventFunc
}

func newOperations(h *Handler) *operations {
	_, initEvent := fcrt.Operation(h.Init, maxBody)
	_, verifyEvent := fcrt.Operation(h.Verify, maxBody)
	return &operations{byName: map[string]fcrt.EventFunc{opInit: initEvent, opVerify: verifyEvent}}
}

// Event runs the operation the event's "operation" field names.
func (o *operations) Event(ctx context.Context, ev fcrt.Event) (any, error) {
	name := operationIn(ev.Request)
	if name == "" {
		name = opInit
	}
	op, ok := o.byName[name]
	if !ok {
		return nil, apierr.Invalid("operation", "must be init or verify")
	}
	return op(ctx, ev)
}

// ServeHTTP runs the operation the path names.
func (o *operations) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := opInit
	if path.Base(r.URL.Path) == opVerify {
		name = opVerify
	}
	res, err := o.serve(w, r, name)
	if err != nil {
		code, status, body := failure(err)
		logging.From(r.Context()).Info("answered with an error", "operation", name, "code", code, "status", status)
		apierr.WriteAs(w, err, body)
		return
	}
	apierr.WriteJSON(w, http.StatusOK, res)
}

func (o *operations) serve(w http.ResponseWriter, r *http.Request, name string) (any, error) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return nil, apierr.New(apierr.UnsupportedMethod, "This API takes POST only.")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, apierr.New(apierr.RequestTooLarge, "The request body is over this function's limit of 4096 bytes.")
		}
		return nil, &apierr.Error{Code: apierr.InvalidParameter, Message: "The request body could not be read.", Err: err}
	}
	// A body that names the other operation was posted to the wrong path:
	// say so, before the operation's own decoding refuses the other
	// operation's parameters with a message that hides the real mistake.
	if named := operationIn(body); named != "" && named != name {
		return nil, apierr.Invalid("operation", fmt.Sprintf("is %q but this path runs %s: post verify requests to a path ending in /verify, init requests to any other path", named, name))
	}
	return o.byName[name](r.Context(), fcrt.Event{Kind: fcrt.EventRaw, Request: body})
}

// operationIn is the "operation" a request body names, or "" (none, or a
// body the operation's own decoding will refuse).
func operationIn(body []byte) string {
	var sel struct {
		Operation string `json:"operation"`
	}
	_ = json.Unmarshal(body, &sel)
	return sel.Operation
}

// failureBody is an error answer in Antom's shape.
type failureBody struct {
	Result                  antom.Result `json:"result"`
	AuthenticationRequestId string       `json:"authenticationRequestId,omitempty"`
}

// failure turns err into Antom's vocabulary: the code, the HTTP status and
// the body.
func failure(err error) (string, int, failureBody) {
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
	return code, status, failureBody{
		Result:                  antom.Result{ResultCode: code, ResultStatus: resultStatus, ResultMessage: msg},
		AuthenticationRequestId: e.RequestID,
	}
}
