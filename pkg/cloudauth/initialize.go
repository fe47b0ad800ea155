package cloudauth

import "context"

// InitializeRequest holds the Initialize parameters the functions send
// (upstream documentation "Initialize", KYC_GLOBAL). Empty fields are not sent.
type InitializeRequest struct {
	ProductCode    string
	MerchantBizId  string
	MetaInfo       string
	MerchantUserId string
	DocType        string
	DocScanMode    string
	ProductFlow    string
	CallbackUrl    string
	CallbackToken  string
}

// InitializeResponse is the documented answer.
type InitializeResponse struct {
	RequestId string           `json:"RequestId"`
	Code      string           `json:"Code"`
	Message   string           `json:"Message"`
	Result    InitializeResult `json:"Result"`
}

// InitializeResult carries the transaction the client SDK continues with.
type InitializeResult struct {
	TransactionId  string `json:"TransactionId"`
	TransactionUrl string `json:"TransactionUrl,omitempty"`
	Protocol       string `json:"Protocol,omitempty"`
	ClientCfg      string `json:"ClientCfg,omitempty"`
}

// initializeOp is billed ("TransactionId ... is used for billing"), so it is
// repeated only when the service provably never got it. Its success Code is
// "Success" (SDK and service); the upstream documentation shows "200", so both are accepted.
var initializeOp = operation{
	action:  "Initialize",
	billed:  true,
	product: "eKYC",
	ok:      func(code string) bool { return code == "Success" || code == "200" },
}

// Initialize starts an eKYC transaction. Like the SDK, it sends every
// parameter in the query string.
func (c *Client) Initialize(ctx context.Context, r InitializeRequest) (*InitializeResponse, error) {
	var out InitializeResponse
	err := c.call(ctx, initializeOp, map[string]string{
		"ProductCode":    r.ProductCode,
		"MerchantBizId":  r.MerchantBizId,
		"MetaInfo":       r.MetaInfo,
		"MerchantUserId": r.MerchantUserId,
		"DocType":        r.DocType,
		"DocScanMode":    r.DocScanMode,
		"ProductFlow":    r.ProductFlow,
		"CallbackUrl":    r.CallbackUrl,
		"CallbackToken":  r.CallbackToken,
	}, &out)
	if err != nil {
		return nil, err
	}
	if out.Result.TransactionId == "" {
		return nil, badShape(out.RequestId, "Initialize succeeded without a Result.TransactionId")
	}
	return &out, nil
}
