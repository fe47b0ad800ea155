package fcrt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/idverify/fc-kyc/pkg/apierr"
)

// Operation adapts one typed operation to both entry points, so a function
// writes its logic once and both answer with the same errors.
//
// The HTTP side takes POST only, reads at most the body limit (WithMaxBody;
// 1 MiB by default) and answers 200 with Resp as JSON, or the error through
// apierr (in the function's ErrorShape). The event side decodes ev.Request
// the same way and returns op's result. Req is decoded strictly: a
// parameter Req has no field for is refused, so a caller can never set what
// the server owns by adding it to the body.
func Operation[Req, Resp any](op func(context.Context, Req) (Resp, error), opts ...OperationOption) (http.Handler, EventFunc) {
	cfg := operationConfig{maxBody: defaultMaxBytes}
	for _, o := range opts {
		o(&cfg)
	}
	maxBody := cfg.maxBody
	api := func(w http.ResponseWriter, r *http.Request) {
		resp, err := serveOperation(w, r, op, maxBody)
		if err != nil {
			noteFailure(r.Context(), err)
			apierr.Write(w, r, err)
			return
		}
		apierr.WriteJSON(w, http.StatusOK, resp)
	}
	event := func(ctx context.Context, ev Event) (any, error) {
		if int64(len(ev.Request)) > maxBody {
			return nil, errTooLarge(maxBody)
		}
		req, err := decode[Req](ev.Request)
		if err != nil {
			return nil, err
		}
		return op(ctx, req)
	}
	return http.HandlerFunc(api), event
}

// OperationOption tunes an Operation (the option pattern of aws-lambda-go's
// lambda.Option): new settings come as new options, not new parameters.
type OperationOption func(*operationConfig)

type operationConfig struct {
	maxBody int64
}

// WithMaxBody sets the largest request body, in bytes, on both entry
// points; a larger one is 413 RequestTooLarge. ≤ 0 keeps the default, 1 MiB.
func WithMaxBody(n int64) OperationOption {
	return func(c *operationConfig) {
		if n > 0 {
			c.maxBody = n
		}
	}
}

func serveOperation[Req, Resp any](w http.ResponseWriter, r *http.Request, op func(context.Context, Req) (Resp, error), maxBody int64) (Resp, error) {
	var zero Resp
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return zero, apierr.New(apierr.UnsupportedMethod, "This API takes POST only.")
	}
	body, err := readBody(w, r, maxBody)
	if err != nil {
		return zero, err
	}
	req, err := decode[Req](body)
	if err != nil {
		return zero, err
	}
	return op(r.Context(), req)
}

// decode reads b as exactly one JSON object into a Req, refusing parameters
// Req does not have, names in another case and keys given twice
// (checkKeys). Its errors name the parameter at fault.
func decode[Req any](b []byte) (Req, error) {
	var req Req
	if t := bytes.TrimLeft(b, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return req, errNotOneObject(nil)
	}
	if err := checkKeys(b, reflect.TypeFor[Req]()); err != nil {
		return req, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return req, errNotOneObject(err)
	}
	return req, nil
}

func decodeError(err error) error {
	// A field type's own UnmarshalJSON may already say what is wrong.
	var e *apierr.Error
	if errors.As(err, &e) {
		return e
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return apierr.Invalid(typeErr.Field, "must be "+jsonType(typeErr.Type))
	}
	// encoding/json has no error type for this one; its text is stable.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if unquoted, uerr := strconv.Unquote(name); uerr == nil {
			name = unquoted
		}
		return apierr.Invalid(name, "this operation takes no such parameter")
	}
	return errNotOneObject(err)
}

func errNotOneObject(cause error) error {
	return &apierr.Error{Code: apierr.InvalidParameter, Message: "The request body must be one JSON object.", Err: cause}
}

// jsonType names the JSON a Go type is decoded from, with its article.
func jsonType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a base64 string"
		}
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a " + t.Kind().String()
}
