package fcrt_test

// End to end on AWS Lambda's side: the built ekyc-init binary, started as
// Lambda starts a provided.al2023 bootstrap, runs aws-lambda-go's runtime
// loop against a fake Runtime API on loopback, and calls the emulator
// (in-process) for the upstream.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/emulator"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

// runtimeAnswer is what the function posted for one invocation.
type runtimeAnswer struct {
	id   string
	kind string // "response", "error" or "init-error"
	body []byte
}

// fakeRuntimeAPI is the three endpoints of the Lambda Runtime API
// (2018-06-01) that aws-lambda-go's loop uses, plus init/error.
type fakeRuntimeAPI struct {
	srv     *httptest.Server
	next    chan [2]string // request id, payload
	answers chan runtimeAnswer
	done    chan struct{}
}

func newFakeRuntimeAPI(t *testing.T) *fakeRuntimeAPI {
	f := &fakeRuntimeAPI{next: make(chan [2]string), answers: make(chan runtimeAnswer, 8), done: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		select {
		case inv := <-f.next:
			w.Header().Set("Lambda-Runtime-Aws-Request-Id", inv[0])
			w.Header().Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(30*time.Second).UnixMilli(), 10))
			w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-central-1:123456789012:function:ekyc-init")
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, inv[1])
		case <-f.done:
			w.WriteHeader(http.StatusGone)
		case <-r.Context().Done():
		}
	})
	answer := func(kind string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			f.answers <- runtimeAnswer{id: r.PathValue("id"), kind: kind, body: b}
			w.WriteHeader(http.StatusAccepted)
		}
	}
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", answer("response"))
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", answer("error"))
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", answer("init-error"))
	f.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		close(f.done)
		f.srv.Close()
	})
	return f
}

// invoke hands one event to the function and waits for its answer.
func (f *fakeRuntimeAPI) invoke(t *testing.T, id, payload string, proc func() string) runtimeAnswer {
	t.Helper()
	select {
	case f.next <- [2]string{id, payload}:
	case a := <-f.answers:
		t.Fatalf("answer before any invocation: %s %s\n%s", a.kind, a.body, proc())
	case <-time.After(60 * time.Second):
		t.Fatalf("the function did not ask for the next invocation\n%s", proc())
	}
	select {
	case a := <-f.answers:
		require.Equal(t, id, a.id, "answer for another invocation")
		return a
	case <-time.After(60 * time.Second):
		t.Fatalf("no answer to invocation %s\n%s", id, proc())
	}
	return runtimeAnswer{}
}

// bootstrap is the built ekyc-init started as Lambda starts a
// provided.al2023 bootstrap: with only PATH, the Runtime API's address and
// env. It is killed when the test ends.
type bootstrap struct {
	out    *testproc.Buffer
	exited chan error    // the process's end, once
	gone   chan struct{} // closed when it has ended
}

func startBootstrap(t *testing.T, rt *fakeRuntimeAPI, env ...string) *bootstrap {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: builds and runs the ekyc-init binary")
	}
	cmd := exec.Command(testproc.Build(t, "github.com/idverify/fc-kyc/functions/ekyc-init"))
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "AWS_LAMBDA_RUNTIME_API=" + rt.srv.Listener.Addr().String()}, env...)
	b := &bootstrap{out: &testproc.Buffer{}, exited: make(chan error, 1), gone: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = b.out, b.out
	require.NoError(t, cmd.Start())
	go func() { b.exited <- cmd.Wait(); close(b.gone) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-b.gone
		if t.Failed() {
			t.Logf("ekyc-init output:\n%s", b.out.String())
		}
	})
	return b
}

// lambdaError is the body of an invocation's or a start's error.
type lambdaError struct {
	Type    string `json:"errorType"`
	Message string `json:"errorMessage"`
}

func TestLambdaRuntimeLoopEndToEnd(t *testing.T) {
	emu := emulator.New(emulator.Config{})
	upstream := httptest.NewServer(emu.Handler())
	t.Cleanup(upstream.Close)
	rt := newFakeRuntimeAPI(t)
	fn := startBootstrap(t, rt, append([]string{
		"AWS_LAMBDA_FUNCTION_NAME=ekyc-init",
		"AUTH_MODE=none",
		"FUNCTION_TIMEOUT_S=10",
		"STORE_URL=file://" + t.TempDir(), // its own store, not the machine's default
	}, emulator.ClientEnv(emulator.Cloudauth, upstream.URL)...)...)
	out, exited := fn.out, fn.exited

	request := `{"MetaInfo":{"zimVer":"3.0.0","appName":"com.example.app","deviceType":"h5"},` +
		`"MerchantUserId":"lambda-user-1","DocType":"01560000"}`

	t.Run("API Gateway v2 HTTP event", func(t *testing.T) {
		body, _ := json.Marshal(request)
		ev := fmt.Sprintf(`{"version":"2.0","routeKey":"POST /kyc/ekyc-init","rawPath":"/kyc/ekyc-init","rawQueryString":"",
			"headers":{"content-type":"application/json","host":"api.example.com",
			  "x-fc-access-key-id":"forged","x-fc-access-key-secret":"forged"},
			"requestContext":{"accountId":"123456789012","apiId":"abc","domainName":"api.example.com","requestId":"gw-1",
			  "http":{"method":"POST","path":"/kyc/ekyc-init","protocol":"HTTP/1.1","sourceIp":"203.0.113.9","userAgent":"curl"},
			  "stage":"$default","time":"23/Nov/2026:04:00:00 +0000","timeEpoch":1795406400000},
			"body":%s,"isBase64Encoded":false}`, body)
		a := rt.invoke(t, "inv-http", ev, out.String)
		require.Equal(t, "response", a.kind, "%s", a.body)
		var res events.APIGatewayV2HTTPResponse
		require.NoError(t, json.Unmarshal(a.body, &res), "%s", a.body)
		require.Equal(t, http.StatusOK, res.StatusCode, res.Body)
		var answer struct {
			Code   string
			Result struct{ TransactionId string }
		}
		require.NoError(t, json.Unmarshal([]byte(res.Body), &answer))
		assert.Equal(t, "Success", answer.Code)
		tx, ok := emu.Transaction(answer.Result.TransactionId)
		require.True(t, ok, "the emulator has no transaction %q", answer.Result.TransactionId)
		assert.Equal(t, "lambda-user-1", tx.MerchantUserID)
		// The forged x-fc-access-key-* headers were dropped: the call was
		// signed with the environment's credentials.
		rec, ok := emu.LastRequest("Initialize")
		require.True(t, ok)
		assert.Equal(t, emulator.DefaultAccessKeyID, rec.AccessKeyID)
	})

	t.Run("malformed event", func(t *testing.T) {
		before := emu.Stats().Requests["Initialize"]
		a := rt.invoke(t, "inv-bad", `[{"MerchantUserId":"x"}]`, out.String)
		require.Equal(t, "error", a.kind, "%s", a.body)
		var e lambdaError
		require.NoError(t, json.Unmarshal(a.body, &e), "%s", a.body)
		assert.Equal(t, "InvalidParameter", e.Type)
		assert.Contains(t, e.Message, "must be one JSON object")
		assert.Equal(t, before, emu.Stats().Requests["Initialize"], "a malformed event cost an upstream call")
	})

	t.Run("scheduled event (EventBridge Scheduler input in the timer shape)", func(t *testing.T) {
		payload, _ := json.Marshal(request)
		ev := fmt.Sprintf(`{"triggerTime":"2026-11-23T04:00:00Z","triggerName":"nightly","payload":%s}`, payload)
		a := rt.invoke(t, "inv-timer", ev, out.String)
		require.Equal(t, "response", a.kind, "%s", a.body)
		var answer struct {
			Code   string
			Result struct{ TransactionId string }
		}
		require.NoError(t, json.Unmarshal(a.body, &answer), "%s", a.body)
		assert.Equal(t, "Success", answer.Code)
		_, ok := emu.Transaction(answer.Result.TransactionId)
		assert.True(t, ok, "the emulator has no transaction %q", answer.Result.TransactionId)
	})

	t.Run("scheduled event (EventBridge rule) reaches the operation", func(t *testing.T) {
		// A rule's schedule carries no request, so ekyc-init answers that
		// its parameters are missing: the event went through the timer
		// path to the operation, and the failure is Lambda's error.
		ev := `{"version":"0","id":"53dc4d37","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012",
			"time":"2026-11-23T04:00:00Z","region":"eu-central-1","resources":["arn:aws:events:eu-central-1:123456789012:rule/nightly"],"detail":{}}`
		a := rt.invoke(t, "inv-rule", ev, out.String)
		require.Equal(t, "error", a.kind, "%s", a.body)
		assert.Contains(t, string(a.body), `"errorType":"MissingParameter"`)
	})

	// Every invocation was logged once, with Lambda's request id (the
	// output comes through a pipe, so the last lines may still be on their
	// way), and aws-lambda-go's copy of the returned errors was not.
	for _, id := range []string{"inv-http", "inv-bad", "inv-timer", "inv-rule"} {
		assert.Eventually(t, func() bool { return strings.Contains(out.String(), `"request_id":"`+id+`"`) },
			10*time.Second, 10*time.Millisecond, "no log line with request_id %s", id)
		assert.Equal(t, 1, strings.Count(out.String(), `"msg":"invocation","request_id":"`+id+`"`),
			"one invocation line for %s:\n%s", id, out.String())
	}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		assert.True(t, json.Valid([]byte(line)), "a line that is not JSON: %s", line)
		assert.NotContains(t, line, "errorMessage", "aws-lambda-go's copy of an error was logged")
	}
	select {
	case err := <-exited:
		exited <- err
		t.Fatalf("the function exited: %v", err)
	default:
	}
}

// A start that fails on Lambda is posted to /runtime/init/error with its
// message, and the process ends.
func TestLambdaInitError(t *testing.T) {
	rt := newFakeRuntimeAPI(t)
	fn := startBootstrap(t, rt, "AUTH_MODE=none", "FUNCTION_TIMEOUT_S=ten")
	out, exited := fn.out, fn.exited

	select {
	case a := <-rt.answers:
		require.Equal(t, "init-error", a.kind, "%s", a.body)
		var e lambdaError
		require.NoError(t, json.Unmarshal(a.body, &e), "%s", a.body)
		assert.Equal(t, "Runtime.InitError", e.Type)
		assert.Contains(t, e.Message, `FUNCTION_TIMEOUT_S="ten"`)
	case <-time.After(20 * time.Second):
		t.Fatalf("nothing posted to /runtime/init/error\n%s", out.String())
	}
	select {
	case err := <-exited:
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, "the process ended without a failure status")
		assert.Equal(t, 1, ee.ExitCode())
	case <-time.After(20 * time.Second):
		t.Fatalf("the process did not end after reporting its start failure\n%s", out.String())
	}
	assert.Contains(t, out.String(), `"msg":"function stopped"`)
}
