package securitytest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/idverify/fc-kyc/internal/e2e"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The two init functions, each with a valid request and its upstream action.
var initFunctions = []struct {
	name, action string
	body         func() map[string]any
}{
	{"ekyc-init", "Initialize", func() map[string]any {
		return map[string]any{"MetaInfo": map[string]any{"zimVer": "3.0.0", "deviceType": "h5"}, "MerchantUserId": "body-user-1", "DocType": "01560000"}
	}},
	{"bank-verify", "BankMetaVerifyIntl", func() map[string]any {
		return map[string]any{"ProductType": "BANK_CARD_2_META", "BankCard": "6222020101987654", "UserName": "欧阳明月"}
	}},
}

// hashedSub is what the functions must send upstream for a token's sub,
// computed here independently of package auth, as a merchant's backend
// does (docs/security.md): HMAC-SHA256 under AUTH_SUBJECT_SECRET of iss, a
// zero byte and sub, in lowercase hex.
func hashedSub(sub string) string {
	m := hmac.New(sha256.New, []byte(subjectSecret))
	m.Write([]byte(issuer + "\x00" + sub))
	return hex.EncodeToString(m.Sum(nil))
}

func TestJWTMode(t *testing.T) {
	e2e.Skip(t)
	_, e := e2e.Emulator(t)
	p := newIDP(t)

	for _, fn := range initFunctions {
		t.Run(fn.name, func(t *testing.T) {
			proc := startFunction(t, fn.name, e, p.env()...)
			refused := map[string]map[string]string{
				"no token":       nil,
				"expired":        bearer(p.token(t, "u-1", func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-5 * time.Minute).Unix() })),
				"wrongly signed": bearer(signToken(t, stranger(t), "u-1", nil)),
				"wrong audience": bearer(p.token(t, "u-1", func(c jwt.MapClaims) { c["aud"] = "another-api" })),
				"wrong issuer":   bearer(p.token(t, "u-1", func(c jwt.MapClaims) { c["iss"] = "https://evil.example/" })),
				"not yet valid":  bearer(p.token(t, "u-1", func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(5 * time.Minute).Unix() })),
				"an API key":     {"X-Api-Key": "k"},
			}
			before := requests(t, e, fn.action)
			for name, h := range refused {
				a := e2e.Post(t, proc.URL()+"/", h, fn.body())
				assert.Equal(t, http.StatusUnauthorized, a.Status, name)
				assert.Equal(t, "Unauthorized", a.Str("Code"), name)
			}
			assert.Equal(t, before, requests(t, e, fn.action), "a refused caller costs no upstream request")

			sub := "alice@shop.example"
			a := e2e.Post(t, proc.URL()+"/", bearer(p.token(t, sub, nil)), fn.body())
			require.Equal(t, http.StatusOK, a.Status, a.Raw)
			assert.Equal(t, before+1, requests(t, e, fn.action))

			ev := e2e.Post(t, proc.URL()+"/invoke", event, fn.body())
			assert.Equal(t, http.StatusOK, ev.Status, "events are authorised by FC, not by a token: %s", ev.Raw)
		})
	}

	t.Run("ekyc-init sends the hashed sub as MerchantUserId", func(t *testing.T) {
		proc := startFunction(t, "ekyc-init", e, p.env()...)
		sub := "alice@shop.example"
		a := e2e.Post(t, proc.URL()+"/", bearer(p.token(t, sub, nil)), initFunctions[0].body())
		require.Equal(t, http.StatusOK, a.Status, a.Raw)
		got, err := e.LastRequest("Initialize")
		require.NoError(t, err)
		assert.Equal(t, hashedSub(sub), got.Params["MerchantUserId"], "the token's sub, hashed, overrides the body")
		assert.NotContains(t, got.Params["MerchantUserId"], "alice")

		body := initFunctions[0].body()
		delete(body, "MerchantUserId")
		a = e2e.Post(t, proc.URL()+"/", bearer(p.token(t, "bob", nil)), body)
		require.Equal(t, http.StatusOK, a.Status, "with a token the body needs no MerchantUserId: %s", a.Raw)
		got, err = e.LastRequest("Initialize")
		require.NoError(t, err)
		assert.Equal(t, hashedSub("bob"), got.Params["MerchantUserId"])
	})
}

func TestJWKSURLMode(t *testing.T) {
	e2e.Skip(t)
	_, e := e2e.Emulator(t)
	p := newIDP(t)
	var fetches atomic.Int64
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		k := p.key.PublicKey
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []any{map[string]any{
			"kty": "RSA", "kid": "2026-11", "use": "sig", "alg": "RS256",
			"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes()),
		}}})
	}))
	t.Cleanup(jwks.Close)
	proc := startFunction(t, "bank-verify", e, "AUTH_MODE=jwt", "AUTH_JWT_ISSUER="+issuer, "AUTH_JWT_AUDIENCE="+audience, "AUTH_SUBJECT_SECRET="+subjectSecret, "AUTH_JWKS_URL="+jwks.URL)
	require.EqualValues(t, 1, fetches.Load(), "the JWKS is fetched at start")

	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": issuer, "aud": audience, "sub": "u-9", "exp": time.Now().Add(time.Minute).Unix()})
	tok.Header["kid"] = "2026-11"
	s, err := tok.SignedString(p.key)
	require.NoError(t, err)
	for range 3 {
		a := e2e.Post(t, proc.URL()+"/", bearer(s), initFunctions[1].body())
		require.Equal(t, http.StatusOK, a.Status, a.Raw)
	}
	assert.EqualValues(t, 1, fetches.Load(), "the keys are cached")
}

func TestAPIKeyMode(t *testing.T) {
	e2e.Skip(t)
	_, e := e2e.Emulator(t)
	for _, fn := range initFunctions {
		t.Run(fn.name, func(t *testing.T) {
			proc := startFunction(t, fn.name, e, apiKeyEnv("old-key-0001", "new-key-0002")...)
			before := requests(t, e, fn.action)
			for name, h := range map[string]map[string]string{
				"no key":    nil,
				"wrong key": {"X-Api-Key": "guess"},
				"the hash":  {"X-Api-Key": keyHash("new-key-0002")},
				"basic":     {"Authorization": "Basic new-key-0002"},
			} {
				a := e2e.Post(t, proc.URL()+"/", h, fn.body())
				assert.Equal(t, http.StatusUnauthorized, a.Status, name)
			}
			assert.Equal(t, before, requests(t, e, fn.action), "a refused caller costs no upstream request")
			for _, h := range []map[string]string{{"X-Api-Key": "new-key-0002"}, bearer("old-key-0001")} {
				a := e2e.Post(t, proc.URL()+"/", h, fn.body())
				require.Equal(t, http.StatusOK, a.Status, a.Raw)
			}
			assert.Equal(t, before+2, requests(t, e, fn.action))
		})
	}
}

func TestNoneMode(t *testing.T) {
	e2e.Skip(t)
	_, e := e2e.Emulator(t)
	for _, fn := range initFunctions {
		proc := startFunction(t, fn.name, e, "AUTH_MODE=none")
		a := e2e.Post(t, proc.URL()+"/", nil, fn.body())
		assert.Equal(t, http.StatusOK, a.Status, "%s: %s", fn.name, a.Raw)
		assert.False(t, strings.Contains(a.Raw, "Unauthorized"))
	}
}
