// Package apierr is the one error type every function answers with, and the
// one table that maps its codes to HTTP statuses.
//
// Codes are the documented vocabulary of the upstream the function fronts
// (cloudauth-intl's MissingParameter, InvalidParameter, Throttling.Api, ...),
// so a caller reading an answer can look the code up in the upstream's own
// documentation. Upstream failures keep the upstream's code and RequestId and
// map to 502/503/504; nothing leaves as a bare 500.
package apierr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Codes raised by the functions themselves. Upstream codes pass through as
// they come (see Status for how they map).
const (
	MissingParameter    = "MissingParameter"    // a required parameter is absent or empty
	InvalidParameter    = "InvalidParameter"    // a parameter has a value the operation refuses
	UnsupportedMethod   = "UnsupportedMethod"   // wrong HTTP method for the API
	RequestTooLarge     = "RequestTooLarge"     // body over the function's limit
	Unauthorized        = "Unauthorized"        // caller authentication failed
	UpstreamTimeout     = "UpstreamTimeout"     // the upstream did not answer within the deadline
	UpstreamUnavailable = "UpstreamUnavailable" // the upstream could not be reached
	BadUpstreamAnswer   = "BadUpstreamAnswer"   // the upstream answered something we cannot read
	InternalError       = "InternalError"       // a fault in the function itself
	// IdempotentParameterMismatch: a caller-chosen order id (MerchantBizId,
	// transaction_id) used again within the idempotency window with another
	// request, or by another caller. Alibaba Cloud's own code for a reused
	// idempotency token whose parameters changed.
	IdempotentParameterMismatch = "IdempotentParameterMismatch"
	// IdempotentProcessing: the first request with that order id is still
	// waiting for the upstream; try again shortly for its answer.
	IdempotentProcessing = "IdempotentProcessing"
)

// Error is a failure with a documented code. RequestID is the upstream's
// request id when the failure came from upstream, so a support ticket can
// cite it. RetryAfter, when set, becomes a Retry-After header.
type Error struct {
	Code       string
	Message    string
	RequestID  string
	RetryAfter time.Duration
	// HTTPStatus overrides the table; zero means "use the table".
	HTTPStatus int
	// Err is the underlying cause; it is never shown to callers.
	Err error
}

func (e *Error) Error() string {
	s := e.Code + ": " + e.Message
	if e.RequestID != "" {
		s += " (RequestId " + e.RequestID + ")"
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an Error with a code and a message.
func New(code, message string) *Error { return &Error{Code: code, Message: message} }

// Missing reports a required parameter that is absent, in the wording the
// Alibaba Cloud gateway uses.
func Missing(param string) *Error {
	return New(MissingParameter, "The input parameter \""+param+"\" that is mandatory for processing this request is not supplied.")
}

// Invalid reports a parameter whose value is refused; why says what is wanted.
func Invalid(param, why string) *Error {
	return New(InvalidParameter, "The parameter \""+param+"\" is invalid: "+why)
}

// As returns err as an *Error; anything else reads as InternalError so that
// no unlabelled failure reaches a caller.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: InternalError, Message: "The function failed unexpectedly; see its log for the request id.", Err: err}
}

// statusByCode is the single code → HTTP status table.
var statusByCode = map[string]int{
	MissingParameter:    http.StatusBadRequest,
	InvalidParameter:    http.StatusBadRequest,
	UnsupportedMethod:   http.StatusMethodNotAllowed,
	RequestTooLarge:     http.StatusRequestEntityTooLarge,
	Unauthorized:        http.StatusUnauthorized,
	UpstreamTimeout:     http.StatusGatewayTimeout,
	UpstreamUnavailable: http.StatusServiceUnavailable,
	BadUpstreamAnswer:   http.StatusBadGateway,
	InternalError:       http.StatusInternalServerError,

	IdempotentParameterMismatch: http.StatusConflict,
	IdempotentProcessing:        http.StatusConflict,

	// cloudauth-intl codes (upstream documentation "Initialize", table "HTTP status codes and messages").
	"OcrFail":             http.StatusUnprocessableEntity, // the document is unreadable: the caller can retake it
	"ProcessNotCompleted": http.StatusFailedDependency,
	"Throttling":          http.StatusServiceUnavailable,
	"Throttling.Api":      http.StatusServiceUnavailable,
	"Throttling.User":     http.StatusServiceUnavailable,
	"ServiceUnavailable":  http.StatusServiceUnavailable,
}

// Status is the HTTP status an error answers with. Upstream codes that are
// not in the table are the merchant's configuration or the upstream's fault
// (Forbidden.*, SignatureDoesNotMatch, InvalidAccessKeyId.*): the caller
// cannot fix them, so they read as 502. An upstream client that passes on an
// upstream InternalError sets HTTPStatus to 502, since the table's
// InternalError is the function's own.
func Status(err error) int {
	e := As(err)
	if e.HTTPStatus != 0 {
		return e.HTTPStatus
	}
	if s, ok := statusByCode[e.Code]; ok {
		return s
	}
	if strings.HasPrefix(e.Code, "Throttling") {
		return http.StatusServiceUnavailable
	}
	return http.StatusBadGateway
}

// Body is the JSON shape of an error answer: the cloudauth response fields.
type Body struct {
	RequestId string `json:"RequestId,omitempty"`
	Code      string `json:"Code"`
	Message   string `json:"Message"`
}

// BodyOf returns the answer body for err.
func BodyOf(err error) Body {
	e := As(err)
	return Body{RequestId: e.RequestID, Code: e.Code, Message: e.Message}
}

// Shape writes an error as the body of an HTTP answer in one upstream's
// vocabulary (the Alipay gateway's {code,msg,sub_code,sub_msg}, Antom's
// result); the status and Retry-After stay the error's. A function names
// its shape once (fcrt.Function.ErrorShape), and every part of its HTTP side
// (CORS, authentication, limits, the operation) answers in it.
type Shape func(error) any

type shapeKey struct{}

// WithShape returns ctx carrying shape, for Write.
func WithShape(ctx context.Context, shape Shape) context.Context {
	return context.WithValue(ctx, shapeKey{}, shape)
}

// Write answers r with err: its status (Status), its Retry-After, and the
// body of the shape r's context carries, else the common Body.
func Write(w http.ResponseWriter, r *http.Request, err error) {
	e := As(err)
	if e.RetryAfter > 0 {
		secs := int((e.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	var body any = BodyOf(err)
	if shape, ok := r.Context().Value(shapeKey{}).(Shape); ok && shape != nil {
		body = shape(err)
	}
	WriteJSON(w, Status(e), body)
}

// Marshal is json.Marshal without HTML escaping: answers are read by
// programs and people, not embedded in HTML, and a URL such as Zhima's
// certify_url must keep its & as it is (not \u0026) so that it still works
// when copied from a terminal into a browser. Every answer is encoded here.
func Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// WriteJSON writes v as a JSON answer with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"Code":"InternalError","Message":"answer could not be encoded"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
