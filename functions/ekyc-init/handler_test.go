package main

import (
	"context"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/internal/e2e"
	"github.com/idverify/fc-kyc/internal/testbody"
	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/callbacktoken"
	"github.com/idverify/fc-kyc/pkg/cloudauth"
)

// fakeUpstream records what would have been sent.
type fakeUpstream struct {
	calls []cloudauth.InitializeRequest
	err   error
}

func (f *fakeUpstream) Initialize(_ context.Context, r cloudauth.InitializeRequest) (*cloudauth.InitializeResponse, error) {
	f.calls = append(f.calls, r)
	if f.err != nil {
		return nil, f.err
	}
	return &cloudauth.InitializeResponse{RequestId: "RID-1", Code: "Success", Message: "success",
		Result: cloudauth.InitializeResult{TransactionId: "hk0123", TransactionUrl: "https://x/t"}}, nil
}

const metaInfo = `{"zimVer":"3.0.0","appVersion":"1","bioMetaInfo":"4.1.0:1150,0","appName":"com.aliyun.antcloudauth","deviceType":"ios","osVersion":"iOS 10.3.2","apdidToken":"","deviceModel":"iPhone9,1"}`

// valid returns a request that passes every rule, as the JSON a caller sends.
func valid() map[string]any {
	return map[string]any{
		"MerchantBizId":  "e0c34a77f5ac40a5aa5e6ed20c35abcd",
		"MetaInfo":       metaInfo,
		"MerchantUserId": "u-123456789",
		"DocType":        "01560000",
	}
}

func TestValidation(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name  string
		set   []any  // changes to valid() (testbody.With): key, value; a nil value deletes
		code  string // "" = accepted
		param string // the parameter the error names
	}{
		{"valid", nil, "", ""},
		{"ProductCode KYC_GLOBAL", []any{"ProductCode", "KYC_GLOBAL"}, "", ""},
		{"ProductCode other", []any{"ProductCode", "eKYC"}, apierr.InvalidParameter, "ProductCode"},
		{"MerchantBizId absent is generated", []any{"MerchantBizId", nil}, "", ""},
		{"MerchantBizId 32", []any{"MerchantBizId", long(32)}, "", ""},
		{"MerchantBizId 33", []any{"MerchantBizId", long(33)}, apierr.InvalidParameter, "MerchantBizId"},
		{"MerchantBizId with dash", []any{"MerchantBizId", "abc-123"}, apierr.InvalidParameter, "MerchantBizId"},
		{"MetaInfo as an object", []any{"MetaInfo", map[string]any{"zimVer": "3.0.0"}}, "", ""},
		{"MetaInfo missing", []any{"MetaInfo", nil}, apierr.MissingParameter, "MetaInfo"},
		{"MetaInfo empty string", []any{"MetaInfo", ""}, apierr.MissingParameter, "MetaInfo"},
		{"MetaInfo not JSON", []any{"MetaInfo", "zimVer=3"}, apierr.InvalidParameter, "MetaInfo"},
		{"MetaInfo a JSON array", []any{"MetaInfo", "[1,2]"}, apierr.InvalidParameter, "MetaInfo"},
		{"MetaInfo a number", []any{"MetaInfo", 5}, apierr.InvalidParameter, "MetaInfo"},
		{"MetaInfo 4096 bytes", []any{"MetaInfo", `{"a":"` + long(4096-8) + `"}`}, "", ""},
		{"MetaInfo too large", []any{"MetaInfo", `{"a":"` + long(4096) + `"}`}, apierr.InvalidParameter, "MetaInfo"},
		{"MerchantUserId missing", []any{"MerchantUserId", nil}, apierr.MissingParameter, "MerchantUserId"},
		{"MerchantUserId too long", []any{"MerchantUserId", long(257)}, apierr.InvalidParameter, "MerchantUserId"},
		{"DocType missing", []any{"DocType", nil}, apierr.MissingParameter, "DocType"},
		{"DocType 7 digits", []any{"DocType", "0156000"}, apierr.InvalidParameter, "DocType"},
		{"DocType letters", []any{"DocType", "0156000A"}, apierr.InvalidParameter, "DocType"},
		{"DocScanMode manual", []any{"DocScanMode", "manual"}, "", ""},
		{"DocScanMode other", []any{"DocScanMode", "MANUAL"}, apierr.InvalidParameter, "DocScanMode"},
		{"ProductFlow FACE_DOC", []any{"ProductFlow", "FACE_DOC"}, "", ""},
		{"ProductFlow other", []any{"ProductFlow", "FACE"}, apierr.InvalidParameter, "ProductFlow"},
		{"CallbackUrl is the server's", []any{"CallbackUrl", "https://evil.example/cb"}, apierr.InvalidParameter, "CallbackUrl"},
		{"CallbackToken is the server's", []any{"CallbackToken", "x"}, apierr.InvalidParameter, "CallbackToken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := &fakeUpstream{}
			h := &Handler{Upstream: up, Now: time.Now}
			res, err := h.Initialize(context.Background(), testbody.Decode[Request](t, testbody.With(valid(), tt.set...)))
			if e2e.Checked(t, err, len(up.calls), tt.code, tt.param) {
				assert.Equal(t, "hk0123", res.Result.TransactionId)
			}
		})
	}
}

func TestWhatIsSentUpstream(t *testing.T) {
	up := &fakeUpstream{}
	base, _ := url.Parse("https://cb.example.com/ekyc/callback")
	signer, err := callbacktoken.New([]string{strings.Repeat("k", 32)}, time.Hour)
	require.NoError(t, err)
	now := time.Unix(1_800_000_000, 0)
	h := &Handler{Upstream: up, CallbackBase: base, Tokens: signer, Now: func() time.Time { return now }}

	m := valid()
	delete(m, "MerchantBizId")
	m["MetaInfo"] = json.RawMessage(" " + metaInfo) // an object, sent as is
	res, err := h.Initialize(context.Background(), testbody.Decode[Request](t, m))
	require.NoError(t, err)
	require.Len(t, up.calls, 1)
	got := up.calls[0]

	assert.Regexp(t, regexp.MustCompile(`^[0-9a-f]{32}$`), res.MerchantBizId, "generated: 32 letters/digits")
	assert.Equal(t, res.MerchantBizId, got.MerchantBizId)
	assert.Equal(t, "KYC_GLOBAL", got.ProductCode, "the server owns ProductCode")
	assert.Equal(t, "DOC_FACE", got.ProductFlow, "the documented default is sent")
	assert.Equal(t, metaInfo, got.MetaInfo, "MetaInfo passes through unchanged")
	assert.Equal(t, "https://cb.example.com/ekyc/callback?merchantBizId="+res.MerchantBizId, got.CallbackUrl)
	assert.NoError(t, signer.Verify(callbacktoken.EKYCCallback, res.MerchantBizId, got.CallbackToken, now), "the token verifies for this transaction")
	assert.Equal(t, "RID-1", res.RequestId)

	res2, err := h.Initialize(context.Background(), testbody.Decode[Request](t, valid()))
	require.NoError(t, err)
	assert.NotEqual(t, res.MerchantBizId, res2.MerchantBizId)
	assert.Equal(t, "e0c34a77f5ac40a5aa5e6ed20c35abcd", res2.MerchantBizId, "a caller's MerchantBizId is kept")
}

func TestNoCallbackWithoutConfiguration(t *testing.T) {
	up := &fakeUpstream{}
	h := &Handler{Upstream: up, Now: time.Now}
	_, err := h.Initialize(context.Background(), testbody.Decode[Request](t, valid()))
	require.NoError(t, err)
	assert.Empty(t, up.calls[0].CallbackUrl)
	assert.Empty(t, up.calls[0].CallbackToken)
}

func TestUpstreamErrorPassesThrough(t *testing.T) {
	up := &fakeUpstream{err: &apierr.Error{Code: "Throttling.Api", Message: "flow control", RequestID: "RID-9"}}
	h := &Handler{Upstream: up, Now: time.Now}
	_, err := h.Initialize(context.Background(), testbody.Decode[Request](t, valid()))
	e := apierr.As(err)
	assert.Equal(t, "Throttling.Api", e.Code)
	assert.Equal(t, "RID-9", e.RequestID)
	assert.Equal(t, 503, apierr.Status(err))
}

// The answer's JSON: the upstream's fields, in its order, then the
// MerchantBizId.
func TestAnswerJSON(t *testing.T) {
	res, err := (&Handler{Upstream: &fakeUpstream{}, Now: time.Now}).Initialize(context.Background(), testbody.Decode[Request](t, valid()))
	require.NoError(t, err)
	b, err := json.Marshal(res)
	require.NoError(t, err)
	assert.Equal(t, `{"RequestId":"RID-1","Code":"Success","Message":"success","Result":{"TransactionId":"hk0123","TransactionUrl":"https://x/t"},"MerchantBizId":"e0c34a77f5ac40a5aa5e6ed20c35abcd"}`, string(b))
}
