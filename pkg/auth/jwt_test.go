package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"maps"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	testIssuer   = "https://idp.example.com/"
	testAudience = "kyc-api"
)

// testSubjectKey is AUTH_SUBJECT_SECRET in these tests.
var testSubjectKey = []byte("0123456789abcdef0123456789abcdef")

// merchantSubjectID is how a merchant's backend computes the subject id of
// its user, written out here apart from SubjectID: HMAC-SHA256 under
// AUTH_SUBJECT_SECRET of iss, a zero byte, sub; lowercase hex.
func merchantSubjectID(key []byte, iss, sub string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(iss + "\x00" + sub))
	return hex.EncodeToString(m.Sum(nil))
}

// Keys are generated once per test binary: RSA generation is slow.
var (
	rsaKey, otherRSAKey *rsa.PrivateKey
	ecKey               *ecdsa.PrivateKey
)

func TestMain(m *testing.M) {
	rsaKey, _ = rsa.GenerateKey(rand.Reader, 2048)
	otherRSAKey, _ = rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	os.Exit(m.Run())
}

func pemOf(t testing.TB, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func rsaJWK(kid string, k *rsa.PublicKey) map[string]any {
	return map[string]any{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
		"n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())}
}

func ecJWK(kid string, k *ecdsa.PublicKey) map[string]any {
	raw, _ := k.Bytes() // 0x04 || x || y
	return map[string]any{"kty": "EC", "kid": kid, "crv": "P-256", "x": b64(raw[1:33]), "y": b64(raw[33:])}
}

func jwksDoc(t testing.TB, keys ...map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"keys": keys})
	require.NoError(t, err)
	return b
}

// token signs claims; a kid of "" leaves the header without one.
func token(t testing.TB, method jwt.SigningMethod, key any, kid string, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	require.NoError(t, err)
	return s
}

func goodClaims() jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{"iss": testIssuer, "aud": testAudience, "sub": "user-77",
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "azp": "web-app"}
}

func with(c jwt.MapClaims, k string, v any) jwt.MapClaims {
	out := jwt.MapClaims{}
	for kk, vv := range c {
		out[kk] = vv
	}
	if v == nil {
		delete(out, k)
	} else {
		out[k] = v
	}
	return out
}

func serve(t *testing.T, mw Middleware, authz string) (*httptest.ResponseRecorder, *seen) {
	t.Helper()
	var s seen
	r := httptest.NewRequest("POST", "/", nil)
	if authz != "" {
		r.Header.Set("Authorization", authz)
	}
	w := httptest.NewRecorder()
	mw(s.handler()).ServeHTTP(w, r)
	return w, &s
}

func TestJWT(t *testing.T) {
	keys, err := ParseJWKS(jwksDoc(t, rsaJWK("r1", &rsaKey.PublicKey), ecJWK("e1", &ecKey.PublicKey)))
	require.NoError(t, err)
	mw, err := JWT(JWTConfig{Issuer: testIssuer, Audience: []string{"other", testAudience}, Leeway: 30 * time.Second, Keys: keys, SubjectKey: testSubjectKey})
	require.NoError(t, err)
	now := time.Now()
	good := goodClaims()

	pass := []struct {
		name string
		tok  string
	}{
		{"RS256 with kid", token(t, jwt.SigningMethodRS256, rsaKey, "r1", good)},
		{"ES256 with kid", token(t, jwt.SigningMethodES256, ecKey, "e1", good)},
		{"RS256 without kid", token(t, jwt.SigningMethodRS256, rsaKey, "", good)},
		{"aud as a list", token(t, jwt.SigningMethodRS256, rsaKey, "r1", with(good, "aud", []string{"x", testAudience}))},
		{"expired within the leeway", token(t, jwt.SigningMethodRS256, rsaKey, "r1", with(good, "exp", now.Add(-10*time.Second).Unix()))},
		{"nbf within the leeway", token(t, jwt.SigningMethodRS256, rsaKey, "r1", with(good, "nbf", now.Add(10*time.Second).Unix()))},
	}
	for _, tt := range pass {
		t.Run("accepts "+tt.name, func(t *testing.T) {
			w, s := serve(t, mw, "Bearer "+tt.tok)
			require.Equal(t, 204, w.Code, w.Body.String())
			assert.Equal(t, merchantSubjectID(testSubjectKey, testIssuer, "user-77"), s.id.Subject)
			assert.Len(t, s.id.Subject, 64)
			assert.NotContains(t, s.id.Subject, "user-77")
			assert.NotEqual(t, digest(testIssuer, "user-77"), s.id.Subject, "an unkeyed hash could be found by hashing guessed subs")
			assert.Equal(t, "jwt:"+digest(testIssuer, "web-app")[:16], s.id.Caller)
		})
	}

	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, good)
	hsTok, err := hs.SignedString([]byte(pemOf(t, &rsaKey.PublicKey))) // alg confusion: the public key as an HMAC secret
	require.NoError(t, err)
	noneTok, err := jwt.NewWithClaims(jwt.SigningMethodNone, good).SignedString(jwt.UnsafeAllowNoneSignatureType)
	require.NoError(t, err)
	rs384, err := jwt.NewWithClaims(jwt.SigningMethodRS384, good).SignedString(rsaKey)
	require.NoError(t, err)

	refuse := []struct {
		name, authz, says string
	}{
		{"no token", "", "Authorization: Bearer"},
		{"not a JWT", "Bearer abc.def", "well-formed"},
		{"basic scheme", "Basic " + token(t, jwt.SigningMethodRS256, rsaKey, "r1", good), "Authorization: Bearer"},
		{"expired", "Bearer " + token(t, jwt.SigningMethodRS256, rsaKey, "r1", with(good, "exp", now.Add(-2*time.Minute).Unix())), "expired"},
		{"no exp", "Bearer " + token(t, jwt.SigningMethodRS256, rsaKey, "r1", with(good, "exp", nil)), "required claim"},
		{"nbf in the future", "Bearer " + token(t, jwt.SigningMethodRS256, rsaKey, "r1", with(good, "nbf", now.Add(2*time.Minute).Unix())), "not valid yet"},
		{"iat in the future", "Bearer " + token(t, jwt.SigningMethodRS256, rsaKey, "r1", with(good, "iat", now.Add(2*time.Minute).Unix())), "not valid yet"},
		{"wrong issuer", "Bearer " + token(t, jwt.SigningMethodRS256, rsaKey, "r1", with(good, "iss", "https://evil.example/")), "iss"},
		{"no issuer", "Bearer " + token(t, jwt.SigningMethodRS256, rsaKey, "r1", with(good, "iss", nil)), "required claim"},
		{"wrong audience", "Bearer " + token(t, jwt.SigningMethodRS256, rsaKey, "r1", with(good, "aud", "another-api")), "aud"},
		{"no audience", "Bearer " + token(t, jwt.SigningMethodRS256, rsaKey, "r1", with(good, "aud", nil)), "required claim"},
		{"no sub", "Bearer " + token(t, jwt.SigningMethodRS256, rsaKey, "r1", with(good, "sub", nil)), "required claim"},
		{"signed by another key", "Bearer " + token(t, jwt.SigningMethodRS256, otherRSAKey, "r1", good), "signature"},
		{"another key without kid", "Bearer " + token(t, jwt.SigningMethodRS256, otherRSAKey, "", good), "signature"},
		{"unknown kid", "Bearer " + token(t, jwt.SigningMethodRS256, rsaKey, "r9", good), "signature"},
		{"EC token naming the RSA kid", "Bearer " + token(t, jwt.SigningMethodES256, ecKey, "r1", good), "signature"},
		{"HS256 with the public key as secret", "Bearer " + hsTok, "signature"},
		{"alg none", "Bearer " + noneTok, "signature"},
		{"RS384", "Bearer " + rs384, "signature"},
	}
	for _, tt := range refuse {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			w, s := serve(t, mw, tt.authz)
			assert.Equal(t, 401, w.Code)
			assert.False(t, s.called, "nothing behind the middleware runs")
			var body struct{ Code, Message string }
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body))
			assert.Equal(t, "Unauthorized", body.Code)
			assert.Contains(t, body.Message, tt.says)
			assert.Equal(t, `Bearer realm="api"`, w.Header().Get("WWW-Authenticate"))
		})
	}
}

func TestJWTWithPEM(t *testing.T) {
	keys, err := ParsePublicKeys(pemOf(t, &ecKey.PublicKey) + pemOf(t, &rsaKey.PublicKey))
	require.NoError(t, err)
	assert.Equal(t, 2, keys.Len())
	mw := testJWT(t, keys)
	w, _ := serve(t, mw, "Bearer "+token(t, jwt.SigningMethodES256, ecKey, "", goodClaims()))
	assert.Equal(t, 204, w.Code, w.Body.String())
	w, _ = serve(t, mw, "Bearer "+token(t, jwt.SigningMethodRS256, rsaKey, "", goodClaims()))
	assert.Equal(t, 204, w.Code, w.Body.String())
	w, _ = serve(t, mw, "Bearer "+token(t, jwt.SigningMethodRS256, rsaKey, "a-kid", goodClaims()))
	assert.Equal(t, 204, w.Code, "PEM keys have no kid: a token's kid does not rule them out")
	w, _ = serve(t, mw, "Bearer "+token(t, jwt.SigningMethodRS256, otherRSAKey, "", goodClaims()))
	assert.Equal(t, 401, w.Code)
}

func TestParsePublicKeys(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(&ecKey.PublicKey)
	require.NoError(t, err)
	privDER, err := x509.MarshalPKCS8PrivateKey(ecKey)
	require.NoError(t, err)
	tests := []struct {
		name, text, says string
	}{
		{"PEM", pemOf(t, &rsaKey.PublicKey), ""},
		{"PKCS#1 PEM", string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)})), ""},
		{"bare base64", base64.StdEncoding.EncodeToString(der), ""},
		{"garbage", "not a key", "not PEM and not base64"},
		{"private key", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})), "private key"},
		{"broken PEM body", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "not a readable public key"},
		{"RSA 1024", pemOf(t, &small.PublicKey), "too short"},
		{"P-384", pemOf(t, &p384.PublicKey), "P-256"},
		{"trailing junk", pemOf(t, &rsaKey.PublicKey) + "junk", "after the last PEM block"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ks, err := ParsePublicKeys(tt.text)
			if tt.says == "" {
				require.NoError(t, err)
				assert.Equal(t, 1, ks.Len())
				return
			}
			assert.ErrorContains(t, err, tt.says)
		})
	}
}

func TestParseJWKS(t *testing.T) {
	bad := rsaJWK("b", &rsaKey.PublicKey)
	bad["n"] = "!!"
	offCurve := ecJWK("c", &ecKey.PublicKey)
	offCurve["y"] = offCurve["x"]
	enc := rsaJWK("enc", &otherRSAKey.PublicKey)
	enc["use"] = "enc"
	hs := map[string]any{"kty": "oct", "k": "c2VjcmV0"}
	tests := []struct {
		name string
		doc  []byte
		n    int
		says string
	}{
		{"RSA and EC", jwksDoc(t, rsaJWK("r", &rsaKey.PublicKey), ecJWK("e", &ecKey.PublicKey)), 2, ""},
		{"skips encryption and symmetric keys", jwksDoc(t, enc, hs, ecJWK("e", &ecKey.PublicKey)), 1, ""},
		{"only unusable keys", jwksDoc(t, enc, hs), 0, "no RS256 or ES256"},
		{"bad modulus", jwksDoc(t, bad), 0, `kid "b"`},
		{"point off the curve", jwksDoc(t, offCurve), 0, "not a point on P-256"},
		{"not JSON", []byte("keys"), 0, "not a JWKS document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ks, err := ParseJWKS(tt.doc)
			if succeeds(t, err, tt.says) {
				assert.Equal(t, tt.n, ks.Len())
			}
		})
	}
}

// jwksServer is an identity provider: it serves whatever doc holds and
// counts the fetches. While slow is set it answers a fetch only when the
// test says so: started receives one value per fetch as it arrives, and
// each fetch waits for a value on release.
type jwksServer struct {
	*httptest.Server
	doc     atomic.Value
	fetches atomic.Int64
	slow    atomic.Bool
	started chan struct{}
	release chan struct{}
}

func newJWKSServer(t *testing.T, doc []byte) *jwksServer {
	s := &jwksServer{started: make(chan struct{}, 16), release: make(chan struct{})}
	s.doc.Store(doc)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		if s.slow.Load() {
			s.started <- struct{}{}
			select {
			case <-s.release:
			case <-r.Context().Done():
				return
			}
		}
		_, _ = w.Write(s.doc.Load().([]byte))
	}))
	t.Cleanup(func() { close(s.release); s.Close() })
	return s
}

// loadedKeys is a RemoteKeys on url that has fetched its keys once.
func loadedKeys(t *testing.T, url string, refresh time.Duration) *RemoteKeys {
	t.Helper()
	rk := &RemoteKeys{URL: url, Refresh: refresh}
	require.NoError(t, rk.Load(t.Context()))
	return rk
}

// allowRefetch moves rk's last fetch back past refetchGap, as if a minute
// had passed: its next unknown kid or stale cache fetches again.
func allowRefetch(rk *RemoteKeys) {
	rk.mu.Lock()
	rk.tried = time.Now().Add(-2 * refetchGap)
	rk.mu.Unlock()
}

// testJWT is the JWT middleware with the test's issuer, audience and
// subject key over keys.
func testJWT(t testing.TB, keys KeySource) Middleware {
	t.Helper()
	mw, err := JWT(JWTConfig{Issuer: testIssuer, Audience: []string{testAudience}, Keys: keys, SubjectKey: testSubjectKey})
	require.NoError(t, err)
	return mw
}

func TestRemoteKeysCacheAndRotation(t *testing.T) {
	srv := newJWKSServer(t, jwksDoc(t, rsaJWK("r1", &rsaKey.PublicKey)))
	rk := loadedKeys(t, srv.URL, 0)
	mw := testJWT(t, rk)

	for range 5 {
		w, _ := serve(t, mw, "Bearer "+token(t, jwt.SigningMethodRS256, rsaKey, "r1", goodClaims()))
		require.Equal(t, 204, w.Code)
	}
	assert.EqualValues(t, 1, srv.fetches.Load(), "cached: one fetch for six uses")

	// The provider rotates to a new key: a token with its kid makes the
	// function fetch again.
	srv.doc.Store(jwksDoc(t, rsaJWK("r2", &otherRSAKey.PublicKey)))
	allowRefetch(rk)
	w, _ := serve(t, mw, "Bearer "+token(t, jwt.SigningMethodRS256, otherRSAKey, "r2", goodClaims()))
	assert.Equal(t, 204, w.Code, w.Body.String())
	assert.EqualValues(t, 2, srv.fetches.Load())

	// Made-up kids right after do not make it fetch again.
	for range 5 {
		w, _ := serve(t, mw, "Bearer "+token(t, jwt.SigningMethodRS256, otherRSAKey, "made-up", goodClaims()))
		assert.Equal(t, 401, w.Code)
	}
	assert.EqualValues(t, 2, srv.fetches.Load(), "at most one fetch a minute for unknown kids")
}

func TestRemoteKeysKeepServingWhenTheProviderFails(t *testing.T) {
	srv := newJWKSServer(t, jwksDoc(t, rsaJWK("r1", &rsaKey.PublicKey)))
	rk := loadedKeys(t, srv.URL, time.Millisecond)
	srv.doc.Store([]byte("<html>maintenance</html>"))
	allowRefetch(rk)
	time.Sleep(2 * time.Millisecond) // past Refresh
	mw := testJWT(t, rk)
	w, _ := serve(t, mw, "Bearer "+token(t, jwt.SigningMethodRS256, rsaKey, "r1", goodClaims()))
	assert.Equal(t, 204, w.Code, "the keys already fetched stay in use")
	waitForFetch(rk)
	assert.EqualValues(t, 2, srv.fetches.Load(), "a stale cache was refetched")
	w, _ = serve(t, mw, "Bearer "+token(t, jwt.SigningMethodRS256, rsaKey, "r1", goodClaims()))
	assert.Equal(t, 204, w.Code, "the keys already fetched stay in use after the failed fetch")
}

// waitForFetch waits until no fetch of rk is in flight.
func waitForFetch(rk *RemoteKeys) {
	rk.mu.Lock()
	f := rk.flight
	rk.mu.Unlock()
	if f != nil {
		<-f.done
	}
}

func TestRemoteKeysFetchDoesNotDelayKnownKids(t *testing.T) {
	srv := newJWKSServer(t, jwksDoc(t, rsaJWK("r1", &rsaKey.PublicKey)))
	rk := loadedKeys(t, srv.URL, 0)
	mw := testJWT(t, rk)

	// The provider rotates and becomes slow; tokens with the new kid arrive.
	srv.doc.Store(jwksDoc(t, rsaJWK("r1", &rsaKey.PublicKey), rsaJWK("r2", &otherRSAKey.PublicKey)))
	srv.slow.Store(true)
	allowRefetch(rk)
	const waiting = 6
	unknown := make(chan int, waiting)
	newKid := "Bearer " + token(t, jwt.SigningMethodRS256, otherRSAKey, "r2", goodClaims())
	oldKid := "Bearer " + token(t, jwt.SigningMethodRS256, rsaKey, "r1", goodClaims())
	for range waiting {
		go func() {
			w, _ := serve(t, mw, newKid)
			unknown <- w.Code
		}()
	}
	<-srv.started // the fetch is in flight, held by the provider

	// Requests whose kid is cached are answered while it is.
	known := make(chan int)
	go func() {
		for range 3 {
			w, _ := serve(t, mw, oldKid)
			known <- w.Code
		}
	}()
	for range 3 {
		select {
		case code := <-known:
			assert.Equal(t, 204, code)
		case code := <-unknown:
			t.Fatalf("a token with an unknown kid was answered (%d) before those with a known kid: the fetch delayed them", code)
		case <-time.After(time.Minute): // a hang guard, not a measurement: the provider holds the fetch until released
			t.Fatal("a request whose kid is cached waited for the JWKS fetch")
		}
	}
	select {
	case code := <-unknown:
		t.Fatalf("a token with an unknown kid was answered (%d) before the fetch ended", code)
	default:
	}

	srv.release <- struct{}{}
	for range waiting {
		assert.Equal(t, 204, <-unknown, "the new key verifies once fetched")
	}
	assert.EqualValues(t, 2, srv.fetches.Load(), "one fetch at start, one for all the tokens with the new kid")
}

func TestJWTConfigFromEnv(t *testing.T) {
	dir := t.TempDir()
	pemFile := filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(pemFile, []byte(pemOf(t, &ecKey.PublicKey)), 0o600))
	jwksFile := filepath.Join(dir, "jwks.json")
	require.NoError(t, os.WriteFile(jwksFile, jwksDoc(t, ecJWK("e", &ecKey.PublicKey)), 0o600))
	srv := newJWKSServer(t, jwksDoc(t, rsaJWK("r1", &rsaKey.PublicKey)))
	notFound := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(notFound.Close)

	base := map[string]string{"AUTH_JWT_ISSUER": testIssuer, "AUTH_JWT_AUDIENCE": testAudience, "AUTH_SUBJECT_SECRET": string(testSubjectKey)}
	tests := []struct {
		name string
		env  map[string]string
		says string // "" means it must succeed
	}{
		{"PEM", map[string]string{"AUTH_JWT_PUBLIC_KEY": pemOf(t, &rsaKey.PublicKey)}, ""},
		{"PEM file", map[string]string{"AUTH_JWT_PUBLIC_KEY_FILE": pemFile}, ""},
		{"JWKS file", map[string]string{"AUTH_JWKS_FILE": jwksFile}, ""},
		{"JWKS URL on loopback", map[string]string{"AUTH_JWKS_URL": srv.URL}, ""},
		{"no issuer", map[string]string{"AUTH_JWT_ISSUER": "", "AUTH_JWT_PUBLIC_KEY": pemOf(t, &rsaKey.PublicKey)}, "AUTH_JWT_ISSUER"},
		{"no audience", map[string]string{"AUTH_JWT_AUDIENCE": "", "AUTH_JWT_PUBLIC_KEY": pemOf(t, &rsaKey.PublicKey)}, "AUTH_JWT_AUDIENCE"},
		{"no key", nil, "exactly one key source"},
		{"two keys", map[string]string{"AUTH_JWKS_FILE": jwksFile, "AUTH_JWT_PUBLIC_KEY": pemOf(t, &rsaKey.PublicKey)}, "exactly one key source"},
		{"malformed PEM", map[string]string{"AUTH_JWT_PUBLIC_KEY": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"}, "AUTH_JWT_PUBLIC_KEY"},
		{"malformed JWKS", map[string]string{"AUTH_JWKS": `{"keys":[{"kty":"RSA","n":"","e":"AQAB"}]}`}, "AUTH_JWKS"},
		{"JWKS file missing", map[string]string{"AUTH_JWKS_FILE": filepath.Join(dir, "nope.json")}, "AUTH_JWKS_FILE"},
		{"JWKS URL over http off loopback", map[string]string{"AUTH_JWKS_URL": "http://idp.example.com/jwks"}, "AUTH_JWKS_URL"},
		{"JWKS URL answering 404", map[string]string{"AUTH_JWKS_URL": notFound.URL}, "AUTH_JWKS_URL"},
		{"leeway too long", map[string]string{"AUTH_JWT_LEEWAY": "1h", "AUTH_JWT_PUBLIC_KEY": pemOf(t, &rsaKey.PublicKey)}, "AUTH_JWT_LEEWAY"},
		{"no subject secret", map[string]string{"AUTH_SUBJECT_SECRET": "", "AUTH_JWT_PUBLIC_KEY": pemOf(t, &rsaKey.PublicKey)}, "AUTH_SUBJECT_SECRET is required with AUTH_MODE=jwt"},
		{"short subject secret", map[string]string{"AUTH_SUBJECT_SECRET": "short", "AUTH_JWT_PUBLIC_KEY": pemOf(t, &rsaKey.PublicKey)}, "AUTH_SUBJECT_SECRET is 5 characters"},
		{"leeway not a duration", map[string]string{"AUTH_JWT_LEEWAY": "30", "AUTH_JWT_PUBLIC_KEY": pemOf(t, &rsaKey.PublicKey)}, "AUTH_JWT_LEEWAY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"AUTH_MODE": "jwt"}
			maps.Copy(env, base)
			maps.Copy(env, tt.env)
			checkFromEnv(t, env, tt.says)
		})
	}
}

func TestSecureRedirect(t *testing.T) {
	req := func(u string) *http.Request { r, _ := http.NewRequest("GET", u, nil); return r }
	assert.NoError(t, secureRedirect(req("https://idp.example.com/jwks"), nil))
	assert.NoError(t, secureRedirect(req("http://127.0.0.1:8080/jwks"), nil))
	assert.ErrorContains(t, secureRedirect(req("http://idp.example.com/jwks"), nil), "not https")
	assert.ErrorContains(t, secureRedirect(req("https://idp.example.com/jwks"), make([]*http.Request, 3)), "redirects")
}
