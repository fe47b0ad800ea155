package fcrt

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/idverify/fc-kyc/pkg/apierr"
)

// fuzzReq is a small typed request with the kinds of fields the functions
// have: strings, a number, a nested object.
type fuzzReq struct {
	Name  string         `json:"Name"`
	Count int            `json:"Count"`
	Meta  map[string]any `json:"Meta"`
}

// FuzzUnwrap: whatever the /invoke body, Unwrap either refuses it with an
// InvalidParameter (a 400, never a panic or a 5xx), or hands on a request
// that is exactly one JSON object; a plain object is passed on byte for byte.
func FuzzUnwrap(f *testing.F) {
	for _, s := range []string{
		`{"Name":"a"}`,
		`{"triggerTime":"2026-01-01T00:00:00Z","triggerName":"t","payload":"{\"Name\":\"a\"}"}`,
		`{"triggerTime":"x","triggerName":"t","payload":""}`,
		`{"triggerTime":"x","triggerName":1,"payload":"{}"}`,
		`{"specversion":"1.0","type":"t","source":"s","id":"1","data":{"Name":"a"}}`,
		`{"specversion":"1.0","type":"t","source":"s","id":"1","data":"{\"Name\":\"a\"}"}`,
		`{"specversion":"1.0","type":"t","source":"s","id":"1","data":"[1]"}`,
		`[]`, `null`, `"{}"`, ` {} `, `{"a":1}{"b":2}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := Unwrap(body)
		if err != nil {
			if e := apierr.As(err); e.Code != apierr.InvalidParameter || apierr.Status(err) != http.StatusBadRequest {
				t.Fatalf("refusal is %s (HTTP %d), want InvalidParameter 400", e.Code, apierr.Status(err))
			}
			return
		}
		req := bytes.TrimLeft(ev.Request, " \t\r\n")
		if len(req) == 0 || req[0] != '{' || !json.Valid(req) {
			t.Fatalf("kind %d: request %q is not one JSON object", ev.Kind, ev.Request)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(ev.Request, &m); err != nil {
			t.Fatalf("request %q does not decode as an object: %v", ev.Request, err)
		}
		if ev.Kind == EventRaw && !bytes.Equal(ev.Request, body) {
			t.Fatalf("a raw event's request %q is not the body %q", ev.Request, body)
		}
	})
}

// FuzzOperation: the same bytes sent as an HTTP body and as a raw /invoke
// event reach the operation in both cases or in neither; an answer that is
// not the operation's is a 4xx with a JSON apierr body, never a 5xx.
func FuzzOperation(f *testing.F) {
	for _, s := range []string{
		`{"Name":"a","Count":1,"Meta":{"k":"v"}}`, `{}`, `{"Name":1}`, `{"Other":"x"}`,
		`{"Name":"a"} {}`, `{"Name":"a"}   `, `[]`, ``, `{"Count":1e400}`, `{"Meta":[]}`,
		`{"Name":"\ud800"}`, `{"Name":"a","Name":"b"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var got []fuzzReq
		op := func(_ context.Context, r fuzzReq) (fuzzReq, error) {
			got = append(got, r)
			return r, nil
		}
		h, event := Operation(op, WithMaxBody(4<<10))

		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body)))
		httpCalled := len(got) == 1
		switch {
		case httpCalled && w.Code != http.StatusOK:
			t.Fatalf("operation ran but the answer is %d", w.Code)
		case !httpCalled && (w.Code < 400 || w.Code > 499):
			t.Fatalf("refused body answered %d, want 4xx: %s", w.Code, w.Body)
		case !httpCalled:
			var e struct{ Code, Message string }
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Code == "" || e.Message == "" {
				t.Fatalf("refusal is not an apierr body: %q", w.Body)
			}
		}

		_, err := event(context.Background(), Event{Kind: EventRaw, Request: body})
		eventCalled := len(got) == map[bool]int{true: 2, false: 1}[httpCalled]
		if httpCalled != eventCalled {
			t.Fatalf("HTTP ran the operation: %v, event ran it: %v (err %v)", httpCalled, eventCalled, err)
		}
		if eventCalled && got[0].Name != got[1].Name {
			t.Fatalf("HTTP and event decoded different requests: %+v vs %+v", got[0], got[1])
		}
		if !eventCalled && apierr.Status(err)/100 != 4 {
			t.Fatalf("event refusal %v is HTTP %d, want 4xx", err, apierr.Status(err))
		}
	})
}
