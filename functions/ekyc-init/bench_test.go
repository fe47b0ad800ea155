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
// decoding, checks, upstream call) with up as its upstream.
func benchHandler(b *testing.B, up Initializer) http.Handler {
	h := &Handler{Upstream: up, Now: time.Now}
	api, event := fcrt.Operation(h.Initialize, fcrt.WithMaxBody(maxBody))
	return fcrt.Handler(fcrt.Function{Name: "ekyc-init", HTTP: api, Event: event},
		fcrt.Options{Timeout: 10 * time.Second, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
}

func benchBody(b *testing.B) []byte {
	raw, err := json.Marshal(validBody())
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

// BenchmarkRequestAgainstEmulator is one Initialize through the function's
// handler, signed and sent over loopback to the emulator running as its own
// process, so allocs/op counts the function's work only (ns/op includes the
// emulator's answer time).
func BenchmarkRequestAgainstEmulator(b *testing.B) {
	emu := testproc.StartEmulator(b)
	client, err := cloudauth.New(cloudauth.Config{Endpoint: emu.URL()})
	if err != nil {
		b.Fatal(err)
	}
	serve(b, benchHandler(b, client), benchBody(b), http.StatusOK)
}

// fixedUpstream answers at once, to show the function's own overhead.
type fixedUpstream struct{}

func (fixedUpstream) Initialize(context.Context, cloudauth.InitializeRequest) (*cloudauth.InitializeResponse, error) {
	return &cloudauth.InitializeResponse{RequestId: "R", Code: "Success", Result: cloudauth.InitializeResult{TransactionId: "hk1"}}, nil
}

// BenchmarkRequestWithoutUpstream is the same request with an upstream that
// answers at once: the runtime adapter, decoding and checks alone.
func BenchmarkRequestWithoutUpstream(b *testing.B) {
	serve(b, benchHandler(b, fixedUpstream{}), benchBody(b), http.StatusOK)
}

// BenchmarkInvalidRequest is a request refused by the checks.
func BenchmarkInvalidRequest(b *testing.B) {
	m := validBody()
	m["DocType"] = "123"
	raw, _ := json.Marshal(m)
	serve(b, benchHandler(b, fixedUpstream{}), raw, http.StatusBadRequest)
}
