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
	"unicode"

	"github.com/idverify/fc-kyc/internal/testbody"
	"github.com/idverify/fc-kyc/pkg/cloudauth"
	"github.com/idverify/fc-kyc/pkg/fcrt"
)

// recordingVerifier answers every call with a consistent result and keeps
// what it was sent.
type recordingVerifier struct {
	got []cloudauth.BankMetaVerifyRequest
}

func (r *recordingVerifier) BankMetaVerifyIntl(_ context.Context, req cloudauth.BankMetaVerifyRequest) (*cloudauth.BankMetaVerifyResponse, error) {
	r.got = append(r.got, req)
	return &cloudauth.BankMetaVerifyResponse{RequestId: "R", Code: "200", Message: "success",
		ResultObject: cloudauth.BankMetaVerifyResult{BizCode: "1", SubCode: "101"}}, nil
}

var (
	plainCardShape = regexp.MustCompile(`^[0-9]{12,19}$`)
	hex32          = regexp.MustCompile(`[0-9a-f]{32}`)
)

// FuzzRequestCheck: any body sent to bank-verify's API, in both
// deployments (plaintext passed on, or hashed inside the function). A
// request passes every rule of the upstream documentation and costs one upstream call, or is
// refused with a 4xx and costs none; never a 5xx. A refusal never echoes
// the card, name, ID number or phone; with hashing on, none of them leaves
// the function in clear.
func FuzzRequestCheck(f *testing.F) {
	for _, s := range []string{
		`{"ProductType":"BANK_CARD_4_META","BankCard":"6222020101987654","UserName":"欧阳明月","IdentifyNum":"42900119900101821X","Mobile":"13912345678"}`,
		`{"ProductType":"BANK_CARD_3_META","BankCard":"6222020101987654","UserName":"Ann Lee","IdentityType":"02","IdentifyNum":"P1234567"}`,
		`{"ProductType":"BANK_CARD_2_META","BankCard":"6222020101987654","UserName":"x"}`,
		`{"ProductType":"BANK_CARD_2_META","ParamType":"md5","BankCard":"6222020101` + strings.Repeat("a", 32) + `","UserName":"` + strings.Repeat("b", 32) + `"}`,
		`{"ProductType":"BANK_CARD_4_META","BankCard":"62220201\u000198765","UserName":"\u0001name","IdentifyNum":"4290011990\u0001","Mobile":"139\u0001"}`,
		`{"ProductType":"BANK_CARD_4_META","BankCard":"6222020101987654","UserName":"n","IdentifyNum":"42900119900101821x","Mobile":"+8613912345678"}`,
		`{"ProductType":"BANK_CARD_2_META","BankCard":"6222020101987654","UserName":"n","ProductCode":"X"}`,
		`{"ProductType":"BANK_CARD_5_META"}`,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, hash bool) {
		up := &recordingVerifier{}
		h := &Handler{Upstream: up, HashPlaintext: hash}
		api, _ := fcrt.Operation(h.Verify, fcrt.WithMaxBody(maxBody))
		w := httptest.NewRecorder()
		api.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body)))

		var sent struct{ BankCard, UserName, IdentifyNum, Mobile, ParamType any }
		_ = json.Unmarshal(body, &sent)
		pii := []string{str(sent.BankCard), str(sent.UserName), str(sent.IdentifyNum), str(sent.Mobile)}
		switch {
		case w.Code == http.StatusOK:
			if len(up.got) != 1 {
				t.Fatalf("200 after %d upstream calls", len(up.got))
			}
			r := up.got[0]
			n := map[string]int{"BANK_CARD_2_META": 2, "BANK_CARD_3_META": 3, "BANK_CARD_4_META": 4}[r.ProductType]
			switch {
			case n == 0:
				t.Fatalf("ProductType %q", r.ProductType)
			case r.ParamType != "normal" && r.ParamType != "md5":
				t.Fatalf("ParamType %q", r.ParamType)
			case r.ParamType == "normal" && !plainCardShape.MatchString(r.BankCard):
				t.Fatalf("plaintext BankCard of %d bytes is not 12-19 digits", len(r.BankCard))
			case r.UserName == "" || strings.IndexFunc(r.UserName, unicode.IsControl) >= 0:
				t.Fatalf("UserName empty or with control characters")
			case n >= 3 && r.IdentifyNum == "", n == 4 && r.Mobile == "":
				t.Fatalf("%d factors without all of them", n)
			case n < 3 && (r.IdentifyNum != "" || r.Mobile != ""), n == 3 && r.Mobile != "":
				t.Fatalf("%d factors but more was sent", n)
			}
			if hash && str(sent.ParamType) != "md5" {
				if r.ParamType != "md5" || !hex32.MatchString(r.BankCard) {
					t.Fatalf("hashing is on but the upstream got ParamType %q", r.ParamType)
				}
				for _, v := range []string{r.UserName, r.IdentifyNum, r.Mobile} {
					if v != "" && !hex32.MatchString(v) {
						t.Fatalf("hashing is on but a factor left without its md5 part")
					}
				}
			}
		case w.Code >= 400 && w.Code < 500:
			if len(up.got) != 0 {
				t.Fatalf("refused with %d after an upstream call", w.Code)
			}
			for _, v := range pii {
				if testbody.Echoed(w.Body.String(), v) {
					t.Fatalf("the refusal echoes personal data %q: %s", v, w.Body)
				}
			}
		default:
			t.Fatalf("answer %d: %s", w.Code, w.Body)
		}
	})
}

func str(v any) string { s, _ := v.(string); return s }
