package emulator

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"time"
)

// This file is the cloudauth-intl gateway: it reads a request, authenticates
// it (acs3.go), applies any injected fault (faults.go) and runs the action
// (cloudauth_actions.go), answering in the real gateway's JSON shapes.

// cloudauthVersion is the only API version the emulator serves.
const cloudauthVersion = "2022-08-09"

// maxBodyBytes bounds a request body; Initialize may carry a base64 face
// picture, so this is generous.
const maxBodyBytes = 16 << 20

// apiError is an error answer of the gateway.
type apiError struct {
	Code    string
	Message string
}

// errorStatus is the HTTP status of each error code the emulator answers
// with, as the real gateway and the eKYC docs give them.
var errorStatus = map[string]int{
	"IncompleteSignature":                        http.StatusBadRequest,
	"SignatureDoesNotMatch":                      http.StatusBadRequest,
	"InvalidAccessKeyId.NotFound":                http.StatusNotFound,
	"InvalidTimeStamp.Expired":                   http.StatusBadRequest,
	"SignatureNonceUsed":                         http.StatusBadRequest,
	"InvalidSecurityToken.MismatchWithAccessKey": http.StatusBadRequest,
	"InvalidVersion":                             http.StatusBadRequest,
	"InvalidAction.NotFound":                     http.StatusNotFound,
	"MissingParameter":                           http.StatusBadRequest,
	"InvalidParameter":                           http.StatusBadRequest,
	"Throttling.Api":                             http.StatusForbidden,
	"InternalError":                              http.StatusInternalServerError,
	"ServiceUnavailable":                         http.StatusServiceUnavailable,
}

func (e *apiError) status() int { return errorStatus[e.Code] }

func errIncompleteSignature(detail string) *apiError {
	return &apiError{"IncompleteSignature", "The request signature does not conform to Aliyun standards: " + detail + "."}
}

func errSignatureMismatch(detail string) *apiError {
	return &apiError{"SignatureDoesNotMatch", "Specified signature does not match our calculation. " + detail}
}

func errAccessKeyNotFound() *apiError {
	return &apiError{"InvalidAccessKeyId.NotFound", "Specified access key is not found."}
}

func errTimestampExpired() *apiError {
	return &apiError{"InvalidTimeStamp.Expired", "Specified time stamp or date value is expired."}
}

func errNonceUsed() *apiError {
	return &apiError{"SignatureNonceUsed", "Specified signature nonce was used already."}
}

func errTokenMismatch() *apiError {
	return &apiError{"InvalidSecurityToken.MismatchWithAccessKey", "Specified SecurityToken mismatch with the AccessKey."}
}

func errMissing(param string) *apiError {
	return &apiError{"MissingParameter", `The input parameter "` + param + `" that is mandatory for processing this request is not supplied.`}
}

func errInvalid(param, why string) *apiError {
	return &apiError{"InvalidParameter", `The parameter "` + param + `" is invalid: ` + why + "."}
}

// cloudauthActions are the emulated operations. Each gets the business
// parameters (query ∪ form body) and returns the Result object.
var cloudauthActions = map[string]func(e *Emulator, r *http.Request, p params) (any, *apiError){
	"Initialize":         (*Emulator).initialize,
	"CheckResult":        (*Emulator).checkResult,
	"BankMetaVerifyIntl": (*Emulator).bankMetaVerify,
}

// ownEnvelope is a result that brings its whole answer body, for actions
// whose success envelope is not {Code "Success", Result}.
type ownEnvelope interface {
	envelope(requestID string) (body any, code string)
}

// serveCloudauth handles one API request. The order of checks: signature
// first (nothing is trusted before it), then version and action, then an
// injected fault, then the action. Faults thus model failures of a service
// that has authenticated and routed the call, and can never mask a signature
// error in a test.
func (e *Emulator) serveCloudauth(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rid := newRequestID()
	action := r.Header.Get(hdrAction)
	e.count(&e.requests, action)

	answer := func(status int, code string) {
		e.log.Info("cloudauth request", "action", action, "status", status, "code", code,
			"requestId", rid, "duration", time.Since(start))
	}
	fail := func(aerr *apiError) {
		e.count(&e.rejected, aerr.Code)
		writeAPIError(w, r, rid, aerr)
		answer(aerr.status(), aerr.Code)
	}

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if !errors.As(err, &tooLarge) {
			return // the client went away
		}
		fail(errInvalid("body", "the request body is too large"))
		return
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		fail(errIncompleteSignature("the query string is malformed"))
		return
	}
	who, aerr := e.authenticate(r, query, body)
	if aerr != nil {
		fail(aerr)
		return
	}
	e.count(&e.accepted, action)

	run, known := cloudauthActions[action]
	switch {
	case r.Header.Get(hdrVersion) != cloudauthVersion:
		fail(&apiError{"InvalidVersion", "Specified parameter Version is not valid."})
		return
	case !known:
		fail(&apiError{"InvalidAction.NotFound", "Specified api is not found, please check your url and method."})
		return
	}

	if f, ok := e.faults[Cloudauth].take(action); ok {
		e.log.Info("cloudauth fault", "action", action, "kind", f.Kind, "requestId", rid)
		aerr, answered := e.applyFault(w, r, rid, f)
		if aerr != nil {
			fail(aerr)
			return
		}
		if answered {
			return
		}
	}

	p, aerr := businessParams(r, query, body)
	if aerr != nil {
		fail(aerr)
		return
	}
	e.mu.Lock()
	e.last[action] = Received{AccessKeyID: who.AccessKeyID, SecurityToken: who.SecurityToken, Params: p}
	e.mu.Unlock()

	result, aerr := run(e, r, p)
	if aerr != nil {
		fail(aerr)
		return
	}
	if own, ok := result.(ownEnvelope); ok {
		body, code := own.envelope(rid)
		writeJSON(w, http.StatusOK, rid, body)
		answer(http.StatusOK, code)
		return
	}
	writeJSON(w, http.StatusOK, rid, struct {
		RequestId string
		Code      string
		Message   string
		Result    any
	}{rid, "Success", "success", result})
	answer(http.StatusOK, "Success")
}

// count adds one to (*m)[key]. m points at one of the emulator's counter
// fields, which Reset replaces, so it is only dereferenced under the lock.
func (e *Emulator) count(m *map[string]int64, key string) {
	e.mu.Lock()
	(*m)[key]++
	e.mu.Unlock()
}

// params are the business parameters of a request, one value per key.
type params map[string]string

// businessParams merges the query and a form body; a key in both keeps the
// query's value. The darabonba client never sends a key twice.
func businessParams(r *http.Request, query url.Values, body []byte) (params, *apiError) {
	p := params{}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, errInvalid("body", "the form body is malformed")
		}
		for k := range form {
			p[k] = form.Get(k)
		}
	}
	for k := range query {
		p[k] = query.Get(k)
	}
	return p, nil
}

// writeAPIError writes the gateway's error body.
func writeAPIError(w http.ResponseWriter, r *http.Request, rid string, aerr *apiError) {
	writeJSON(w, aerr.status(), rid, struct {
		RequestId string
		HostId    string
		Code      string
		Message   string
		Recommend string
	}{rid, r.Host, aerr.Code, aerr.Message,
		"https://api.alibabacloud.com/troubleshoot?" + url.Values{
			"q": {aerr.Code}, "product": {"Cloudauth-intl"}, "requestId": {rid},
		}.Encode()})
}

// writeJSON writes v with the gateway's content type and request id header.
func writeJSON(w http.ResponseWriter, status int, rid string, v any) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.Header().Set("x-acs-request-id", rid)
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // the gateway writes "&" in URLs as is
	_ = enc.Encode(v)        // the client may have gone; nothing to do about it
}
