package emulator

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/stretchr/testify/require"
)

// startEmulator serves a new emulator on a loopback httptest server with
// ConnState wired, as cmd/emulator does.
func startEmulator(t *testing.T, cfg Config) (*Emulator, *httptest.Server) {
	t.Helper()
	emu := New(cfg)
	srv := httptest.NewUnstartedServer(emu.Handler())
	srv.Config.ConnState = emu.ConnState
	srv.Start()
	t.Cleanup(srv.Close)
	return emu, srv
}

// hostOf is the host:port of a test server, the client's Endpoint.
func hostOf(srv *httptest.Server) string { return strings.TrimPrefix(srv.URL, "http://") }

// clientOption adjusts a darabonba client Config.
type clientOption func(*openapiutil.Config)

// newSDKClient returns a darabonba-openapi client pointed at srv with the
// default AccessKey, as the functions build theirs.
func newSDKClient(t *testing.T, srv *httptest.Server, opts ...clientOption) *openapi.Client {
	t.Helper()
	cfg := &openapiutil.Config{
		Endpoint:        dara.String(hostOf(srv)),
		Protocol:        dara.String("http"),
		AccessKeyId:     dara.String(DefaultAccessKeyID),
		AccessKeySecret: dara.String(DefaultAccessKeySecret),
		ConnectTimeout:  dara.Int(2000),
		ReadTimeout:     dara.Int(5000),
	}
	for _, o := range opts {
		o(cfg)
	}
	c, err := openapi.NewClient(cfg)
	require.NoError(t, err)
	return c
}

func withKey(id, secret, token string) clientOption {
	return func(c *openapiutil.Config) {
		c.AccessKeyId, c.AccessKeySecret = dara.String(id), dara.String(secret)
		if token != "" {
			c.SecurityToken = dara.String(token)
		}
	}
}

// callSDK calls action with the Params every cloudauth-intl operation uses
// (method POST unless given) and returns the decoded body.
func callSDK(ctx context.Context, c *openapi.Client, action, method string, query, body map[string]string) (map[string]any, error) {
	if method == "" {
		method = "POST"
	}
	params := &openapiutil.Params{
		Action: dara.String(action), Version: dara.String("2022-08-09"), Protocol: dara.String("HTTPS"),
		Pathname: dara.String("/"), Method: dara.String(method), AuthType: dara.String("AK"),
		Style: dara.String("RPC"), ReqBodyType: dara.String("formData"), BodyType: dara.String("json"),
	}
	req := &openapiutil.OpenApiRequest{Query: openapiutil.Query(query)}
	if body != nil {
		req.Body = openapiutil.ParseToMap(body)
	}
	res, err := c.CallApiWithCtx(ctx, params, req, &dara.RuntimeOptions{})
	if err != nil {
		return nil, err
	}
	b, _ := res["body"].(map[string]any)
	return b, nil
}

// sdkErrorCode returns the code and HTTP status of an error answer the
// client decoded (it wraps them in tea.SDKError); ok is false for anything
// else (transport, decoding).
func sdkErrorCode(err error) (code string, status int, ok bool) {
	var se *tea.SDKError
	if !errors.As(err, &se) {
		return "", 0, false
	}
	return dara.StringValue(se.Code), dara.IntValue(se.StatusCode), true
}

// initialize starts a transaction with a signed Initialize of query q and
// returns its TransactionId.
func initialize(t *testing.T, srv *httptest.Server, q map[string]string) string {
	t.Helper()
	status, body := do(t, srv.Client(), defaultSigner.request(t, "POST", srv.URL, "Initialize", values(q), url.Values{}))
	require.Equal(t, http.StatusOK, status, body)
	return body["Result"].(map[string]any)["TransactionId"].(string)
}

// sdkInitialize starts a transaction through the SDK client c and returns
// its TransactionId.
func sdkInitialize(ctx context.Context, t *testing.T, c *openapi.Client, q map[string]string) string {
	t.Helper()
	res, err := callSDK(ctx, c, "Initialize", "", q, map[string]string{})
	require.NoError(t, err)
	return res["Result"].(map[string]any)["TransactionId"].(string)
}

// validInitialize is an Initialize query the emulator accepts.
func validInitialize() map[string]string {
	return map[string]string{
		"ProductCode":    "KYC_GLOBAL",
		"MerchantBizId":  "biz0001",
		"MetaInfo":       `{"zimVer":"3.0.0","appVersion":"1","deviceType":"ios"}`,
		"MerchantUserId": "user-hash-1",
		"DocType":        "01560000",
	}
}

// testSigner signs requests with an implementation of the ACS3 recipe kept
// apart from the emulator's, so that tests which do not go through the SDK
// still do not check the verifier against itself.
type testSigner struct {
	ID, Secret, Token string
	Now               func() time.Time // nil means time.Now
}

var defaultSigner = testSigner{ID: DefaultAccessKeyID, Secret: DefaultAccessKeySecret}

// request builds a signed request for action against base (http://host:port).
// A nil form means no body and no content-type, like CheckResult.
func (s testSigner) request(t *testing.T, method, base, action string, query, form url.Values) *http.Request {
	t.Helper()
	var body string
	if form != nil {
		body = form.Encode()
	}
	target := base + "/"
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	require.NoError(t, err)
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	sum := sha256.Sum256([]byte(body))
	h := map[string]string{
		"host":                  req.URL.Host,
		"x-acs-action":          action,
		"x-acs-version":         "2022-08-09",
		"x-acs-date":            now().UTC().Format("2006-01-02T15:04:05Z"),
		"x-acs-signature-nonce": randomHex(16),
		"x-acs-content-sha256":  hex.EncodeToString(sum[:]),
	}
	if form != nil {
		h["content-type"] = "application/x-www-form-urlencoded"
	}
	if s.Token != "" {
		h["x-acs-security-token"], h["x-acs-accesskey-id"] = s.Token, s.ID
	}
	names := slices.Sorted(maps.Keys(h))

	var qs []string
	for k, vs := range query {
		qs = append(qs, k+"="+url.QueryEscape(vs[0]))
	}
	sort.Strings(qs)
	canonQuery := strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(strings.Join(qs, "&"))
	canon := method + "\n/\n" + canonQuery + "\n"
	for _, k := range names {
		canon += k + ":" + h[k] + "\n"
		if k != "host" {
			req.Header.Set(k, h[k])
		}
	}
	canon += "\n" + strings.Join(names, ";") + "\n" + h["x-acs-content-sha256"]
	digest := sha256.Sum256([]byte(canon))
	mac := hmac.New(sha256.New, []byte(s.Secret))
	mac.Write([]byte("ACS3-HMAC-SHA256\n" + hex.EncodeToString(digest[:])))
	req.Header.Set("Authorization", "ACS3-HMAC-SHA256 Credential="+s.ID+",SignedHeaders="+
		strings.Join(names, ";")+",Signature="+hex.EncodeToString(mac.Sum(nil)))
	return req
}

// newRequest is http.NewRequest for a test, with contentType when given.
func newRequest(t *testing.T, method, target, contentType string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, target, body)
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req
}

// roundTrip sends req with client (nil: http.DefaultClient) and returns
// the answer, its body read in full.
func roundTrip(t *testing.T, client *http.Client, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, raw
}

// do sends req and returns the status and the decoded JSON body.
func do(t *testing.T, client *http.Client, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, raw := roundTrip(t, client, req)
	var body map[string]any
	require.NoError(t, json.Unmarshal(raw, &body), "body %q", raw)
	return resp.StatusCode, body
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// values turns a map into url.Values.
func values(m map[string]string) url.Values {
	v := url.Values{}
	for k, s := range m {
		v.Set(k, s)
	}
	return v
}
