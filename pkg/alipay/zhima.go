package alipay

import (
	"context"
	"encoding/json"
	"fmt"
)

// The Zhima certification methods (reference §3).
const (
	MethodZhimaInitialize = "zhima.customer.certification.initialize"
	MethodZhimaCertify    = "zhima.customer.certification.certify"
	MethodZhimaQuery      = "zhima.customer.certification.query"
)

// ZhimaInitialize is the biz_content of zhima.customer.certification.initialize.
// IdentityParam, MerchantConfig and ExtBizParam are JSON texts sent as JSON
// strings (double-encoded), as the API's model and every sample have them.
// The field order is the documented one, which the derived vectors follow.
type ZhimaInitialize struct {
	TransactionID       string `json:"transaction_id"`
	ProductCode         string `json:"product_code"`
	BizCode             string `json:"biz_code"`
	IdentityParam       string `json:"identity_param"`
	MerchantConfig      string `json:"merchant_config,omitempty"`
	ExtBizParam         string `json:"ext_biz_param,omitempty"`
	LinkedMerchantID    string `json:"linked_merchant_id,omitempty"`
	FaceContrastPicture string `json:"face_contrast_picture,omitempty"`
}

// ZhimaInitialized is the success of initialize.
type ZhimaInitialized struct {
	Code  string `json:"code"`
	Msg   string `json:"msg"`
	BizNo string `json:"biz_no"`
}

// ZhimaInitialize creates a certification and returns its biz_no. It is
// not repeated once it may have reached the gateway.
func (c *Client) ZhimaInitialize(ctx context.Context, req ZhimaInitialize) (ZhimaInitialized, error) {
	return call(ctx, c, MethodZhimaInitialize, req, false, func(out *ZhimaInitialized) string {
		if out.BizNo == "" {
			return "initialize succeeded without a biz_no"
		}
		return ""
	})
}

// bizNo is the biz_content of the methods that name a certification.
type bizNo struct {
	BizNo string `json:"biz_no"`
}

// ZhimaCertifyURL is the signed zhima.customer.certification.certify URL
// that takes the user through certification no; the gateway sends the
// user back to returnURL (a signed common parameter; empty: none).
func (c *Client) ZhimaCertifyURL(no, returnURL string) (string, error) {
	biz, err := json.Marshal(bizNo{no})
	if err != nil {
		return "", err
	}
	return c.PageURL(MethodZhimaCertify, string(biz), map[string]string{"return_url": returnURL})
}

// ZhimaResult is the answer of zhima.customer.certification.query. Passed
// is the string "true" or "false" (not T/F as in the newer APIs).
type ZhimaResult struct {
	Code            string `json:"code"`
	Msg             string `json:"msg"`
	Passed          string `json:"passed"`
	FailedReason    string `json:"failed_reason,omitempty"`
	IdentityInfo    string `json:"identity_info,omitempty"`
	AttributeInfo   string `json:"attribute_info,omitempty"`
	ChannelStatuses string `json:"channel_statuses,omitempty"`
}

// OK reports a passed certification.
func (r ZhimaResult) OK() bool { return r.Passed == "true" }

// ZhimaQuery asks for the result of certification no: the authority,
// whatever came back on return_url. A query costs nothing twice, so it is
// repeated on a transient failure.
func (c *Client) ZhimaQuery(ctx context.Context, no string) (ZhimaResult, error) {
	return call(ctx, c, MethodZhimaQuery, bizNo{no}, true, func(out *ZhimaResult) string {
		if out.Passed != "true" && out.Passed != "false" {
			return fmt.Sprintf("query answered passed=%q, not \"true\" or \"false\"", out.Passed)
		}
		return ""
	})
}

// call runs method with biz as its biz_content (Call) and decodes the
// answer's node into an Out, which lacks reports on: what the documented
// shape has that the answer does not, "" when nothing.
func call[Out any](ctx context.Context, c *Client, method string, biz any, idempotent bool, lacks func(*Out) string) (Out, error) {
	var out Out
	b, err := json.Marshal(biz)
	if err != nil {
		return out, err
	}
	raw, err := c.Call(ctx, method, string(b), idempotent)
	if err != nil {
		return out, err
	}
	err = json.Unmarshal(raw, &out)
	if what := lacks(&out); what != "" {
		return out, upstreamError(ctx, fmt.Errorf("%w: %s", ErrMalformedAnswer, what))
	}
	if err != nil {
		return out, upstreamError(ctx, fmt.Errorf("%w: %v", ErrMalformedAnswer, err))
	}
	return out, nil
}
