package antom

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"

	"github.com/idverify/fc-kyc/pkg/apierr"
)

// The operations' names, as they appear in the path.
const (
	APIInit   = "initAuthentication"
	APIVerify = "verifyAuthentication"
)

// InitRequest is initAuthentication's body, fields in the upstream documentation's order.
type InitRequest struct {
	AuthenticationType        string `json:"authenticationType"`
	AuthenticationRequestId   string `json:"authenticationRequestId"`
	AuthenticationChannelType string `json:"authenticationChannelType"`
	UserIdentityType          string `json:"userIdentityType"`
	UserIdentityValue         string `json:"userIdentityValue"`
}

// InitResponse is initAuthentication's answer.
type InitResponse struct {
	Result                  Result `json:"result"`
	AuthenticationRequestId string `json:"authenticationRequestId,omitempty"`
}

// VerifyRequest is verifyAuthentication's body.
type VerifyRequest struct {
	AuthenticationType      string `json:"authenticationType"`
	AuthenticationRequestId string `json:"authenticationRequestId"`
	AuthenticationValue     string `json:"authenticationValue"`
}

// VerifyResponse is verifyAuthentication's answer.
type VerifyResponse struct {
	Result   Result `json:"result"`
	IsPassed Bool   `json:"isPassed"`
}

// Bool reads a JSON boolean or the strings "true"/"false": Antom's docs
// ask for every field as a string ("set it as \"true\""), while the SDKs
// read isPassed as a boolean. It is written as a JSON boolean.
type Bool bool

// UnmarshalJSON accepts true, false, "true" and "false".
func (b *Bool) UnmarshalJSON(data []byte) error {
	data = bytes.Trim(data, `"`)
	v, err := strconv.ParseBool(string(data))
	if err != nil {
		return err
	}
	*b = Bool(v)
	return nil
}

// InitAuthentication asks Antom to send an OTP. A U is repeated with the
// same body until S, F or ctx's deadline.
func (c *Client) InitAuthentication(ctx context.Context, req InitRequest) (InitResponse, error) {
	return send[InitResponse](ctx, c, APIInit, req.AuthenticationRequestId, req)
}

// VerifyAuthentication checks the OTP the user typed against the one init
// sent for the same authenticationRequestId.
func (c *Client) VerifyAuthentication(ctx context.Context, req VerifyRequest) (VerifyResponse, error) {
	return send[VerifyResponse](ctx, c, APIVerify, req.AuthenticationRequestId, req)
}

// send encodes req once, and calls api with those bytes: they are signed
// and sent on every attempt. requestID is req's authenticationRequestId.
func send[Resp any](ctx context.Context, c *Client, api, requestID string, req any) (Resp, error) {
	var out Resp
	body, err := json.Marshal(req)
	if err != nil {
		return out, &apierr.Error{Code: apierr.InternalError, Message: "The request could not be encoded.", Err: err}
	}
	err = c.call(ctx, api, requestID, body, &out)
	return out, err
}
