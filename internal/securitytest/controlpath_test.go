package securitytest

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/internal/e2e"
	"github.com/idverify/fc-kyc/pkg/emulator"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

// Off FC (no FC_FUNCTION_NAME, no TRUST_CONTROL_PATH) a client that sends
// x-fc-control-path: /invoke through whatever front door the binary sits
// behind does not reach the event path, which no caller authentication
// guards: it is an HTTP request like any other, and is refused without a
// key, with no upstream call. With a key it is served as the HTTP API.
func TestControlPathFromAClientOffFC(t *testing.T) {
	e2e.Skip(t)
	_, e := e2e.Emulator(t)
	// Not registered with the contract checker: the request below is an
	// event by its header, but this process rightly serves it as the HTTP
	// API. Off FC, and told nothing else, it trusts no control path.
	env := append([]string{"TRUST_CONTROL_PATH=false", "FUNCTION_TIMEOUT_S=5", "STORE_URL=file://" + t.TempDir()}, apiKeyEnv("key-one")...)
	p := testproc.StartFunction(t, "ekyc-init", append(env, emulator.ClientEnv(emulator.Cloudauth, e.BaseURL)...)...)
	body := initFunctions[0].body()
	before := requests(t, e, "Initialize")

	a := e2e.Post(t, p.URL()+"/invoke", event, body)
	assert.Equal(t, http.StatusUnauthorized, a.Status, "an event from a client off FC is an HTTP request, and needs a key: %s", a.Raw)
	assert.Empty(t, a.Header.Get("x-fc-status"), "answered as HTTP, not as an event")
	assert.Equal(t, before, requests(t, e, "Initialize"), "no upstream call")

	a = e2e.Post(t, p.URL()+"/invoke", map[string]string{"x-fc-control-path": "/invoke", "X-Api-Key": "key-one"}, body)
	require.Equal(t, http.StatusOK, a.Status, a.Raw)
	assert.Empty(t, a.Header.Get("x-fc-status"), "served as the HTTP API")
	assert.NotEmpty(t, a.Str("MerchantBizId"), "the HTTP API's answer: %s", a.Raw)
}
