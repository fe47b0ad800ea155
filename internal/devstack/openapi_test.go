package devstack_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/api"
	"github.com/idverify/fc-kyc/internal/devstack"
)

// TestResultsPortServesTheContract: a front-end developer running the
// stack reads the same api/openapi.yaml the tests hold the functions to.
func TestResultsPortServesTheContract(t *testing.T) {
	srv := httptest.NewServer(devstack.NewResults([]byte("whsec_test"), t.Logf).Handler())
	defer srv.Close()
	res, err := http.Get(srv.URL + "/openapi.yaml")
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "application/yaml", res.Header.Get("Content-Type"))
	assert.True(t, bytes.HasPrefix(body, []byte("openapi: 3.1")), "an OpenAPI 3.1 document")
	assert.Equal(t, api.OpenAPI, body, "the embedded api/openapi.yaml, byte for byte")
}
