package cloudauth

import "context"

// The fixed values of BankMetaVerifyIntl (upstream documentation "BANK_CARD_N_META"); the
// client always sends them, callers never choose them.
const (
	BankMetaProductCode = "BANK_CARD_N_META"
	BankMetaVerifyMode  = "VERIFY_BANK_CARD"
)

// BankMetaVerifyRequest holds the caller-chosen BankMetaVerifyIntl
// parameters. In ParamType "md5" the personal fields already hold their
// documented md5 forms. Empty fields are not sent.
type BankMetaVerifyRequest struct {
	ProductType  string // BANK_CARD_2_META, BANK_CARD_3_META or BANK_CARD_4_META
	ParamType    string // normal or md5
	BankCard     string
	UserName     string
	IdentityType string // empty means ID card
	IdentifyNum  string // required for 3 and 4 factors
	Mobile       string // required for 4 factors
}

// BankMetaVerifyResponse is the documented answer: the result is under
// ResultObject, not Result.
type BankMetaVerifyResponse struct {
	RequestId    string               `json:"RequestId"`
	Code         string               `json:"Code"`
	Message      string               `json:"Message"`
	ResultObject BankMetaVerifyResult `json:"ResultObject"`
}

// BankMetaVerifyResult: BizCode 1 consistent, 2 inconsistent (both billed),
// 3 no record (not billed); SubCode gives the detail (101, 201-216, 301-306).
type BankMetaVerifyResult struct {
	BizCode string `json:"BizCode"`
	SubCode string `json:"SubCode"`
}

// bankMetaOp is billed (BizCode 1 and 2 are charged), so it is repeated only
// when throttled or when the service provably never got it. The reference
// gives "200" as its success Code, the upstream documentation's table "Success": both are
// accepted.
var bankMetaOp = operation{
	action:  "BankMetaVerifyIntl",
	billed:  true,
	product: "BANK_CARD_N_META",
	ok:      func(code string) bool { return code == "200" || code == "Success" },
}

// BankMetaVerifyIntl verifies a bank card against a name, an ID number and
// a mobile number. Like the SDK, it sends every parameter in the query.
func (c *Client) BankMetaVerifyIntl(ctx context.Context, r BankMetaVerifyRequest) (*BankMetaVerifyResponse, error) {
	var out BankMetaVerifyResponse
	err := c.call(ctx, bankMetaOp, map[string]string{
		"ProductCode":  BankMetaProductCode,
		"VerifyMode":   BankMetaVerifyMode,
		"ProductType":  r.ProductType,
		"ParamType":    r.ParamType,
		"BankCard":     r.BankCard,
		"UserName":     r.UserName,
		"IdentityType": r.IdentityType,
		"IdentifyNum":  r.IdentifyNum,
		"Mobile":       r.Mobile,
	}, &out)
	if err != nil {
		return nil, err
	}
	if out.ResultObject.BizCode == "" {
		return nil, badShape(out.RequestId, "BankMetaVerifyIntl succeeded without a ResultObject.BizCode")
	}
	return &out, nil
}
