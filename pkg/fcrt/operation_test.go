package fcrt

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/apierr"
)

// docType refuses anything but 8 digits in its own UnmarshalJSON.
type docType string

func (d *docType) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) != nil || len(s) != 8 {
		return apierr.Invalid("DocType", "must be 8 digits")
	}
	*d = docType(s)
	return nil
}

func TestOperationDecoding(t *testing.T) {
	const notOne = "The request body must be one JSON object."
	tests := []struct {
		name     string
		body     string
		wantCode string // "" means success
		says     string
		status   int
	}{
		{name: "valid", body: `{"Name":"a","Count":2,"Tags":["x"],"Inner":{"Flag":true}}`},
		{name: "empty object", body: `{}`},
		{name: "surrounding space", body: " \n{\"Name\":\"a\"}\n "},
		{name: "unknown field", body: `{"Name":"a","ProductCode":"X"}`, wantCode: apierr.InvalidParameter,
			says: `"ProductCode" is invalid: this operation takes no such parameter`, status: 400},
		{name: "string for a number", body: `{"Count":"2"}`, wantCode: apierr.InvalidParameter,
			says: `"Count" is invalid: must be a whole number`, status: 400},
		{name: "number for a string", body: `{"Name":5}`, wantCode: apierr.InvalidParameter,
			says: `"Name" is invalid: must be a string`, status: 400},
		{name: "object for an array", body: `{"Tags":{}}`, wantCode: apierr.InvalidParameter,
			says: `"Tags" is invalid: must be an array`, status: 400},
		{name: "nested wrong type", body: `{"Inner":{"Flag":"yes"}}`, wantCode: apierr.InvalidParameter,
			says: `"Inner.Flag" is invalid: must be a boolean`, status: 400},
		{name: "array", body: `[{"Name":"a"}]`, wantCode: apierr.InvalidParameter, says: notOne, status: 400},
		{name: "string", body: `"a"`, wantCode: apierr.InvalidParameter, says: notOne, status: 400},
		{name: "null", body: `null`, wantCode: apierr.InvalidParameter, says: notOne, status: 400},
		{name: "empty", body: ``, wantCode: apierr.InvalidParameter, says: notOne, status: 400},
		{name: "garbage", body: `{Name:a}`, wantCode: apierr.InvalidParameter, says: notOne, status: 400},
		{name: "two objects", body: `{"Name":"a"} {"Name":"b"}`, wantCode: apierr.InvalidParameter, says: notOne, status: 400},
		{name: "trailing data", body: `{"Name":"a"} x`, wantCode: apierr.InvalidParameter, says: notOne, status: 400},
		{name: "name in another case", body: `{"name":"a"}`, wantCode: apierr.InvalidParameter,
			says: `"name" is invalid: is not a parameter: parameter names are case-sensitive; the parameter is Name`, status: 400},
		{name: "nested name in another case", body: `{"Inner":{"flag":true}}`, wantCode: apierr.InvalidParameter,
			says: `"Inner.flag" is invalid: is not a parameter: parameter names are case-sensitive; the parameter is Inner.Flag`, status: 400},
		{name: "duplicate key", body: `{"Name":"a","Count":1,"Name":"b"}`, wantCode: apierr.InvalidParameter,
			says: `"Name" is invalid: is given more than once`, status: 400},
		{name: "duplicate nested key", body: `{"Inner":{"Flag":true,"Flag":false}}`, wantCode: apierr.InvalidParameter,
			says: `"Inner.Flag" is invalid: is given more than once`, status: 400},
		{name: "same key in two objects", body: `{"Name":"a","Inner":{"Flag":true},"Tags":["Name"]}`},
		{name: "too large", body: `{"Name":"` + strings.Repeat("x", 200) + `"}`, wantCode: apierr.RequestTooLarge,
			says: "limit of 128 bytes", status: 413},
	}
	api, event := Operation(echo, WithMaxBody(128))
	for _, tt := range tests {
		t.Run(tt.name+"/http", func(t *testing.T) {
			w := call{path: "/", body: tt.body}.do(api)
			if tt.wantCode == "" {
				require.Equal(t, http.StatusOK, w.Code, w.Body.String())
				assertSameRequest(t, tt.body, w.Body.String())
				return
			}
			assert.Equal(t, tt.status, w.Code)
			b := errorBody(t, w)
			assert.Equal(t, tt.wantCode, b.Code)
			assert.Contains(t, b.Message, tt.says)
		})
		t.Run(tt.name+"/event", func(t *testing.T) {
			res, err := event(context.Background(), Event{Request: json.RawMessage(tt.body)})
			if tt.wantCode == "" {
				require.NoError(t, err)
				got, _ := json.Marshal(res)
				assertSameRequest(t, tt.body, string(got))
				return
			}
			require.Error(t, err)
			e := apierr.As(err)
			assert.Equal(t, tt.wantCode, e.Code)
			assert.Contains(t, e.Message, tt.says)
		})
	}
}

// assertSameRequest checks that echo answered the request it was sent.
func assertSameRequest(t *testing.T, sent, answered string) {
	t.Helper()
	var want, got echoReq
	require.NoError(t, json.Unmarshal([]byte(sent), &want))
	require.NoError(t, json.Unmarshal([]byte(answered), &got))
	assert.Equal(t, want, got)
}

// A body nested deeper than encoding/json takes, within the body limit, is
// refused by the decoder without the key check growing its stack a frame
// per bracket first (half a million of them: hundreds of MiB). Over the
// stack limit set here, the test binary dies.
func TestDeepNestingIsLeftToTheDecoder(t *testing.T) {
	defer debug.SetMaxStack(debug.SetMaxStack(64 << 20))
	const n = 500_000
	body := `{"a":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}`
	_, err := decode[map[string]any]([]byte(body))
	assert.Equal(t, apierr.InvalidParameter, apierr.As(err).Code)
	assert.Contains(t, err.Error(), "must be one JSON object")
}

func TestOperationFieldTypeSaysWhatIsWrong(t *testing.T) {
	type req struct {
		DocType docType `json:"DocType"`
	}
	api, event := Operation(func(_ context.Context, r req) (req, error) { return r, nil })
	w := call{path: "/", body: `{"DocType":"12"}`}.do(api)
	assert.Equal(t, http.StatusBadRequest, w.Code)
	assert.Contains(t, errorBody(t, w).Message, `"DocType" is invalid: must be 8 digits`)
	_, err := event(context.Background(), Event{Request: json.RawMessage(`{"DocType":"12"}`)})
	assert.Contains(t, apierr.As(err).Message, "must be 8 digits")
}

func TestOperationTakesPOSTOnly(t *testing.T) {
	api, _ := Operation(echo)
	for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodHead} {
		w := call{method: method, path: "/", body: `{}`}.do(api)
		assert.Equal(t, http.StatusMethodNotAllowed, w.Code, method)
		assert.Equal(t, http.MethodPost, w.Header().Get("Allow"), method)
		if method != http.MethodHead {
			assert.Equal(t, apierr.UnsupportedMethod, errorBody(t, w).Code, method)
		}
	}
}

func TestOperationErrors(t *testing.T) {
	api, event := Operation(func(context.Context, echoReq) (echoReq, error) {
		return echoReq{}, &apierr.Error{Code: apierr.UpstreamTimeout, Message: "cloudauth did not answer", RetryAfter: 2 * time.Second}
	})
	w := call{path: "/", body: `{}`}.do(api)
	assert.Equal(t, http.StatusGatewayTimeout, w.Code)
	assert.Equal(t, "2", w.Header().Get("Retry-After"))
	assert.Equal(t, apierr.UpstreamTimeout, errorBody(t, w).Code)
	_, err := event(context.Background(), Event{Request: json.RawMessage(`{}`)})
	assert.Equal(t, http.StatusGatewayTimeout, apierr.Status(err))
}

// Each of many concurrent requests, through both entry points and a real
// server, gets its own answer back.
func TestOperationConcurrentRequests(t *testing.T) {
	api, event := Operation(func(_ context.Context, r echoReq) (echoReq, error) {
		time.Sleep(time.Duration(rand.IntN(5)) * time.Millisecond)
		return r, nil
	})
	o, _ := testOptions()
	srv := httptest.NewServer(Handler(Function{Name: "echo", HTTP: api, Event: event}, o))
	defer srv.Close()

	const n = 150
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			sent := echoReq{Name: fmt.Sprintf("caller-%03d", i), Count: i, Tags: []string{strings.Repeat("t", i%7)}}
			b, _ := json.Marshal(sent)
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader(string(b)))
			if i%2 == 1 {
				req.Header.Set(headerControlPath, "/invoke")
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			var got echoReq
			if err := json.Unmarshal(body, &got); err != nil || resp.StatusCode != http.StatusOK {
				errs <- fmt.Errorf("request %d: %d %s", i, resp.StatusCode, body)
				return
			}
			if !assert.ObjectsAreEqual(sent, got) {
				errs <- fmt.Errorf("request %d got %+v", i, got)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
