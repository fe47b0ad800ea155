package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/idverify/fc-kyc/internal/handlerbench"
	"github.com/idverify/fc-kyc/internal/testbody"
	"github.com/idverify/fc-kyc/pkg/cloudauth"
	"github.com/idverify/fc-kyc/pkg/fcrt"
)

// benchHandler is the function's full HTTP handler (runtime adapter,
// decoding, checks, upstream call) with up as its upstream.
func benchHandler(up Initializer) http.Handler {
	h := &Handler{Upstream: up, Now: time.Now}
	return handlerbench.Handler(fcrt.OperationFunction("ekyc-init", h.Initialize, fcrt.WithMaxBody(maxBody)))
}

// BenchmarkRequestAgainstEmulator is one Initialize through the function's
// handler, signed and sent over loopback to the emulator running as its own
// process, so allocs/op counts the function's work only (ns/op includes the
// emulator's answer time).
func BenchmarkRequestAgainstEmulator(b *testing.B) {
	client := handlerbench.Cloudauth(b, cloudauth.Config{})
	handlerbench.Serve(b, benchHandler(client), validBody(), http.StatusOK)
}

// fixedUpstream answers at once, to show the function's own overhead.
type fixedUpstream struct{}

func (fixedUpstream) Initialize(context.Context, cloudauth.InitializeRequest) (*cloudauth.InitializeResponse, error) {
	return &cloudauth.InitializeResponse{RequestId: "R", Code: "Success", Result: cloudauth.InitializeResult{TransactionId: "hk1"}}, nil
}

// BenchmarkRequestWithoutUpstream is the same request with an upstream that
// answers at once: the runtime adapter, decoding and checks alone.
func BenchmarkRequestWithoutUpstream(b *testing.B) {
	handlerbench.Serve(b, benchHandler(fixedUpstream{}), validBody(), http.StatusOK)
}

// BenchmarkInvalidRequest is a request refused by the checks.
func BenchmarkInvalidRequest(b *testing.B) {
	handlerbench.Serve(b, benchHandler(fixedUpstream{}), testbody.With(validBody(), "DocType", "123"), http.StatusBadRequest)
}
