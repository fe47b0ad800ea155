package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/idverify/fc-kyc/pkg/alipay"
	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/fcrt"
)

// recordingGateway answers every initialize with a biz_no and keeps what
// it was sent.
type recordingGateway struct{ got []alipay.ZhimaInitialize }

func (r *recordingGateway) ZhimaInitialize(_ context.Context, req alipay.ZhimaInitialize) (alipay.ZhimaInitialized, error) {
	r.got = append(r.got, req)
	return alipay.ZhimaInitialized{Code: "10000", Msg: "Success", BizNo: "0123456789abcdef0123456789abcdef"}, nil
}

func (r *recordingGateway) ZhimaCertifyURL(bizNo, _ string) (string, error) {
	return "https://openapi.alipay.com/gateway.do?biz_no=" + bizNo, nil
}

var (
	idShape   = regexp.MustCompile(`^[A-Za-z0-9_]{1,32}$`)
	linkShape = regexp.MustCompile(`^[A-Za-z0-9]{0,16}$`)
)

// FuzzRequestCheck: any body sent to zhima-init's API (with its gateway
// answer shaping), against a gateway that always succeeds. A request
// passes the upstream documentation's rules and costs one gateway call, or is refused with a
// 4xx in the gateway's vocabulary (40004 INVALID_PARAMETER) and costs
// none; never a 5xx, and a refusal never echoes identity_param.
func FuzzRequestCheck(f *testing.F) {
	for _, s := range []string{
		`{"biz_code":"FACE","identity_param":{"identity_type":"CERT_INFO","cert_type":"IDENTITY_CARD","cert_name":"张三","cert_no":"260104197909275964"}}`,
		`{"transaction_id":"ZM_1","product_code":"w1010100000000002978","biz_code":"FACE","identity_param":"{\"identity_type\":\"CERT_INFO\",\"cert_type\":\"IDENTITY_CARD\",\"cert_name\":\"n\",\"cert_no\":\"1\"}","merchant_config":{"k":"v"},"ext_biz_param":"{}","linked_merchant_id":"2088","face_contrast_picture":"AAAA"}`,
		`{"biz_code":"FACE","identity_param":{"identity_type":"CERT_INFO","cert_no":"\u0001260104197909275964"}}`,
		`{"biz_code":"FACE","identity_param":"[]"}`,
		`{"biz_code":"FA CE","identity_param":{}}`,
		`{"biz_code":"FACE","identity_param":{"identity_type":"X"},"sign":"forged"}`,
		`{"biz_code":"FACE","identity_param":{"identity_type":"X"},"face_contrast_picture":"AA\nAA"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		up := &recordingGateway{}
		h := &Handler{Upstream: up, ProductCode: DefaultProductCode, Now: time.Now}
		api, _ := fcrt.Operation(h.Initialize, fcrt.WithMaxBody(maxBody))
		w := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		api.ServeHTTP(w, req.WithContext(apierr.WithShape(req.Context(), errorBody)))

		switch {
		case w.Code == http.StatusOK:
			if len(up.got) != 1 {
				t.Fatalf("200 after %d gateway calls", len(up.got))
			}
			r := up.got[0]
			var ip map[string]any
			switch {
			case !idShape.MatchString(r.TransactionID):
				t.Fatalf("transaction_id %q", r.TransactionID)
			case !idShape.MatchString(r.ProductCode), !idShape.MatchString(r.BizCode):
				t.Fatalf("product_code %q, biz_code %q", r.ProductCode, r.BizCode)
			case json.Unmarshal([]byte(r.IdentityParam), &ip) != nil || ip == nil || ip["identity_type"] == nil:
				t.Fatalf("identity_param is not an object with identity_type")
			case !linkShape.MatchString(r.LinkedMerchantID):
				t.Fatalf("linked_merchant_id %q", r.LinkedMerchantID)
			case strings.ContainsAny(r.FaceContrastPicture, "\r\n"):
				t.Fatalf("face_contrast_picture has a line break")
			}
			if _, err := base64.StdEncoding.DecodeString(r.FaceContrastPicture); err != nil {
				t.Fatalf("face_contrast_picture is not base64: %v", err)
			}
			for name, v := range map[string]string{"merchant_config": r.MerchantConfig, "ext_biz_param": r.ExtBizParam} {
				var m map[string]any
				if v != "" && (json.Unmarshal([]byte(v), &m) != nil || m == nil) {
					t.Fatalf("%s is not one JSON object: %q", name, v)
				}
			}
		case w.Code >= 400 && w.Code < 500:
			if len(up.got) != 0 {
				t.Fatalf("refused with %d after a gateway call", w.Code)
			}
			var a struct{ Code string }
			if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil || a.Code == "" {
				t.Fatalf("refusal is not the gateway's shape: %s", w.Body)
			}
			var sent struct {
				IdentityParam json.RawMessage `json:"identity_param"`
			}
			_ = json.Unmarshal(body, &sent)
			if bytes.Contains(sent.IdentityParam, []byte(`\u0001`)) && bytes.Contains(w.Body.Bytes(), []byte(`\u0001`)) {
				t.Fatalf("the refusal echoes identity_param: %s", w.Body)
			}
		default:
			t.Fatalf("answer %d: %s", w.Code, w.Body)
		}
	})
}
