package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/idverify/fc-kyc/internal/handlerbench"
	"github.com/idverify/fc-kyc/pkg/alipay"
	"github.com/idverify/fc-kyc/pkg/fcrt"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

// benchHandler is the function's full HTTP handler (runtime adapter, gateway
// answers, decoding, checks, upstream) with up as its upstream.
func benchHandler(up Gateway) http.Handler {
	h := &Handler{Upstream: up, ProductCode: DefaultProductCode, ReturnURL: returnURL, Now: time.Now}
	f := fcrt.OperationFunction("zhima-init", h.Initialize, fcrt.WithMaxBody(maxBody))
	f.ErrorShape = errorBody
	return handlerbench.Handler(f)
}

// BenchmarkRequestAgainstEmulator is one initialize: checks, two RSA2
// signatures (the call and the certify URL), the call over loopback to the
// emulator in its own process, and the answer's verification. ns/op
// includes the emulator's own verification and signing.
func BenchmarkRequestAgainstEmulator(b *testing.B) {
	emu := testproc.StartEmulator(b)
	handlerbench.Serve(b, benchHandler(alipayClient(b, emu.URL()+"/gateway.do")), validBody(), http.StatusOK)
}

// instantGateway answers at once, to show the function's own overhead.
type instantGateway struct{}

func (instantGateway) ZhimaInitialize(context.Context, alipay.ZhimaInitialize) (alipay.ZhimaInitialized, error) {
	return alipay.ZhimaInitialized{Code: "10000", Msg: "Success", BizNo: "044eb82564529b890aeb1a1f5ed42f33"}, nil
}

func (instantGateway) ZhimaCertifyURL(bizNo, _ string) (string, error) {
	return "https://openapi.alipay.com/gateway.do?biz_no=" + bizNo, nil
}

// BenchmarkRequestWithoutUpstream: runtime adapter, decoding and checks
// alone, without any signature.
func BenchmarkRequestWithoutUpstream(b *testing.B) {
	handlerbench.Serve(b, benchHandler(instantGateway{}), validBody(), http.StatusOK)
}

// BenchmarkInvalidRequest is a request refused by the checks, answered in
// the gateway's vocabulary.
func BenchmarkInvalidRequest(b *testing.B) {
	handlerbench.Serve(b, benchHandler(instantGateway{}), with("transaction_id", "bad-id"), http.StatusBadRequest)
}
