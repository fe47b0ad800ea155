// Command zhima-init starts an Alipay Zhima certification
// (zhima.customer.certification.initialize over the RSA2-signed gateway) and
// answers its biz_no with the signed certify URL that takes the user on. See
// handler.go for the operation, answer.go for the error shape, record.go for
// the pending record and the return token the callback function checks, and
// docs/configuration.md for its configuration.
package main

import (
	"time"

	"github.com/idverify/fc-kyc/pkg/alipay"
	"github.com/idverify/fc-kyc/pkg/config"
	"github.com/idverify/fc-kyc/pkg/fcrt"
	"github.com/idverify/fc-kyc/pkg/frontdoor"
	"github.com/idverify/fc-kyc/pkg/idempotency"
	"github.com/idverify/fc-kyc/pkg/ratelimit"
)

// main serves zhima-init behind its front door, whose default limits are
// 600 calls a minute per caller and 20 an hour per subject.
func main() {
	frontdoor.Main("zhima-init", ratelimit.Rule{Limit: 600, Window: time.Minute}, ratelimit.Rule{Limit: 20, Window: time.Hour}, build)
}

// build reads the configuration once, at start: a missing or malformed key
// stops the function with a message naming its variable.
func build(door frontdoor.Door) (fcrt.Function, error) {
	client, err := alipay.FromEnv()
	if err != nil {
		return fcrt.Function{}, err
	}
	h := &Handler{Upstream: client, Now: time.Now, Store: door.Store, Limits: door.Limits}
	if h.ProductCode, err = config.String("ZHIMA_PRODUCT_CODE", DefaultProductCode); err != nil {
		return fcrt.Function{}, err
	}
	if h.ReturnURL, h.Tokens, err = returnConfig(); err != nil {
		return fcrt.Function{}, err
	}
	if h.Starts, err = idempotency.FromEnv(h.Store); err != nil {
		return fcrt.Function{}, err
	}
	f := fcrt.OperationFunction("zhima-init", h.Initialize, fcrt.WithMaxBody(maxBody))
	f.ErrorShape = errorBody
	return f, nil
}
