// Package cors lets the browser front-ends of configured origins call a
// function's HTTP API, and no one else.
//
// Nothing is allowed by default: without CORS_ALLOWED_ORIGINS a browser
// page on any origin is refused. A request that carries an Origin not in the
// list is refused with 403 before authentication and before any upstream
// call, not merely left without CORS headers: a browser sends a "simple"
// cross-site POST without a preflight, and the function would otherwise
// spend money on it even though the page could not read the answer.
// Server-to-server callers send no Origin and are not affected.
package cors

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/config"
)

// Config is the CORS policy.
type Config struct {
	// Origins are exact origins, scheme://host[:port], lowercase.
	Origins []string
	// MaxAge is how long a browser may cache a preflight answer.
	MaxAge time.Duration
}

// Headers a front-end may send: the body type and the two ways to
// authenticate (package auth).
const allowHeaders = "Authorization, Content-Type, X-Api-Key"

// exposeHeaders can be read by the page: Retry-After comes with 429 and 503.
const exposeHeaders = "Retry-After"

const defaultMaxAge = 10 * time.Minute

// FromEnv reads CORS_ALLOWED_ORIGINS (comma-separated exact origins such as
// https://shop.example.com; unset allows none) and CORS_MAX_AGE (10m).
func FromEnv() (func(http.Handler) http.Handler, error) {
	list, err := config.List("CORS_ALLOWED_ORIGINS")
	if err != nil {
		return nil, err
	}
	var c Config
	for _, o := range list {
		norm, err := ParseOrigin(o)
		if err != nil {
			return nil, fmt.Errorf("CORS_ALLOWED_ORIGINS: %w", err)
		}
		c.Origins = append(c.Origins, norm)
	}
	if c.MaxAge, err = config.Duration("CORS_MAX_AGE", defaultMaxAge); err != nil {
		return nil, err
	}
	return New(c), nil
}

// ParseOrigin checks one configured origin and returns it in the form
// browsers send: lowercase scheme and host, no default port, no path. Only
// https is accepted, or http to a loopback host for local front-ends; "*"
// is refused, since it would let any page spend the merchant's money.
func ParseOrigin(s string) (string, error) {
	if s == "*" || strings.Contains(s, "*") {
		return "", errors.New(`wildcards are not accepted: list each front-end origin, such as https://shop.example.com`)
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "", fmt.Errorf("%q is not an origin such as https://shop.example.com", s)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%q: an origin is scheme://host[:port] only, no path, query or user", s)
	}
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	switch {
	case scheme == "https":
	case scheme == "http" && config.IsLoopback(host):
	default:
		return "", fmt.Errorf("%q: an origin must be https (http only for a loopback host)", s)
	}
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host, nil
}

// New returns the middleware for c.
func New(c Config) func(http.Handler) http.Handler {
	allowed := make(map[string]bool, len(c.Origins))
	for _, o := range c.Origins {
		allowed[o] = true
	}
	if c.MaxAge <= 0 {
		c.MaxAge = defaultMaxAge
	}
	maxAge := strconv.Itoa(int(c.MaxAge / time.Second))
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			origin := r.Header.Get("Origin")
			preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
			// Answers differ by Origin: caches must keep them apart.
			w.Header().Add("Vary", "Origin")
			if preflight {
				w.Header().Add("Vary", "Access-Control-Request-Method")
				w.Header().Add("Vary", "Access-Control-Request-Headers")
			}
			if origin == "" {
				next.ServeHTTP(w, r)
				return
			}
			if !allowed[origin] {
				apierr.Write(w, r, &apierr.Error{Code: "Forbidden.Origin", HTTPStatus: http.StatusForbidden,
					Message: "This origin may not call the API; the function's CORS_ALLOWED_ORIGINS lists the front-ends that may."})
				return
			}
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			if !preflight {
				h.Set("Access-Control-Expose-Headers", exposeHeaders)
				next.ServeHTTP(w, r)
				return
			}
			if r.Header.Get("Access-Control-Request-Method") != http.MethodPost {
				apierr.Write(w, r, &apierr.Error{Code: "Forbidden.Method", HTTPStatus: http.StatusForbidden,
					Message: "This API takes POST only."})
				return
			}
			h.Set("Access-Control-Allow-Methods", http.MethodPost)
			h.Set("Access-Control-Allow-Headers", allowHeaders)
			h.Set("Access-Control-Max-Age", maxAge)
			w.WriteHeader(http.StatusNoContent)
		})
	}
}
