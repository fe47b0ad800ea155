package fcrt

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/internal/e2e"
	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/credentials"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

// syncBuffer collects log output written by concurrent requests.
type syncBuffer struct{ testproc.Buffer }

// lines decodes the JSON log lines.
func (s *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	return logLines(t, s.String())
}

// logLines decodes the JSON lines of a log.
func logLines(t *testing.T, log string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(log), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), "a log line that is not JSON: %s", l)
		lines = append(lines, m)
	}
	return lines
}

func testOptions() (Options, *syncBuffer) {
	buf := &syncBuffer{}
	return Options{Logger: slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), TrustControlPath: true}, buf
}

type call struct {
	method, path string
	header       map[string]string
	body         string
}

func (c call) do(h http.Handler) *httptest.ResponseRecorder {
	method := c.method
	if method == "" {
		method = http.MethodPost
	}
	r := httptest.NewRequest(method, c.path, strings.NewReader(c.body))
	for k, v := range c.header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

var invokeHeader = map[string]string{headerControlPath: "/invoke"}

// server serves Handler(f, o) over HTTP until the test ends, and returns its
// base URL.
func server(t *testing.T, f Function, o Options) string {
	t.Helper()
	srv := httptest.NewServer(Handler(f, o))
	t.Cleanup(srv.Close)
	return srv.URL
}

func errorBody(t *testing.T, w *httptest.ResponseRecorder) apierr.Body {
	t.Helper()
	var b apierr.Body
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &b), "body %q", w.Body.String())
	return b
}

// echoReq is the request and answer of echo, the test operation.
type echoReq struct {
	Name  string   `json:"Name"`
	Count int      `json:"Count"`
	Tags  []string `json:"Tags,omitempty"`
	Inner *struct {
		Flag bool `json:"Flag"`
	} `json:"Inner,omitempty"`
}

func echo(_ context.Context, r echoReq) (echoReq, error) { return r, nil }

// viaFunction answers which entry point a request reached, with the request
// it received there.
func viaFunction() Function {
	return Function{
		Name: "via",
		HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			apierr.WriteJSON(w, http.StatusOK, map[string]any{"via": "http", "request": json.RawMessage(b)})
		}),
		Event: func(_ context.Context, ev Event) (any, error) {
			return map[string]any{"via": "event", "request": ev.Request}, nil
		},
	}
}

func TestDispatch(t *testing.T) {
	const body = `{"Name":"same body","Count":3}`
	tests := []struct {
		name    string
		call    call
		wantVia string
	}{
		{"root", call{path: "/"}, "http"},
		{"invoke", call{path: "/invoke", header: invokeHeader}, "event"},
		{"custom domain path", call{path: "/kyc/ekyc-init"}, "http"},
		{"event wins over path", call{path: "/anything", header: invokeHeader}, "event"},
		{"a route named /invoke without the header", call{path: "/invoke"}, "http"},
		{"http-invoke", call{path: "/", header: map[string]string{headerControlPath: "/http-invoke"}}, "http"},
		{"pre-stop path through the HTTP trigger", call{method: http.MethodGet, path: "/pre-stop",
			header: map[string]string{headerControlPath: "/http-invoke"}}, "http"},
		{"initialize path without the header", call{path: "/initialize"}, "http"},
	}
	o, _ := testOptions()
	h := Handler(viaFunction(), o)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.call.body = body
			w := tt.call.do(h)
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			var got struct {
				Via     string
				Request json.RawMessage
			}
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got))
			assert.Equal(t, tt.wantVia, got.Via)
			assert.JSONEq(t, body, string(got.Request))
		})
	}
}

func TestInitializeRunsOnceUnderConcurrency(t *testing.T) {
	var calls, running, maxRunning atomic.Int32
	f := viaFunction()
	f.Init = func(context.Context) error {
		calls.Add(1)
		n := running.Add(1)
		defer running.Add(-1)
		for {
			m := maxRunning.Load()
			if n <= m || maxRunning.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		return nil
	}
	o, _ := testOptions()
	h := Handler(f, o)

	const n = 20
	codes := make([]int, n)
	bodies := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			w := call{path: "/initialize", header: map[string]string{headerControlPath: "/initialize"}}.do(h)
			codes[i], bodies[i] = w.Code, w.Body.String()
		})
	}
	wg.Wait()
	assert.Equal(t, int32(1), calls.Load(), "Init calls")
	assert.Equal(t, int32(1), maxRunning.Load(), "Init calls at once")
	for i := range n {
		assert.Equal(t, http.StatusOK, codes[i])
		assert.JSONEq(t, `{}`, bodies[i])
	}
}

func TestInitializeRetriedUntilItSucceeds(t *testing.T) {
	var calls atomic.Int32
	f := viaFunction()
	f.Init = func(context.Context) error {
		if calls.Add(1) == 1 {
			return errors.New("store: connection refused")
		}
		return nil
	}
	o, logs := testOptions()
	h := Handler(f, o)
	initialize := call{path: "/initialize", header: map[string]string{headerControlPath: "/initialize", headerRequestID: "req-init"}}

	w := initialize.do(h)
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.Equal(t, "404", w.Header().Get(headerStatus))
	assert.Equal(t, apierr.InternalError, errorBody(t, w).Code)
	assert.NotContains(t, w.Body.String(), "connection refused", "the cause is for the log, not the caller")
	assert.Contains(t, logs.String(), "store: connection refused")

	for range 2 {
		w = initialize.do(h)
		assert.Equal(t, http.StatusOK, w.Code)
		assert.Equal(t, "200", w.Header().Get(headerStatus))
	}
	assert.Equal(t, int32(2), calls.Load())
}

// The lifecycle hooks run once for the call that needs them. Init runs
// before the first invocation, and when it fails the invocation is answered
// with its error and never served. PreStop runs for GET /pre-stop; its
// failure is a 500 (x-fc-status 404).
func TestHooks(t *testing.T) {
	storeDown := apierr.New(apierr.UpstreamUnavailable, "store down")
	preStop := call{method: http.MethodGet, path: "/pre-stop"}
	tests := []struct {
		name       string
		hook       string // the one the Function has: "init" or "pre-stop"
		call       call
		hookErr    error
		wantCode   int
		wantStatus string // x-fc-status, where the answer has one
	}{
		{"init before http", "init", call{path: "/"}, nil, http.StatusOK, ""},
		{"init before event", "init", call{path: "/invoke", header: invokeHeader}, nil, http.StatusOK, "200"},
		{"init fails, http", "init", call{path: "/"}, storeDown, http.StatusServiceUnavailable, ""},
		{"init fails, event", "init", call{path: "/invoke", header: invokeHeader}, storeDown, http.StatusServiceUnavailable, "404"},
		{"pre-stop, plain GET", "pre-stop", preStop, nil, http.StatusOK, "200"},
		{"pre-stop, control path", "pre-stop", call{method: http.MethodGet, path: "/pre-stop", header: map[string]string{headerControlPath: "/pre-stop"}}, nil, http.StatusOK, "200"},
		{"pre-stop fails", "pre-stop", preStop, errors.New("flush failed"), http.StatusInternalServerError, "404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ready atomic.Bool
			var hookCalls, served atomic.Int32
			hook := func(context.Context) error {
				hookCalls.Add(1)
				if tt.hookErr != nil {
					return tt.hookErr
				}
				ready.Store(true)
				return nil
			}
			f := Function{
				HTTP: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					served.Add(1)
					assert.True(t, ready.Load(), "served before Init succeeded")
				}),
				Event: func(context.Context, Event) (any, error) {
					served.Add(1)
					assert.True(t, ready.Load(), "served before Init succeeded")
					return struct{}{}, nil
				},
			}
			if tt.hook == "init" {
				f.Init = hook
			} else {
				f.PreStop = hook
			}
			o, _ := testOptions()
			tt.call.body = `{}`
			w := tt.call.do(Handler(f, o))
			assert.Equal(t, tt.wantCode, w.Code)
			if tt.wantStatus != "" {
				assert.Equal(t, tt.wantStatus, w.Header().Get(headerStatus))
			}
			assert.Equal(t, int32(1), hookCalls.Load(), "hook calls")
			if tt.hook == "init" {
				if tt.hookErr != nil {
					assert.Equal(t, int32(0), served.Load(), "no invocation before Init succeeded")
					assert.Equal(t, apierr.UpstreamUnavailable, errorBody(t, w).Code)
				} else {
					assert.Equal(t, int32(1), served.Load())
				}
			}
		})
	}
}

func TestNilHooksAnswerOK(t *testing.T) {
	o, _ := testOptions()
	h := Handler(viaFunction(), o)
	for _, c := range []call{
		{path: "/initialize", header: map[string]string{headerControlPath: "/initialize"}},
		{method: http.MethodGet, path: "/pre-stop"},
	} {
		w := c.do(h)
		assert.Equal(t, http.StatusOK, w.Code, c.path)
		assert.JSONEq(t, `{}`, w.Body.String(), c.path)
	}
}

func TestHandlerNeedsBothEntryPoints(t *testing.T) {
	assert.Panics(t, func() { Handler(Function{Event: viaFunction().Event}, Options{}) })
	assert.Panics(t, func() { Handler(Function{HTTP: viaFunction().HTTP}, Options{}) })
}

func TestEventAnswers(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		result     any
		err        error
		wantCode   int
		wantStatus string
		wantBody   string // JSON
	}{
		{name: "success", body: `{"Name":"a"}`, result: map[string]string{"Result": "ok"},
			wantCode: http.StatusOK, wantStatus: "200", wantBody: `{"Result":"ok"}`},
		{name: "operation refuses", body: `{"Name":"a"}`, err: apierr.Invalid("DocType", "must be 8 digits"),
			wantCode: http.StatusBadRequest, wantStatus: "404",
			wantBody: `{"Code":"InvalidParameter","Message":"The parameter \"DocType\" is invalid: must be 8 digits"}`},
		{name: "upstream fails", body: `{"Name":"a"}`, err: &apierr.Error{Code: "Throttling.Api", Message: "slow down", RequestID: "up-1"},
			wantCode: http.StatusServiceUnavailable, wantStatus: "404",
			wantBody: `{"RequestId":"up-1","Code":"Throttling.Api","Message":"slow down"}`},
		{name: "plain error", body: `{"Name":"a"}`, err: errors.New("nil map"),
			wantCode: http.StatusInternalServerError, wantStatus: "404",
			wantBody: `{"Code":"InternalError","Message":"The function failed unexpectedly; see its log for the request id."}`},
		{name: "bad envelope", body: `[1,2]`,
			wantCode: http.StatusBadRequest, wantStatus: "404",
			wantBody: `{"Code":"InvalidParameter","Message":"The event must be one JSON object: the request itself, a timer event or a CloudEvent."}`},
		{name: "too large", body: `{"Name":"` + strings.Repeat("x", 100) + `"}`,
			wantCode: http.StatusRequestEntityTooLarge, wantStatus: "404",
			wantBody: `{"Code":"RequestTooLarge","Message":"The request body is over this function's limit of 64 bytes."}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := viaFunction()
			f.Event = func(context.Context, Event) (any, error) { return tt.result, tt.err }
			o, _ := testOptions()
			o.MaxEventBytes = 64
			w := call{path: "/invoke", header: invokeHeader, body: tt.body}.do(Handler(f, o))
			assert.Equal(t, tt.wantCode, w.Code)
			assert.Equal(t, tt.wantStatus, w.Header().Get(headerStatus))
			assert.Equal(t, "application/json; charset=utf-8", w.Header().Get("Content-Type"))
			assert.JSONEq(t, tt.wantBody, w.Body.String())
		})
	}
}

func TestRequestID(t *testing.T) {
	o, logs := testOptions()
	h := Handler(viaFunction(), o)

	w := call{path: "/", header: map[string]string{headerRequestID: "fc-req-1"}, body: `{}`}.do(h)
	assert.Empty(t, w.Header().Get(headerRequestID), "on FC the platform returns the id itself")
	assert.Contains(t, logs.String(), `"request_id":"fc-req-1"`)

	first := call{path: "/", body: `{}`}.do(h).Header().Get(headerRequestID)
	second := call{path: "/", body: `{}`}.do(h).Header().Get(headerRequestID)
	assert.NotEmpty(t, first, "a local run gets a generated id back")
	assert.NotEqual(t, first, second)
	assert.Contains(t, logs.String(), `"request_id":"`+first+`"`)
}

func TestCredentialsReachTheOperation(t *testing.T) {
	full := map[string]string{
		"x-fc-access-key-id":     "STS.id",
		"x-fc-access-key-secret": "sts-secret",
		"x-fc-security-token":    "sts-token",
	}
	tests := []struct {
		name   string
		header map[string]string
		want   *credentials.Credentials
	}{
		{"STS triple", full, &credentials.Credentials{AccessKeyID: "STS.id", AccessKeySecret: "sts-secret", SecurityToken: "sts-token"}},
		{"key pair without token", map[string]string{"x-fc-access-key-id": "id", "x-fc-access-key-secret": "secret"},
			&credentials.Credentials{AccessKeyID: "id", AccessKeySecret: "secret"}},
		{"secret missing", map[string]string{"x-fc-access-key-id": "id"}, nil},
		{"none", nil, nil},
	}
	for _, tt := range tests {
		for _, invoke := range []bool{false, true} {
			name := tt.name + "/http"
			if invoke {
				name = tt.name + "/event"
			}
			t.Run(name, func(t *testing.T) {
				var got *credentials.Credentials
				var leaked []string
				api, event := Operation(func(ctx context.Context, r echoReq) (echoReq, error) {
					if c, ok := credentials.FromContext(ctx); ok {
						got = &c
					}
					return r, nil
				})
				f := Function{
					HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						for k := range r.Header {
							if strings.HasPrefix(strings.ToLower(k), "x-fc-access") || strings.EqualFold(k, "x-fc-security-token") {
								leaked = append(leaked, k)
							}
						}
						api.ServeHTTP(w, r)
					}),
					Event: event,
				}
				header := map[string]string{}
				for k, v := range tt.header {
					header[k] = v
				}
				if invoke {
					header[headerControlPath] = "/invoke"
				}
				o, _ := testOptions()
				w := call{path: "/", header: header, body: `{"Name":"a"}`}.do(Handler(f, o))
				require.Equal(t, http.StatusOK, w.Code, w.Body.String())
				assert.Equal(t, tt.want, got)
				assert.Empty(t, leaked, "credential headers reach the function's handler")
			})
		}
	}
}

func TestDeadline(t *testing.T) {
	tests := []struct {
		timeout, want time.Duration
	}{
		{0, 9500 * time.Millisecond}, // the default timeout
		{2 * time.Second, 1800 * time.Millisecond},
		{30 * time.Second, 29500 * time.Millisecond},
	}
	for _, tt := range tests {
		for _, header := range []map[string]string{nil, invokeHeader} {
			t.Run(tt.timeout.String()+"/"+header[headerControlPath], func(t *testing.T) {
				var deadline time.Time
				var ok bool
				api, event := Operation(func(ctx context.Context, r echoReq) (echoReq, error) {
					deadline, ok = ctx.Deadline()
					return r, nil
				})
				o, _ := testOptions()
				o.Timeout = tt.timeout
				start := time.Now()
				w := call{path: "/", header: header, body: `{}`}.do(Handler(Function{HTTP: api, Event: event}, o))
				require.Equal(t, http.StatusOK, w.Code)
				require.True(t, ok, "no deadline")
				assert.InDelta(t, tt.want.Seconds(), deadline.Sub(start).Seconds(), 0.05)
			})
		}
	}
}

func TestLogsCarryNoSecretsOrPersonalData(t *testing.T) {
	const (
		secret = "SECRET-value-7f3a"
		token  = "TOKEN-value-91bc"
		query  = "QUERY-value-5d2e"
		name   = "BODY-value-0c44"
	)
	api, event := Operation(func(_ context.Context, r echoReq) (echoReq, error) {
		if r.Count < 0 {
			return r, apierr.Invalid("Count", "must be 0 or more")
		}
		return r, nil
	})
	o, logs := testOptions()
	h := Handler(Function{Name: "logs", HTTP: api, Event: event}, o)
	header := func(id, control string) map[string]string {
		m := map[string]string{
			headerRequestID:          id,
			"x-fc-access-key-id":     "STS.id",
			"x-fc-access-key-secret": secret,
			"x-fc-security-token":    token,
			"Authorization":          "Bearer " + token,
		}
		if control != "" {
			m[headerControlPath] = control
		}
		return m
	}
	calls := []call{
		{path: "/kyc/ekyc-init?name=" + query, header: header("req-1", ""), body: `{"Name":"` + name + `"}`},
		{path: "/kyc/ekyc-init?name=" + query, header: header("req-2", ""), body: `{"Name":"` + name + `","Count":-1}`},
		{path: "/kyc/ekyc-init", header: header("req-3", ""), body: `{"Name":"` + name + `","Extra":"` + name + `"}`},
		{path: "/invoke?name=" + query, header: header("req-4", "/invoke"), body: `{"Name":"` + name + `"}`},
		{path: "/invoke", header: header("req-5", "/invoke"), body: `{"Name":"` + name + `","Count":-1}`},
		{path: "/invoke", header: header("req-6", "/invoke"), body: `{"payload":"` + name + `","triggerTime":"x","triggerName":"t"}`},
		{path: "/initialize", header: header("req-7", "/initialize")},
		{method: http.MethodGet, path: "/pre-stop", header: header("req-8", "")},
	}
	for _, c := range calls {
		c.do(h)
	}

	out := logs.String()
	for _, leak := range []string{secret, token, query, name} {
		assert.NotContains(t, out, leak)
	}
	lines := logs.lines(t)
	require.Len(t, lines, len(calls), "one line per invocation:\n%s", out)
	for i, l := range lines {
		assert.Equal(t, "invocation", l["msg"])
		assert.Equal(t, calls[i].header[headerRequestID], l["request_id"])
		assert.Equal(t, "logs", l["function"])
		for _, k := range []string{"kind", "method", "path", "status", "duration_ms"} {
			assert.Contains(t, l, k)
		}
	}
	assert.Equal(t, "/kyc/ekyc-init", lines[0]["path"])
	assert.Equal(t, "http", lines[0]["kind"])
	assert.InDelta(t, 400, lines[1]["status"], 0)
	assert.Contains(t, lines[1]["error"], "Count", "an HTTP operation's failure is in its line")
	assert.Equal(t, "invoke", lines[3]["kind"])
	assert.Equal(t, "initialize", lines[6]["kind"])
	assert.Equal(t, "pre-stop", lines[7]["kind"])
}

func TestPanicIsRecovered(t *testing.T) {
	f := Function{
		Name: "panics",
		HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/boom" {
				panic("http handler bug")
			}
			w.WriteHeader(http.StatusNoContent)
		}),
		Event: func(_ context.Context, ev Event) (any, error) {
			var m map[string]int
			//lint:ignore SA5000 the panic is the point: a handler bug the runtime must recover from
			m["boom"]++ // a nil map write
			return nil, nil
		},
	}
	o, logs := testOptions()
	url := server(t, f, o)
	for _, tt := range []struct {
		path       string
		header     map[string]string
		wantStatus string
	}{
		{"/boom", nil, ""},
		{"/invoke", invokeHeader, "404"},
	} {
		a := e2e.Post(t, url+tt.path, tt.header, `{}`)
		assert.Equal(t, http.StatusInternalServerError, a.Status, tt.path)
		assert.Equal(t, tt.wantStatus, a.Header.Get(headerStatus), tt.path)
		assert.Equal(t, apierr.InternalError, a.Str("Code"), a.Raw)
	}
	assert.Equal(t, http.StatusNoContent, e2e.Post(t, url+"/fine", nil, `{}`).Status, "the server keeps serving")

	var panics int
	for _, l := range logs.lines(t) {
		if l["msg"] == "panic" {
			panics++
			assert.Contains(t, l["stack"], "goroutine")
		}
	}
	assert.Equal(t, 2, panics)
}

// ErrorShape applies to every error the HTTP side writes (a front door's
// refusal included); events keep the common shape.
func TestErrorShapeAppliesToTheWholeHTTPSide(t *testing.T) {
	f := Function{
		Name: "shaped",
		HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			apierr.Write(w, r, apierr.New(apierr.Unauthorized, "no key"))
		}),
		Event: func(context.Context, Event) (any, error) {
			return nil, apierr.New(apierr.Unauthorized, "no key")
		},
		ErrorShape: func(err error) any { return map[string]string{"code": "20001", "sub_code": apierr.As(err).Code} },
	}
	o, _ := testOptions()
	h := Handler(f, o)

	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{}`)))
	assert.Equal(t, http.StatusUnauthorized, w.Code)
	assert.JSONEq(t, `{"code":"20001","sub_code":"Unauthorized"}`, w.Body.String())

	w = httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/invoke", strings.NewReader(`{}`))
	req.Header.Set("x-fc-control-path", "/invoke")
	h.ServeHTTP(w, req)
	assert.Equal(t, "404", w.Header().Get("x-fc-status"))
	assert.JSONEq(t, `{"Code":"Unauthorized","Message":"no key"}`, w.Body.String())
}
