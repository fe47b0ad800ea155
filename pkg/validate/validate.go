// Package validate holds the checks the functions run on a request before
// any upstream call, each returning the apierr vocabulary (MissingParameter,
// InvalidParameter) with a message that says what is wanted. A bad request
// must cost no upstream call, and must never echo the value it refused:
// values may be personal data.
package validate

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/idverify/fc-kyc/pkg/apierr"
)

// Required fails with MissingParameter when v is empty or only spaces.
func Required(name, v string) error {
	if strings.TrimSpace(v) == "" {
		return apierr.Missing(name)
	}
	return nil
}

// MaxLen fails when v has more than n characters (not bytes: names and
// other text may be in any script).
func MaxLen(name, v string, n int) error {
	if utf8.RuneCountInString(v) > n {
		return apierr.Invalid(name, "must be at most "+strconv.Itoa(n)+" characters")
	}
	return nil
}

// OneOf fails when v is set and is not one of allowed.
func OneOf(name, v string, allowed ...string) error {
	if v == "" {
		return nil
	}
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return apierr.Invalid(name, "must be one of "+strings.Join(allowed, ", "))
}

// Alnum fails when v has anything but ASCII letters and digits.
func Alnum(name, v string) error {
	for i := 0; i < len(v); i++ {
		if c := v[i]; !isDigit(c) && !(c|0x20 >= 'a' && c|0x20 <= 'z') {
			return apierr.Invalid(name, "must contain only letters and digits")
		}
	}
	return nil
}

// IDChars fails when v has anything but ASCII letters, digits, - and _:
// the characters of the ids the functions pass on or look up (eKYC
// TransactionId, Zhima biz_no and transaction_id).
func IDChars(name, v string) error {
	for i := 0; i < len(v); i++ {
		if c := v[i]; !isDigit(c) && !(c|0x20 >= 'a' && c|0x20 <= 'z') && c != '-' && c != '_' {
			return apierr.Invalid(name, "must contain only letters, digits, - and _")
		}
	}
	return nil
}

// Digits fails unless v is exactly n ASCII digits.
func Digits(name, v string, n int) error {
	ok := len(v) == n
	for i := 0; ok && i < len(v); i++ {
		ok = isDigit(v[i])
	}
	if !ok {
		return apierr.Invalid(name, "must be exactly "+strconv.Itoa(n)+" digits")
	}
	return nil
}

// MaxMerchantBizID is the longest eKYC MerchantBizId (Initialize's
// documented limit).
const MaxMerchantBizID = 32

// MerchantBizID fails unless v is an eKYC MerchantBizId as Initialize takes
// it: 1 to 32 ASCII letters and digits. ekyc-init applies it to what a
// caller sends (empty there means "generate one", so it checks Required
// only where an id must be present); the callback applies it to the
// merchantBizId of a notification before anything else.
func MerchantBizID(name, v string) error {
	return First(Required(name, v), MaxLen(name, v, MaxMerchantBizID), Alnum(name, v))
}

// First returns the first non-nil error, so a handler lists its rules in
// the order the documentation gives them.
func First(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
