package emulator

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInitializeValidation(t *testing.T) {
	with := func(k, v string) map[string]string {
		q := validInitialize()
		if v == "<absent>" {
			delete(q, k)
		} else {
			q[k] = v
		}
		return q
	}
	tests := []struct {
		name      string
		query     map[string]string
		allowHTTP bool
		code      string // "" means accepted
		param     string // named in the message
	}{
		{"all required", validInitialize(), false, "", ""},

		{"ProductCode absent", with("ProductCode", "<absent>"), false, "MissingParameter", "ProductCode"},
		{"ProductCode empty", with("ProductCode", ""), false, "MissingParameter", "ProductCode"},
		{"ProductCode other", with("ProductCode", "eKYC"), false, "InvalidParameter", "ProductCode"},

		{"MerchantBizId absent", with("MerchantBizId", "<absent>"), false, "MissingParameter", "MerchantBizId"},
		{"MerchantBizId 32 letters and digits", with("MerchantBizId", strings.Repeat("a1", 16)), false, "", ""},
		{"MerchantBizId 33 characters", with("MerchantBizId", strings.Repeat("a", 33)), false, "InvalidParameter", "MerchantBizId"},
		{"MerchantBizId with a dash", with("MerchantBizId", "biz-1"), false, "InvalidParameter", "MerchantBizId"},

		{"MetaInfo absent", with("MetaInfo", "<absent>"), false, "MissingParameter", "MetaInfo"},
		{"MetaInfo empty object", with("MetaInfo", "{}"), false, "", ""},
		{"MetaInfo not JSON", with("MetaInfo", "zimVer=3"), false, "InvalidParameter", "MetaInfo"},
		{"MetaInfo JSON array", with("MetaInfo", "[1]"), false, "InvalidParameter", "MetaInfo"},
		{"MetaInfo JSON null", with("MetaInfo", "null"), false, "InvalidParameter", "MetaInfo"},

		{"MerchantUserId absent", with("MerchantUserId", "<absent>"), false, "MissingParameter", "MerchantUserId"},

		{"DocType absent", with("DocType", "<absent>"), false, "MissingParameter", "DocType"},
		{"DocType 7 digits", with("DocType", "0156000"), false, "InvalidParameter", "DocType"},
		{"DocType 9 digits", with("DocType", "015600000"), false, "InvalidParameter", "DocType"},
		{"DocType letters", with("DocType", "0156000A"), false, "InvalidParameter", "DocType"},

		{"ProductFlow DOC_FACE", with("ProductFlow", "DOC_FACE"), false, "", ""},
		{"ProductFlow FACE_DOC", with("ProductFlow", "FACE_DOC"), false, "", ""},
		{"ProductFlow other", with("ProductFlow", "FACE"), false, "InvalidParameter", "ProductFlow"},

		{"DocScanMode manual", with("DocScanMode", "manual"), false, "", ""},
		{"DocScanMode auto", with("DocScanMode", "auto"), false, "InvalidParameter", "DocScanMode"},

		{"CallbackUrl https", with("CallbackUrl", "https://example.com/cb?x=1"), false, "", ""},
		{"CallbackUrl http loopback allowed", with("CallbackUrl", "http://127.0.0.1:9000/cb"), true, "", ""},
		{"CallbackUrl http localhost allowed", with("CallbackUrl", "http://localhost/cb"), true, "", ""},
		{"CallbackUrl http loopback not allowed", with("CallbackUrl", "http://127.0.0.1:9000/cb"), false, "InvalidParameter", "CallbackUrl"},
		{"CallbackUrl http remote", with("CallbackUrl", "http://example.com/cb"), true, "InvalidParameter", "CallbackUrl"},
		{"CallbackUrl other scheme", with("CallbackUrl", "ftp://example.com/cb"), true, "InvalidParameter", "CallbackUrl"},
		{"CallbackUrl no host", with("CallbackUrl", "https:///cb"), false, "InvalidParameter", "CallbackUrl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu, srv := startEmulator(t, Config{AllowHTTPCallback: tt.allowHTTP})
			req := defaultSigner.request(t, "POST", srv.URL, "Initialize", values(tt.query), url.Values{})
			status, body := do(t, srv.Client(), req)
			if tt.code == "" {
				require.Equal(t, 200, status, body)
				assert.Equal(t, "Success", body["Code"])
				assert.Equal(t, "success", body["Message"])
				res := body["Result"].(map[string]any)
				id := res["TransactionId"].(string)
				assert.Regexp(t, `^hk[0-9a-f]{30}$`, id)
				assert.Equal(t, srv.URL+"/_emulator/ekyc/"+id, res["TransactionUrl"])
				assert.Equal(t, "", res["Protocol"])
				assert.Equal(t, "", res["ClientCfg"])
				tx, ok := emu.Transaction(id)
				require.True(t, ok)
				assert.Equal(t, tt.query["MerchantBizId"], tx.MerchantBizID)
				assert.Equal(t, "P", tx.Passed)
				return
			}
			assert.Equal(t, 400, status)
			assert.Equal(t, tt.code, body["Code"])
			assert.Contains(t, body["Message"], `"`+tt.param+`"`)
			assert.NotEmpty(t, body["RequestId"])
			assert.Equal(t, hostOf(srv), body["HostId"])
			assert.Contains(t, body["Recommend"], tt.code)
			emu.mu.Lock()
			stored := len(emu.transactions)
			emu.mu.Unlock()
			assert.Zero(t, stored, "nothing stored")
			assert.Equal(t, int64(1), emu.Stats().Rejected[tt.code])
		})
	}
}

func TestMissingParameterMessage(t *testing.T) {
	_, srv := startEmulator(t, Config{})
	q := validInitialize()
	delete(q, "DocType")
	resp, raw := roundTrip(t, srv.Client(), defaultSigner.request(t, "POST", srv.URL, "Initialize", values(q), url.Values{}))
	assert.Equal(t, "application/json;charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Regexp(t, `^[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}$`, resp.Header.Get("x-acs-request-id"))
	assert.Contains(t, string(raw), `"RequestId":"`+resp.Header.Get("x-acs-request-id")+`"`)
	assert.Contains(t, string(raw),
		`"Message":"The input parameter \"DocType\" that is mandatory for processing this request is not supplied."`)
}

// callbackSink is an httptest server that records the callbacks it gets.
type callbackSink struct {
	mu     sync.Mutex
	got    []*url.URL
	status int
	srv    *httptest.Server
}

func newCallbackSink(t *testing.T) *callbackSink {
	s := &callbackSink{status: http.StatusOK}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if r.Method != http.MethodGet {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		s.got = append(s.got, r.URL)
		w.WriteHeader(s.status)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *callbackSink) received() []*url.URL {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*url.URL(nil), s.got...)
}

func TestCheckResultFollowsCompletion(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name, passed, subCode   string
		wantPassed, wantSubCode string
	}{
		{"passed default subCode", "Y", "", "Y", "200"},
		{"failed default subCode", "N", "", "N", "205"},
		{"failed given subCode", "N", "206", "N", "206"},
		{"back to pending", "P", "", "P", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu, srv := startEmulator(t, Config{})
			id := initialize(t, srv, validInitialize())

			check := func(bizID, txID string) (int, map[string]any) {
				q := url.Values{}
				if bizID != "" {
					q.Set("MerchantBizId", bizID)
				}
				if txID != "" {
					q.Set("TransactionId", txID)
				}
				return do(t, srv.Client(), defaultSigner.request(t, "POST", srv.URL, "CheckResult", q, nil))
			}
			status, body := check("biz0001", id)
			require.Equal(t, 200, status, body)
			res := body["Result"].(map[string]any)
			assert.Equal(t, "P", res["Passed"])
			for _, k := range []string{"SubCode", "EkycResult", "ExtBasicInfo", "ExtIdInfo", "ExtFaceInfo", "ExtRiskInfo", "ExtInfo"} {
				assert.IsType(t, "", res[k], k)
			}
			assert.NotContains(t, res, "TransactionId", "CheckResult's Result has none")

			require.NoError(t, emu.Complete(ctx, id, tt.passed, tt.subCode, false))
			_, body = check("biz0001", id)
			res = body["Result"].(map[string]any)
			assert.Equal(t, tt.wantPassed, res["Passed"])
			assert.Equal(t, tt.wantSubCode, res["SubCode"])
			if tt.wantPassed == "Y" {
				assert.JSONEq(t, `{"docType":"01560000"}`, res["ExtBasicInfo"].(string))
				assert.Contains(t, res["ExtFaceInfo"], "faceAttack")
			}

			for _, bad := range []struct{ biz, tx, code string }{
				{"other", id, "InvalidParameter"},
				{"biz0001", "hk" + strings.Repeat("0", 30), "InvalidParameter"},
				{"", id, "MissingParameter"},
				{"biz0001", "", "MissingParameter"},
			} {
				status, body := check(bad.biz, bad.tx)
				assert.Equal(t, 400, status)
				assert.Equal(t, bad.code, body["Code"], "%+v", bad)
			}
		})
	}
}

func TestCompleteErrors(t *testing.T) {
	emu := New(Config{})
	assert.ErrorIs(t, emu.Complete(context.Background(), "hk-none", "Y", "", false), ErrUnknownTransaction)
	tx := emu.newTransaction(params{"MerchantBizId": "b"})
	assert.ErrorIs(t, emu.Complete(context.Background(), tx.ID, "X", "", false), errInvalidPassed)
	got, _ := emu.Transaction(tx.ID)
	assert.Equal(t, "P", got.Passed, "unchanged")
}

func TestCallback(t *testing.T) {
	sink := newCallbackSink(t)
	tests := []struct {
		name, path, token, passed string
		wantQuery                 string // with <id> for the transaction id
	}{
		{"no query, token", "/cb", "tok 1", "Y", "callbackToken=tok+1&transactionId=<id>&passed=Y&subCode=200"},
		{"existing query, token", "/cb?src=ekyc", "t", "N", "src=ekyc&callbackToken=t&transactionId=<id>&passed=N&subCode=205"},
		{"no token", "/cb", "", "Y", "transactionId=<id>&passed=Y&subCode=200"},
		{"trailing question mark", "/cb?", "", "Y", "transactionId=<id>&passed=Y&subCode=200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu, srv := startEmulator(t, Config{AllowHTTPCallback: true})
			q := validInitialize()
			q["CallbackUrl"] = sink.srv.URL + tt.path
			if tt.token != "" {
				q["CallbackToken"] = tt.token
			}
			id := initialize(t, srv, q)

			before := len(sink.received())
			require.NoError(t, emu.Complete(context.Background(), id, tt.passed, "", true))
			got := sink.received()
			require.Len(t, got, before+1)
			assert.Equal(t, "/cb", got[before].Path)
			assert.Equal(t, strings.ReplaceAll(tt.wantQuery, "<id>", id), got[before].RawQuery)
		})
	}

	t.Run("no callback requested", func(t *testing.T) {
		emu, srv := startEmulator(t, Config{AllowHTTPCallback: true})
		q := validInitialize()
		q["CallbackUrl"] = sink.srv.URL + "/cb"
		id := initialize(t, srv, q)
		before := len(sink.received())
		require.NoError(t, emu.Complete(context.Background(), id, "Y", "", false))
		assert.Len(t, sink.received(), before)
	})

	t.Run("callback answers 500", func(t *testing.T) {
		failing := newCallbackSink(t)
		failing.status = http.StatusInternalServerError
		emu, srv := startEmulator(t, Config{AllowHTTPCallback: true})
		q := validInitialize()
		q["CallbackUrl"] = failing.srv.URL + "/cb"
		id := initialize(t, srv, q)
		err := emu.Complete(context.Background(), id, "Y", "", true)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "500")
		tx, _ := emu.Transaction(id)
		assert.Equal(t, "Y", tx.Passed, "the result stands even if the notification failed")
	})
}

func TestAppendQuery(t *testing.T) {
	for raw, want := range map[string]string{
		"https://a.test/cb":          "https://a.test/cb?q=1",
		"https://a.test/cb?x=1":      "https://a.test/cb?x=1&q=1",
		"https://a.test/cb?":         "https://a.test/cb?q=1",
		"https://a.test/cb?x=1&":     "https://a.test/cb?x=1&q=1",
		"https://a.test/cb#frag":     "https://a.test/cb?q=1#frag",
		"https://a.test/cb?x=1#frag": "https://a.test/cb?x=1&q=1#frag",
	} {
		assert.Equal(t, want, appendQuery(raw, "q=1"), raw)
	}
}
