// Package e2e is what the end-to-end suites share: a built function started
// against the emulator with the settings every suite gives it, its traffic
// checked against the API document, and HTTP calls that read the answer.
// Each suite adds only what its own test is about.
package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/internal/contract"
	"github.com/idverify/fc-kyc/internal/registry"
	"github.com/idverify/fc-kyc/pkg/emulator"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

// Skip skips t under -short: the end-to-end suites build and run binaries.
func Skip(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: builds and runs binaries")
	}
}

// Emulator starts the upstream emulator and returns its process and a
// client of its control API.
func Emulator(t testing.TB, env ...string) (*testproc.Proc, *emulator.Remote) {
	t.Helper()
	p := testproc.StartEmulator(t, env...)
	return p, &emulator.Remote{BaseURL: p.URL()}
}

// Function starts the built function name (as internal/registry lists it)
// with its client pointed at the emulator at emuURL, no caller
// authentication, a store of the test's own and a 5 s timeout; env comes
// after, so a suite overrides any of these. Its HTTP traffic is checked
// against api/openapi.yaml (internal/contract) until t ends.
func Function(t testing.TB, name, emuURL string, env ...string) *testproc.Proc {
	t.Helper()
	f, ok := registry.Lookup(name)
	if !ok {
		t.Fatalf("e2e.Function(%q): no such function in internal/registry", name)
	}
	base := []string{"AUTH_MODE=none", "FUNCTION_TIMEOUT_S=5", "STORE_URL=file://" + t.TempDir()}
	if f.Upstream != registry.None {
		base = append(base, emulator.ClientEnv(emulator.Upstream(f.Upstream), emuURL)...)
	}
	p := testproc.StartFunction(t, name, append(base, env...)...)
	contract.Register(t, name, p.URL())
	return p
}

// Answer is an HTTP answer: its status, headers and body, with a JSON body
// decoded into Body.
type Answer struct {
	Status int
	Header http.Header
	Raw    string
	Body   map[string]any
}

// Str is the string at path in a JSON answer ("" when there is none):
// Str("ResultObject", "TransactionId").
func (a Answer) Str(path ...string) string {
	var v any = a.Body
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	s, _ := v.(string)
	return s
}

// Post sends body as JSON: []byte and string as they are, anything else
// encoded. See Do.
func Post(t testing.TB, url string, headers map[string]string, body any) Answer {
	t.Helper()
	return Do(t, http.MethodPost, url, headers, body)
}

// Do sends a request with headers (Content-Type is application/json unless
// headers say otherwise) and reads the whole answer. An answer that says it
// is JSON must be JSON.
func Do(t testing.TB, method, url string, headers map[string]string, body any) Answer {
	t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		raw = b
	case string:
		raw = []byte(b)
	default:
		var err error
		raw, err = json.Marshal(b)
		require.NoError(t, err)
	}
	res, err := client.Do(newRequest(t, method, url, headers, raw))
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	a := Answer{Status: res.StatusCode, Header: res.Header, Raw: string(b)}
	if mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type")); mt == "application/json" && len(bytes.TrimSpace(b)) > 0 {
		require.NoError(t, json.Unmarshal(b, &a.Body), "answer is JSON: %s", b)
	}
	return a
}

// newRequest is a request with headers on top of Content-Type
// application/json.
func newRequest(t testing.TB, method, url string, headers map[string]string, body []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return req
}

// client is http.DefaultClient's transport (which internal/contract wraps)
// with a bound, so a hung function fails its test instead of the package.
var client = &http.Client{Timeout: 30 * time.Second}
