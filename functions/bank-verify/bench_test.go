package main

import (
	"context"
	"net/http"
	"testing"

	"github.com/idverify/fc-kyc/internal/handlerbench"
	"github.com/idverify/fc-kyc/internal/testbody"
	"github.com/idverify/fc-kyc/pkg/cloudauth"
	"github.com/idverify/fc-kyc/pkg/fcrt"
)

// benchHandler is the function's full HTTP handler (runtime adapter,
// decoding, checks, md5 forms, upstream call) with up as its upstream.
func benchHandler(up Verifier, hashPlaintext bool) http.Handler {
	h := &Handler{Upstream: up, HashPlaintext: hashPlaintext}
	return handlerbench.Handler(fcrt.OperationFunction("bank-verify", h.Verify, fcrt.WithMaxBody(maxBody)))
}

// BenchmarkRequestAgainstEmulator is one 4-factor verification, hashed into
// the md5 forms inside the function, signed and sent over loopback to the
// emulator running as its own process: allocs/op counts the function's work
// only (ns/op includes the emulator's answer time).
func BenchmarkRequestAgainstEmulator(b *testing.B) {
	client := handlerbench.Cloudauth(b, cloudauth.Config{})
	handlerbench.Serve(b, benchHandler(client, true), valid4(), http.StatusOK)
}

// instantUpstream answers at once, to show the function's own overhead.
type instantUpstream struct{}

func (instantUpstream) BankMetaVerifyIntl(context.Context, cloudauth.BankMetaVerifyRequest) (*cloudauth.BankMetaVerifyResponse, error) {
	return &cloudauth.BankMetaVerifyResponse{RequestId: "R", Code: "200", Message: "success",
		ResultObject: cloudauth.BankMetaVerifyResult{BizCode: "1", SubCode: "101"}}, nil
}

// BenchmarkRequestWithoutUpstream: the runtime adapter, decoding, checks and
// md5 forms alone.
func BenchmarkRequestWithoutUpstream(b *testing.B) {
	handlerbench.Serve(b, benchHandler(instantUpstream{}, true), valid4(), http.StatusOK)
}

// BenchmarkInvalidRequest is a request refused by the checks.
func BenchmarkInvalidRequest(b *testing.B) {
	handlerbench.Serve(b, benchHandler(instantUpstream{}, true), testbody.With(valid4(), "BankCard", "6222-0212-3456-7890"), http.StatusBadRequest)
}
