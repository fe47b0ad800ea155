package securitytest

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/internal/contract"
	"github.com/idverify/fc-kyc/pkg/emulator"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

const (
	modulePath = "github.com/idverify/fc-kyc"
	issuer     = "https://idp.shop.example/"
	audience   = "kyc-functions"
)

func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: builds and runs binaries")
	}
}

// emu is one emulator process.
type emu struct {
	url string
	*emulator.Remote
}

func startEmulator(t *testing.T) emu {
	t.Helper()
	p := testproc.StartEmulator(t)
	return emu{url: p.URL(), Remote: &emulator.Remote{BaseURL: p.URL()}}
}

// requests is how many requests for action reached the emulator.
func (e emu) requests(t *testing.T, action string) int64 {
	t.Helper()
	st, err := e.Stats()
	require.NoError(t, err)
	return st.Requests[action]
}

// startFunction runs functions/<name> against e, with its own file store,
// and env on top.
func startFunction(t *testing.T, name string, e emu, env ...string) *testproc.Proc {
	t.Helper()
	all := append([]string{
		"FUNCTION_TIMEOUT_S=5", // StartFunction trusts x-fc-control-path; env may say TRUST_CONTROL_PATH=false
		"CLOUDAUTH_ENDPOINT=" + e.url,
		"ALIBABA_CLOUD_ACCESS_KEY_ID=" + emulator.DefaultAccessKeyID,
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + emulator.DefaultAccessKeySecret,
		"STORE_URL=file://" + t.TempDir(),
		"BANK_CARD_LIMIT_SECRET=securitytest-card-limit-key-0123456789", // bank-verify's per-card limit
	}, env...)
	p := testproc.StartFunction(t, name, all...)
	contract.Register(t, name, p.URL())
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.Output())
		}
	})
	return p
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

type answer struct {
	status int
	header http.Header
	raw    string
	body   map[string]any
}

func (a answer) str(key string) string { s, _ := a.body[key].(string); return s }

// post sends body (JSON-encoded unless it is a string) and reads the JSON
// answer.
func post(t *testing.T, url string, headers map[string]string, body any) answer {
	t.Helper()
	raw, ok := body.(string)
	if !ok {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		raw = string(b)
	}
	return do(t, http.MethodPost, url, headers, raw)
}

func do(t *testing.T, method, url string, headers map[string]string, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader([]byte(body)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	res, err := client.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	a := answer{status: res.StatusCode, header: res.Header, raw: string(b)}
	if len(bytes.TrimSpace(b)) > 0 {
		require.NoError(t, json.Unmarshal(b, &a.body), "answer is JSON: %s", b)
	}
	return a
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
