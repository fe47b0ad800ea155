package validate

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/idverify/fc-kyc/pkg/apierr"
)

func TestRules(t *testing.T) {
	tests := []struct {
		name string
		err  error
		code string // "" = passes
	}{
		{"required present", Required("P", "x"), ""},
		{"required empty", Required("P", ""), apierr.MissingParameter},
		{"required blank", Required("P", "  "), apierr.MissingParameter},
		{"maxlen at limit, multibyte", MaxLen("P", "张三丰", 3), ""},
		{"maxlen over", MaxLen("P", "abcd", 3), apierr.InvalidParameter},
		{"oneof empty is allowed", OneOf("P", "", "A"), ""},
		{"oneof member", OneOf("P", "B", "A", "B"), ""},
		{"oneof other", OneOf("P", "b", "A", "B"), apierr.InvalidParameter},
		{"alnum", Alnum("P", "abcXYZ019"), ""},
		{"alnum with dash", Alnum("P", "abc-1"), apierr.InvalidParameter},
		{"alnum non-ASCII letter", Alnum("P", "abcé"), apierr.InvalidParameter},
		{"digits exact", Digits("P", "01560000", 8), ""},
		{"digits short", Digits("P", "0156000", 8), apierr.InvalidParameter},
		{"digits letter", Digits("P", "0156000a", 8), apierr.InvalidParameter},
		{"merchantbizid", MerchantBizID("P", "ORDER123abc"), ""},
		{"merchantbizid at 32", MerchantBizID("P", strings.Repeat("a", 32)), ""},
		{"merchantbizid over 32", MerchantBizID("P", strings.Repeat("a", 33)), apierr.InvalidParameter},
		{"merchantbizid empty", MerchantBizID("P", ""), apierr.MissingParameter},
		{"merchantbizid zhima subject", MerchantBizID("P", "zhima:ZM1:tx_1"), apierr.InvalidParameter},
		{"digits full-width", Digits("P", "０１５６０００", 8), apierr.InvalidParameter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.code == "" {
				assert.NoError(t, tt.err)
				return
			}
			assert.Equal(t, tt.code, apierr.As(tt.err).Code)
			assert.Contains(t, tt.err.Error(), `"P"`, "the message names the parameter")
		})
	}
}

func TestFirst(t *testing.T) {
	assert.NoError(t, First(nil, nil))
	err := First(nil, Required("A", ""), Required("B", ""))
	assert.Contains(t, err.Error(), `"A"`)
}

func TestMessagesNeverEchoTheValue(t *testing.T) {
	secret := "6222021234567890123"
	for _, err := range []error{MaxLen("BankCard", secret, 5), Alnum("BankCard", secret+"-"), Digits("BankCard", secret, 8)} {
		assert.NotContains(t, err.Error(), secret)
	}
}
