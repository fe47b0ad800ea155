package cloudauth

import "context"

// InitializeRequest holds the Initialize parameters the functions send
// (upstream documentation "Initialize", KYC_GLOBAL). Each field is sent as
// the parameter of its name (a string, params); empty fields are not sent.
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

func (r *InitializeResponse) lacks() string {
	if r.Result.TransactionId == "" {
		return "Initialize succeeded without a Result.TransactionId"
	}
	return ""
}

// Initialize starts an eKYC transaction. Like the SDK, it sends every
// parameter in the query string.
func (c *Client) Initialize(ctx context.Context, r InitializeRequest) (*InitializeResponse, error) {
	return call[InitializeResponse](ctx, c, initializeOp, r)
}
