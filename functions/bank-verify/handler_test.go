package main

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/internal/e2e"
	"github.com/idverify/fc-kyc/internal/testbody"
	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/cloudauth"
)

// fakeUpstream records what would have been sent.
type fakeUpstream struct {
	calls []cloudauth.BankMetaVerifyRequest
	res   cloudauth.BankMetaVerifyResponse
	err   error
}

func (f *fakeUpstream) BankMetaVerifyIntl(_ context.Context, r cloudauth.BankMetaVerifyRequest) (*cloudauth.BankMetaVerifyResponse, error) {
	f.calls = append(f.calls, r)
	if f.err != nil {
		return nil, f.err
	}
	res := f.res
	if res.Code == "" {
		res = cloudauth.BankMetaVerifyResponse{RequestId: "RID-1", Code: "200", Message: "success",
			ResultObject: cloudauth.BankMetaVerifyResult{BizCode: "1", SubCode: "101"}}
	}
	return &res, nil
}

// md5hex is computed here, apart from the code under test.
func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// valid4 is a 4-factor plaintext request that passes every rule.
func valid4() map[string]any {
	return map[string]any{
		"ProductType": "BANK_CARD_4_META",
		"BankCard":    "6222021234567890",
		"UserName":    "张三",
		"IdentifyNum": "429001199001018211",
		"Mobile":      "13812345678",
	}
}

// valid4md5 is the same request as the caller would hash it.
func valid4md5() map[string]any {
	return map[string]any{
		"ProductType": "BANK_CARD_4_META",
		"ParamType":   "md5",
		"BankCard":    "6222021234" + md5hex("567890"),
		"UserName":    md5hex("张") + "三",
		"IdentifyNum": "429001" + md5hex("19900101") + "8211",
		"Mobile":      md5hex("13812345678"),
	}
}

func TestValidation(t *testing.T) {
	rep := strings.Repeat
	two := func(kv ...any) map[string]any {
		return testbody.With(testbody.With(valid4(), "ProductType", "BANK_CARD_2_META", "IdentifyNum", nil, "Mobile", nil), kv...)
	}
	three := func(kv ...any) map[string]any {
		return testbody.With(testbody.With(valid4(), "ProductType", "BANK_CARD_3_META", "Mobile", nil), kv...)
	}
	four := func(kv ...any) map[string]any { return testbody.With(valid4(), kv...) }
	md5 := func(kv ...any) map[string]any { return testbody.With(valid4md5(), kv...) }
	tests := []struct {
		name  string
		req   map[string]any
		code  string // "" = accepted
		param string
	}{
		// required fields per ProductType
		{"2 factors: card and name", two(), "", ""},
		{"2 factors: no card", two("BankCard", nil), apierr.MissingParameter, "BankCard"},
		{"2 factors: no name", two("UserName", nil), apierr.MissingParameter, "UserName"},
		{"2 factors: blank name", two("UserName", "  "), apierr.MissingParameter, "UserName"},
		{"2 factors: an unused Mobile is not checked", two("Mobile", "x"), "", ""},
		{"3 factors: card, name, ID", three(), "", ""},
		{"3 factors: no ID", three("IdentifyNum", nil), apierr.MissingParameter, "IdentifyNum"},
		{"3 factors: no name", three("UserName", nil), apierr.MissingParameter, "UserName"},
		{"4 factors: all four", four(), "", ""},
		{"4 factors: no mobile", four("Mobile", nil), apierr.MissingParameter, "Mobile"},
		{"4 factors: no ID", four("IdentifyNum", nil), apierr.MissingParameter, "IdentifyNum"},
		{"4 factors: no card", four("BankCard", nil), apierr.MissingParameter, "BankCard"},
		{"ProductType missing", four("ProductType", nil), apierr.MissingParameter, "ProductType"},
		{"ProductType other", four("ProductType", "BANK_CARD_5_META"), apierr.InvalidParameter, "ProductType"},
		{"ProductType lower case", four("ProductType", "bank_card_4_meta"), apierr.InvalidParameter, "ProductType"},

		// server-owned
		{"ProductCode is the server's", four("ProductCode", "BANK_CARD_N_META"), apierr.InvalidParameter, "ProductCode"},
		{"VerifyMode is the server's", four("VerifyMode", "VERIFY_BANK_CARD"), apierr.InvalidParameter, "VerifyMode"},

		// ParamType
		{"ParamType normal", four("ParamType", "normal"), "", ""},
		{"ParamType md5", md5(), "", ""},
		{"ParamType other", four("ParamType", "sha256"), apierr.InvalidParameter, "ParamType"},

		// BankCard, normal
		{"card 12 digits", four("BankCard", rep("1", 12)), "", ""},
		{"card 19 digits", four("BankCard", rep("1", 19)), "", ""},
		{"card 11 digits", four("BankCard", rep("1", 11)), apierr.InvalidParameter, "BankCard"},
		{"card 20 digits", four("BankCard", rep("1", 20)), apierr.InvalidParameter, "BankCard"},
		{"card with spaces", four("BankCard", "6222 0212 3456 7890"), apierr.InvalidParameter, "BankCard"},
		{"card with dashes", four("BankCard", "6222-0212-3456-7890"), apierr.InvalidParameter, "BankCard"},
		{"card full-width digits", four("BankCard", "６２２２０２１２３４５６７８９０"), apierr.InvalidParameter, "BankCard"},

		// UserName
		{"name Latin with space", four("UserName", "Alice Smith"), "", ""},
		{"name Uyghur with middle dot", four("UserName", "买买提·艾力"), "", ""},
		{"name Arabic", four("UserName", "محمد علي"), "", ""},
		{"name 64 characters", four("UserName", rep("张", 64)), "", ""},
		{"name 65 characters", four("UserName", rep("张", 65)), apierr.InvalidParameter, "UserName"},
		{"name with a newline", four("UserName", "张\n三"), apierr.InvalidParameter, "UserName"},

		// IdentityType and IdentifyNum
		{"ID 18 with X", four("IdentifyNum", "42900119900101821X"), "", ""},
		{"ID 18 with x", four("IdentifyNum", "42900119900101821x"), "", ""},
		{"ID 15 digits", four("IdentifyNum", "429001900101821"), "", ""},
		{"ID IdentityType 01", four("IdentityType", "01"), "", ""},
		{"ID 17 digits", four("IdentifyNum", "42900119900101821"), apierr.InvalidParameter, "IdentifyNum"},
		{"ID X in the middle", four("IdentifyNum", "4290011990X1018211"), apierr.InvalidParameter, "IdentifyNum"},
		{"ID 16 digits", four("IdentifyNum", "4290011990010182"), apierr.InvalidParameter, "IdentifyNum"},
		{"passport number", four("IdentityType", "02", "IdentifyNum", "E12345678"), "", ""},
		{"other document 32", four("IdentityType", "02", "IdentifyNum", rep("A", 32)), "", ""},
		{"other document 33", four("IdentityType", "02", "IdentifyNum", rep("A", 33)), apierr.InvalidParameter, "IdentifyNum"},
		{"other document with dash", four("IdentityType", "02", "IdentifyNum", "E-1234"), apierr.InvalidParameter, "IdentifyNum"},
		{"IdentityType with symbol", four("IdentityType", "0-1"), apierr.InvalidParameter, "IdentityType"},
		{"IdentityType too long", four("IdentityType", rep("1", 17)), apierr.InvalidParameter, "IdentityType"},

		// Mobile
		{"mobile +country code", four("Mobile", "+8613812345678"), "", ""},
		{"mobile 5 digits", four("Mobile", "12345"), "", ""},
		{"mobile 20 digits", four("Mobile", rep("1", 20)), "", ""},
		{"mobile 4 digits", four("Mobile", "1234"), apierr.InvalidParameter, "Mobile"},
		{"mobile 21 digits", four("Mobile", rep("1", 21)), apierr.InvalidParameter, "Mobile"},
		{"mobile with dash", four("Mobile", "138-1234-5678"), apierr.InvalidParameter, "Mobile"},
		{"mobile + inside", four("Mobile", "86+13812345678"), apierr.InvalidParameter, "Mobile"},

		// md5 shapes
		{"md5 card plaintext", md5("BankCard", "6222021234567890"), apierr.InvalidParameter, "BankCard"},
		{"md5 card upper-case hex", md5("BankCard", "6222021234"+strings.ToUpper(md5hex("567890"))), apierr.InvalidParameter, "BankCard"},
		{"md5 card 31 hex after 6 digits", md5("BankCard", "622202"+md5hex("567890")[:31]), apierr.InvalidParameter, "BankCard"},
		{"md5 card without plaintext prefix", md5("BankCard", md5hex("567890")), apierr.InvalidParameter, "BankCard"},
		{"md5 name plaintext", md5("UserName", "张三"), apierr.InvalidParameter, "UserName"},
		{"md5 name one character", md5("UserName", md5hex("王")), "", ""},
		{"md5 ID plaintext", md5("IdentifyNum", "429001199001018211"), apierr.InvalidParameter, "IdentifyNum"},
		{"md5 ID hash in the wrong place", md5("IdentifyNum", md5hex("19900101")+"4290018211"), apierr.InvalidParameter, "IdentifyNum"},
		{"md5 other document", md5("IdentityType", "02", "IdentifyNum", "E1234567"+md5hex("89")), "", ""},
		{"md5 other document plaintext", md5("IdentityType", "02", "IdentifyNum", "E123456789"), apierr.InvalidParameter, "IdentifyNum"},
		{"md5 mobile plaintext", md5("Mobile", "13812345678"), apierr.InvalidParameter, "Mobile"},
		{"md5 mobile upper-case", md5("Mobile", strings.ToUpper(md5hex("13812345678"))), apierr.InvalidParameter, "Mobile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := &fakeUpstream{}
			h := &Handler{Upstream: up}
			res, err := h.Verify(context.Background(), testbody.Decode[Request](t, tt.req))
			if e2e.Checked(t, err, len(up.calls), tt.code, tt.param) {
				assert.Equal(t, "1", res.ResultObject.BizCode)
				return
			}
			for _, k := range []string{"BankCard", "UserName", "IdentifyNum", "Mobile"} {
				if s, ok := tt.req[k].(string); ok && len(s) > 3 {
					assert.NotContains(t, err.Error(), s, "the message never echoes personal data")
				}
			}
		})
	}
}

func TestWhatIsSent(t *testing.T) {
	t.Run("normal: as given, fields the type does not use dropped", func(t *testing.T) {
		up := &fakeUpstream{}
		h := &Handler{Upstream: up}
		_, err := h.Verify(context.Background(), testbody.Decode[Request](t, testbody.With(valid4(), "ProductType", "BANK_CARD_2_META", "IdentityType", "01")))
		require.NoError(t, err)
		assert.Equal(t, cloudauth.BankMetaVerifyRequest{ProductType: "BANK_CARD_2_META", ParamType: "normal",
			BankCard: "6222021234567890", UserName: "张三"}, up.calls[0])
	})
	t.Run("caller-hashed values pass as they are, also when the deployment hashes", func(t *testing.T) {
		for _, hash := range []bool{false, true} {
			up := &fakeUpstream{}
			h := &Handler{Upstream: up, HashPlaintext: hash}
			m := valid4md5()
			_, err := h.Verify(context.Background(), testbody.Decode[Request](t, m))
			require.NoError(t, err)
			assert.Equal(t, cloudauth.BankMetaVerifyRequest{ProductType: "BANK_CARD_4_META", ParamType: "md5",
				BankCard: m["BankCard"].(string), UserName: m["UserName"].(string),
				IdentifyNum: m["IdentifyNum"].(string), Mobile: m["Mobile"].(string)}, up.calls[0])
		}
	})
}

// TestMD5Conversion checks the deployment's hashing against values computed
// here from the plaintext pieces. The documented ID example is 429001 +
// md5(birth date) + 8211; its printed hash (32fa7bcd…) is the md5 of no date
// from 1900 to 2030, so the birth date here is chosen and hashed in the test.
func TestMD5Conversion(t *testing.T) {
	tests := []struct {
		name string
		in   map[string]any
		want cloudauth.BankMetaVerifyRequest
	}{
		{"4 factors, 18-character ID card", valid4(), cloudauth.BankMetaVerifyRequest{
			ProductType: "BANK_CARD_4_META", ParamType: "md5",
			BankCard:    "6222021234" + md5hex("567890"),
			UserName:    md5hex("张") + "三",
			IdentifyNum: "429001" + md5hex("19900101") + "8211",
			Mobile:      md5hex("13812345678"),
		}},
		{"19-digit card, Latin name, lower-case x, international mobile", testbody.With(valid4(),
			"BankCard", "6217001234567890123", "UserName", "Alice Smith", "IdentifyNum", "11010519491231002x", "Mobile", "+85291234567"),
			cloudauth.BankMetaVerifyRequest{ProductType: "BANK_CARD_4_META", ParamType: "md5",
				BankCard:    "6217001234567" + md5hex("890123"),
				UserName:    md5hex("A") + "lice Smith",
				IdentifyNum: "110105" + md5hex("19491231") + "002X",
				Mobile:      md5hex("+85291234567"),
			}},
		// 110105491231002 is the 15-digit form of GB 11643's own example
		// 11010519491231002X (born 1949-12-31, check character X).
		{"15-digit ID card is upgraded to 18 first", testbody.With(valid4(), "ProductType", "BANK_CARD_3_META", "Mobile", nil, "IdentifyNum", "110105491231002"),
			cloudauth.BankMetaVerifyRequest{ProductType: "BANK_CARD_3_META", ParamType: "md5",
				BankCard:    "6222021234" + md5hex("567890"),
				UserName:    md5hex("张") + "三",
				IdentifyNum: "110105" + md5hex("19491231") + "002X",
			}},
		{"other document: last 2 characters hashed", testbody.With(valid4(), "ProductType", "BANK_CARD_3_META", "Mobile", nil, "IdentityType", "02", "IdentifyNum", "E12345678"),
			cloudauth.BankMetaVerifyRequest{ProductType: "BANK_CARD_3_META", ParamType: "md5", IdentityType: "02",
				BankCard:    "6222021234" + md5hex("567890"),
				UserName:    md5hex("张") + "三",
				IdentifyNum: "E123456" + md5hex("78"),
			}},
		{"2 factors, one-character name", testbody.With(valid4(), "ProductType", "BANK_CARD_2_META", "IdentifyNum", nil, "Mobile", nil, "UserName", "王", "BankCard", "123456789012"),
			cloudauth.BankMetaVerifyRequest{ProductType: "BANK_CARD_2_META", ParamType: "md5",
				BankCard: "123456" + md5hex("789012"),
				UserName: md5hex("王"),
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := &fakeUpstream{}
			h := &Handler{Upstream: up, HashPlaintext: true}
			_, err := h.Verify(context.Background(), testbody.Decode[Request](t, tt.in))
			require.NoError(t, err)
			require.Len(t, up.calls, 1)
			assert.Equal(t, tt.want, up.calls[0])
		})
	}
}

func TestAnswer(t *testing.T) {
	tests := []struct {
		biz, sub, bizMeaning, subPart string
	}{
		{"1", "101", "consistent (billed)", "passed"},
		{"2", "201", "inconsistent (billed)", "cardholder information incorrect"},
		{"2", "210", "inconsistent (billed)", "reported lost"},
		{"3", "304", "no record found (not billed)", "card number incorrect"},
		{"3", "306", "no record found (not billed)", "too many verification attempts"},
		{"4", "999", "not in the documented table", "not in the documented table"},
	}
	for _, tt := range tests {
		t.Run(tt.biz+"/"+tt.sub, func(t *testing.T) {
			up := &fakeUpstream{res: cloudauth.BankMetaVerifyResponse{RequestId: "RID-7", Code: "200", Message: "success",
				ResultObject: cloudauth.BankMetaVerifyResult{BizCode: tt.biz, SubCode: tt.sub}}}
			res, err := (&Handler{Upstream: up}).Verify(context.Background(), testbody.Decode[Request](t, valid4()))
			require.NoError(t, err)
			assert.Equal(t, "RID-7", res.RequestId)
			assert.Equal(t, "200", res.Code)
			assert.Equal(t, "success", res.Message)
			assert.Equal(t, cloudauth.BankMetaVerifyResult{BizCode: tt.biz, SubCode: tt.sub}, res.ResultObject)
			assert.Equal(t, tt.bizMeaning, res.BizCodeMeaning)
			assert.Contains(t, res.SubCodeMeaning, tt.subPart)
		})
	}
	t.Run("every documented SubCode has a meaning", func(t *testing.T) {
		for _, c := range []string{"101", "201", "202", "203", "204", "205", "206", "207", "208", "209", "210",
			"211", "212", "213", "214", "215", "216", "301", "302", "303", "304", "305", "306"} {
			assert.NotEqual(t, "not in the documented table", meaning(subCodes, c), c)
		}
		assert.Len(t, subCodes, 23)
	})
}

func TestUpstreamErrorPassesThrough(t *testing.T) {
	up := &fakeUpstream{err: &apierr.Error{Code: "Forbidden.AccountAccessDenied", Message: "overdue", RequestID: "RID-9"}}
	_, err := (&Handler{Upstream: up}).Verify(context.Background(), testbody.Decode[Request](t, valid4()))
	e := apierr.As(err)
	assert.Equal(t, "Forbidden.AccountAccessDenied", e.Code)
	assert.Equal(t, "RID-9", e.RequestID)
	assert.Equal(t, 502, apierr.Status(err))
}

// The answer's JSON: the upstream's fields, in its order, then the meanings.
func TestAnswerJSON(t *testing.T) {
	res, err := (&Handler{Upstream: &fakeUpstream{}}).Verify(context.Background(), testbody.Decode[Request](t, valid4()))
	require.NoError(t, err)
	b, err := json.Marshal(res)
	require.NoError(t, err)
	assert.Equal(t, `{"RequestId":"RID-1","Code":"200","Message":"success","ResultObject":{"BizCode":"1","SubCode":"101"},"BizCodeMeaning":"consistent (billed)","SubCodeMeaning":"verification passed"}`, string(b))
}

// The per-card key is the same for a card sent plain, hashed by the
// function, or sent already in md5 form; another card has another.
func TestCardKeyIsTheCardsWhateverItsForm(t *testing.T) {
	h := &Handler{PerCard: defaultPerCard, CardKey: []byte("test-card-limit-key-0123456789abcdef")}
	plain, err := check(testbody.Decode[Request](t, valid4()))
	require.NoError(t, err)
	md5Form, err := check(testbody.Decode[Request](t, valid4md5()))
	require.NoError(t, err)
	other, err := check(testbody.Decode[Request](t, testbody.With(valid4(), "BankCard", "6222021234567891")))
	require.NoError(t, err)
	key := h.cardKey(plain)
	require.Len(t, key, 1)
	assert.Equal(t, key, h.cardKey(hashed(plain)))
	assert.Equal(t, key, h.cardKey(md5Form))
	assert.NotEqual(t, key, h.cardKey(other))
	assert.NotContains(t, key[0].ID, "567890")
}
