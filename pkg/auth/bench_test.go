package auth

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// The cost each mode adds to a request, before any upstream call.
func BenchmarkMiddleware(b *testing.B) {
	keys, err := ParseJWKS(jwksDoc(b, rsaJWK("r1", &rsaKey.PublicKey), ecJWK("e1", &ecKey.PublicKey)))
	if err != nil {
		b.Fatal(err)
	}
	jwtMW := testJWT(b, keys)
	keyMW, err := APIKey([]string{hash("old-key"), hash("new-key")})
	if err != nil {
		b.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	for _, bm := range []struct {
		name  string
		mw    Middleware
		authz string
	}{
		{"jwt RS256", jwtMW, "Bearer " + token(b, jwt.SigningMethodRS256, rsaKey, "r1", goodClaims())},
		{"jwt ES256", jwtMW, "Bearer " + token(b, jwt.SigningMethodES256, ecKey, "e1", goodClaims())},
		{"apikey", keyMW, "Bearer new-key"},
	} {
		h := bm.mw(ok)
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest("POST", "/", nil)
				r.Header.Set("Authorization", bm.authz)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != 200 {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
}
