package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/idverify/fc-kyc/internal/handlerbench"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

// benchFunction is the function's full HTTP handler (runtime adapter,
// routing, decoding, checks, signing, answer verification) against gateway.
func benchFunction(b *testing.B, gateway string) http.Handler {
	return handlerbench.Handler(function(&Handler{Upstream: antomClient(b, gateway)}))
}

// BenchmarkInitAgainstEmulator is one initAuthentication, signed, sent over
// loopback to the emulator running as its own process, its signed answer
// verified: allocs/op counts the function's work only (ns/op includes the
// emulator's verification and signing, two more RSA operations). Each
// iteration uses a new id and user, so every one is a real send.
func BenchmarkInitAgainstEmulator(b *testing.B) {
	emu := testproc.StartEmulator(b)
	h := benchFunction(b, emu.URL())
	n := 0
	for b.Loop() {
		n++
		id := "bench-" + strconv.Itoa(n)
		body, _ := json.Marshal(initBody(id, "user-"+id))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(body))))
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

// BenchmarkRefused is a request refused by the checks: no key operation,
// no upstream call.
func BenchmarkRefused(b *testing.B) {
	handlerbench.Serve(b, benchFunction(b, "http://127.0.0.1:1"), with(initBody("id", walletToken), "authenticationChannelType", "FAX"), http.StatusBadRequest)
}
