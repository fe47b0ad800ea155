package emulator

import (
	"crypto/md5"
	"encoding/hex"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// validBankMeta is a 4-factor request in normal mode the emulator accepts.
func validBankMeta() map[string]string {
	return map[string]string{
		"ProductCode": "BANK_CARD_N_META",
		"ParamType":   "normal",
		"VerifyMode":  "VERIFY_BANK_CARD",
		"ProductType": "BANK_CARD_4_META",
		"BankCard":    "6222020201987654",
		"UserName":    "张三",
		"IdentifyNum": "429001199001018211",
		"Mobile":      "13812345678",
	}
}

// md5BankMeta is the same request in its documented md5 forms.
func md5BankMeta() map[string]string {
	q := validBankMeta()
	q["ParamType"] = "md5"
	q["BankCard"] = "6222020201" + md5hex("987654")
	q["UserName"] = md5hex("张") + "三"
	q["IdentifyNum"] = "429001" + md5hex("19900101") + "8211"
	q["Mobile"] = md5hex("13812345678")
	return q
}

func TestBankMetaVerify(t *testing.T) {
	with := func(base map[string]string, kv ...string) map[string]string {
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "<absent>" {
				delete(base, kv[i])
			} else {
				base[kv[i]] = kv[i+1]
			}
		}
		return base
	}
	tests := []struct {
		name    string
		query   map[string]string
		code    string // "" = accepted
		param   string
		biz     string
		subCode string
	}{
		{"4 factors normal, fixture 201", validBankMeta(), "", "", "2", "201"},
		{"4 factors md5, same fixture, same outcome", md5BankMeta(), "", "", "2", "201"},
		{"consistent fixture", with(validBankMeta(), "BankCard", "6222020101123456"), "", "", "1", "101"},
		{"no-record fixture md5", with(md5BankMeta(), "BankCard", "6222020304"+md5hex("123456")), "", "", "3", "304"},
		{"unlisted card is consistent", with(validBankMeta(), "BankCard", "4111111111111111"), "", "", "1", "101"},
		{"2 factors without ID and mobile", with(validBankMeta(), "ProductType", "BANK_CARD_2_META", "IdentifyNum", "<absent>", "Mobile", "<absent>"), "", "", "2", "201"},
		{"3 factors without mobile", with(validBankMeta(), "ProductType", "BANK_CARD_3_META", "Mobile", "<absent>"), "", "", "2", "201"},
		{"other document type md5", with(md5BankMeta(), "IdentityType", "02", "IdentifyNum", "E12345"+md5hex("67")), "", "", "2", "201"},

		{"ProductCode absent", with(validBankMeta(), "ProductCode", "<absent>"), "MissingParameter", "ProductCode", "", ""},
		{"ProductCode other", with(validBankMeta(), "ProductCode", "ID_2META"), "InvalidParameter", "ProductCode", "", ""},
		{"ParamType absent", with(validBankMeta(), "ParamType", "<absent>"), "MissingParameter", "ParamType", "", ""},
		{"ParamType sha1", with(validBankMeta(), "ParamType", "sha1"), "InvalidParameter", "ParamType", "", ""},
		{"VerifyMode other", with(validBankMeta(), "VerifyMode", "VERIFY_MOBILE"), "InvalidParameter", "VerifyMode", "", ""},
		{"ProductType other", with(validBankMeta(), "ProductType", "BANK_CARD_5_META"), "InvalidParameter", "ProductType", "", ""},
		{"BankCard absent", with(validBankMeta(), "BankCard", "<absent>"), "MissingParameter", "BankCard", "", ""},
		{"UserName absent", with(validBankMeta(), "UserName", "<absent>"), "MissingParameter", "UserName", "", ""},
		{"3 factors without ID", with(validBankMeta(), "ProductType", "BANK_CARD_3_META", "IdentifyNum", "<absent>"), "MissingParameter", "IdentifyNum", "", ""},
		{"4 factors without mobile", with(validBankMeta(), "Mobile", "<absent>"), "MissingParameter", "Mobile", "", ""},
		{"card with letters", with(validBankMeta(), "BankCard", "6222-0202-0198-7654"), "InvalidParameter", "BankCard", "", ""},
		{"md5 card in plaintext", with(md5BankMeta(), "BankCard", "6222020201987654"), "InvalidParameter", "BankCard", "", ""},
		{"md5 card uppercase hex", with(md5BankMeta(), "BankCard", "6222020201"+"E10ADC3949BA59ABBE56E057F20F883E"), "InvalidParameter", "BankCard", "", ""},
		{"md5 name in plaintext", with(md5BankMeta(), "UserName", "张三"), "InvalidParameter", "UserName", "", ""},
		{"md5 ID in plaintext", with(md5BankMeta(), "IdentifyNum", "429001199001018211"), "InvalidParameter", "IdentifyNum", "", ""},
		{"md5 mobile in plaintext", with(md5BankMeta(), "Mobile", "13812345678"), "InvalidParameter", "Mobile", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu, srv := startEmulator(t, Config{})
			req := defaultSigner.request(t, "POST", srv.URL, "BankMetaVerifyIntl", values(tt.query), nil)
			status, body := do(t, srv.Client(), req)
			if tt.code == "" {
				require.Equal(t, 200, status, body)
				assert.Equal(t, "200", body["Code"])
				assert.Equal(t, "success", body["Message"])
				assert.NotEmpty(t, body["RequestId"])
				assert.NotContains(t, body, "Result")
				assert.Equal(t, map[string]any{"BizCode": tt.biz, "SubCode": tt.subCode}, body["ResultObject"])
				got, ok := emu.LastRequest("BankMetaVerifyIntl")
				require.True(t, ok)
				assert.Equal(t, tt.query["BankCard"], got.Params["BankCard"])
				return
			}
			assert.Equal(t, 400, status)
			assert.Equal(t, tt.code, body["Code"])
			assert.Contains(t, body["Message"], `"`+tt.param+`"`)
			assert.Equal(t, int64(1), emu.Stats().Rejected[tt.code])
		})
	}
}

func TestBankMetaFaults(t *testing.T) {
	emu, srv := startEmulator(t, Config{})
	emu.InjectFault(Cloudauth, "BankMetaVerifyIntl", Fault{Kind: FaultThrottle, Times: 1})
	status, body := do(t, srv.Client(), defaultSigner.request(t, "POST", srv.URL, "BankMetaVerifyIntl", values(validBankMeta()), nil))
	assert.Equal(t, 403, status)
	assert.Equal(t, "Throttling.Api", body["Code"])
	status, _ = do(t, srv.Client(), defaultSigner.request(t, "POST", srv.URL, "BankMetaVerifyIntl", values(validBankMeta()), url.Values{}))
	assert.Equal(t, 200, status, "the fault applied once")
	assert.EqualValues(t, 2, emu.Stats().Requests["BankMetaVerifyIntl"])
}
