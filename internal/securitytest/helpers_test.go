package securitytest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/internal/contract"
	"github.com/idverify/fc-kyc/internal/e2e"
	"github.com/idverify/fc-kyc/pkg/emulator"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

const (
	issuer   = "https://idp.shop.example/"
	audience = "kyc-functions"
)

// requests is how many requests for action reached the emulator e.
func requests(t *testing.T, e *emulator.Remote, action string) int64 {
	t.Helper()
	st, err := e.Stats()
	require.NoError(t, err)
	return st.Requests[action]
}

// startFunction is e2e.Function, with the key of bank-verify's per-card
// limit every function here is given, and env on top.
func startFunction(t *testing.T, name string, e *emulator.Remote, env ...string) *testproc.Proc {
	t.Helper()
	return e2e.Function(t, name, e.BaseURL, append([]string{"BANK_CARD_LIMIT_SECRET=securitytest-card-limit-key-0123456789"}, env...)...)
}

// apiKeyEnv is the configuration of AUTH_MODE=apikey accepting keys.
func apiKeyEnv(keys ...string) []string {
	hashes := make([]string, len(keys))
	for i, k := range keys {
		hashes[i] = keyHash(k)
	}
	return []string{"AUTH_MODE=apikey", "API_KEY_HASHES=" + strings.Join(hashes, ",")}
}

// keyHash is an API key's entry in API_KEY_HASHES: its SHA-256 in hex.
func keyHash(key string) string {
	s := sha256.Sum256([]byte(key))
	return hex.EncodeToString(s[:])
}

// The identity provider's key and a stranger's, made once per test binary
// (RSA generation is slow on a shared machine).
var (
	idpOnce, strangerOnce sync.Once
	idpKey, strangerKey   *rsa.PrivateKey
)

// stranger is a key the functions do not trust.
func stranger(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	strangerOnce.Do(func() {
		var err error
		if strangerKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return strangerKey
}

type idp struct {
	key     *rsa.PrivateKey
	pemFile string // the public key, as AUTH_JWT_PUBLIC_KEY_FILE reads it
}

func newIDP(t *testing.T) idp {
	t.Helper()
	idpOnce.Do(func() {
		var err error
		idpKey, err = rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
	})
	der, err := x509.MarshalPKIXPublicKey(&idpKey.PublicKey)
	require.NoError(t, err)
	f := filepath.Join(t.TempDir(), "idp.pem")
	require.NoError(t, os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600))
	return idp{key: idpKey, pemFile: f}
}

// env is the configuration of AUTH_MODE=jwt trusting this provider.
func (p idp) env() []string {
	return []string{"AUTH_MODE=jwt", "AUTH_JWT_ISSUER=" + issuer, "AUTH_JWT_AUDIENCE=" + audience, "AUTH_SUBJECT_SECRET=" + subjectSecret, "AUTH_JWT_PUBLIC_KEY_FILE=" + p.pemFile}
}

// subjectSecret is AUTH_SUBJECT_SECRET under AUTH_MODE=jwt here.
const subjectSecret = "securitytest-subject-secret-0123456789"

// token is a valid token for sub; change edits its claims first.
func (p idp) token(t *testing.T, sub string, change func(jwt.MapClaims)) string {
	t.Helper()
	return signToken(t, p.key, sub, change)
}

func signToken(t *testing.T, key *rsa.PrivateKey, sub string, change func(jwt.MapClaims)) string {
	t.Helper()
	now := time.Now()
	c := jwt.MapClaims{"iss": issuer, "aud": audience, "sub": sub, "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
	if change != nil {
		change(c)
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, c).SignedString(key)
	require.NoError(t, err)
	return s
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

var event = map[string]string{"x-fc-control-path": "/invoke"}

// refused is headers plus the mark of a request that breaks the contract
// on purpose (internal/contract then checks only its answer).
func refused(headers map[string]string) map[string]string {
	out := map[string]string{contract.InvalidHeader: "1"}
	for k, v := range headers {
		out[k] = v
	}
	return out
}
