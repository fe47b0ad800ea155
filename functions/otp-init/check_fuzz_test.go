package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/idverify/fc-kyc/internal/testbody"
	"github.com/idverify/fc-kyc/pkg/antom"
	"github.com/idverify/fc-kyc/pkg/apierr"
)

// recordingAntom answers every call with S and keeps what it was sent.
type recordingAntom struct {
	inits    []antom.InitRequest
	verifies []antom.VerifyRequest
}

func (r *recordingAntom) InitAuthentication(_ context.Context, req antom.InitRequest) (antom.InitResponse, error) {
	r.inits = append(r.inits, req)
	return antom.InitResponse{Result: antom.Result{ResultCode: "SUCCESS", ResultStatus: "S", ResultMessage: "success"},
		AuthenticationRequestId: req.AuthenticationRequestId}, nil
}

func (r *recordingAntom) VerifyAuthentication(_ context.Context, req antom.VerifyRequest) (antom.VerifyResponse, error) {
	r.verifies = append(r.verifies, req)
	return antom.VerifyResponse{Result: antom.Result{ResultCode: "SUCCESS", ResultStatus: "S", ResultMessage: "success"}, IsPassed: true}, nil
}

// FuzzRequestCheck: any body sent to otp-init's two operations, against
// an Antom that always succeeds. A request passes the upstream documentation's rules and
// costs one Antom call, or is refused with a 4xx PARAM_ILLEGAL (status F)
// and costs none; never a 5xx, and a refusal never echoes
// userIdentityValue (the user's wallet token) or the code typed.
func FuzzRequestCheck(f *testing.F) {
	for _, s := range []string{
		`{"authenticationType":"OTP","authenticationChannelType":"SMS","userIdentityType":"WALLET_TOKEN","userIdentityValue":"tok"}`,
		`{"authenticationType":"OTP","authenticationRequestId":"id-1","authenticationChannelType":"EMAIL","userIdentityType":"WALLET_TOKEN","userIdentityValue":"t","operation":"init"}`,
		`{"authenticationType":"OTP","authenticationChannelType":"FAX","userIdentityType":"WALLET_TOKEN","userIdentityValue":"\u0001secret-token"}`,
		`{"authenticationType":"PIN","authenticationChannelType":"SMS","userIdentityType":"WALLET_TOKEN","userIdentityValue":"t"}`,
		`{"authenticationType":"OTP","authenticationRequestId":"id-1","authenticationValue":"123456"}`,
		`{"authenticationType":"OTP","authenticationRequestId":"id-1","authenticationValue":"\u0001123456","operation":"init"}`,
		`{"Signature":"algorithm=RSA256"}`,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, verify bool) {
		up := &recordingAntom{}
		path := "/"
		if verify {
			path = "/verify"
		}
		w := httptest.NewRecorder()
		f := function(&Handler{Upstream: up})
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		f.HTTP.ServeHTTP(w, req.WithContext(apierr.WithShape(req.Context(), f.ErrorShape)))
		calls := len(up.inits) + len(up.verifies)

		switch {
		case w.Code == http.StatusOK:
			if calls != 1 {
				t.Fatalf("200 after %d Antom calls", calls)
			}
			for _, r := range up.inits {
				switch {
				case r.AuthenticationType != "OTP", r.UserIdentityType != "WALLET_TOKEN":
					t.Fatalf("type %q / %q", r.AuthenticationType, r.UserIdentityType)
				case r.AuthenticationChannelType != "SMS" && r.AuthenticationChannelType != "EMAIL":
					t.Fatalf("channel %q", r.AuthenticationChannelType)
				case r.AuthenticationRequestId == "" || utf8.RuneCountInString(r.AuthenticationRequestId) > 64:
					t.Fatalf("authenticationRequestId of %d characters", utf8.RuneCountInString(r.AuthenticationRequestId))
				case strings.TrimSpace(r.UserIdentityValue) == "" || utf8.RuneCountInString(r.UserIdentityValue) > 128:
					t.Fatalf("userIdentityValue of %d characters", utf8.RuneCountInString(r.UserIdentityValue))
				}
			}
			for _, r := range up.verifies {
				switch {
				case r.AuthenticationType != "OTP":
					t.Fatalf("type %q", r.AuthenticationType)
				case strings.TrimSpace(r.AuthenticationRequestId) == "" || utf8.RuneCountInString(r.AuthenticationRequestId) > 64:
					t.Fatalf("authenticationRequestId of %d characters", utf8.RuneCountInString(r.AuthenticationRequestId))
				case strings.TrimSpace(r.AuthenticationValue) == "":
					t.Fatalf("empty authenticationValue")
				}
			}
		case w.Code >= 400 && w.Code < 500:
			if calls != 0 {
				t.Fatalf("refused with %d after an Antom call", w.Code)
			}
			var a struct {
				Result struct{ ResultCode, ResultStatus string }
			}
			if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil || a.Result.ResultStatus != "F" || a.Result.ResultCode == "" {
				t.Fatalf("refusal is not an Antom F result: %s", w.Body)
			}
			var sent struct{ UserIdentityValue, AuthenticationValue any }
			_ = json.Unmarshal(body, &sent)
			for _, v := range []any{sent.UserIdentityValue, sent.AuthenticationValue} {
				if s, _ := v.(string); testbody.Echoed(w.Body.String(), s) {
					t.Fatalf("the refusal echoes %q: %s", s, w.Body)
				}
			}
		default:
			t.Fatalf("answer %d: %s", w.Code, w.Body)
		}
	})
}
