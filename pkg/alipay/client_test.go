package alipay

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/emulator"
)

// derivedNow is the derived vectors' timestamp, 2024-01-02 03:04:05 in
// Beijing, given in UTC: the client must turn it into GMT+8 itself.
var derivedNow = time.Date(2024, 1, 1, 19, 4, 5, 0, time.UTC)

// inOtherZone runs the test with the machine's zone far from Beijing.
func inOtherZone(t *testing.T) {
	old := time.Local
	time.Local = time.FixedZone("UTC-7", -7*3600)
	t.Cleanup(func() { time.Local = old })
}

// captured is one request the capture server received.
type captured struct {
	query url.Values
	body  url.Values
	ctype string
}

// captureServer answers every call with answer and records it.
func captureServer(t *testing.T, answer string) (*httptest.Server, *[]captured) {
	var got []captured
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		body, _ := url.ParseQuery(string(b))
		got = append(got, captured{query: r.URL.Query(), body: body, ctype: r.Header.Get("Content-Type")})
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv, &got
}

func prodCertClient(t *testing.T, gateway string, pub *rsa.PublicKey) *Client {
	key := privateKey(t, "java-sdk/prodcert_private_pkcs8.b64")
	if pub == nil {
		pub = &key.PublicKey
	}
	c, err := New(Config{Gateway: gateway, AppID: "2019091767145019", PrivateKey: key, AlipayPublicKey: pub,
		Now: func() time.Time { return derivedNow }, MaxAttempts: 1})
	require.NoError(t, err)
	return c
}

// The client's wire request is the derived initialize vector, byte for
// byte, whatever the machine's zone: charset and the signed common
// parameters in the query, biz_content alone in the form body.
func TestInitializeOnTheWireIsTheDerivedVector(t *testing.T) {
	inOtherZone(t)
	srv, got := captureServer(t, `{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-app-id"}}`)
	c := prodCertClient(t, srv.URL+"/gateway.do", nil)
	_, err := c.ZhimaInitialize(context.Background(), ZhimaInitialize{
		TransactionID: "ZGYD201610252323000001234", ProductCode: "w1010100000000002978", BizCode: "FACE",
		IdentityParam:  `{"identity_type":"CERT_INFO","cert_type":"IDENTITY_CARD","cert_name":"张三","cert_no":"260104197909275964"}`,
		MerchantConfig: "{}", ExtBizParam: "{}",
	})
	var g *GatewayError
	require.ErrorAs(t, err, &g, "an unsigned error answer is still read as the gateway's error")
	assert.Equal(t, "isv.invalid-app-id", g.SubCode)
	assert.False(t, g.Verified)
	require.Len(t, *got, 1)
	req := (*got)[0]
	assert.Equal(t, "application/x-www-form-urlencoded;charset=utf-8", req.ctype)
	assert.Equal(t, []string{"biz_content"}, keys(req.body))
	assert.Equal(t, "utf-8", req.query.Get("charset"))
	assert.Empty(t, req.query.Get("biz_content"))

	var want map[string]string
	readJSON(t, "derived/zhima_initialize.params.json", &want)
	sent := map[string]string{"biz_content": req.body.Get("biz_content")}
	for k := range req.query {
		sent[k] = req.query.Get(k)
	}
	assert.Equal(t, strings.TrimSpace(readVector(t, "derived/zhima_initialize.sign.b64")), sent["sign"])
	delete(sent, "sign")
	delete(want, "app_auth_token") // empty in the vector: never sent
	assert.Equal(t, want, sent)
}

func keys(v url.Values) []string {
	var out []string
	for k := range v {
		out = append(out, k)
	}
	return out
}

func TestCertifyURLIsTheDerivedVector(t *testing.T) {
	inOtherZone(t)
	c := prodCertClient(t, "https://openapi.alipay.com/gateway.do", nil)
	got, err := c.ZhimaCertifyURL("044eb82564529b890aeb1a1f5ed42f33", "https://example.com/zhima/return?a=1&b=中")
	require.NoError(t, err)
	want := "https://openapi.alipay.com/gateway.do?" + strings.TrimSpace(readVector(t, "derived/zhima_certify.form_urlencoded.txt"))
	assert.Equal(t, want, got)
}

// emulatorClient is a client of an in-process emulator with its test keys.
func emulatorClient(t *testing.T, mutate ...func(*Config)) (*Client, *emulator.Emulator) {
	t.Helper()
	emu := emulator.New(emulator.Config{})
	srv := httptest.NewServer(emu.Handler())
	t.Cleanup(srv.Close)
	key, err := ParsePrivateKey(emulator.AlipayTestAppPrivateKey)
	require.NoError(t, err)
	pub, err := ParsePublicKey(emulator.AlipayTestPublicKey)
	require.NoError(t, err)
	cfg := Config{Gateway: srv.URL + "/gateway.do", AppID: emulator.AlipayTestAppID, PrivateKey: key, AlipayPublicKey: pub}
	for _, m := range mutate {
		m(&cfg)
	}
	c, err := New(cfg)
	require.NoError(t, err)
	return c, emu
}

var validInit = ZhimaInitialize{
	TransactionID: "ZGYD_test_0001", ProductCode: "w1010100000000002978", BizCode: "FACE",
	IdentityParam: `{"identity_type":"CERT_INFO","cert_type":"IDENTITY_CARD","cert_name":"张三","cert_no":"260104197909275964"}`,
}

func TestZhimaFlowAgainstTheEmulator(t *testing.T) {
	inOtherZone(t)
	c, emu := emulatorClient(t)
	ctx := context.Background()
	res, err := c.ZhimaInitialize(ctx, validInit)
	require.NoError(t, err)
	assert.Equal(t, "10000", res.Code)
	cert, ok := emu.Alipay().Certification(res.BizNo)
	require.True(t, ok, "the biz_no is one the gateway created")
	assert.Equal(t, validInit.TransactionID, cert.TransactionID)

	q, err := c.ZhimaQuery(ctx, res.BizNo)
	require.NoError(t, err)
	assert.False(t, q.OK())
	require.True(t, emu.Alipay().Complete(res.BizNo, true))
	q, err = c.ZhimaQuery(ctx, res.BizNo)
	require.NoError(t, err)
	assert.True(t, q.OK())
	assert.Equal(t, "true", q.Passed)
}

func TestGatewayFaults(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		kind       emulator.FaultKind
		wantCode   string
		wantStatus int
		wantErr    error
	}{
		{emulator.AlipayFaultBadSignature, apierr.BadUpstreamAnswer, http.StatusBadGateway, ErrBadSignature},
		{emulator.AlipayFaultDuplicateNode, apierr.BadUpstreamAnswer, http.StatusBadGateway, ErrDuplicateNode},
		{emulator.AlipayFaultUnsigned, apierr.BadUpstreamAnswer, http.StatusBadGateway, ErrUnsignedSuccess},
		{emulator.AlipayFaultUnavailable, CodeUnavailable, http.StatusServiceUnavailable, nil},
	}
	for _, tc := range cases {
		t.Run(string(tc.kind), func(t *testing.T) {
			c, emu := emulatorClient(t)
			emu.InjectFault(emulator.Alipay, "", emulator.Fault{Kind: tc.kind})
			res, err := c.ZhimaInitialize(ctx, validInit)
			require.Error(t, err)
			assert.Empty(t, res.BizNo, "no biz_no from an answer that failed verification")
			e := apierr.As(err)
			assert.Equal(t, tc.wantCode, e.Code)
			assert.Equal(t, tc.wantStatus, apierr.Status(err))
			if tc.wantErr != nil {
				assert.ErrorIs(t, err, tc.wantErr)
			}
			assert.Equal(t, int64(1), emu.Alipay().Stats().Accepted[MethodZhimaInitialize], "initialize is never repeated")
		})
	}
}

func TestQueryIsRetriedOnUnavailable(t *testing.T) {
	c, emu := emulatorClient(t, func(c *Config) { c.MaxAttempts = 3 })
	res, err := c.ZhimaInitialize(context.Background(), validInit)
	require.NoError(t, err)
	emu.InjectFault(emulator.Alipay, MethodZhimaQuery, emulator.Fault{Kind: emulator.AlipayFaultUnavailable, Times: 1})
	q, err := c.ZhimaQuery(context.Background(), res.BizNo)
	require.NoError(t, err)
	assert.Equal(t, "false", q.Passed)
	assert.Equal(t, int64(2), emu.Alipay().Stats().Accepted[MethodZhimaQuery])
}

func TestSlowGatewayIsATimeout(t *testing.T) {
	c, emu := emulatorClient(t)
	emu.InjectFault(emulator.Alipay, "", emulator.Fault{Kind: emulator.FaultSlow, Delay: 5 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := c.ZhimaInitialize(ctx, validInit)
	assert.Equal(t, apierr.UpstreamTimeout, apierr.As(err).Code)
	assert.Equal(t, http.StatusGatewayTimeout, apierr.Status(err))
}

func TestGatewayRefusals(t *testing.T) {
	ctx := context.Background()
	t.Run("invalid transaction_id: 40004 INVALID_PARAMETER, 400", func(t *testing.T) {
		c, _ := emulatorClient(t)
		req := validInit
		req.TransactionID = "has-dash"
		_, err := c.ZhimaInitialize(ctx, req)
		var g *GatewayError
		require.ErrorAs(t, err, &g)
		assert.Equal(t, GatewayError{Code: "40004", Msg: "Business Failed", SubCode: "INVALID_PARAMETER",
			SubMsg: "参数有误。参数[transaction_id]不是有效的入参", Verified: true}, *g)
		assert.Equal(t, http.StatusBadRequest, apierr.Status(err))
	})
	t.Run("wrong app key: isv.invalid-signature, 502, no personal data", func(t *testing.T) {
		other := privateKey(t, "nodejs-sdk/app-private-key.pem")
		c, emu := emulatorClient(t, func(c *Config) { c.PrivateKey = other })
		_, err := c.ZhimaInitialize(ctx, validInit)
		var g *GatewayError
		require.ErrorAs(t, err, &g)
		assert.Equal(t, "40002", g.Code)
		assert.Equal(t, "isv.invalid-signature", g.SubCode)
		assert.True(t, g.Verified)
		assert.Equal(t, http.StatusBadGateway, apierr.Status(err))
		assert.NotContains(t, err.Error(), "260104197909275964")
		assert.NotContains(t, err.Error(), "张三")
		assert.Zero(t, emu.Alipay().Stats().Accepted[MethodZhimaInitialize])
	})
	t.Run("wrong Alipay key: the answer does not verify", func(t *testing.T) {
		wrong := publicKey(t, "nodejs-sdk/alipay-public-key.pem")
		c, _ := emulatorClient(t, func(c *Config) { c.AlipayPublicKey = wrong })
		_, err := c.ZhimaInitialize(ctx, validInit)
		assert.ErrorIs(t, err, ErrBadSignature)
	})
	t.Run("unknown biz_no on query", func(t *testing.T) {
		c, _ := emulatorClient(t)
		_, err := c.ZhimaQuery(ctx, "0123456789abcdef0123456789abcdef")
		var g *GatewayError
		require.ErrorAs(t, err, &g)
		assert.Equal(t, "INVALID_PARAMETER", g.SubCode)
	})
	t.Run("gateway down: never reached, 503", func(t *testing.T) {
		c, _ := emulatorClient(t, func(c *Config) { c.Gateway = "http://127.0.0.1:1/gateway.do"; c.MaxAttempts = 2 })
		_, err := c.ZhimaInitialize(ctx, validInit)
		assert.Equal(t, apierr.UpstreamUnavailable, apierr.As(err).Code)
		assert.NotContains(t, apierr.As(err).Err.Error(), "sign=", "the query (sign, app id) stays out of errors")
	})
}

// Certificate mode: the SNs are sent and signed, and the answer's
// alipay_cert_sn must be the configured Alipay certificate's.
func TestCertificateMode(t *testing.T) {
	dir := vectorDir(t)
	t.Setenv("ALIPAY_APP_ID", emulator.AlipayTestAppID)
	t.Setenv("ALIPAY_PRIVATE_KEY", emulator.AlipayTestAppPrivateKey)
	t.Setenv("ALIPAY_APP_CERT_FILE", filepath.Join(dir, "nodejs-sdk/appCertPublicKey_2021001161683774.crt"))
	t.Setenv("ALIPAY_PUBLIC_CERT_FILE", filepath.Join(dir, "nodejs-sdk/alipayCertPublicKey_RSA2.crt"))
	t.Setenv("ALIPAY_ROOT_CERT_FILE", filepath.Join(dir, "nodejs-sdk/alipayRootCert.crt"))
	cfg, err := ConfigFromEnv()
	require.NoError(t, err)
	assert.Equal(t, "866efef280dec9137a87d047ac446315", cfg.AppCertSN)
	assert.Equal(t, "7513daaaa48aa3ba2e4018d84402479c", cfg.AlipayCertSN)
	assert.Equal(t, "687b59193f3f462dd5336e5abf83c5d8_02941eef3187dddf3d3b83462e1dfcf6", cfg.RootCertSN)

	srv, got := captureServer(t, `{"zhima_customer_certification_query_response":{"code":"10000","msg":"Success","passed":"true"},"alipay_cert_sn":"0000","sign":"AAAA"}`)
	cfg.Gateway, cfg.MaxAttempts = srv.URL+"/gateway.do", 1
	c, err := New(cfg)
	require.NoError(t, err)
	_, err = c.ZhimaQuery(context.Background(), "044eb82564529b890aeb1a1f5ed42f33")
	assert.ErrorIs(t, err, ErrCertSNMismatch)
	q := (*got)[0].query
	assert.Equal(t, cfg.AppCertSN, q.Get("app_cert_sn"))
	assert.Equal(t, cfg.RootCertSN, q.Get("alipay_root_cert_sn"))
	params := map[string]string{"biz_content": (*got)[0].body.Get("biz_content")}
	for k := range q {
		params[k] = q.Get(k)
	}
	pub, err := ParsePublicKey(emulator.AlipayTestAppPublicKey)
	require.NoError(t, err)
	assert.NoError(t, VerifyParams(pub, params, true), "the SNs are part of the signed parameters")
}

func TestConfigFromEnvNamesTheVariable(t *testing.T) {
	good := map[string]string{
		"ALIPAY_APP_ID": emulator.AlipayTestAppID, "ALIPAY_PRIVATE_KEY": emulator.AlipayTestAppPrivateKey,
		"ALIPAY_PUBLIC_KEY": emulator.AlipayTestPublicKey,
	}
	set := func(t *testing.T, over map[string]string) {
		for _, k := range []string{"ALIPAY_GATEWAY", "ALIPAY_APP_ID", "ALIPAY_PRIVATE_KEY", "ALIPAY_PUBLIC_KEY", "ALIPAY_APP_CERT"} {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
		for k, v := range good {
			t.Setenv(k, v)
		}
		for k, v := range over {
			if v == "-" {
				os.Unsetenv(k)
				continue
			}
			t.Setenv(k, v)
		}
	}
	keyFile := filepath.Join(vectorDir(t), "java-sdk/prodcert_private_pkcs8.b64")
	for name, tc := range map[string]struct {
		over map[string]string
		want string // what the error says; "" when there is none
		ok   func(t *testing.T, cfg Config)
	}{
		"good": {nil, "", func(t *testing.T, cfg Config) {
			_, err := New(cfg)
			require.NoError(t, err)
			assert.Equal(t, DefaultGateway, cfg.Gateway)
		}},
		"private key from a file": {map[string]string{"ALIPAY_PRIVATE_KEY": "-", "ALIPAY_PRIVATE_KEY_FILE": keyFile}, "", func(t *testing.T, cfg Config) {
			assert.NotNil(t, cfg.PrivateKey)
		}},
		"plain http only to loopback": {map[string]string{"ALIPAY_GATEWAY": "http://openapi.alipay.com/gateway.do"}, "", func(t *testing.T, cfg Config) {
			_, err := New(cfg)
			assert.ErrorContains(t, err, "ALIPAY_GATEWAY")
		}},
		"malformed private key": {map[string]string{"ALIPAY_PRIVATE_KEY": "MIIEnotakey"}, "ALIPAY_PRIVATE_KEY", nil},
		"missing private key":   {map[string]string{"ALIPAY_PRIVATE_KEY": "-"}, "ALIPAY_PRIVATE_KEY is required", nil},
		"malformed public key":  {map[string]string{"ALIPAY_PUBLIC_KEY": "abc"}, "ALIPAY_PUBLIC_KEY", nil},
		"no public key":         {map[string]string{"ALIPAY_PUBLIC_KEY": "-"}, "ALIPAY_PUBLIC_KEY is not set", nil},
		"missing app id":        {map[string]string{"ALIPAY_APP_ID": "-"}, "ALIPAY_APP_ID is required", nil},
		"key and cert":          {map[string]string{"ALIPAY_APP_CERT": "x"}, "both set", nil},
		"bad app cert":          {map[string]string{"ALIPAY_PUBLIC_KEY": "-", "ALIPAY_APP_CERT": "x"}, "ALIPAY_APP_CERT", nil},
	} {
		t.Run(name, func(t *testing.T) {
			set(t, tc.over)
			cfg, err := ConfigFromEnv()
			if tc.want == "" {
				require.NoError(t, err)
				tc.ok(t, cfg)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "MII", "no key material in the message")
		})
	}
}

func TestTimestampIsBeijingTime(t *testing.T) {
	inOtherZone(t)
	assert.Equal(t, "2024-01-02 03:04:05", Timestamp(derivedNow))
	assert.Equal(t, "2024-01-02 03:04:05", Timestamp(derivedNow.In(time.Local)))
}

// A certificate-mode answer verifies with the key of the Alipay certificate
// it names, and only with it. The certificate and its key are made here: no
// vector comes with the private key of an Alipay certificate.
func TestCertificateModeAnswers(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(4242), Subject: pkix.Name{CommonName: "alipay test", Organization: []string{"Ant Financial"}, Country: []string{"CN"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, sn, err := ParseCert(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	require.NoError(t, err)
	want := md5.Sum([]byte("CN=alipay test,O=Ant Financial,C=CN4242"))
	require.Equal(t, hex.EncodeToString(want[:]), sn, "issuer in RFC 2253 order (last RDN first), then the decimal serial")
	pub, err := CertPublicKey(cert)
	require.NoError(t, err)

	node := `{"code":"10000","msg":"Success","passed":"true","failed_reason":"","identity_info":"{}"}`
	sign, err := Sign(key, SignTypeRSA2, []byte(node))
	require.NoError(t, err)
	answer := func(certSN string) string {
		return `{"zhima_customer_certification_query_response":` + node + `,"alipay_cert_sn":"` + certSN + `","sign":"` + sign + `"}`
	}
	for name, tc := range map[string]struct {
		body string
		err  error
	}{
		"its own SN":       {answer(sn), nil},
		"another SN":       {answer(flip(sn, 0)), ErrCertSNMismatch},
		"no SN":            {`{"zhima_customer_certification_query_response":` + node + `,"sign":"` + sign + `"}`, ErrCertSNMismatch},
		"one byte changed": {strings.Replace(answer(sn), `"true"`, `"trUe"`, 1), ErrBadSignature},
	} {
		t.Run(name, func(t *testing.T) {
			srv, _ := captureServer(t, tc.body)
			app, err := ParsePrivateKey(emulator.AlipayTestAppPrivateKey)
			require.NoError(t, err)
			c, err := New(Config{Gateway: srv.URL, AppID: "2021000000000001", PrivateKey: app, AlipayPublicKey: pub,
				AppCertSN: "app", RootCertSN: "root", AlipayCertSN: sn, MaxAttempts: 1})
			require.NoError(t, err)
			res, err := c.ZhimaQuery(context.Background(), "044eb82564529b890aeb1a1f5ed42f33")
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				assert.Empty(t, res.Passed)
				return
			}
			require.NoError(t, err)
			assert.True(t, res.OK())
		})
	}
}
