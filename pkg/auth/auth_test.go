package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
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
		{"jwt", "", "not available"},
		{"apikey", "", "API_KEY_HASHES is required"},
		{"apikey", "abc", "item 1"},
		{"apikey", hash("k1"), ""},
		{"none", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.mode+"/"+tt.hashes, func(t *testing.T) {
			t.Setenv("AUTH_MODE", tt.mode)
			t.Setenv("API_KEY_HASHES", tt.hashes)
			mw, err := FromEnv()
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.NotNil(t, mw)
		})
	}
}

func TestAPIKey(t *testing.T) {
	mw, err := APIKey([]string{hash("old-key"), hash("new-key")})
	require.NoError(t, err)
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	tests := []struct {
		name   string
		header string
		value  string
		want   int
	}{
		{"bearer new", "Authorization", "Bearer new-key", 204},
		{"bearer old (rotation)", "Authorization", "bearer old-key", 204},
		{"x-api-key", "X-Api-Key", "new-key", 204},
		{"wrong key", "Authorization", "Bearer nope", 401},
		{"hash instead of key", "X-Api-Key", hash("new-key"), 401},
		{"none", "", "", 401},
		{"basic scheme", "Authorization", "Basic new-key", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", nil)
			if tt.header != "" {
				r.Header.Set(tt.header, tt.value)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			assert.Equal(t, tt.want, w.Code)
			if tt.want == 401 {
				assert.Contains(t, w.Body.String(), `"Code":"Unauthorized"`)
			}
		})
	}
}
