package fcrt

// AWS Lambda, the alternate target: the same binary, on provided.al2023,
// serves through aws-lambda-go's runtime loop when AWS_LAMBDA_RUNTIME_API is
// set. Every Lambda event is turned into the HTTP request FC would have sent
// and served by the same Handler, so init, logs, error answers and the event
// envelopes behave exactly as on FC:
//
//   - API Gateway HTTP API and Function URL events (payload format 2.0), and
//     API Gateway REST API events (payload format 1.0, also what an HTTP API
//     sends when set to 1.0), become the caller's request and reach the
//     function's HTTP API; the answer is the proxy answer of the same format;
//   - anything else (direct Invoke, EventBridge Scheduler's input, an
//     EventBridge rule's event) becomes an x-fc-control-path: /invoke event.
//
// The deadline is Lambda's own (Lambda-Runtime-Deadline-Ms), less the same
// margin FC keeps (see budget), whatever FUNCTION_TIMEOUT_S says: the
// function's Timeout in the template is the one setting on Lambda.
//
// Each invocation logs the one line it logs on FC; aws-lambda-go's own copy
// of a returned error is dropped (see runtimeLog). A start that fails is
// reported to the Runtime API's /runtime/init/error (see Main).

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/idverify/fc-kyc/pkg/apierr"
)

// lambdaRuntimeAPI is the variable Lambda sets, in every function's
// environment, to the host:port of its Runtime API.
const lambdaRuntimeAPI = "AWS_LAMBDA_RUNTIME_API"

// OnLambda reports whether the process runs on AWS Lambda.
func OnLambda() bool { return os.Getenv(lambdaRuntimeAPI) != "" }

// serveLambda runs aws-lambda-go's runtime loop with f. It does not return:
// aws-lambda-go ends the process itself when the Runtime API fails, and
// Lambda then starts a new one.
func serveLambda(f Function, o Options) {
	o = o.withDefaults()
	log.SetFlags(0)
	log.SetOutput(runtimeLog{o.Logger.With("function", f.Name)})
	lambda.Start(LambdaHandler(f, o))
}

// runtimeLog takes what aws-lambda-go writes with the standard log package.
// Its copy of a failed invocation's error ({"errorMessage", "errorType"}) is
// dropped: the invocation's own line has said it, with the request id.
// Anything else it says (the Runtime API failing, just before it exits) is
// an error line in the functions' JSON shape.
type runtimeLog struct{ log *slog.Logger }

func (w runtimeLog) Write(p []byte) (int, error) {
	line := bytes.TrimSpace(p)
	var e struct {
		Type *string `json:"errorType"`
	}
	if json.Unmarshal(line, &e) == nil && e.Type != nil {
		return len(p), nil
	}
	w.log.Error("aws-lambda-go", "said", string(line))
	return len(p), nil
}

// initErrorPath is where a runtime reports a start that failed; Lambda then
// answers the pending invocation with the message and retries the start on
// the next one.
// https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html#runtimes-api-initerror
const initErrorPath = "/2018-06-01/runtime/init/error"

// initErrorType is the error type a failed start is reported with; Lambda
// accepts any <category.reason> string.
const initErrorType = "Runtime.InitError"

// reportInitError posts err to the Runtime API at api (host:port).
func reportInitError(api string, err error) error {
	body, _ := json.Marshal(messages.InvokeResponse_Error{Type: initErrorType, Message: err.Error()})
	req, rerr := http.NewRequest(http.MethodPost, "http://"+api+initErrorPath, bytes.NewReader(body))
	if rerr != nil {
		return rerr
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Lambda-Runtime-Function-Error-Type", initErrorType)
	res, rerr := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if rerr != nil {
		return rerr
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		return fmt.Errorf("the Runtime API answered %s to %s", res.Status, initErrorPath)
	}
	return nil
}

// LambdaHandler adapts f to aws-lambda-go (see the top of this file).
func LambdaHandler(f Function, o Options) lambda.Handler {
	// The adapter builds every request itself: events with the control
	// path, HTTP events with "/http-invoke" and none of the caller's x-fc-*.
	o.TrustControlPath = true
	return &lambdaHandler{h: newHandler(f, o, true)}
}

type lambdaHandler struct{ h *handler }

// Invoke answers one Lambda invocation. An HTTP event always gets an HTTP
// answer, whatever its status, as on FC (a function error would reach the
// caller as a bare 502 from API Gateway); a failed event is returned as an
// error, so that Lambda counts it as failed (and retries an asynchronous one).
func (l *lambdaHandler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	id := ""
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		id = lc.AwsRequestID
	}
	switch probeLambdaEvent(payload) {
	case lambdaHTTP:
		req, err := fromHTTPAPIEvent(payload)
		return l.serveHTTPEvent(ctx, id, req, err, (*bufferedWriter).httpResponse)
	case lambdaRESTv1:
		req, err := fromRESTEvent(payload)
		return l.serveHTTPEvent(ctx, id, req, err, (*bufferedWriter).proxyResponse)
	}
	return l.serveEvent(ctx, id, fromEventBridge(payload))
}

type lambdaEventKind int

const (
	lambdaOther lambdaEventKind = iota
	lambdaHTTP
	lambdaRESTv1
)

// probeLambdaEvent tells an HTTP event from the others by the fields API
// Gateway and Function URLs always send; any other payload is an event.
func probeLambdaEvent(payload []byte) lambdaEventKind {
	var probe struct {
		Version        string `json:"version"`
		HTTPMethod     string `json:"httpMethod"`
		RequestContext *struct {
			HTTP struct {
				Method string `json:"method"`
			} `json:"http"`
		} `json:"requestContext"`
	}
	if json.Unmarshal(payload, &probe) != nil || probe.RequestContext == nil {
		return lambdaOther
	}
	switch {
	case probe.Version == "2.0" && probe.RequestContext.HTTP.Method != "":
		return lambdaHTTP
	case probe.HTTPMethod != "":
		return lambdaRESTv1
	}
	return lambdaOther
}

// lambdaRequest is what an API Gateway or Function URL event says of the
// caller's request, whatever its payload format.
type lambdaRequest struct {
	method, path, rawQuery string
	header                 http.Header
	body                   []byte
	host, sourceIP         string
}

// fromHTTPAPIEvent reads payload format 2.0. The error is the caller's 400.
func fromHTTPAPIEvent(payload []byte) (lambdaRequest, error) {
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(payload, &ev); err != nil {
		return lambdaRequest{method: "?", path: "?"}, apierr.New(apierr.InvalidParameter, "The HTTP event does not have the API Gateway payload format 2.0 shape.")
	}
	e := lambdaRequest{method: ev.RequestContext.HTTP.Method, path: ev.RawPath, rawQuery: ev.RawQueryString,
		header: http.Header{}, host: ev.RequestContext.DomainName, sourceIP: ev.RequestContext.HTTP.SourceIP}
	if e.path == "" {
		e.path = ev.RequestContext.HTTP.Path
	}
	for k, v := range ev.Headers {
		// Several values of a header come joined with commas, as 2.0 sends them.
		e.header.Set(k, v)
	}
	if len(ev.Cookies) > 0 {
		e.header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	var err error
	e.body, err = eventBody(ev.Body, ev.IsBase64Encoded)
	return e, err
}

// fromRESTEvent reads payload format 1.0: the REST API's, and an HTTP
// API's set to 1.0. multiValueHeaders and multiValueQueryStringParameters
// hold every value; headers and queryStringParameters only the last of each,
// so they are read only when the others are absent. The query arrives
// decoded, and path is the resource path without the stage.
func fromRESTEvent(payload []byte) (lambdaRequest, error) {
	var ev events.APIGatewayProxyRequest
	if err := json.Unmarshal(payload, &ev); err != nil {
		return lambdaRequest{method: "?", path: "?"}, apierr.New(apierr.InvalidParameter, "The HTTP event does not have the API Gateway payload format 1.0 shape.")
	}
	e := lambdaRequest{method: ev.HTTPMethod, header: http.Header{}, host: ev.RequestContext.DomainName,
		sourceIP: ev.RequestContext.Identity.SourceIP}
	e.path = (&url.URL{Path: ev.Path}).EscapedPath()
	if len(ev.MultiValueHeaders) > 0 {
		for k, vs := range ev.MultiValueHeaders {
			for _, v := range vs {
				e.header.Add(k, v)
			}
		}
	} else {
		for k, v := range ev.Headers {
			e.header.Set(k, v)
		}
	}
	q := url.Values{}
	if len(ev.MultiValueQueryStringParameters) > 0 {
		for k, vs := range ev.MultiValueQueryStringParameters {
			q[k] = append(q[k], vs...)
		}
	} else {
		for k, v := range ev.QueryStringParameters {
			q.Set(k, v)
		}
	}
	e.rawQuery = q.Encode()
	var err error
	e.body, err = eventBody(ev.Body, ev.IsBase64Encoded)
	return e, err
}

func eventBody(body string, b64 bool) ([]byte, error) {
	if !b64 {
		return []byte(body), nil
	}
	b, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, apierr.New(apierr.InvalidParameter, "The HTTP event's body is marked base64 but is not.")
	}
	return b, nil
}

// serveHTTPEvent serves an HTTP event as the request the caller sent, and
// answers it in the event's format (answer). An event that cannot be read
// (readErr) is the caller's 400, answered and logged the same way.
func (l *lambdaHandler) serveHTTPEvent(ctx context.Context, id string, ev lambdaRequest, readErr error,
	answer func(*bufferedWriter) any) ([]byte, error) {
	target := ev.path
	if !strings.HasPrefix(target, "/") {
		target = "/" + target
	}
	if ev.rawQuery != "" {
		target += "?" + ev.rawQuery
	}
	w := newBufferedWriter()
	r, err := http.NewRequestWithContext(ctx, ev.method, target, bytes.NewReader(ev.body))
	if readErr == nil && err != nil {
		readErr = apierr.New(apierr.InvalidParameter, "The HTTP event's method or path is not valid.")
	}
	if readErr != nil {
		l.refuse(w, id, ev.method, ev.path, readErr)
		return json.Marshal(answer(w))
	}
	for k, v := range ev.header {
		// On FC a caller cannot send x-fc-* headers; behind API Gateway one
		// can, and must not pass for FC: a forged x-fc-control-path would
		// reach the event path without auth, and forged x-fc-access-key-*
		// would replace the function's credentials.
		if strings.HasPrefix(strings.ToLower(k), "x-fc-") {
			continue
		}
		r.Header[k] = v
	}
	// What FC sends with an HTTP trigger's request: without it a caller's
	// GET /pre-stop would be taken for the lifecycle hook.
	r.Header.Set(headerControlPath, "/http-invoke")
	if id != "" {
		r.Header.Set(headerRequestID, id)
	}
	r.Host = r.Header.Get("Host")
	if r.Host == "" {
		r.Host = ev.host
	}
	r.RemoteAddr = net.JoinHostPort(ev.sourceIP, "0")
	r.ContentLength = int64(len(ev.body))
	r.RequestURI = target

	l.h.ServeHTTP(w, r)
	return json.Marshal(answer(w))
}

// refuse answers an HTTP event that never became a request, with the one
// log line the handler would have written.
func (l *lambdaHandler) refuse(w *bufferedWriter, id, method, path string, err error) {
	if id == "" {
		id = rand.Text()
	}
	// No request was made of the event; an empty one carries the function's
	// error shape, as the handler's would.
	r := (&http.Request{}).WithContext(context.Background())
	if l.h.f.ErrorShape != nil {
		r = r.WithContext(apierr.WithShape(r.Context(), l.h.f.ErrorShape))
	}
	apierr.Write(w, r, err)
	logInvocation(l.h.o.Logger.With("request_id", id, "function", l.h.f.Name), kindHTTP, method, path, w.status, 0, err)
}

// serveEvent serves payload as FC serves an /invoke event.
func (l *lambdaHandler) serveEvent(ctx context.Context, id string, payload []byte) ([]byte, error) {
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, "/invoke", bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	r.Header.Set(headerControlPath, "/invoke")
	r.Header.Set("Content-Type", "application/octet-stream")
	if id != "" {
		r.Header.Set(headerRequestID, id)
	}
	r.ContentLength = int64(len(payload))
	w := newBufferedWriter()
	l.h.ServeHTTP(w, r)
	if w.header.Get(headerStatus) == "404" {
		var b apierr.Body
		if json.Unmarshal(w.body.Bytes(), &b) != nil || b.Code == "" {
			b = apierr.Body{Code: apierr.InternalError, Message: strings.TrimSpace(w.body.String())}
		}
		return nil, messages.InvokeResponse_Error{Type: b.Code, Message: b.Message}
	}
	return bytes.TrimSpace(w.body.Bytes()), nil
}

// fromEventBridge turns an EventBridge rule's event into the envelope FC
// would have delivered: a scheduled rule's event into a timer event (the
// rule's name as triggerName, no payload), any other event into a CloudEvent
// whose data is the event's detail. Any other payload is returned as it is.
// EventBridge Scheduler needs none of this: it delivers its target's Input,
// which the SAM template sets to the FC timer shape itself.
func fromEventBridge(payload []byte) []byte {
	var ev struct {
		ID         string          `json:"id"`
		DetailType string          `json:"detail-type"`
		Source     string          `json:"source"`
		Time       string          `json:"time"`
		Resources  []string        `json:"resources"`
		Detail     json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(payload, &ev) != nil || ev.DetailType == "" || ev.Source == "" || ev.ID == "" {
		return payload
	}
	var out any
	if ev.DetailType == "Scheduled Event" && ev.Source == "aws.events" {
		name := "schedule"
		if len(ev.Resources) > 0 {
			name = path.Base(ev.Resources[0]) // arn:aws:events:<region>:<account>:rule/<name>
		}
		out = map[string]string{"triggerTime": ev.Time, "triggerName": name}
	} else {
		out = map[string]any{"specversion": "1.0", "id": ev.ID, "source": ev.Source,
			"type": ev.DetailType, "time": ev.Time, "data": ev.Detail}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return payload
	}
	return b
}

// bufferedWriter keeps the whole answer: Lambda takes it in one piece.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newBufferedWriter() *bufferedWriter { return &bufferedWriter{header: http.Header{}} }

func (w *bufferedWriter) Header() http.Header { return w.header }

func (w *bufferedWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *bufferedWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}

// httpResponse is the answer in payload format 2.0. Set-Cookie goes into
// cookies (API Gateway cannot join it with commas), and headers of several
// values are joined with commas.
func (w *bufferedWriter) httpResponse() any {
	res := events.APIGatewayV2HTTPResponse{StatusCode: w.statusCode(), Headers: map[string]string{}}
	for k, v := range w.header {
		if k == "Set-Cookie" {
			res.Cookies = append(res.Cookies, v...)
			continue
		}
		res.Headers[k] = strings.Join(v, ",")
	}
	res.Body, res.IsBase64Encoded = w.encodedBody()
	return res
}

// proxyResponse is the answer in payload format 1.0: every header in
// multiValueHeaders, each value apart (Set-Cookie included). A REST API
// passes a base64 body on as binary only for the binary media types it is
// configured with; the functions' answers are JSON or HTML, never binary.
func (w *bufferedWriter) proxyResponse() any {
	res := events.APIGatewayProxyResponse{StatusCode: w.statusCode(), Headers: map[string]string{},
		MultiValueHeaders: map[string][]string{}}
	for k, v := range w.header {
		res.MultiValueHeaders[k] = v
	}
	res.Body, res.IsBase64Encoded = w.encodedBody()
	return res
}

func (w *bufferedWriter) statusCode() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// encodedBody is the body as text, or base64 when it is not UTF-8.
func (w *bufferedWriter) encodedBody() (string, bool) {
	if b := w.body.Bytes(); utf8.Valid(b) {
		return string(b), false
	}
	return base64.StdEncoding.EncodeToString(w.body.Bytes()), true
}
