// Package contract holds the tests to api/openapi.yaml: every request an
// end-to-end test sends to a function's process, and every answer it gets,
// is validated against the document, so that the document cannot drift from
// the code.
//
// A suite registers each function's process once, when it starts it:
//
//	p := testproc.Start(t, bin, port, env...)
//	contract.Register(t, "ekyc-init", p.URL())
//
// From then on, until t ends, every request to that base URL through
// http.DefaultTransport (http.Get, http.DefaultClient, any http.Client
// without a Transport of its own) is checked, and so is its answer; a
// violation fails t with t.Errorf. A client with its own transport wraps it
// with Transport. Importing the package is what routes
// http.DefaultTransport through the check; requests to hosts nobody
// registered (the emulator, a test's own servers) pass untouched.
//
// A request a test sends on purpose against the rules (a refused parameter,
// a missing credential, a wrong method) is marked with Invalid, or with the
// InvalidHeader header: only its answer is checked, against the documented
// error shape for its status.
//
// The functions answer on any path; the document writes each one under a
// path prefix, as one custom domain would route them (see the document's
// description). SpecPath maps a request to a function's process to that
// path.
package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/idverify/fc-kyc/api"
	"github.com/idverify/fc-kyc/internal/registry"
)

// InvalidHeader marks a request as deliberately invalid, for test helpers
// that take a map of headers rather than a request. The transport removes it
// before the request leaves.
const InvalidHeader = "X-Contract-Invalid"

// controlPath is Function Compute's header that tells events and lifecycle
// hooks from HTTP requests (see pkg/fcrt).
const controlPath = "x-fc-control-path"

var (
	loadOnce sync.Once
	loaded   *openapi3.T
	loadErr  error
)

// Doc is api/openapi.yaml, loaded and validated once.
func Doc() (*openapi3.T, error) {
	loadOnce.Do(func() {
		// The Zhima return answers a page; kin-openapi decodes text/plain
		// only, and a page is text all the same.
		openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
		loaded, loadErr = Load(api.OpenAPI)
	})
	return loaded, loadErr
}

// Load parses and validates an OpenAPI document (the package's tests load
// altered copies of api/openapi.yaml with it).
func Load(data []byte) (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("contract: loading the document: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("contract: the document is not valid OpenAPI: %w", err)
	}
	return doc, nil
}

// SpecPath is the document's path for a request to function fn's own
// process: the function's prefix, then what the path selects.
//
//   - An event (x-fc-control-path: /invoke) is <prefix>/invoke.
//   - otp-init: a path whose last segment is "verify" is /otp-init/verify,
//     any other /otp-init.
//   - callback: /zhima/return (the path the tests give ZHIMA_RETURN_URL) is
//     /callback/zhima/return; any other path is the eKYC notification,
//     /callback/ekyc/callback.
//   - the others: any path is /<function>.
//
// ok is false for Function Compute's lifecycle hooks (/initialize,
// /pre-stop), which are not part of the HTTP contract.
func SpecPath(fn, method, p string, h http.Header) (spec string, ok bool) {
	switch h.Get(controlPath) {
	case "/invoke":
		return "/" + fn + "/invoke", true
	case "/initialize", "/pre-stop":
		return "", false
	case "":
		if method == http.MethodGet && p == "/pre-stop" {
			return "", false
		}
	}
	switch fn {
	case "otp-init":
		if path.Base(p) == "verify" {
			return "/otp-init/verify", true
		}
		return "/otp-init", true
	case "callback":
		if p == "/zhima/return" {
			return "/callback/zhima/return", true
		}
		return "/callback/ekyc/callback", true
	}
	return "/" + fn, true
}

// Exchange is one request to a function and its answer, bodies read.
type Exchange struct {
	Function    string
	Request     *http.Request
	RequestBody []byte
	// Invalid says the request breaks the contract on purpose: only the
	// answer is checked.
	Invalid  bool
	Status   int
	Header   http.Header
	Response []byte
}

// Check validates x against doc: the request (unless x.Invalid) and the
// answer, whose status must be one the operation documents. It returns the
// first violation, or nil.
func Check(doc *openapi3.T, x Exchange) error {
	spec, ok := SpecPath(x.Function, x.Request.Method, x.Request.URL.Path, x.Request.Header)
	if !ok {
		return nil
	}
	item := doc.Paths.Value(spec)
	if item == nil {
		return fmt.Errorf("%s has no path %s in the document", x.Function, spec)
	}
	op := item.GetOperation(x.Request.Method)
	if op == nil {
		if !x.Invalid {
			return fmt.Errorf("%s %s: the document has no such operation (mark a request sent on purpose with a wrong method as Invalid)", x.Request.Method, spec)
		}
		// A wrong method on purpose: its answer (405, or 401 and 403 from
		// the front door, which comes first) is documented on the path's
		// own operation.
		op = item.Post
		if op == nil {
			op = item.Get
		}
	}
	route := &routers.Route{Spec: doc, Path: spec, PathItem: item, Method: x.Request.Method, Operation: op}
	opts := &openapi3filter.Options{
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true,
	}
	req := x.Request.Clone(context.Background())
	req.Body = io.NopCloser(bytes.NewReader(x.RequestBody))
	if strings.HasSuffix(spec, "/invoke") && req.Header.Get("Content-Type") == "" {
		// An event is the bytes Function Compute delivers, whatever their
		// Content-Type (InvokeFunction and timers set none): the function
		// reads them as JSON, and so does the contract.
		req.Header.Set("Content-Type", "application/json")
	}
	in := &openapi3filter.RequestValidationInput{Request: req, QueryParams: req.URL.Query(), Route: route, Options: opts}
	if !x.Invalid {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			return fmt.Errorf("request %s %s breaks the contract: %w", x.Request.Method, spec, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: x.Status, Header: x.Header, Options: opts}
	out.SetBodyBytes(x.Response)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		return fmt.Errorf("answer %d to %s %s breaks the contract: %w", x.Status, x.Request.Method, spec, err)
	}
	return nil
}

// CheckResultEvent validates the body of a result event the callback posts
// to RESULT_WEBHOOK_URL against the document's webhook (ResultEvent).
func CheckResultEvent(doc *openapi3.T, body []byte) error {
	hook := doc.Webhooks["result"]
	if hook == nil || hook.Post == nil || hook.Post.RequestBody == nil {
		return fmt.Errorf("the document has no result webhook")
	}
	media := hook.Post.RequestBody.Value.Content.Get("application/json")
	if media == nil || media.Schema == nil {
		return fmt.Errorf("the result webhook has no JSON schema")
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("a result event is one JSON object: %w", err)
	}
	if err := media.Schema.Value.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
		return fmt.Errorf("result event breaks the contract: %s", firstLine(err.Error()))
	}
	return nil
}

// registered is a function's process a test registered.
type registered struct {
	t  testing.TB
	fn string
}

var (
	mu    sync.Mutex
	hosts = map[string]registered{} // by host:port
)

// Register says that function fn (its name in internal/registry) serves at
// baseURL until t ends: requests to it through the package's transport are
// checked, and t fails on each violation.
func Register(t testing.TB, fn, baseURL string) {
	t.Helper()
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" {
		t.Fatalf("contract.Register(%q): not a base URL", baseURL)
	}
	if _, ok := registry.Lookup(fn); !ok {
		t.Fatalf("contract.Register(%q): no such function in internal/registry", fn)
	}
	if _, err := Doc(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	hosts[u.Host] = registered{t: t, fn: fn}
	mu.Unlock()
	t.Cleanup(func() {
		mu.Lock()
		delete(hosts, u.Host)
		mu.Unlock()
	})
}

func lookup(host string) (registered, bool) {
	mu.Lock()
	defer mu.Unlock()
	r, ok := hosts[host]
	return r, ok
}

type invalidKey struct{}

// Invalid marks req as breaking the contract on purpose: its answer is
// still checked.
func Invalid(req *http.Request) *http.Request {
	return req.WithContext(context.WithValue(req.Context(), invalidKey{}, true))
}

// Transport returns base wrapped so that requests to registered functions,
// and their answers, are checked. It reads each answer whole before
// returning it.
func Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	if _, ok := base.(*transport); ok {
		return base
	}
	return &transport{base: base}
}

func init() {
	http.DefaultTransport = Transport(http.DefaultTransport)
}

type transport struct{ base http.RoundTripper }

func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	reg, ok := lookup(req.URL.Host)
	if !ok {
		return tr.base.RoundTrip(req)
	}
	invalid, _ := req.Context().Value(invalidKey{}).(bool)
	if req.Header.Get(InvalidHeader) != "" {
		invalid = true
	}
	var body []byte
	if req.Body != nil {
		var err error
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	out := req.Clone(req.Context())
	out.Header.Del(InvalidHeader)
	out.Body = io.NopCloser(bytes.NewReader(body))
	if req.Body == nil || req.Body == http.NoBody {
		out.Body = req.Body
	}
	res, err := tr.base.RoundTrip(out)
	if err != nil {
		return res, err
	}
	answer, err := io.ReadAll(res.Body)
	res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(answer))
	if err != nil {
		return res, nil // the caller reads the same failure from its own read
	}
	doc, _ := Doc() // loaded by Register
	x := Exchange{Function: reg.fn, Request: out, RequestBody: body, Invalid: invalid,
		Status: res.StatusCode, Header: res.Header, Response: answer}
	if err := Check(doc, x); err != nil {
		reg.t.Errorf("contract (api/openapi.yaml), %s: %s\nanswer: %s", reg.fn, firstLine(err.Error()), excerpt(answer))
	}
	return res, nil
}

// firstLine keeps kin-openapi's one-line reason and drops the schema and
// value it prints after it.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func excerpt(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 400 {
		s = s[:400] + "..."
	}
	return s
}
