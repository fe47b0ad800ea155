package contract_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/api"
	"github.com/idverify/fc-kyc/internal/contract"
	"github.com/idverify/fc-kyc/internal/registry"
	"github.com/idverify/fc-kyc/pkg/webhook"
)

func doc(t *testing.T) *openapi3.T {
	t.Helper()
	d, err := contract.Doc()
	require.NoError(t, err)
	return d
}

func TestTheDocumentIsValid(t *testing.T) {
	d := doc(t)
	assert.True(t, d.IsOpenAPI31OrLater(), "OpenAPI 3.1")
	// Load validates; a document that breaks OpenAPI is refused, so the
	// check above is not vacuous.
	_, err := contract.Load([]byte(strings.Replace(string(api.OpenAPI), "type: http\n", "type: nonsense\n", 1)))
	assert.Error(t, err)
}

// TestEveryFunctionHasItsPaths: each function of internal/registry has its
// operations in the document, and the document has no path of a function
// that does not exist.
func TestEveryFunctionHasItsPaths(t *testing.T) {
	d := doc(t)
	op := func(path, method string) *openapi3.Operation {
		item := d.Paths.Value(path)
		require.NotNil(t, item, "the document has no path %s", path)
		o := item.GetOperation(method)
		require.NotNil(t, o, "the document has no %s %s", method, path)
		return o
	}
	event := http.Header{"X-Fc-Control-Path": {"/invoke"}}
	for _, f := range registry.Functions {
		p, ok := contract.SpecPath(f.Name, http.MethodPost, "/invoke", event)
		require.True(t, ok)
		op(p, http.MethodPost)
		if f.FrontDoor {
			p, _ := contract.SpecPath(f.Name, http.MethodPost, "/", http.Header{})
			assert.NotNil(t, op(p, http.MethodPost).RequestBody, "%s takes a body", p)
			op(p, http.MethodOptions) // the CORS preflight
			statuses := []int{200, 400, 401, 403, 405, 413, 429, 500, 503, 504}
			if f.Upstream != registry.None {
				statuses = append(statuses, 502) // an upstream's fault or the merchant's configuration
			}
			for _, status := range statuses {
				assert.NotNil(t, op(p, http.MethodPost).Responses.Status(status), "%s documents %d", p, status)
			}
		}
	}
	verify, _ := contract.SpecPath("otp-init", http.MethodPost, "/verify", http.Header{})
	op(verify, http.MethodPost)
	op(verify, http.MethodOptions)
	for _, p := range []string{"/ekyc/callback", "/zhima/return"} {
		spec, _ := contract.SpecPath("callback", http.MethodGet, p, http.Header{})
		op(spec, http.MethodGet)
	}
	for path := range d.Paths.Map() {
		name := strings.Split(path, "/")[1]
		_, ok := registry.Lookup(name)
		assert.True(t, ok, "%s: no function %q in internal/registry", path, name)
	}
}

func TestSpecPath(t *testing.T) {
	event := http.Header{"X-Fc-Control-Path": {"/invoke"}}
	for _, tt := range []struct {
		fn, method, path string
		header           http.Header
		want             string
	}{
		{"ekyc-init", "POST", "/", nil, "/ekyc-init"},
		{"ekyc-init", "POST", "/kyc/ekyc-init", nil, "/ekyc-init"},
		{"ekyc-init", "POST", "/invoke", event, "/ekyc-init/invoke"},
		{"ekyc-init", "POST", "/invoke", nil, "/ekyc-init"}, // no header: an HTTP request that happens to use that path
		{"otp-init", "POST", "/verify", nil, "/otp-init/verify"},
		{"otp-init", "POST", "/otp/verify", nil, "/otp-init/verify"},
		{"otp-init", "POST", "/verifyx", nil, "/otp-init"},
		{"callback", "GET", "/ekyc/callback", nil, "/callback/ekyc/callback"},
		{"callback", "GET", "/zhima/return", nil, "/callback/zhima/return"},
		{"callback", "POST", "/invoke", event, "/callback/invoke"},
	} {
		h := tt.header
		if h == nil {
			h = http.Header{}
		}
		got, ok := contract.SpecPath(tt.fn, tt.method, tt.path, h)
		assert.True(t, ok)
		assert.Equal(t, tt.want, got, "%s %s %s", tt.fn, tt.method, tt.path)
	}
	_, ok := contract.SpecPath("callback", "GET", "/pre-stop", http.Header{})
	assert.False(t, ok, "a lifecycle hook is not part of the contract")
}

const (
	ekycRequest = `{"MetaInfo":{"zimVer":"3.0.0"},"MerchantUserId":"user-1","DocType":"01560000"}`
	ekycAnswer  = `{"RequestId":"r1","Code":"Success","Message":"success","Result":{"TransactionId":"hk1","TransactionUrl":"https://x"},"MerchantBizId":"abc123"}`
)

// exchange builds an Exchange for fn; header holds "Key: value" lines.
func exchange(fn, method, target, reqBody string, status int, resBody string, header ...string) contract.Exchange {
	req, _ := http.NewRequest(method, "http://127.0.0.1:1"+target, nil)
	resHeader := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	if reqBody != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range header {
		k, v, _ := strings.Cut(h, ": ")
		if strings.HasPrefix(k, "res ") {
			resHeader.Set(strings.TrimPrefix(k, "res "), v)
		} else {
			req.Header.Set(k, v)
		}
	}
	return contract.Exchange{Function: fn, Request: req, RequestBody: []byte(reqBody), Status: status, Header: resHeader, Response: []byte(resBody)}
}

// TestCheckCatchesViolations: good exchanges pass, and each kind of drift
// between the code and the document is caught.
func TestCheckCatchesViolations(t *testing.T) {
	d := doc(t)
	invalid := func(x contract.Exchange) contract.Exchange { x.Invalid = true; return x }
	long := `{"MetaInfo":{"zimVer":"3.0.0"},"MerchantUserId":"` + strings.Repeat("u", 257) + `","DocType":"01560000"}`
	refused := `{"Code":"InvalidParameter","Message":"The parameter \"MerchantUserId\" is invalid: must be at most 256 characters"}`
	html := exchange("callback", "GET", "/zhima/return?bizNo=ZM1&transactionId=T1&callbackToken=v2.zhima.1.x", "", 200, "<!doctype html><p>done</p>")
	html.Header.Set("Content-Type", "text/html; charset=utf-8")

	for _, tt := range []struct {
		name string
		x    contract.Exchange
		want string // "" when the exchange keeps the contract
	}{
		{"a start and its answer", exchange("ekyc-init", "POST", "/", ekycRequest, 200, ekycAnswer), ""},
		{"an answer with a field the document does not have", exchange("ekyc-init", "POST", "/", ekycRequest, 200,
			strings.Replace(ekycAnswer, `"MerchantBizId"`, `"Extra":1,"MerchantBizId"`, 1)), "Extra"},
		{"an answer without a documented field", exchange("ekyc-init", "POST", "/", ekycRequest, 200,
			strings.Replace(ekycAnswer, `,"MerchantBizId":"abc123"`, "", 1)), "MerchantBizId"},
		{"a request over a maxLength", exchange("ekyc-init", "POST", "/", long, 400, refused), "maxLength"},
		{"the same request marked as invalid on purpose", invalid(exchange("ekyc-init", "POST", "/", long, 400, refused)), ""},
		{"its answer in another function's error shape", invalid(exchange("ekyc-init", "POST", "/", long, 400,
			`{"code":"40004","msg":"Business Failed","sub_code":"INVALID_PARAMETER"}`)), "Code"},
		{"a status the operation does not document", exchange("ekyc-init", "POST", "/", ekycRequest, 418, refused), "status"},
		{"Retry-After that is not seconds", exchange("ekyc-init", "POST", "/", ekycRequest, 503,
			`{"Code":"Throttling.Api","Message":"slow down","RequestId":"r"}`, "res Retry-After: soon"), "Retry-After"},
		{"a method the document does not have", exchange("ekyc-init", "GET", "/", "", 405, `{"Code":"UnsupportedMethod","Message":"POST only"}`), "no such operation"},
		{"the same on purpose, answered 405", invalid(exchange("ekyc-init", "GET", "/", "", 405, `{"Code":"UnsupportedMethod","Message":"POST only"}`)), ""},
		{"a parameter the function refuses", exchange("zhima-init", "POST", "/", `{"biz_code":"FACE","identity_param":{"identity_type":"CERT_INFO","cert_type":"IDENTITY_CARD","cert_name":"n","cert_no":"1"},"sign":"x"}`, 400,
			`{"code":"40004","msg":"Business Failed","sub_code":"INVALID_PARAMETER","sub_msg":"sign"}`), "sign"},
		{"CERT_INFO without its certificate", exchange("zhima-init", "POST", "/", `{"biz_code":"FACE","identity_param":{"identity_type":"CERT_INFO"}}`, 400,
			`{"code":"40004","msg":"Business Failed","sub_code":"INVALID_PARAMETER"}`), "cert_"},
		{"isPassed as a string", exchange("otp-init", "POST", "/verify", `{"authenticationType":"OTP","authenticationRequestId":"a","authenticationValue":"123456"}`, 200,
			`{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"},"isPassed":"true"}`), "isPassed"},
		{"a 4-factor check without Mobile", exchange("bank-verify", "POST", "/", `{"ProductType":"BANK_CARD_4_META","BankCard":"6222020101987654","UserName":"n","IdentifyNum":"11010519491231002X"}`, 400,
			`{"Code":"MissingParameter","Message":"Mobile"}`), "Mobile"},
		{"the Zhima return page", html, ""},
		{"a timer event without a Content-Type", exchange("callback", "POST", "/invoke", `{"triggerTime":"2026-11-23T10:00:00Z","triggerName":"t","payload":""}`, 200,
			`{"listed":0,"checked":0,"recorded":0,"stillPending":0,"expired":0,"errors":0,"delivered":0,"notDelivered":0,"unfinished":false}`,
			"X-Fc-Control-Path: /invoke", "res X-Fc-Status: 200"), ""},
		{"an event failure without x-fc-status", exchange("callback", "POST", "/invoke", `{}`, 503,
			`{"Code":"UpstreamUnavailable","Message":"store"}`, "X-Fc-Control-Path: /invoke"), "x-fc-status"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "a timer event without a Content-Type" {
				tt.x.Request.Header.Del("Content-Type")
			}
			err := contract.Check(d, tt.x)
			if tt.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// recorder is a testing.TB that keeps what Errorf reports.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) reported() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errs...)
}

// TestTheTransportFailsTheRegisteringTest drives the transport the way the
// suites use it: a process registered as ekyc-init, requests through
// http.DefaultClient. A drifted answer fails the test that registered it;
// the mark of a deliberate refusal never reaches the function.
func TestTheTransportFailsTheRegisteringTest(t *testing.T) {
	var mu sync.Mutex
	answer, sawMark := ekycAnswer, false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		sawMark = sawMark || r.Header.Get(contract.InvalidHeader) != ""
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		if strings.Contains(r.Header.Get("X-Test"), "refuse") {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"Code":"InvalidParameter","Message":"DocType"}`))
			return
		}
		_, _ = w.Write([]byte(answer))
	}))
	defer srv.Close()
	rec := &recorder{TB: t}
	contract.Register(rec, "ekyc-init", srv.URL)

	// sendMarked posts body with header (name, value, ...), the request
	// marked by mark when it is set (contract.Invalid).
	sendMarked := func(mark func(*http.Request) *http.Request, body string, header ...string) *http.Response {
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		if mark != nil {
			req = mark(req)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		return res
	}
	send := func(body string, header ...string) *http.Response { return sendMarked(nil, body, header...) }

	send(ekycRequest)
	assert.Empty(t, rec.reported(), "a good exchange is not reported")

	mu.Lock()
	answer = strings.Replace(ekycAnswer, `"MerchantBizId":"abc123"`, `"MerchantBizID":"abc123"`, 1)
	mu.Unlock()
	send(ekycRequest)
	require.Len(t, rec.reported(), 1, "the drifted answer is reported")
	assert.Contains(t, rec.reported()[0], "MerchantBizID")

	send(`{"DocType":1}`, "X-Test", "refuse", contract.InvalidHeader, "1")
	assert.Len(t, rec.reported(), 1, "a refusal on purpose is not reported: its answer keeps the contract")
	mu.Lock()
	assert.False(t, sawMark, "the mark is removed before the request leaves")
	mu.Unlock()

	sendMarked(contract.Invalid, `{"DocType":1}`, "X-Test", "refuse")
	assert.Len(t, rec.reported(), 1, "a refusal marked with contract.Invalid is not reported either")

	send(`{"DocType":1}`, "X-Test", "refuse")
	assert.Len(t, rec.reported(), 2, "the same request unmarked is reported")
}

// TestResultEventsKeepTheWebhookContract: the event the callback posts
// (pkg/webhook.Event, as encoded) matches the document's webhook, and a
// drifted one does not.
func TestResultEventsKeepTheWebhookContract(t *testing.T) {
	d := doc(t)
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for _, ev := range []webhook.Event{
		{ID: "evt_0123456789abcdef0123456789abcdef", Type: webhook.EventType, TransactionID: "hk1", MerchantBizID: "ORDER1",
			UserHash: strings.Repeat("ab", 32), Status: "passed", Passed: "Y", SubCode: "200", RecordedAt: at},
		{ID: "evt_0123456789abcdef0123456789abcdef", Type: "zhima.result", TransactionID: "ZM1", MerchantBizID: "T1",
			Status: "expired", RecordedAt: at},
	} {
		body, err := json.Marshal(ev)
		require.NoError(t, err)
		assert.NoError(t, contract.CheckResultEvent(d, body), "%s", body)
	}
	for _, body := range []string{
		`{"id":"evt_0123456789abcdef0123456789abcdef","type":"ekyc.result","transactionId":"hk1","merchantBizId":"O","status":"passed","passed":"Y","subCode":"200","recordedAt":"2026-11-23T10:00:00Z","userId":"alice"}`,
		`{"id":"evt_0123456789abcdef0123456789abcdef","type":"ekyc.result","transactionId":"hk1","merchantBizId":"O","status":"pending","passed":"","subCode":"","recordedAt":"2026-11-23T10:00:00Z"}`,
	} {
		assert.Error(t, contract.CheckResultEvent(d, []byte(body)), body)
	}
}
