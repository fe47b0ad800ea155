package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/idverify/fc-kyc/pkg/cloudauth"
	"github.com/idverify/fc-kyc/pkg/emulator"
	"github.com/idverify/fc-kyc/pkg/fcrt"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

// benchHandler is the function's full HTTP handler (runtime adapter,
// decoding, checks, md5 forms, upstream call) with up as its upstream.
func benchHandler(up Verifier, hashPlaintext bool) http.Handler {
	h := &Handler{Upstream: up, HashPlaintext: hashPlaintext}
	api, event := fcrt.Operation(h.Verify, fcrt.WithMaxBody(maxBody))
	return fcrt.Handler(fcrt.Function{Name: "bank-verify", HTTP: api, Event: event},
		fcrt.Options{Timeout: 10 * time.Second, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
}

func benchBody(b *testing.B, m map[string]any) []byte {
	raw, err := json.Marshal(m)
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

func serve(b *testing.B, h http.Handler, body []byte, want int) {
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		r.Header.Set("x-fc-access-key-id", emulator.DefaultAccessKeyID)
		r.Header.Set("x-fc-access-key-secret", emulator.DefaultAccessKeySecret)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != want {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

// BenchmarkRequestAgainstEmulator is one 4-factor verification, hashed into
// the md5 forms inside the function, signed and sent over loopback to the
// emulator running as its own process: allocs/op counts the function's work
// only (ns/op includes the emulator's answer time).
func BenchmarkRequestAgainstEmulator(b *testing.B) {
	emu := testproc.StartEmulator(b)
	client, err := cloudauth.New(cloudauth.Config{Endpoint: emu.URL()})
	if err != nil {
		b.Fatal(err)
	}
	serve(b, benchHandler(client, true), benchBody(b, valid4()), http.StatusOK)
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
	serve(b, benchHandler(instantUpstream{}, true), benchBody(b, valid4()), http.StatusOK)
}

// BenchmarkInvalidRequest is a request refused by the checks.
func BenchmarkInvalidRequest(b *testing.B) {
	m := valid4()
	m["BankCard"] = "6222-0212-3456-7890"
	serve(b, benchHandler(instantUpstream{}, true), benchBody(b, m), http.StatusBadRequest)
}
