package securitytest

import (
	"net/http"
	"testing"

	"github.com/idverify/fc-kyc/internal/e2e"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCORS(t *testing.T) {
	e2e.Skip(t)
	_, e := e2e.Emulator(t)
	p := newIDP(t)
	const shop = "https://shop.example.com"
	for _, fn := range initFunctions {
		t.Run(fn.name, func(t *testing.T) {
			closed := startFunction(t, fn.name, e, p.env()...)
			open := startFunction(t, fn.name, e, append(p.env(), "CORS_ALLOWED_ORIGINS="+shop)...)
			tok := bearer(p.token(t, "frank", nil))
			withOrigin := func(o string) map[string]string {
				h := map[string]string{"Origin": o}
				h["Authorization"] = tok["Authorization"]
				return h
			}
			before := requests(t, e, fn.action)

			// Nothing is allowed by default, and a cross-site call is not made.
			r := e2e.Post(t, closed.URL()+"/", withOrigin(shop), fn.body())
			assert.Equal(t, http.StatusForbidden, r.Status, r.Raw)
			assert.Empty(t, r.Header.Get("Access-Control-Allow-Origin"))
			r = e2e.Do(t, http.MethodOptions, closed.URL()+"/", map[string]string{"Origin": shop, "Access-Control-Request-Method": "POST"}, "")
			assert.Equal(t, http.StatusForbidden, r.Status)
			r = e2e.Post(t, open.URL()+"/", withOrigin("https://evil.example"), fn.body())
			assert.Equal(t, http.StatusForbidden, r.Status, r.Raw)
			assert.Equal(t, before, requests(t, e, fn.action), "refused origins cost no upstream request")

			// The configured front-end: preflight without credentials, then the call.
			r = e2e.Do(t, http.MethodOptions, open.URL()+"/", map[string]string{"Origin": shop,
				"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}, "")
			assert.Equal(t, http.StatusNoContent, r.Status, r.Raw)
			assert.Equal(t, shop, r.Header.Get("Access-Control-Allow-Origin"))
			assert.Contains(t, r.Header.Get("Access-Control-Allow-Headers"), "Authorization")
			r = e2e.Post(t, open.URL()+"/", withOrigin(shop), fn.body())
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			assert.Equal(t, shop, r.Header.Get("Access-Control-Allow-Origin"))
			r = e2e.Post(t, open.URL()+"/", map[string]string{"Origin": shop}, fn.body())
			assert.Equal(t, http.StatusUnauthorized, r.Status, "an allowed origin still needs a token")
			assert.Equal(t, shop, r.Header.Get("Access-Control-Allow-Origin"), "so the page can read the 401")
		})
	}
}
