package cloudauth

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	"github.com/alibabacloud-go/tea/dara"
	credential "github.com/aliyun/credentials-go/credentials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/credentials"
	"github.com/idverify/fc-kyc/pkg/emulator"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

// This file holds the new call path to darabonba-openapi's CallApi, the
// SDK core the generated cloudauth-intl client calls: the same request on
// the wire, and what the change saves.

// initializeAnswer is a documented Initialize success.
const initializeAnswer = `{"RequestId":"4B5F2DE0-0BCE-5C1E-BF4B-8E4E8A38D4E9","Code":"Success","Message":"success",` +
	`"Result":{"TransactionId":"hksb7ba1b28130d24e015d8a7f9e5bd4","TransactionUrl":"https://example.com/t","Protocol":"p","ClientCfg":"c"}}`

// captured is a request as the server saw it.
type captured struct {
	Method, RequestURI, RawQuery string
	Header                       http.Header
	Host                         string
	Body                         string
}

// recorder answers every request with initializeAnswer and keeps what came.
type recorder struct {
	mu   sync.Mutex
	reqs []captured
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, captured{Method: r.Method, RequestURI: r.RequestURI, RawQuery: r.URL.RawQuery,
		Header: r.Header.Clone(), Host: r.Host, Body: string(body)})
	rec.mu.Unlock()
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	_, _ = w.Write([]byte(initializeAnswer))
}

func (rec *recorder) last(t *testing.T) captured {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	require.NotEmpty(t, rec.reqs, "the server got no request")
	return rec.reqs[len(rec.reqs)-1]
}

// sdkHTTP hands CallApi a plain client, as the package's own client did
// before: no proxy from the environment, the same keep-alive pool.
type sdkHTTP struct{ c *http.Client }

func (h sdkHTTP) Call(req *http.Request, _ *http.Transport) (*http.Response, error) {
	return h.c.Do(req)
}

// sdkClient is darabonba-openapi's client for host, with the credential the
// SDK itself builds from creds (credentials-go's static AK or STS provider).
func sdkClient(t testing.TB, host string, tr http.RoundTripper, creds credentials.Credentials) *openapi.Client {
	cfg := &credential.Config{Type: dara.String("access_key"),
		AccessKeyId: dara.String(creds.AccessKeyID), AccessKeySecret: dara.String(creds.AccessKeySecret)}
	if creds.SecurityToken != "" {
		cfg.Type, cfg.SecurityToken = dara.String("sts"), dara.String(creds.SecurityToken)
	}
	cred, err := credential.NewCredential(cfg)
	require.NoError(t, err)
	cl, err := openapi.NewClient(&openapiutil.Config{Endpoint: dara.String(host), Protocol: dara.String("http"),
		Credential: cred, HttpClient: sdkHTTP{&http.Client{Transport: tr}}})
	require.NoError(t, err)
	cl.DisableSDKError = dara.Bool(true)
	return cl
}

// sdkParams is what the generated SDK passes to CallApi for an RPC action.
func sdkParams(action string) *openapiutil.Params {
	return &openapiutil.Params{Action: dara.String(action), Version: dara.String(Version), Protocol: dara.String("HTTPS"),
		Pathname: dara.String("/"), Method: dara.String("POST"), AuthType: dara.String("AK"), Style: dara.String("RPC"),
		ReqBodyType: dara.String("formData"), BodyType: dara.String("json")}
}

// sdkQuery is the generated SDK's query: every non-empty parameter.
func sdkQuery(kv map[string]string) map[string]*string {
	q := map[string]*string{}
	for k, v := range kv {
		if v != "" {
			q[k] = dara.String(v)
		}
	}
	return q
}

// wireRequest has values that need every escape the canonical query makes
// (space, "*", "~", "+", quotes, "&", "=", non-ASCII).
func wireRequest() InitializeRequest {
	return InitializeRequest{ProductCode: "KYC_GLOBAL", MerchantBizId: "biz-1*~", ProductFlow: "DOC_FACE",
		MetaInfo:       `{"zimVer":"3.0.0","appName":"a b+c","bioMetaInfo":"4.1.0:1,0"}`,
		MerchantUserId: "欧阳 明月", DocType: "01560000", DocScanMode: "manual",
		CallbackUrl: "https://example.com/cb?x=1&y=a b", CallbackToken: "tok=="}
}

// initializeQuery is the query Initialize sends for r.
func initializeQuery(r InitializeRequest) map[string]string {
	return map[string]string{"ProductCode": r.ProductCode, "MerchantBizId": r.MerchantBizId, "MetaInfo": r.MetaInfo,
		"MerchantUserId": r.MerchantUserId, "DocType": r.DocType, "DocScanMode": r.DocScanMode,
		"ProductFlow": r.ProductFlow, "CallbackUrl": r.CallbackUrl, "CallbackToken": r.CallbackToken}
}

// TestWireEqualsCallApi sends one Initialize through CallApi and one
// through Client with the same date, nonce and credentials, and requires the
// server to see the same request: method, path and query byte for byte,
// every header (the signed ones among them), and the same Authorization.
func TestWireEqualsCallApi(t *testing.T) {
	for _, tc := range []struct {
		name  string
		creds credentials.Credentials
	}{
		{"AccessKey", credentials.Credentials{AccessKeyID: "LTAI5tAccessKeyId", AccessKeySecret: "secret-of-the-key"}},
		{"STS", credentials.Credentials{AccessKeyID: "STS.NUgYrLnoC37mZZCNnAbez2", AccessKeySecret: "sts-secret",
			SecurityToken: "CAIS8AF1q6Ft5B2yfSjIr5bSEsj+g7ZX0bWIf1TbqlMtaN5Lq/token"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			srv := httptest.NewServer(rec)
			t.Cleanup(srv.Close)
			host := strings.TrimPrefix(srv.URL, "http://")
			r := wireRequest()

			sdk := sdkClient(t, host, http.DefaultTransport, tc.creds)
			_, err := sdk.CallApi(sdkParams("Initialize"), &openapiutil.OpenApiRequest{Query: sdkQuery(initializeQuery(r))}, &dara.RuntimeOptions{})
			require.NoError(t, err)
			want := rec.last(t)

			date, err := time.Parse(acsDateLayout, want.Header.Get("x-acs-date"))
			require.NoError(t, err, "the SDK's x-acs-date")
			c, err := New(Config{Endpoint: srv.URL})
			require.NoError(t, err)
			c.now = func() time.Time { return date.Add(400 * time.Millisecond) } // any instant within the SDK's second
			c.nonce = func() string { return want.Header.Get("x-acs-signature-nonce") }
			res, err := c.Initialize(credentials.NewContext(context.Background(), tc.creds), r)
			require.NoError(t, err)
			assert.Equal(t, "hksb7ba1b28130d24e015d8a7f9e5bd4", res.Result.TransactionId)
			got := rec.last(t)

			assert.Equal(t, want.Method, got.Method)
			assert.Equal(t, want.RequestURI, got.RequestURI, "path and query, byte for byte")
			assert.Equal(t, want.Host, got.Host)
			assert.Equal(t, want.Body, got.Body)
			auth := want.Header.Get("Authorization")
			require.True(t, strings.HasPrefix(auth, "ACS3-HMAC-SHA256 Credential="+tc.creds.AccessKeyID+",SignedHeaders="), auth)
			assert.Equal(t, auth, got.Header.Get("Authorization"))
			_, signed, _ := strings.Cut(auth, "SignedHeaders=")
			signed, _, _ = strings.Cut(signed, ",")
			for _, name := range strings.Split(signed, ";") {
				if name != "host" {
					assert.Equal(t, want.Header.Values(name), got.Header.Values(name), "signed header %s", name)
				}
			}
			if tc.creds.SecurityToken != "" {
				assert.Contains(t, signed, "x-acs-security-token")
			}
			assert.Equal(t, want.Header, got.Header, "every header")
		})
	}
}

// TestNonceIsNewPerAttempt: a retry must not reuse the nonce, or the
// gateway refuses it as a replay (SignatureNonceUsed). The emulator refuses
// a nonce it has seen, as the gateway does, so a CheckResult repeated after
// two 503s succeeds only if each of its three attempts draws a new one.
func TestNonceIsNewPerAttempt(t *testing.T) {
	var mu sync.Mutex
	var nonces []string
	emu, c := newEmulator(t, Config{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		for name, v := range r.Header { // set lower case, as the SDK sends it: Header.Get would not find it
			if strings.EqualFold(name, "x-acs-signature-nonce") {
				nonces = append(nonces, strings.Join(v, ","))
			}
		}
		mu.Unlock()
		return http.DefaultTransport.RoundTrip(r)
	})})
	tx, err := c.Initialize(akCtx, initReq())
	require.NoError(t, err)
	emu.InjectFault(emulator.Cloudauth, "CheckResult", emulator.Fault{Kind: emulator.FaultServerError, Times: 2})
	_, err = c.CheckResult(akCtx, CheckResultRequest{MerchantBizId: "biz1", TransactionId: tx.Result.TransactionId})
	require.NoError(t, err, "the emulator refused an attempt")
	assert.EqualValues(t, 3, emu.Stats().Requests["CheckResult"], "two 503s, then the answer")
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, nonces, 4, "Initialize and three CheckResult attempts")
	for i, n := range nonces {
		assert.Len(t, n, 32)
		assert.NotContains(t, nonces[:i], n, "nonce of attempt %d repeated", i+1)
	}
}

// roundTripFunc is an http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// oldInitialize is the call path this package had before: CallApi with a
// copy of the client per call, then the answer read from the generic map.
func oldInitialize(ctx context.Context, base *openapi.Client, cred credential.Credential, r InitializeRequest) (*InitializeResponse, error) {
	cl := *base
	cl.Credential = cred
	p := sdkParams("Initialize")
	p.BodyType = dara.String("string")
	res, err := cl.CallApiWithCtx(ctx, p, &openapiutil.OpenApiRequest{Query: sdkQuery(initializeQuery(r))}, &dara.RuntimeOptions{})
	if err != nil {
		return nil, err
	}
	body, _ := res["body"].(string)
	var env envelope
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		return nil, err
	}
	var out InitializeResponse
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// BenchmarkInitialize is one Initialize against an in-process server
// answering at once (its cost is in both figures alike): CallApi, the path
// before, and Client, the path now. Compare with
// go test -run '^$' -bench Initialize -benchmem -count 5 ./pkg/cloudauth/
func BenchmarkInitialize(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
		_, _ = w.Write([]byte(initializeAnswer))
	}))
	b.Cleanup(srv.Close)
	creds := credentials.Credentials{AccessKeyID: "LTAI5tAccessKeyId", AccessKeySecret: "secret-of-the-key"}
	ctx := credentials.NewContext(context.Background(), creds)
	r := initReq()

	b.Run("CallApi", func(b *testing.B) {
		tr := newTransport(2*time.Second, 8*time.Second)
		b.Cleanup(tr.CloseIdleConnections)
		base := sdkClient(b, strings.TrimPrefix(srv.URL, "http://"), tr, creds)
		cred := base.Credential
		b.ReportAllocs()
		for b.Loop() {
			if _, err := oldInitialize(ctx, base, cred, r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Client", func(b *testing.B) {
		c, err := New(Config{Endpoint: srv.URL})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Initialize(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// The functions link the SDK's signer, not CallApi: the client package (and
// its per-call transport and generic answer maps) must not come back through
// a new import.
func TestFunctionsDoNotLinkCallApi(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	cmd := exec.Command("go", "list", "-tags", "lambda.norpc,nethttpomithttp2", "-deps", "./functions/...")
	cmd.Dir = testproc.RepoRoot(t)
	out, err := cmd.Output()
	require.NoError(t, err)
	deps := strings.Fields(string(out))
	assert.Contains(t, deps, "github.com/alibabacloud-go/darabonba-openapi/v2/utils", "the signer is linked")
	assert.NotContains(t, deps, "github.com/alibabacloud-go/darabonba-openapi/v2/client")
}
