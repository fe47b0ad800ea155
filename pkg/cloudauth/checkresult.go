package cloudauth

import "context"

// CheckResultRequest asks for a transaction's authoritative result. Each
// field is sent as the parameter of its name (a string, params).
type CheckResultRequest struct {
	MerchantBizId string
	TransactionId string
	IsReturnImage string // "Y" or "N" (default)
}

// CheckResultResponse is the documented answer. Every Result field is a
// string; the Ext* values are JSON documents encoded as strings.
type CheckResultResponse struct {
	RequestId string            `json:"RequestId"`
	Code      string            `json:"Code"`
	Message   string            `json:"Message"`
	Result    CheckResultResult `json:"Result"`
}

// CheckResultResult: Passed is Y, N, or P (pending; it later becomes Y or N).
type CheckResultResult struct {
	Passed        string `json:"Passed"`
	SubCode       string `json:"SubCode"`
	EkycResult    string `json:"EkycResult,omitempty"`
	ExtBasicInfo  string `json:"ExtBasicInfo,omitempty"`
	ExtFaceInfo   string `json:"ExtFaceInfo,omitempty"`
	ExtIdInfo     string `json:"ExtIdInfo,omitempty"`
	ExtInfo       string `json:"ExtInfo,omitempty"`
	ExtRiskInfo   string `json:"ExtRiskInfo,omitempty"`
	ExtSourceInfo string `json:"ExtSourceInfo,omitempty"`
}

func (r *CheckResultResponse) lacks() string {
	switch r.Result.Passed {
	case "Y", "N", "P":
		return ""
	}
	return "CheckResult answered Passed=" + quote(r.Result.Passed) + ", not Y, N or P"
}

// CheckResult reads a transaction's result.
func (c *Client) CheckResult(ctx context.Context, r CheckResultRequest) (*CheckResultResponse, error) {
	return call[CheckResultResponse](ctx, c, checkResultOp, r)
}
