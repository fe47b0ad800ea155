package frontdoor_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/fcrt"
	"github.com/idverify/fc-kyc/pkg/frontdoor"
	"github.com/idverify/fc-kyc/pkg/ratelimit"
)

var rule = ratelimit.Rule{Limit: 5, Window: time.Minute}

func TestBuildPutsTheDoorBeforeTheAPI(t *testing.T) {
	const key = "caller-api-key-0123456789abcdef0123456789"
	sum := sha256.Sum256([]byte(key))
	t.Setenv("AUTH_MODE", "apikey")
	t.Setenv("API_KEY_HASHES", hex.EncodeToString(sum[:]))
	t.Setenv("STORE_URL", "file://"+t.TempDir())

	var got frontdoor.Door
	f, err := frontdoor.Build("ekyc-init", rule, rule, func(d frontdoor.Door) (fcrt.Function, error) {
		got = d
		return fcrt.Function{Name: "ekyc-init", HTTP: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusTeapot) // reached the API
		})}, nil
	})
	require.NoError(t, err)
	assert.NotNil(t, got.Store, "build gets the store")
	assert.NotNil(t, got.Limits, "build gets the limits")
	require.NotNil(t, f.Ready, "Ready is the store's check")
	assert.NoError(t, f.Ready())

	call := func(apiKey string) int {
		req := httptest.NewRequest(http.MethodPost, "/", nil)
		if apiKey != "" {
			req.Header.Set("X-Api-Key", apiKey)
		}
		rec := httptest.NewRecorder()
		f.HTTP.ServeHTTP(rec, req)
		return rec.Code
	}
	assert.Equal(t, http.StatusUnauthorized, call(""), "no key: refused before the API")
	assert.Equal(t, http.StatusUnauthorized, call("wrong-key-0123456789abcdef0123456789abcd"))
	assert.Equal(t, http.StatusTeapot, call(key), "a known key reaches the API")
}

func TestBuildStopsAtTheFirstBadSetting(t *testing.T) {
	t.Setenv("STORE_URL", "file://"+t.TempDir())
	built := false
	build := func(frontdoor.Door) (fcrt.Function, error) {
		built = true
		return fcrt.Function{HTTP: http.NotFoundHandler()}, nil
	}

	t.Setenv("AUTH_MODE", "")
	_, err := frontdoor.Build("ekyc-init", rule, rule, build)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "AUTH_MODE")
	assert.False(t, built, "the function's own configuration is not read behind a bad door")

	t.Setenv("AUTH_MODE", "none")
	bad := errors.New("EKYC_CALLBACK_URL: not https")
	_, err = frontdoor.Build("ekyc-init", rule, rule, func(frontdoor.Door) (fcrt.Function, error) { return fcrt.Function{}, bad })
	assert.ErrorIs(t, err, bad)
}
