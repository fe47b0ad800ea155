package emulator

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recordedRequest is one request exactly as the darabonba client sent it.
type recordedRequest struct {
	Method, URL, Host string
	Header            http.Header
	Body              []byte
}

// recorder is a dara.HttpClient that keeps a copy of each request and
// forwards it unchanged.
type recorder struct {
	mu       sync.Mutex
	requests []recordedRequest
	client   *http.Client
}

func (rc *recorder) Call(req *http.Request, _ *http.Transport) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	// The client stores header names as it spells them (lower case); put
	// them in canonical form so that Get and Set work on the copy.
	header := http.Header{}
	for k, v := range req.Header {
		header[http.CanonicalHeaderKey(k)] = append([]string(nil), v...)
	}
	rc.mu.Lock()
	rc.requests = append(rc.requests, recordedRequest{req.Method, req.URL.String(), req.Host, header, body})
	rc.mu.Unlock()
	return rc.client.Do(req)
}

func (rc *recorder) last(t *testing.T) recordedRequest {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	require.NotEmpty(t, rc.requests)
	return rc.requests[len(rc.requests)-1]
}

// replay sends a recorded request again, changed by mutate.
func replay(t *testing.T, rec recordedRequest, mutate func(*recordedRequest)) (int, map[string]any) {
	t.Helper()
	rec.Header = rec.Header.Clone()
	rec.Body = bytes.Clone(rec.Body)
	if mutate != nil {
		mutate(&rec)
	}
	req, err := http.NewRequest(rec.Method, rec.URL, bytes.NewReader(rec.Body))
	require.NoError(t, err)
	req.Header = rec.Header
	req.Host = rec.Host
	return do(t, http.DefaultClient, req)
}

// flipByte changes the byte after the first occurrence of marker.
func flipByte(t *testing.T, s, marker string) string {
	t.Helper()
	i := strings.Index(s, marker)
	require.GreaterOrEqual(t, i, 0, "%q not in %q", marker, s)
	b := []byte(s)
	i += len(marker)
	if b[i] == 'a' {
		b[i] = 'b'
	} else {
		b[i] = 'a'
	}
	return string(b)
}

func TestSDKSignatureAcceptedAndOneByteChangeRejected(t *testing.T) {
	emu, srv := startEmulator(t, Config{})
	rec := &recorder{client: &http.Client{Transport: &http.Transport{}}}
	client := newSDKClient(t, srv, func(c *openapiutil.Config) { c.HttpClient = rec })

	query := validInitialize()
	query["MetaInfo"] = `{"zimVer":"3.0.0","note":"a b*c~d"}` // space, * and ~ on the wire
	body, err := callSDK(context.Background(), client, "Initialize", "", query, map[string]string{"FacePictureBase64": "aGVsbG8="})
	require.NoError(t, err)
	assert.Equal(t, "Success", body["Code"])
	result := body["Result"].(map[string]any)
	assert.Regexp(t, `^hk[0-9a-f]{30}$`, result["TransactionId"])
	assert.Regexp(t, `^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$`, body["RequestId"])

	signed := rec.last(t)
	require.NotEmpty(t, signed.Body, "Initialize sends a form body")
	require.Contains(t, signed.URL, "MerchantUserId=user-hash-1")

	tests := []struct {
		name   string
		mutate func(*recordedRequest)
		code   string
	}{
		{"identical replay", nil, "SignatureNonceUsed"},
		{"query value byte", func(r *recordedRequest) { r.URL = flipByte(t, r.URL, "MerchantUserId=") }, "SignatureDoesNotMatch"},
		{"body byte", func(r *recordedRequest) { r.Body = []byte(flipByte(t, string(r.Body), "FacePictureBase64=")) }, "SignatureDoesNotMatch"},
		{"body byte with its hash updated", func(r *recordedRequest) {
			r.Body = []byte(flipByte(t, string(r.Body), "FacePictureBase64="))
			r.Header.Set("x-acs-content-sha256", sha256Hex(r.Body))
		}, "SignatureDoesNotMatch"},
		{"signed header byte (nonce)", func(r *recordedRequest) {
			r.Header.Set("x-acs-signature-nonce", flipByte(t, r.Header.Get("x-acs-signature-nonce"), ""))
		}, "SignatureDoesNotMatch"},
		{"signed header byte (action)", func(r *recordedRequest) { r.Header.Set("x-acs-action", "Initializf") }, "SignatureDoesNotMatch"},
		{"host", func(r *recordedRequest) { r.Host = strings.Replace(r.Host, "127.0.0.1", "localhost", 1) }, "SignatureDoesNotMatch"},
		{"method", func(r *recordedRequest) { r.Method = "GET" }, "SignatureDoesNotMatch"},
		{"signature byte", func(r *recordedRequest) {
			r.Header.Set("Authorization", flipByte(t, r.Header.Get("Authorization"), "Signature="))
		}, "SignatureDoesNotMatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Every replay reuses the consumed nonce: only a request whose
			// signature verifies may report SignatureNonceUsed.
			status, body := replay(t, signed, tt.mutate)
			assert.Equal(t, 400, status)
			assert.Equal(t, tt.code, body["Code"], body["Message"])
		})
	}

	// With the nonce forgotten, the recorded request is valid as it is, and
	// so is one whose unsigned header changed: the replays above failed for
	// the byte they changed, not for the way they were sent.
	for name, mutate := range map[string]func(*recordedRequest){
		"unchanged":               nil,
		"unsigned header changed": func(r *recordedRequest) { r.Header.Set("User-Agent", "someone else") },
	} {
		emu.Reset()
		status, body := replay(t, signed, mutate)
		assert.Equal(t, 200, status, name)
		assert.Equal(t, "Success", body["Code"], name)
	}
}

func TestSDKCredentials(t *testing.T) {
	ctx := context.Background()
	future := func(d time.Duration) func() time.Time { return func() time.Time { return time.Now().Add(d) } }
	tests := []struct {
		name   string
		cfg    Config
		opt    clientOption
		code   string // "" means accepted
		status int
	}{
		{"access key", Config{}, withKey(DefaultAccessKeyID, DefaultAccessKeySecret, ""), "", 200},
		{"sts", Config{}, withKey(DefaultSTSAccessKeyID, DefaultSTSAccessKeySecret, DefaultSecurityToken), "", 200},
		{"sts wrong token", Config{}, withKey(DefaultSTSAccessKeyID, DefaultSTSAccessKeySecret, "other-token"),
			"InvalidSecurityToken.MismatchWithAccessKey", 400},
		{"sts key without token", Config{}, withKey(DefaultSTSAccessKeyID, DefaultSTSAccessKeySecret, ""),
			"InvalidSecurityToken.MismatchWithAccessKey", 400},
		{"token with a plain key", Config{}, withKey(DefaultAccessKeyID, DefaultAccessKeySecret, DefaultSecurityToken),
			"InvalidSecurityToken.MismatchWithAccessKey", 400},
		{"wrong secret", Config{}, withKey(DefaultAccessKeyID, "wrong-secret", ""), "SignatureDoesNotMatch", 400},
		{"sts wrong secret", Config{}, withKey(DefaultSTSAccessKeyID, "wrong-secret", DefaultSecurityToken), "SignatureDoesNotMatch", 400},
		{"unknown key", Config{}, withKey("no-such-key", DefaultAccessKeySecret, ""), "InvalidAccessKeyId.NotFound", 404},
		{"server clock 20 min ahead", Config{Now: future(20 * time.Minute)}, nil, "InvalidTimeStamp.Expired", 400},
		{"server clock 20 min behind", Config{Now: future(-20 * time.Minute)}, nil, "InvalidTimeStamp.Expired", 400},
		{"server clock 10 min ahead", Config{Now: future(10 * time.Minute)}, nil, "", 200},
		{"skew of 1 min and clock 2 min ahead", Config{Now: future(2 * time.Minute), MaxClockSkew: time.Minute}, nil,
			"InvalidTimeStamp.Expired", 400},
		{"custom credentials", Config{Credentials: map[string]Credential{"mine": {Secret: "s"}}}, withKey("mine", "s", ""), "", 200},
		{"defaults replaced by custom credentials", Config{Credentials: map[string]Credential{"mine": {Secret: "s"}}}, nil,
			"InvalidAccessKeyId.NotFound", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu, srv := startEmulator(t, tt.cfg)
			var opts []clientOption
			if tt.opt != nil {
				opts = append(opts, tt.opt)
			}
			body, err := callSDK(ctx, newSDKClient(t, srv, opts...), "Initialize", "", validInitialize(), map[string]string{})
			st := emu.Stats()
			assert.Equal(t, int64(1), st.Requests["Initialize"])
			if tt.code == "" {
				require.NoError(t, err)
				assert.Equal(t, "Success", body["Code"])
				assert.Equal(t, int64(1), st.Accepted["Initialize"])
				return
			}
			code, status, ok := sdkErrorCode(err)
			require.True(t, ok, "error %v", err)
			assert.Equal(t, tt.code, code)
			assert.Equal(t, tt.status, status)
			assert.Equal(t, int64(1), st.Rejected[tt.code])
			assert.Zero(t, st.Accepted["Initialize"])
		})
	}
}

func TestSDKSTSTokenArrives(t *testing.T) {
	emu, srv := startEmulator(t, Config{})
	client := newSDKClient(t, srv, withKey(DefaultSTSAccessKeyID, DefaultSTSAccessKeySecret, DefaultSecurityToken))
	_, err := callSDK(context.Background(), client, "Initialize", "", validInitialize(), map[string]string{"FacePictureBase64": "eA=="})
	require.NoError(t, err)

	got, ok := emu.LastRequest("Initialize")
	require.True(t, ok)
	assert.Equal(t, DefaultSTSAccessKeyID, got.AccessKeyID)
	assert.Equal(t, DefaultSecurityToken, got.SecurityToken)
	assert.Equal(t, "01560000", got.Params["DocType"], "query parameter")
	assert.Equal(t, "eA==", got.Params["FacePictureBase64"], "form body parameter")
	_, ok = emu.LastRequest("CheckResult")
	assert.False(t, ok)
}

func TestSDKGetCheckResultQueryOnly(t *testing.T) {
	emu, srv := startEmulator(t, Config{})
	rec := &recorder{client: &http.Client{Transport: &http.Transport{}}}
	client := newSDKClient(t, srv, func(c *openapiutil.Config) { c.HttpClient = rec })
	ctx := context.Background()

	txID := sdkInitialize(ctx, t, client, validInitialize())

	body, err := callSDK(ctx, client, "CheckResult", "GET", map[string]string{"MerchantBizId": "biz0001", "TransactionId": txID}, nil)
	require.NoError(t, err)
	sent := rec.last(t)
	assert.Equal(t, "GET", sent.Method)
	assert.Empty(t, sent.Body)
	assert.Empty(t, sent.Header.Get("Content-Type"))
	assert.Equal(t, "Success", body["Code"])
	assert.Equal(t, "P", body["Result"].(map[string]any)["Passed"])
	assert.Equal(t, int64(1), emu.Stats().Accepted["CheckResult"])
}

func TestVersionAndActionAreChecked(t *testing.T) {
	emu, srv := startEmulator(t, Config{})
	client := newSDKClient(t, srv)
	tests := []struct {
		name, action, version, code string
		status                      int
	}{
		{"unknown action", "DescribeNothing", "2022-08-09", "InvalidAction.NotFound", 404},
		{"other version", "Initialize", "2019-03-07", "InvalidVersion", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params := &openapiutil.Params{
				Action: dara.String(tt.action), Version: dara.String(tt.version), Protocol: dara.String("HTTPS"),
				Pathname: dara.String("/"), Method: dara.String("POST"), AuthType: dara.String("AK"),
				Style: dara.String("RPC"), ReqBodyType: dara.String("formData"), BodyType: dara.String("json"),
			}
			_, err := client.CallApiWithCtx(context.Background(), params, &openapiutil.OpenApiRequest{}, &dara.RuntimeOptions{})
			code, status, ok := sdkErrorCode(err)
			require.True(t, ok, "error %v", err)
			assert.Equal(t, tt.code, code)
			assert.Equal(t, tt.status, status)
			assert.Equal(t, int64(1), emu.Stats().Accepted[tt.action], "the signature was fine")
		})
	}
}
