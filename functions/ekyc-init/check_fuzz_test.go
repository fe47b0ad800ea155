package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/idverify/fc-kyc/internal/testbody"
	"github.com/idverify/fc-kyc/pkg/cloudauth"
	"github.com/idverify/fc-kyc/pkg/fcrt"
)

// recordingInitializer answers every call with success and keeps what it
// was sent.
type recordingInitializer struct{ got []cloudauth.InitializeRequest }

func (r *recordingInitializer) Initialize(_ context.Context, req cloudauth.InitializeRequest) (*cloudauth.InitializeResponse, error) {
	r.got = append(r.got, req)
	return &cloudauth.InitializeResponse{RequestId: "R", Code: "Success", Message: "success",
		Result: cloudauth.InitializeResult{TransactionId: "hk0", TransactionUrl: "https://example.com/t"}}, nil
}

var (
	eightDigits = regexp.MustCompile(`^[0-9]{8}$`)
	bizIDShape  = regexp.MustCompile(`^[A-Za-z0-9]{1,32}$`)
)

// FuzzRequestCheck: any body sent to ekyc-init's API, with an upstream
// that always succeeds. Either the request passes every rule of the upstream documentation
// (checked here again, written another way) and costs exactly one
// upstream call, or it is refused with a 4xx and costs none. Never a 5xx,
// and a refusal never echoes MerchantUserId or MetaInfo.
func FuzzRequestCheck(f *testing.F) {
	for _, s := range []string{
		`{"MetaInfo":{"zimVer":"3.0.0","appName":"a","deviceType":"h5"},"MerchantUserId":"u1","DocType":"01560000"}`,
		`{"MetaInfo":"{\"zimVer\":\"3.0.0\"}","MerchantUserId":"u1","DocType":"01560000","MerchantBizId":"abc123","ProductFlow":"FACE_DOC","DocScanMode":"manual"}`,
		`{"MetaInfo":"","MerchantUserId":"u\u0001secret","DocType":"0156000"}`,
		`{"MetaInfo":{},"MerchantUserId":" ","DocType":"01560000"}`,
		`{"MetaInfo":{},"MerchantUserId":"u","DocType":"01560000","CallbackUrl":"https://evil.example"}`,
		`{"MetaInfo":{},"MerchantUserId":"u","DocType":"01560000","MerchantBizId":"has-dash"}`,
		`{"MetaInfo":[1],"MerchantUserId":"u","DocType":"01560000","ProductCode":"OTHER"}`,
		`{"MetaInfo":"{\"x\":\"\u0001meta\"}","MerchantUserId":"u\u0001secret","DocType":"x"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		up := &recordingInitializer{}
		h := &Handler{Upstream: up, Now: time.Now}
		api, _ := fcrt.Operation(h.Initialize, fcrt.WithMaxBody(maxBody))
		w := httptest.NewRecorder()
		api.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body)))

		switch {
		case w.Code == http.StatusOK:
			if len(up.got) != 1 {
				t.Fatalf("200 after %d upstream calls", len(up.got))
			}
			r := up.got[0]
			var meta map[string]json.RawMessage
			switch {
			case r.ProductCode != "KYC_GLOBAL":
				t.Fatalf("ProductCode %q", r.ProductCode)
			case !bizIDShape.MatchString(r.MerchantBizId):
				t.Fatalf("MerchantBizId %q", r.MerchantBizId)
			case strings.TrimSpace(r.MerchantUserId) == "" || utf8.RuneCountInString(r.MerchantUserId) > 256:
				t.Fatalf("MerchantUserId of %d characters", utf8.RuneCountInString(r.MerchantUserId))
			case !eightDigits.MatchString(r.DocType):
				t.Fatalf("DocType %q", r.DocType)
			case r.DocScanMode != "" && r.DocScanMode != "manual":
				t.Fatalf("DocScanMode %q", r.DocScanMode)
			case r.ProductFlow != "" && r.ProductFlow != "DOC_FACE" && r.ProductFlow != "FACE_DOC":
				t.Fatalf("ProductFlow %q", r.ProductFlow)
			case len(r.MetaInfo) > 4096 || json.Unmarshal([]byte(r.MetaInfo), &meta) != nil || meta == nil:
				t.Fatalf("MetaInfo is not one JSON object of at most 4096 bytes: %q", r.MetaInfo)
			case r.CallbackUrl != "" || r.CallbackToken != "":
				t.Fatalf("a caller set the callback: %q", r.CallbackUrl)
			}
		case w.Code >= 400 && w.Code < 500:
			if len(up.got) != 0 {
				t.Fatalf("refused with %d after an upstream call", w.Code)
			}
			var sent struct {
				MerchantUserId any
				MetaInfo       json.RawMessage
			}
			_ = json.Unmarshal(body, &sent)
			user, _ := sent.MerchantUserId.(string)
			for _, v := range []string{user, string(sent.MetaInfo)} {
				if testbody.Echoed(w.Body.String(), v) {
					t.Fatalf("the refusal echoes personal data %q: %s", v, w.Body)
				}
			}
		default:
			t.Fatalf("answer %d: %s", w.Code, w.Body)
		}
	})
}
