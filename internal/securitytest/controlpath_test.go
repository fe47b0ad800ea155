package securitytest

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/emulator"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

// Off FC (no FC_FUNCTION_NAME, no TRUST_CONTROL_PATH) a client that sends
// x-fc-control-path: /invoke through whatever front door the binary sits
// behind does not reach the event path, which no caller authentication
// guards: it is an HTTP request like any other, and is refused without a
// key, with no upstream call. With a key it is served as the HTTP API.
func TestControlPathFromAClientOffFC(t *testing.T) {
	skipShort(t)
	e := startEmulator(t)
	sum := sha256.Sum256([]byte("key-one"))
	// Not registered with the contract checker: the request below is an
	// event by its header, but this process rightly serves it as the HTTP
	// API. Off FC, and told nothing else, it trusts no control path.
	p := testproc.StartFunction(t, "ekyc-init", "TRUST_CONTROL_PATH=false",
		"FUNCTION_TIMEOUT_S=5", "STORE_URL=file://"+t.TempDir(),
		"CLOUDAUTH_ENDPOINT="+e.url,
		"ALIBABA_CLOUD_ACCESS_KEY_ID="+emulator.DefaultAccessKeyID,
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET="+emulator.DefaultAccessKeySecret,
		"AUTH_MODE=apikey", "API_KEY_HASHES="+hex.EncodeToString(sum[:]))
	body := initFunctions[0].body()
	before := e.requests(t, "Initialize")

	a := post(t, p.URL()+"/invoke", event, body)
	assert.Equal(t, http.StatusUnauthorized, a.status, "an event from a client off FC is an HTTP request, and needs a key: %s", a.raw)
	assert.Empty(t, a.header.Get("x-fc-status"), "answered as HTTP, not as an event")
	assert.Equal(t, before, e.requests(t, "Initialize"), "no upstream call")

	a = post(t, p.URL()+"/invoke", map[string]string{"x-fc-control-path": "/invoke", "X-Api-Key": "key-one"}, body)
	require.Equal(t, http.StatusOK, a.status, a.raw)
	assert.Empty(t, a.header.Get("x-fc-status"), "served as the HTTP API")
	assert.NotEmpty(t, a.str("MerchantBizId"), "the HTTP API's answer: %s", a.raw)
}
