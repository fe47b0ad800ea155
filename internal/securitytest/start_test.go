package securitytest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/internal/e2e"
	"github.com/idverify/fc-kyc/internal/registry"
	"github.com/idverify/fc-kyc/pkg/emulator"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

// authenticatedFunctions lists every function with a front door
// (internal/registry): those that read AUTH_MODE, whatever their number when
// the test runs.
func authenticatedFunctions(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, f := range registry.Functions {
		if f.FrontDoor {
			out = append(out, f.Name)
		}
	}
	for _, fn := range []string{"ekyc-init", "bank-verify", "zhima-init", "otp-init"} {
		require.Contains(t, out, fn, "every init function checks its callers")
	}
	return out
}

func TestStartRefusesMissingOrMalformedSecurityConfiguration(t *testing.T) {
	e2e.Skip(t)
	keyFile := filepath.Join(t.TempDir(), "key.pem")
	require.NoError(t, os.WriteFile(keyFile, []byte("-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n"), 0o600))
	jwt := []string{"AUTH_MODE=jwt", "AUTH_JWT_ISSUER=" + issuer, "AUTH_JWT_AUDIENCE=" + audience, "AUTH_SUBJECT_SECRET=" + subjectSecret}
	tests := []struct {
		name string
		env  []string
		want string // the variable the message must name
	}{
		{"no AUTH_MODE", nil, "AUTH_MODE is required"},
		{"unknown AUTH_MODE", []string{"AUTH_MODE=open"}, "AUTH_MODE"},
		{"apikey without hashes", []string{"AUTH_MODE=apikey"}, "API_KEY_HASHES"},
		{"apikey with a malformed hash", []string{"AUTH_MODE=apikey", "API_KEY_HASHES=not-a-sha256"}, "API_KEY_HASHES"},
		{"jwt without issuer", []string{"AUTH_MODE=jwt", "AUTH_JWT_AUDIENCE=a"}, "AUTH_JWT_ISSUER"},
		{"jwt without audience", []string{"AUTH_MODE=jwt", "AUTH_JWT_ISSUER=" + issuer}, "AUTH_JWT_AUDIENCE"},
		{"jwt without key", jwt, "AUTH_JWKS_URL"},
		{"jwt without subject secret", []string{"AUTH_MODE=jwt", "AUTH_JWT_ISSUER=" + issuer, "AUTH_JWT_AUDIENCE=" + audience, "AUTH_JWT_PUBLIC_KEY_FILE=" + newIDP(t).pemFile}, "AUTH_SUBJECT_SECRET"},
		{"jwt with a short subject secret", append([]string{"AUTH_MODE=jwt", "AUTH_JWT_ISSUER=" + issuer, "AUTH_JWT_AUDIENCE=" + audience, "AUTH_JWT_PUBLIC_KEY_FILE=" + newIDP(t).pemFile}, "AUTH_SUBJECT_SECRET=short"), "AUTH_SUBJECT_SECRET"},
		{"jwt with a malformed PEM key", append(jwt, "AUTH_JWT_PUBLIC_KEY=-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"), "AUTH_JWT_PUBLIC_KEY"},
		{"jwt with a malformed key file", append(jwt, "AUTH_JWT_PUBLIC_KEY_FILE="+keyFile), "AUTH_JWT_PUBLIC_KEY"},
		{"jwt with a missing key file", append(jwt, "AUTH_JWT_PUBLIC_KEY_FILE="+keyFile+".gone"), "AUTH_JWT_PUBLIC_KEY_FILE"},
		{"jwt with a malformed JWKS", append(jwt, `AUTH_JWKS={"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}`), "AUTH_JWKS"},
		{"jwt with a JWKS URL over http", append(jwt, "AUTH_JWKS_URL=http://idp.example.com/jwks"), "AUTH_JWKS_URL"},
		{"jwt with an unreachable JWKS URL", append(jwt, "AUTH_JWKS_URL=http://127.0.0.1:"+testproc.FreePort(t)+"/jwks"), "AUTH_JWKS_URL"},
		{"CORS wildcard", []string{"AUTH_MODE=none", "CORS_ALLOWED_ORIGINS=*"}, "CORS_ALLOWED_ORIGINS"},
		{"malformed limit", []string{"AUTH_MODE=none", "RATE_LIMIT_PER_SUBJECT=lots"}, "RATE_LIMIT_PER_SUBJECT"},
		{"malformed caller limit", []string{"AUTH_MODE=none", "RATE_LIMIT_PER_CALLER=10"}, "RATE_LIMIT_PER_CALLER"},
	}
	for _, fn := range authenticatedFunctions(t) {
		for _, tt := range tests {
			t.Run(fn+"/"+tt.name, func(t *testing.T) {
				out := e2e.StartFails(t, fn, append(append(upstreamEnv(fn), "STORE_URL=file://"+t.TempDir()), tt.env...)...)
				assert.Contains(t, out, tt.want)
				assert.Contains(t, out, "function stopped")
			})
		}
	}
}

// upstreamEnv is a valid upstream configuration for fn (its upstream is not
// called at start), so that the security settings are what stops it.
func upstreamEnv(fn string) []string {
	if f, ok := registry.Lookup(fn); ok && f.Upstream != registry.None {
		return emulator.ClientEnv(emulator.Upstream(f.Upstream), "http://127.0.0.1:9")
	}
	return nil
}
