package emulator

import (
	"net/http"
	"regexp"
)

// This file emulates BankMetaVerifyIntl (upstream documentation "BANK_CARD_N_META"): it checks
// what the service documents and answers from a fixture table keyed by the
// card. Its success answer is {Code "200", ResultObject}, unlike Initialize.

// BankMetaOutcome is the ResultObject of one BankMetaVerifyIntl answer.
type BankMetaOutcome struct {
	BizCode string
	SubCode string
}

// BankMetaFixtures map a card's plaintext prefix (every digit before the
// last 6) to its outcome. The last 6 digits are what md5 mode hashes, so
// keying on the rest gives the same card the same outcome in both modes.
// A card whose prefix is not listed is consistent (BizCode 1, SubCode 101).
var BankMetaFixtures = map[string]BankMetaOutcome{
	"6222020101": {"1", "101"}, // consistent
	"6222020201": {"2", "201"}, // cardholder information incorrect
	"6222020206": {"2", "206"}, // invalid card
	"6222020210": {"2", "210"}, // reported lost
	"6222020301": {"3", "301"}, // card does not support the service
	"6222020304": {"3", "304"}, // card number incorrect
}

// bankMetaDefault is the outcome of a card not in BankMetaFixtures.
var bankMetaDefault = BankMetaOutcome{"1", "101"}

var (
	bankCardPlain = regexp.MustCompile(`^[0-9]{7,}$`)
	bankCardMD5   = regexp.MustCompile(`^([0-9]+)[0-9a-f]{32}$`)
	md5Hex        = regexp.MustCompile(`^[0-9a-f]{32}$`)
	nameMD5       = regexp.MustCompile(`^[0-9a-f]{32}`)
	idCardMD5     = regexp.MustCompile(`^[0-9]{6}[0-9a-f]{32}[0-9]{3}[0-9X]$`)
	otherIDMD5    = regexp.MustCompile(`^[0-9A-Za-z]*[0-9a-f]{32}$`)
)

// bankMetaAnswer is the whole success body.
type bankMetaAnswer struct {
	outcome BankMetaOutcome
}

func (a bankMetaAnswer) envelope(rid string) (any, string) {
	return struct {
		RequestId    string
		Code         string
		Message      string
		ResultObject BankMetaOutcome
	}{rid, "200", "success", a.outcome}, "200"
}

// bankMetaVerify checks the request in the documented order of its
// parameters and answers from the fixtures.
func (e *Emulator) bankMetaVerify(_ *http.Request, p params) (any, *apiError) {
	for _, name := range []string{"ProductCode", "ParamType", "VerifyMode", "ProductType", "BankCard", "UserName"} {
		if p[name] == "" {
			return nil, errMissing(name)
		}
	}
	switch {
	case p["ProductCode"] != "BANK_CARD_N_META":
		return nil, errInvalid("ProductCode", "it takes BANK_CARD_N_META")
	case p["ParamType"] != "normal" && p["ParamType"] != "md5":
		return nil, errInvalid("ParamType", "it takes normal or md5")
	case p["VerifyMode"] != "VERIFY_BANK_CARD":
		return nil, errInvalid("VerifyMode", "it takes VERIFY_BANK_CARD")
	}
	factors := map[string]int{"BANK_CARD_2_META": 2, "BANK_CARD_3_META": 3, "BANK_CARD_4_META": 4}[p["ProductType"]]
	if factors == 0 {
		return nil, errInvalid("ProductType", "it takes BANK_CARD_2_META, BANK_CARD_3_META or BANK_CARD_4_META")
	}
	if factors >= 3 && p["IdentifyNum"] == "" {
		return nil, errMissing("IdentifyNum")
	}
	if factors == 4 && p["Mobile"] == "" {
		return nil, errMissing("Mobile")
	}
	idCard := p["IdentityType"] == "" || p["IdentityType"] == "01"

	var prefix string
	if p["ParamType"] == "md5" {
		m := bankCardMD5.FindStringSubmatch(p["BankCard"])
		switch {
		case m == nil:
			return nil, errInvalid("BankCard", "in md5 mode it is the digits before the last 6, then md5 of the last 6 as 32 lowercase hex characters")
		case !nameMD5.MatchString(p["UserName"]):
			return nil, errInvalid("UserName", "in md5 mode it starts with md5 of the first character as 32 lowercase hex characters")
		case factors >= 3 && idCard && !idCardMD5.MatchString(p["IdentifyNum"]):
			return nil, errInvalid("IdentifyNum", "in md5 mode an ID card number is its first 6 digits, md5 of the birth date as 32 lowercase hex characters, then its last 4 characters")
		case factors >= 3 && !idCard && !otherIDMD5.MatchString(p["IdentifyNum"]):
			return nil, errInvalid("IdentifyNum", "in md5 mode it ends with md5 of its last 2 characters as 32 lowercase hex characters")
		case factors == 4 && !md5Hex.MatchString(p["Mobile"]):
			return nil, errInvalid("Mobile", "in md5 mode it is md5 of the whole number as 32 lowercase hex characters")
		}
		prefix = m[1]
	} else {
		card := p["BankCard"]
		if !bankCardPlain.MatchString(card) {
			return nil, errInvalid("BankCard", "it is the card number, digits only")
		}
		prefix = card[:len(card)-6]
	}
	outcome, ok := BankMetaFixtures[prefix]
	if !ok {
		outcome = bankMetaDefault
	}
	return bankMetaAnswer{outcome}, nil
}
