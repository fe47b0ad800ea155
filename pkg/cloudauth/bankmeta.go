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
// documented md5 forms. Each field is sent as the parameter of its name
// (a string, params); empty fields are not sent.
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

func (r *BankMetaVerifyResponse) lacks() string {
	if r.ResultObject.BizCode == "" {
		return "BankMetaVerifyIntl succeeded without a ResultObject.BizCode"
	}
	return ""
}

// BankMetaVerifyIntl verifies a bank card against a name, an ID number and
// a mobile number. Like the SDK, it sends every parameter in the query.
func (c *Client) BankMetaVerifyIntl(ctx context.Context, r BankMetaVerifyRequest) (*BankMetaVerifyResponse, error) {
	return call[BankMetaVerifyResponse](ctx, c, bankMetaOp, r)
}
