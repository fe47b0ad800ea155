package fcrt

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/credentials"
)

// seen records what a test Function received.
type seen struct {
	mu      sync.Mutex
	req     *http.Request
	body    []byte
	creds   bool
	event   *Event
	preStop int
}

func lambdaFunction(s *seen) Function {
	return Function{
		Name: "test",
		HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			_, creds := credentials.FromContext(r.Context())
			s.mu.Lock()
			s.req, s.body, s.creds = r, b, creds
			s.mu.Unlock()
			http.SetCookie(w, &http.Cookie{Name: "a", Value: "1"})
			http.SetCookie(w, &http.Cookie{Name: "b", Value: "2"})
			w.Header().Add("Vary", "Origin")
			w.Header().Add("Vary", "Accept")
			if r.URL.Query().Get("binary") != "" {
				w.WriteHeader(http.StatusTeapot)
				_, _ = w.Write([]byte{0xff, 0xfe, 0x00})
				return
			}
			apierr.WriteJSON(w, http.StatusCreated, map[string]string{"ok": "yes"})
		}),
		Event: func(_ context.Context, ev Event) (any, error) {
			s.mu.Lock()
			s.event = &ev
			s.mu.Unlock()
			if string(ev.Request) == `{"fail":true}` {
				return nil, apierr.Invalid("fail", "was asked to fail")
			}
			return map[string]string{"kind": "event"}, nil
		},
		PreStop: func(context.Context) error {
			s.mu.Lock()
			s.preStop++
			s.mu.Unlock()
			return nil
		},
	}
}

func invokeLambda(t *testing.T, s *seen, payload string) ([]byte, error) {
	t.Helper()
	out, _, err := invokeLambdaLogged(t, s, payload)
	return out, err
}

// invokeLambdaLogged is invokeLambda that also returns what was logged.
func invokeLambdaLogged(t *testing.T, s *seen, payload string) ([]byte, string, error) {
	t.Helper()
	o, logged := testOptions()
	// Off FC the environment trusts no control path; the adapter builds its
	// events itself and must reach the event path regardless.
	o.TrustControlPath = false
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "lambda-req-1"})
	out, err := LambdaHandler(lambdaFunction(s), o).Invoke(ctx, []byte(payload))
	return out, logged.String(), err
}

const httpEvent = `{
  "version": "2.0", "routeKey": "POST /kyc/{proxy+}", "rawPath": "/kyc/ekyc-init",
  "rawQueryString": "a=1&a=2&binary=%s",
  "cookies": ["s=abc", "t=def"],
  "headers": {"content-type": "application/json", "host": "api.example.com",
    "x-fc-control-path": "/invoke", "x-fc-access-key-id": "forged", "x-fc-access-key-secret": "forged",
    "X-FC-Security-Token": "forged", "x-fc-request-id": "forged"},
  "requestContext": {"domainName": "abc.execute-api.eu-central-1.amazonaws.com", "requestId": "r",
    "http": {"method": "POST", "path": "/kyc/ekyc-init", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9", "userAgent": "ua"}},
  "body": %s, "isBase64Encoded": %t
}`

// httpEventBody is an HTTP event's body field, and whether it is in base64.
type httpEventBody struct {
	name, body string
	b64        bool
}

// eventBodies are the body {"x":1} as an HTTP event carries it: as it is,
// and in base64 (a binary media type).
func eventBodies() []httpEventBody {
	plain, _ := json.Marshal(`{"x":1}`)
	encoded, _ := json.Marshal(base64.StdEncoding.EncodeToString([]byte(`{"x":1}`)))
	return []httpEventBody{{"plain body", string(plain), false}, {"base64 body", string(encoded), true}}
}

// assertCallersRequest checks that the function's HTTP API saw the caller's
// POST /kyc/ekyc-init?a=1&a=2 to host with {"x":1}, from 203.0.113.9 with
// two cookies, without the x-fc-* headers a caller can forge: no event
// path, no caller's credentials, and Lambda's request id as the
// invocation's.
func assertCallersRequest(t *testing.T, s *seen, host string) {
	t.Helper()
	require.NotNil(t, s.req, "the HTTP API was not reached")
	assert.Nil(t, s.event, "an HTTP event reached the event path")
	assert.Equal(t, http.MethodPost, s.req.Method)
	assert.Equal(t, "/kyc/ekyc-init", s.req.URL.Path, "the resource path, without a stage")
	assert.Equal(t, []string{"1", "2"}, s.req.URL.Query()["a"], "every value of a multi-value parameter")
	assert.Equal(t, `{"x":1}`, string(s.body))
	assert.Equal(t, host, s.req.Host)
	assert.Equal(t, "203.0.113.9:0", s.req.RemoteAddr)
	assert.Equal(t, "s=abc; t=def", s.req.Header.Get("Cookie"))
	assert.False(t, s.creds, "forged x-fc-access-key-* became credentials")
	assert.Empty(t, s.req.Header.Get("x-fc-access-key-id"))
	assert.Equal(t, "lambda-req-1", s.req.Header.Get(headerRequestID), "the Lambda request id is the invocation's id")
}

func TestLambdaHTTPEvent(t *testing.T) {
	for _, tt := range eventBodies() {
		t.Run(tt.name, func(t *testing.T) {
			s := &seen{}
			out, err := invokeLambda(t, s, fmtEvent(tt.body, "", tt.b64))
			require.NoError(t, err)
			assertCallersRequest(t, s, "api.example.com")

			var res events.APIGatewayV2HTTPResponse
			require.NoError(t, json.Unmarshal(out, &res))
			assert.Equal(t, http.StatusCreated, res.StatusCode)
			assert.JSONEq(t, `{"ok":"yes"}`, res.Body)
			assert.False(t, res.IsBase64Encoded)
			assert.Equal(t, "application/json; charset=utf-8", res.Headers["Content-Type"])
			assert.Equal(t, "Origin,Accept", res.Headers["Vary"])
			assert.Equal(t, []string{"a=1", "b=2"}, res.Cookies)
			assert.NotContains(t, res.Headers, "Set-Cookie")
		})
	}
}

func fmtEvent(body, binary string, b64 bool) string {
	return fmt.Sprintf(httpEvent, binary, body, b64)
}

func TestLambdaHTTPBinaryAnswer(t *testing.T) {
	s := &seen{}
	out, err := invokeLambda(t, s, fmtEvent(`""`, "1", false))
	require.NoError(t, err)
	var res events.APIGatewayV2HTTPResponse
	require.NoError(t, json.Unmarshal(out, &res))
	assert.Equal(t, http.StatusTeapot, res.StatusCode, "an error status is an answer, not a failed invocation")
	assert.True(t, res.IsBase64Encoded)
	assert.Equal(t, base64.StdEncoding.EncodeToString([]byte{0xff, 0xfe, 0x00}), res.Body)
}

func TestLambdaFunctionURLEvent(t *testing.T) {
	// A Function URL sends payload format 2.0 without routeKey, and with
	// the IAM caller when its auth type is AWS_IAM.
	s := &seen{}
	ev := `{"version":"2.0","rawPath":"/","rawQueryString":"lang=en",
	  "headers":{"content-type":"application/json","host":"abc.lambda-url.eu-central-1.on.aws"},
	  "requestContext":{"accountId":"123456789012","apiId":"abc","domainName":"abc.lambda-url.eu-central-1.on.aws",
	    "authorizer":{"iam":{"accessKey":"AKIA","accountId":"123456789012","callerId":"c","userArn":"arn:aws:iam::123456789012:user/u","userId":"u"}},
	    "http":{"method":"POST","path":"/","protocol":"HTTP/1.1","sourceIp":"198.51.100.7","userAgent":"ua"},"requestId":"r","time":"t","timeEpoch":1},
	  "body":"{\"y\":2}","isBase64Encoded":false}`
	out, err := invokeLambda(t, s, ev)
	require.NoError(t, err)
	require.NotNil(t, s.req, "the HTTP API was not reached")
	assert.Equal(t, "/", s.req.URL.Path)
	assert.Equal(t, "en", s.req.URL.Query().Get("lang"))
	assert.Equal(t, `{"y":2}`, string(s.body))
	assert.Equal(t, "abc.lambda-url.eu-central-1.on.aws", s.req.Host)
	var res events.LambdaFunctionURLResponse
	require.NoError(t, json.Unmarshal(out, &res))
	assert.Equal(t, http.StatusCreated, res.StatusCode)
	assert.JSONEq(t, `{"ok":"yes"}`, res.Body)
}

func TestLambdaHTTPPreStopIsNotTheHook(t *testing.T) {
	s := &seen{}
	ev := `{"version":"2.0","rawPath":"/pre-stop","headers":{},"requestContext":{"http":{"method":"GET","path":"/pre-stop"}}}`
	_, err := invokeLambda(t, s, ev)
	require.NoError(t, err)
	assert.Zero(t, s.preStop, "a caller's GET /pre-stop ran the lifecycle hook")
	require.NotNil(t, s.req)
	assert.Equal(t, "/pre-stop", s.req.URL.Path)
}

func TestLambdaEvents(t *testing.T) {
	tests := []struct {
		name, payload string
		want          Event // Request compared as JSON
		request       string
	}{
		{"direct invoke", `{"MerchantUserId":"u"}`, Event{Kind: EventRaw}, `{"MerchantUserId":"u"}`},
		{"EventBridge Scheduler input in the FC timer shape",
			`{"triggerTime":"2026-11-23T04:00:00Z","triggerName":"reconcile","payload":"{\"a\":1}"}`,
			Event{Kind: EventTimer, TriggerName: "reconcile"}, `{"a":1}`},
		{"EventBridge rule schedule",
			`{"version":"0","id":"53dc4d37","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012",
			  "time":"2026-11-23T04:00:00Z","region":"eu-central-1","resources":["arn:aws:events:eu-central-1:123456789012:rule/reconcile-10m"],"detail":{}}`,
			Event{Kind: EventTimer, TriggerName: "reconcile-10m"}, `{}`},
		{"EventBridge rule event",
			`{"version":"0","id":"e-1","detail-type":"kyc:EkycInit:Requested","source":"merchant.onboarding","account":"1",
			  "time":"2026-11-23T04:00:00Z","region":"eu-central-1","resources":[],"detail":{"MerchantUserId":"u"}}`,
			Event{Kind: EventCloudEvent, Source: "merchant.onboarding", Type: "kyc:EkycInit:Requested", ID: "e-1"}, `{"MerchantUserId":"u"}`},
		{"a payload with requestContext but no HTTP is an event", `{"requestContext":{}}`, Event{Kind: EventRaw}, `{"requestContext":{}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &seen{}
			out, err := invokeLambda(t, s, tt.payload)
			require.NoError(t, err)
			assert.JSONEq(t, `{"kind":"event"}`, string(out))
			require.NotNil(t, s.event, "the event path was not reached")
			assert.Nil(t, s.req, "an event reached the HTTP API")
			got := *s.event
			assert.JSONEq(t, tt.request, string(got.Request))
			got.Request = nil
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestLambdaFailures(t *testing.T) {
	tests := []struct {
		name, payload, typ, says string
	}{
		{"not JSON", `not json`, apierr.InvalidParameter, "must be one JSON object"},
		{"an array", `[1,2]`, apierr.InvalidParameter, "must be one JSON object"},
		{"the operation fails", `{"fail":true}`, apierr.InvalidParameter, "was asked to fail"},
		{"timer payload not JSON", `{"triggerTime":"x","triggerName":"t","payload":"hello"}`, apierr.InvalidParameter, "payload"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &seen{}
			out, err := invokeLambda(t, s, tt.payload)
			require.Error(t, err)
			assert.Nil(t, out)
			var e messages.InvokeResponse_Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tt.typ, e.Type)
			assert.Contains(t, e.Message, tt.says)
			assert.Nil(t, s.req, "a failed event reached the HTTP API")
		})
	}
}

// A REST API (payload format 1.0) event, with a header and a query
// parameter of two values each and the x-fc-* headers a caller can forge.
const restEvent = `{
  "resource": "/kyc/{proxy+}", "path": "/kyc/ekyc-init", "httpMethod": "POST",
  "headers": {"Content-Type": "application/json", "Host": "abc.execute-api.eu-central-1.amazonaws.com",
    "Accept": "text/html", "Cookie": "s=abc; t=def", "x-fc-control-path": "/invoke", "x-fc-access-key-id": "forged"},
  "multiValueHeaders": {"Content-Type": ["application/json"], "Host": ["abc.execute-api.eu-central-1.amazonaws.com"],
    "Accept": ["application/json", "text/html"], "Cookie": ["s=abc; t=def"],
    "x-fc-control-path": ["/invoke"], "x-fc-access-key-id": ["forged"]},
  "queryStringParameters": {"a": "2", "binary": %q},
  "multiValueQueryStringParameters": {"a": ["1", "2"], "binary": [%q], "q": ["x y&z"]},
  "pathParameters": {"proxy": "ekyc-init"}, "stageVariables": null,
  "requestContext": {"resourcePath": "/kyc/{proxy+}", "httpMethod": "POST", "path": "/prod/kyc/ekyc-init", "stage": "prod",
    "domainName": "abc.execute-api.eu-central-1.amazonaws.com", "requestId": "r", "accountId": "123456789012",
    "identity": {"sourceIp": "203.0.113.9", "userAgent": "ua"}},
  "body": %s, "isBase64Encoded": %t
}`

func TestLambdaRESTEvent(t *testing.T) {
	for _, tt := range eventBodies() {
		t.Run(tt.name, func(t *testing.T) {
			s := &seen{}
			out, logged, err := invokeLambdaLogged(t, s, fmt.Sprintf(restEvent, "", "", tt.body, tt.b64))
			require.NoError(t, err, "a REST API event is an HTTP request, not a failed invocation")
			assertCallersRequest(t, s, "abc.execute-api.eu-central-1.amazonaws.com")
			assert.Equal(t, "x y&z", s.req.URL.Query().Get("q"), "a decoded value is encoded again")
			assert.Equal(t, []string{"application/json", "text/html"}, s.req.Header.Values("Accept"), "every value of a multi-value header")

			var res events.APIGatewayProxyResponse
			require.NoError(t, json.Unmarshal(out, &res))
			assert.Equal(t, http.StatusCreated, res.StatusCode)
			assert.JSONEq(t, `{"ok":"yes"}`, res.Body)
			assert.False(t, res.IsBase64Encoded)
			assert.Equal(t, []string{"application/json; charset=utf-8"}, res.MultiValueHeaders["Content-Type"])
			assert.Equal(t, []string{"Origin", "Accept"}, res.MultiValueHeaders["Vary"])
			assert.Equal(t, []string{"a=1", "b=2"}, res.MultiValueHeaders["Set-Cookie"], "each cookie apart")
			assert.Empty(t, res.Headers, "every header is in multiValueHeaders only")

			lines := logLines(t, logged)
			require.Len(t, lines, 1, "one line per invocation:\n%s", logged)
			assert.Equal(t, "invocation", lines[0]["msg"])
			assert.Equal(t, "http", lines[0]["kind"])
			assert.Equal(t, "/kyc/ekyc-init", lines[0]["path"])
			assert.Equal(t, "lambda-req-1", lines[0]["request_id"])
		})
	}
}

func TestLambdaRESTEventHeadersOnly(t *testing.T) {
	// Without the multi-value maps (a hand-written test event), headers and
	// queryStringParameters are read.
	s := &seen{}
	ev := `{"path":"/","httpMethod":"GET","headers":{"Accept":"application/json"},"queryStringParameters":{"lang":"en"},
	  "requestContext":{"identity":{"sourceIp":"198.51.100.7"}},"body":null}`
	out, err := invokeLambda(t, s, ev)
	require.NoError(t, err)
	require.NotNil(t, s.req)
	assert.Equal(t, http.MethodGet, s.req.Method)
	assert.Equal(t, "en", s.req.URL.Query().Get("lang"))
	assert.Equal(t, "application/json", s.req.Header.Get("Accept"))
	var res events.APIGatewayProxyResponse
	require.NoError(t, json.Unmarshal(out, &res))
	assert.Equal(t, http.StatusCreated, res.StatusCode)
}

func TestLambdaRESTBinaryAnswer(t *testing.T) {
	s := &seen{}
	out, err := invokeLambda(t, s, fmt.Sprintf(restEvent, "1", "1", `""`, false))
	require.NoError(t, err)
	var res events.APIGatewayProxyResponse
	require.NoError(t, json.Unmarshal(out, &res))
	assert.Equal(t, http.StatusTeapot, res.StatusCode)
	assert.True(t, res.IsBase64Encoded)
	assert.Equal(t, base64.StdEncoding.EncodeToString([]byte{0xff, 0xfe, 0x00}), res.Body)
}

// An HTTP event that cannot be read is the caller's 400, in the event's
// own answer format and logged once: a function error would reach the
// caller as API Gateway's bare 502.
func TestLambdaUnreadableHTTPEvent(t *testing.T) {
	for _, tt := range []struct{ name, payload, says string }{
		{"2.0 with a bad base64 body", fmtEvent(`"%%%"`, "", true), "base64"},
		{"1.0 with a bad base64 body", fmt.Sprintf(restEvent, "", "", `"%%%"`, true), "base64"},
		{"2.0 with headers of the wrong type", `{"version":"2.0","headers":[1],"requestContext":{"http":{"method":"GET"}}}`, "format 2.0"},
		{"1.0 with a bad method", `{"path":"/","httpMethod":"GE T","requestContext":{}}`, "method or path"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := &seen{}
			out, logged, err := invokeLambdaLogged(t, s, tt.payload)
			require.NoError(t, err)
			assert.Nil(t, s.req, "an unreadable event reached the HTTP API")
			var res struct {
				StatusCode int    `json:"statusCode"`
				Body       string `json:"body"`
			}
			require.NoError(t, json.Unmarshal(out, &res), "%s", out)
			assert.Equal(t, http.StatusBadRequest, res.StatusCode)
			var body apierr.Body
			require.NoError(t, json.Unmarshal([]byte(res.Body), &body), res.Body)
			assert.Equal(t, apierr.InvalidParameter, body.Code)
			assert.Contains(t, body.Message, tt.says)
			lines := logLines(t, logged)
			require.Len(t, lines, 1, "one line per invocation:\n%s", logged)
			assert.EqualValues(t, 400, lines[0]["status"])
			assert.Equal(t, "lambda-req-1", lines[0]["request_id"])
			assert.Contains(t, lines[0]["error"], tt.says)
		})
	}
}

// On Lambda the invocation runs until Lambda's deadline less budget's
// margin, whatever Options.Timeout (FUNCTION_TIMEOUT_S) says.
func TestLambdaDeadline(t *testing.T) {
	for _, tt := range []struct {
		name    string
		timeout time.Duration // FUNCTION_TIMEOUT_S
	}{{"FUNCTION_TIMEOUT_S longer than Lambda's", 10 * time.Second}, {"unset", 0}, {"shorter", time.Second}} {
		t.Run(tt.name, func(t *testing.T) {
			var got time.Time
			f := Function{Name: "deadline",
				HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					got, _ = r.Context().Deadline()
				}),
				Event: func(ctx context.Context, _ Event) (any, error) {
					got, _ = ctx.Deadline()
					return struct{}{}, nil
				}}
			o, _ := testOptions()
			o.Timeout = tt.timeout
			for _, payload := range []string{fmtEvent(`""`, "", false), `{"a":1}`} {
				lambdaDeadline := time.Now().Add(3 * time.Second)
				ctx, cancel := context.WithDeadline(context.Background(), lambdaDeadline)
				_, err := LambdaHandler(f, o).Invoke(ctx, []byte(payload))
				cancel()
				require.NoError(t, err)
				require.False(t, got.IsZero(), "no deadline")
				// budget(3 s) keeps 300 ms; a few ms pass before the handler.
				assert.WithinDuration(t, lambdaDeadline.Add(-300*time.Millisecond), got, 50*time.Millisecond)
			}
		})
	}
}

func TestRuntimeLogDropsTheErrorCopy(t *testing.T) {
	o, logged := testOptions()
	w := runtimeLog{o.Logger}
	_, _ = w.Write([]byte(`{"errorMessage":"The event must be one JSON object.","errorType":"InvalidParameter"}` + "\n"))
	assert.Empty(t, logged.String(), "aws-lambda-go's copy of a returned error was logged")
	_, _ = w.Write([]byte("unexpected error occurred when sending the function functionResponse to the API: EOF\n"))
	lines := logLines(t, logged.String())
	require.Len(t, lines, 1)
	assert.Equal(t, "ERROR", lines[0]["level"])
	assert.Equal(t, "unexpected error occurred when sending the function functionResponse to the API: EOF", lines[0]["said"])
}

// BenchmarkLambdaHTTPEvent is the adapter's cost per API Gateway event:
// decode, the request FC would have sent, the handler, the proxy answer, for
// payload format 2.0 (HTTP API) and 1.0 (REST API).
func BenchmarkLambdaHTTPEvent(b *testing.B) {
	o, _ := testOptions()
	o.Logger = slog.New(slog.DiscardHandler)
	h := LambdaHandler(Function{
		Name: "bench",
		HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			apierr.WriteJSON(w, http.StatusOK, map[string]string{"ok": "yes"})
		}),
		Event: func(context.Context, Event) (any, error) { return nil, nil },
	}, o)
	body, _ := json.Marshal(`{"MerchantUserId":"u","DocType":"01560000"}`)
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "b"})
	for _, bb := range []struct{ name, payload string }{
		{"v2", fmt.Sprintf(httpEvent, "", body, false)},
		{"v1", fmt.Sprintf(restEvent, "", "", body, false)},
	} {
		b.Run(bb.name, func(b *testing.B) {
			payload := []byte(bb.payload)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := h.Invoke(ctx, payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
