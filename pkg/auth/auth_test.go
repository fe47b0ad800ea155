package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func hash(k string) string { s := sha256.Sum256([]byte(k)); return hex.EncodeToString(s[:]) }

func TestFromEnvRequiresAnExplicitMode(t *testing.T) {
	tests := []struct {
		mode, hashes string
		wantErr      string
	}{
		{"", "", "AUTH_MODE is required"},
		{"open", "", "not one of"},
		{"jwt", "", "AUTH_JWT_ISSUER is required"},
		{"apikey", "", "API_KEY_HASHES is required"},
		{"apikey", "abc", "API_KEY_HASHES: item 1"},
		{"apikey", hash("k1") + ",zz", "API_KEY_HASHES: item 2"},
		{"apikey", hash("k1"), ""},
		{"none", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.mode+"/"+tt.hashes, func(t *testing.T) {
			checkFromEnv(t, map[string]string{"AUTH_MODE": tt.mode, "API_KEY_HASHES": tt.hashes}, tt.wantErr)
		})
	}
}

// checkFromEnv runs FromEnv with env set (an empty value unsets the
// variable) and checks that it fails saying says, or, when says is "",
// that it gives a middleware.
func checkFromEnv(t *testing.T, env map[string]string, says string) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v) // restored when the test ends
		if v == "" {
			os.Unsetenv(k)
		}
	}
	mw, err := FromEnv()
	if succeeds(t, err, says) {
		assert.NotNil(t, mw)
	}
}

// succeeds checks err: it must contain says, or be nil when says is "";
// it reports whether the call succeeded, for the caller to check the
// result.
func succeeds(t *testing.T, err error, says string) bool {
	t.Helper()
	if says != "" {
		assert.ErrorContains(t, err, says)
		return false
	}
	require.NoError(t, err)
	return true
}

// seen records the Identity the wrapped handler got.
type seen struct {
	called bool
	id     Identity
	ok     bool
}

func (s *seen) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.called = true
		s.id.Caller, s.ok = Caller(r.Context())
		s.id.Subject = Subject(r.Context())
		w.WriteHeader(204)
	})
}

func TestAPIKey(t *testing.T) {
	mw, err := APIKey([]string{hash("old-key"), hash("new-key")})
	require.NoError(t, err)
	tests := []struct {
		name   string
		header string
		value  string
		want   int
		caller string
	}{
		{"bearer new", "Authorization", "Bearer new-key", 204, "key:" + hash("new-key")[:16]},
		{"bearer old (rotation)", "Authorization", "bearer old-key", 204, "key:" + hash("old-key")[:16]},
		{"x-api-key", "X-Api-Key", "new-key", 204, "key:" + hash("new-key")[:16]},
		{"wrong key", "Authorization", "Bearer nope", 401, ""},
		{"hash instead of key", "X-Api-Key", hash("new-key"), 401, ""},
		{"none", "", "", 401, ""},
		{"basic scheme", "Authorization", "Basic new-key", 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s seen
			r := httptest.NewRequest("POST", "/", nil)
			if tt.header != "" {
				r.Header.Set(tt.header, tt.value)
			}
			w := httptest.NewRecorder()
			mw(s.handler()).ServeHTTP(w, r)
			assert.Equal(t, tt.want, w.Code)
			if tt.want == 401 {
				assert.False(t, s.called)
				assert.Contains(t, w.Body.String(), `"Code":"Unauthorized"`)
				assert.Equal(t, `Bearer realm="api"`, w.Header().Get("WWW-Authenticate"))
				return
			}
			assert.True(t, s.ok)
			assert.Equal(t, tt.caller, s.id.Caller)
			assert.Empty(t, s.id.Subject, "an API key names a caller, not an end user")
		})
	}
}

func TestNoneSetsNoIdentity(t *testing.T) {
	var s seen
	None()(s.handler()).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/", nil))
	assert.True(t, s.called)
	assert.False(t, s.ok, "no caller to count by")
	assert.Empty(t, s.id.Subject)
}

func TestNoIdentityWithoutMiddleware(t *testing.T) {
	// An event invocation never passes a middleware.
	r := httptest.NewRequest("POST", "/invoke", nil)
	_, ok := Caller(r.Context())
	assert.False(t, ok)
	assert.Empty(t, Subject(r.Context()))
}

func TestMatchKey(t *testing.T) {
	sums := [][]byte{}
	for _, k := range []string{"a", "b", "c"} {
		b, _ := hex.DecodeString(hash(k))
		sums = append(sums, b)
	}
	assert.Equal(t, 0, matchKey(sums, "a"))
	assert.Equal(t, 2, matchKey(sums, "c"))
	assert.Equal(t, -1, matchKey(sums, "d"))
	assert.Equal(t, -1, matchKey(sums, ""))
}
