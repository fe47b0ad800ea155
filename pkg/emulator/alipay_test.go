package emulator

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/testproc"
)

// alipayVector reads testdata/vectors/alipay/<name> from the repository root.
func alipayVector(t *testing.T, name string) string {
	return testproc.ReadVector(t, "alipay", name)
}

// The emulator's sign string is the derived vectors' one, so that its
// verification is anchored to data it did not produce.
func TestAlipaySignContentMatchesTheVectors(t *testing.T) {
	for _, name := range []string{"zhima_initialize", "zhima_certify", "zhima_query"} {
		var p map[string]string
		require.NoError(t, json.Unmarshal([]byte(alipayVector(t, "derived/"+name+".params.json")), &p))
		want := strings.TrimRight(alipayVector(t, "derived/"+name+".sign_content.txt"), "\n")
		assert.Equal(t, want, alipaySignContent(p), name)
	}
}

type alipayCall struct {
	srv   *httptest.Server
	emu   *Emulator
	gw    *AlipayGateway
	key   *rsa.PrivateKey
	gwPub *rsa.PublicKey
	now   time.Time
}

func newAlipayCall(t *testing.T) *alipayCall {
	now := time.Date(2024, 1, 1, 19, 4, 5, 0, time.UTC)
	emu := New(Config{Now: func() time.Time { return now }})
	srv := httptest.NewServer(emu.Handler())
	t.Cleanup(srv.Close)
	return &alipayCall{srv: srv, emu: emu, gw: emu.Alipay(), key: mustPrivateKey(AlipayTestAppPrivateKey),
		gwPub: mustPublicKey(AlipayTestPublicKey), now: now}
}

// params are valid common parameters for method; over replaces or (with
// "") removes some before signing.
func (c *alipayCall) params(method, biz string, over ...string) map[string]string {
	p := map[string]string{"app_id": AlipayTestAppID, "method": method, "format": "JSON", "charset": "utf-8",
		"sign_type": "RSA2", "timestamp": c.now.In(alipayZone).Format("2006-01-02 15:04:05"), "version": "1.0", "biz_content": biz}
	for i := 0; i < len(over); i += 2 {
		if over[i+1] == "" {
			delete(p, over[i])
		} else {
			p[over[i]] = over[i+1]
		}
	}
	sum := sha256.Sum256([]byte(alipaySignContent(p)))
	sig, _ := rsa.SignPKCS1v15(nil, c.key, crypto.SHA256, sum[:])
	p["sign"] = base64.StdEncoding.EncodeToString(sig)
	return p
}

// postForm posts every parameter of p in the body, with charset in the
// query as the gateway wants it, and returns the raw answer.
func (c *alipayCall) postForm(t *testing.T, p map[string]string) []byte {
	t.Helper()
	_, raw := roundTrip(t, nil, newRequest(t, http.MethodPost, c.srv.URL+"/gateway.do?charset=utf-8",
		"application/x-www-form-urlencoded", strings.NewReader(values(p).Encode())))
	return raw
}

// post sends p as the official SDKs do (biz_content in the body, the rest
// in the query, unless query says otherwise) and returns the node name, its
// raw content and whether the answer's sign verified.
func (c *alipayCall) post(t *testing.T, p map[string]string, query string) (string, map[string]string, bool) {
	t.Helper()
	q, body := url.Values{}, url.Values{}
	for k, v := range p {
		if k == "biz_content" {
			body.Set(k, v)
		} else {
			q.Set(k, v)
		}
	}
	if query == "" {
		query = q.Encode()
	} else { // what the given query lacks goes in the body
		given, _ := url.ParseQuery(query)
		for k, v := range p {
			if !given.Has(k) {
				body.Set(k, v)
			}
		}
	}
	res, raw := roundTrip(t, nil, newRequest(t, http.MethodPost, c.srv.URL+"/gateway.do?"+query,
		"application/x-www-form-urlencoded;charset=utf-8", strings.NewReader(body.Encode())))
	require.Equal(t, http.StatusOK, res.StatusCode, "the gateway answers 200 whatever happened")
	var top map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &top), "%s", raw)
	var sign string
	_ = json.Unmarshal(top["sign"], &sign)
	for k, v := range top {
		if k == "sign" {
			continue
		}
		var node map[string]string
		require.NoError(t, json.Unmarshal(v, &node))
		sig, _ := base64.StdEncoding.DecodeString(sign)
		sum := sha256.Sum256(v)
		return k, node, rsa.VerifyPKCS1v15(c.gwPub, crypto.SHA256, sum[:], sig) == nil
	}
	t.Fatalf("no node in %s", raw)
	return "", nil, false
}

const testIdentity = `{"identity_type":"CERT_INFO","cert_type":"IDENTITY_CARD","cert_name":"张三","cert_no":"260104197909275964"}`

func initBiz(tx string) string {
	b, _ := json.Marshal(map[string]string{"transaction_id": tx, "product_code": "w1010100000000002978",
		"biz_code": "FACE", "identity_param": testIdentity})
	return string(b)
}

func TestAlipayGatewayChecks(t *testing.T) {
	c := newAlipayCall(t)
	const m = zhimaInitialize
	cases := []struct {
		name         string
		p            map[string]string
		query        string
		node         string
		code, sub    string
		subMsgPrefix string
	}{
		{"valid", c.params(m, initBiz("T1")), "", "zhima_customer_certification_initialize_response", "10000", "", ""},
		{"missing method", c.params(m, initBiz("T1"), "method", ""), "", "error_response", "40001", "isv.missing-method", ""},
		{"unknown method", c.params("alipay.trade.pay", "{}"), "", "error_response", "40002", "isv.invalid-method", ""},
		{"unknown app", c.params(m, initBiz("T1"), "app_id", "2021999999999999"), "", "error_response", "40002", "isv.invalid-app-id", ""},
		{"RSA instead of RSA2", c.params(m, initBiz("T1"), "sign_type", "RSA"), "", "error_response", "40002", "isv.invalid-signature-type", ""},
		{"timestamp in UTC", c.params(m, initBiz("T1"), "timestamp", c.now.UTC().Format("2006-01-02 15:04:05")), "", "error_response", "40002", "isv.invalid-timestamp", ""},
		{"charset only in the body", c.params(m, initBiz("T1")), "charset=", "error_response", "40002", "isv.invalid-signature", "验签出错，请确认charset"},
		{"bad transaction_id", c.params(m, initBiz("T-1")), "", "zhima_customer_certification_initialize_response", "40004", "INVALID_PARAMETER", "参数有误。参数[transaction_id]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			query := tc.query
			if query == "charset=" {
				q := url.Values{}
				for k, v := range tc.p {
					if k != "biz_content" && k != "charset" {
						q.Set(k, v)
					}
				}
				query = q.Encode()
			}
			node, ans, signed := c.post(t, tc.p, query)
			assert.True(t, signed, "every answer is signed with the gateway key")
			assert.Equal(t, tc.node, node)
			assert.Equal(t, tc.code, ans["code"])
			assert.Equal(t, tc.sub, ans["sub_code"])
			assert.True(t, strings.HasPrefix(ans["sub_msg"], tc.subMsgPrefix), ans["sub_msg"])
		})
	}
	t.Run("tampered parameter", func(t *testing.T) {
		p := c.params(m, initBiz("T2"))
		p["biz_content"] = initBiz("T3")
		node, ans, _ := c.post(t, p, "")
		assert.Equal(t, "error_response", node)
		assert.Equal(t, "isv.invalid-signature", ans["sub_code"])
		assert.Contains(t, ans["sub_msg"], "网关生成的验签字符串为：app_id=")
	})
	st := c.gw.Stats()
	assert.Equal(t, int64(2), st.Accepted[m], "valid and bad transaction_id passed the signature checks")
	assert.Equal(t, int64(2), st.Rejected["isv.invalid-signature"])
}

func TestAlipayGatewayFlowAndFaults(t *testing.T) {
	c := newAlipayCall(t)
	remote := &Remote{BaseURL: c.srv.URL}

	_, ans, _ := c.post(t, c.params(zhimaInitialize, initBiz("FLOW1")), "")
	bizNo := ans["biz_no"]
	require.Regexp(t, `^[0-9a-f]{32}$`, bizNo)
	_, again, _ := c.post(t, c.params(zhimaInitialize, initBiz("FLOW1")), "")
	assert.Equal(t, bizNo, again["biz_no"], "the same transaction_id gets the same biz_no")

	query := c.params(zhimaQuery, `{"biz_no":"`+bizNo+`"}`)
	_, q, _ := c.post(t, query, "")
	assert.Equal(t, "false", q["passed"])
	require.NoError(t, remote.AlipayComplete(bizNo, true))
	_, q, _ = c.post(t, c.params(zhimaQuery, `{"biz_no":"`+bizNo+`"}`), "")
	assert.Equal(t, "true", q["passed"])

	// The certify page checks the GET URL's signature too.
	p := c.params(zhimaCertify, `{"biz_no":"`+bizNo+`"}`, "return_url", "https://m.example.com/r?a=1")
	v := values(p)
	_, page := roundTrip(t, nil, newRequest(t, http.MethodGet, c.srv.URL+"/gateway.do?"+v.Encode(), "", nil))
	assert.Contains(t, string(page), bizNo)
	v.Set("return_url", "https://evil.example.com/")
	_, page = roundTrip(t, nil, newRequest(t, http.MethodGet, c.srv.URL+"/gateway.do?"+v.Encode(), "", nil))
	assert.Contains(t, string(page), "isv.invalid-signature", "a changed return_url breaks the signature")

	// The page's form finishes the certification and returns to return_url.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, _ := roundTrip(t, client, newRequest(t, http.MethodPost, c.srv.URL+"/_emulator/alipay/certifications/"+bizNo+"/complete",
		"application/x-www-form-urlencoded", strings.NewReader(url.Values{"passed": {"false"}, "return_url": {"https://m.example.com/r?a=1"}}.Encode())))
	assert.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "https://m.example.com/r?a=1&biz_no="+bizNo, res.Header.Get("Location"))
	cert, err := remote.AlipayCertification(bizNo)
	require.NoError(t, err)
	assert.Equal(t, "false", cert.Passed)

	// Faults, through the control API.
	for _, f := range []struct {
		kind  FaultKind
		check func(t *testing.T, node string, ans map[string]string, signed bool)
	}{
		{AlipayFaultBadSignature, func(t *testing.T, _ string, ans map[string]string, signed bool) {
			assert.False(t, signed)
			assert.Equal(t, "10000", ans["code"])
		}},
		{AlipayFaultUnavailable, func(t *testing.T, _ string, ans map[string]string, signed bool) {
			assert.True(t, signed)
			assert.Equal(t, "20000", ans["code"])
			assert.Equal(t, "isp.unknow-error", ans["sub_code"])
		}},
		{AlipayFaultUnsigned, func(t *testing.T, _ string, ans map[string]string, signed bool) {
			assert.False(t, signed)
			assert.Equal(t, "10000", ans["code"])
		}},
	} {
		t.Run(string(f.kind), func(t *testing.T) {
			require.NoError(t, remote.InjectFault(Alipay, zhimaQuery, Fault{Kind: f.kind, Times: 1}))
			node, ans, signed := c.post(t, c.params(zhimaQuery, `{"biz_no":"`+bizNo+`"}`), "")
			f.check(t, node, ans, signed)
			_, ans, signed = c.post(t, c.params(zhimaQuery, `{"biz_no":"`+bizNo+`"}`), "")
			assert.True(t, signed, "Times 1: the next answer is normal")
			assert.Equal(t, "10000", ans["code"])
		})
	}
	t.Run("duplicate_node", func(t *testing.T) {
		require.NoError(t, remote.InjectFault(Alipay, "", Fault{Kind: AlipayFaultDuplicateNode, Times: 1}))
		raw := c.postForm(t, c.params(zhimaQuery, `{"biz_no":"`+bizNo+`"}`))
		assert.Equal(t, 2, strings.Count(string(raw), `"zhima_customer_certification_query_response"`), "%s", raw)
	})
	st, err := remote.AlipayStats()
	require.NoError(t, err)
	assert.Equal(t, int64(4), st.Faults["bad_signature"]+st.Faults["unavailable"]+st.Faults["unsigned"]+st.Faults["duplicate_node"])
	last, err := remote.AlipayLastRequest(zhimaQuery)
	require.NoError(t, err)
	assert.Equal(t, `{"biz_no":"`+bizNo+`"}`, last["biz_content"])
	require.NoError(t, remote.AlipayReset())
	_, err = remote.AlipayCertification(bizNo)
	assert.Error(t, err, "reset forgets certifications")
	assert.Error(t, remote.InjectFault(Alipay, "", Fault{Kind: "nonsense"}))
}

// Answers write "/" as "\/", as the real gateway does, and sign those bytes.
func TestAlipayAnswersEscapeSlashes(t *testing.T) {
	c := newAlipayCall(t)
	p := c.params(zhimaInitialize, initBiz("T1"), "return_url", "https://m.example.com/r")
	p["return_url"] = "https://m.example.com/other" // the refusal quotes the sign string, slashes and all
	raw := c.postForm(t, p)
	assert.Contains(t, string(raw), `https:\/\/m.example.com\/other`)
	node, ans, signed := c.post(t, p, "")
	assert.Equal(t, "error_response", node)
	assert.True(t, signed, "signed over the escaped bytes")
	assert.Contains(t, ans["sub_msg"], "https://m.example.com/other")
}

// The gateway's state belongs to its Emulator: Reset and /_emulator/reset
// forget its certifications, faults and counters, and two emulators never
// share a certification.
func TestAlipayStateIsTheEmulators(t *testing.T) {
	c := newAlipayCall(t)
	remote := &Remote{BaseURL: c.srv.URL}
	_, ans, _ := c.post(t, c.params(zhimaInitialize, initBiz("RESET1")), "")
	bizNo := ans["biz_no"]
	require.NotEmpty(t, bizNo)
	c.emu.InjectFault(Alipay, zhimaQuery, Fault{Kind: AlipayFaultUnavailable})
	_, ok := c.gw.Certification(bizNo)
	require.True(t, ok)
	require.NotEmpty(t, c.gw.Stats().Requests)

	other := New(Config{})
	_, ok = other.Alipay().Certification(bizNo)
	assert.False(t, ok, "another emulator does not know this certification")

	require.NoError(t, remote.Reset()) // the emulator-wide reset
	_, ok = c.gw.Certification(bizNo)
	assert.False(t, ok, "/_emulator/reset forgets certifications")
	assert.Empty(t, c.gw.Stats().Requests, "and counters")
	_, q, signed := c.post(t, c.params(zhimaQuery, `{"biz_no":"`+bizNo+`"}`), "")
	assert.True(t, signed)
	assert.Equal(t, "INVALID_PARAMETER", q["sub_code"], "and faults: the query runs, and no longer knows the biz_no")

	// And the keys survive a reset: a signed call still verifies both ways.
	_, ans, signed = c.post(t, c.params(zhimaInitialize, initBiz("RESET2")), "")
	assert.True(t, signed)
	assert.Equal(t, "10000", ans["code"])
}
