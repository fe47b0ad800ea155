package devstack

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"regexp"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Audience is the aud of the development identity provider's tokens, and
// the functions' AUTH_JWT_AUDIENCE in the stack.
const Audience = "fc-kyc-devstack"

// tokenLife is how long a development token lives.
const tokenLife = time.Hour

// idp is the stack's development identity provider: an RS256 key made at
// start, its JWKS (which the functions fetch, AUTH_JWKS_URL, as they would
// a real provider's), and tokens for whatever test user a page names. It
// is for the loopback stack only: it signs for anybody who asks.
type idp struct {
	issuer string
	kid    string
	key    *rsa.PrivateKey
	now    func() time.Time
}

func newIDP(issuer string) (*idp, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	return &idp{issuer: issuer, kid: "devstack-" + rand.Text()[:8], key: key, now: time.Now}, nil
}

// jwks is the public key as a JWKS document.
func (p *idp) jwks() []byte {
	e := big.NewInt(int64(p.key.E)).Bytes()
	doc, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": p.kid,
		"n": base64.RawURLEncoding.EncodeToString(p.key.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(e),
	}}})
	return doc
}

// userName is what a test user may be called: short, and safe in a URL and
// a log line.
var userName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// token signs a token for user, as an identity provider issues one to the
// merchant's front-end (client devstack-demo).
func (p *idp) token(user string) (string, error) {
	if !userName.MatchString(user) {
		return "", errors.New("user must be 1 to 32 lowercase letters, digits, - and _ (such as alice)")
	}
	now := p.now()
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": p.issuer, "aud": Audience, "sub": user, "azp": "devstack-demo",
		"iat": now.Unix(), "exp": now.Add(tokenLife).Unix(),
	})
	t.Header["kid"] = p.kid
	return t.SignedString(p.key)
}

// serveJWKS answers GET /.well-known/jwks.json.
func (p *idp) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "max-age=300")
	_, _ = w.Write(p.jwks())
}

// serveToken answers GET /token?user=alice with {"token","user","expiresIn"},
// or the bare token with &format=text (for curl).
func (p *idp) serveToken(w http.ResponseWriter, r *http.Request) {
	user := r.URL.Query().Get("user")
	tok, err := p.token(user)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	if r.URL.Query().Get("format") == "text" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(tok + "\n"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"token": tok, "user": user, "expiresIn": int(tokenLife / time.Second)})
}
