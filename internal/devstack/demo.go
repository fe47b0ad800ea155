package devstack

import (
	"embed"
	"io"
	"net/http"
	"net/url"
	"time"
)

// demoFiles are the demo page: index.html and demo.js (the page's own
// script) and idverify.js, the dependency-free ES module a merchant's
// front-end can copy as it is.
//
//go:embed demo/index.html demo/demo.js demo/idverify.js
var demoFiles embed.FS

// demo is the stack's merchant front-end, on an origin of its own (the
// demo port), which the functions list in CORS_ALLOWED_ORIGINS: the browser
// makes real cross-origin calls, with preflights. The same origin serves
// the development identity provider (tokens and the JWKS) and a proxy to
// the emulator's "sent" OTP codes.
type demo struct {
	idp      *idp
	config   map[string]any
	emulator string // the emulator's base URL
	client   *http.Client
}

// Handler serves
//
//	GET /, /idverify.js, /demo.js   the page
//	GET /config.json                the functions' URLs, for the page
//	GET /token?user=alice           a token of the development identity provider (&format=text: bare)
//	GET /.well-known/jwks.json      its public key (the functions' AUTH_JWKS_URL)
//	GET /emulator/otp/{id}          the code the emulator "sent" for an OTP request
func (d *demo) Handler() http.Handler {
	mux := http.NewServeMux()
	file := func(name, ctype string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, err := demoFiles.ReadFile("demo/" + name)
			if err != nil {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", ctype)
			w.Header().Set("Cache-Control", "no-cache")
			_, _ = w.Write(b)
		}
	}
	mux.HandleFunc("GET /{$}", file("index.html", "text/html; charset=utf-8"))
	mux.HandleFunc("GET /idverify.js", file("idverify.js", "text/javascript; charset=utf-8"))
	mux.HandleFunc("GET /demo.js", file("demo.js", "text/javascript; charset=utf-8"))
	mux.HandleFunc("GET /config.json", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, d.config) })
	mux.HandleFunc("GET /token", d.idp.serveToken)
	mux.HandleFunc("GET /.well-known/jwks.json", d.idp.serveJWKS)
	mux.HandleFunc("GET /emulator/otp/{id}", d.otp)
	return mux
}

// otp passes the emulator's GET /_emulator/antom/otp/{id} on: the
// emulator's control API has no CORS, and needs none when the page asks
// its own origin.
func (d *demo) otp(w http.ResponseWriter, r *http.Request) {
	resp, err := d.client.Get(d.emulator + "/_emulator/antom/otp/" + url.PathEscape(r.PathValue("id")))
	if err != nil {
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": "the emulator cannot be reached: " + err.Error()})
		return
	}
	defer resp.Body.Close()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, io.LimitReader(resp.Body, 64<<10))
}

func newDemo(p *idp, emulatorURL string, endpoints map[string]string) *demo {
	return &demo{idp: p, emulator: emulatorURL, client: &http.Client{Timeout: 5 * time.Second},
		config: map[string]any{"endpoints": endpoints, "users": []string{"alice", "bob"}}}
}
