// Package auth authenticates callers of the init functions' HTTP API.
//
// These functions spend the merchant's money per call, so none is anonymous
// by accident: AUTH_MODE must be set, and "none" has to be chosen
// explicitly (local runs, or when the FC trigger's own jwt authType checks
// callers first). Event invocations (/invoke) are not wrapped: Function
// Compute authorises those itself.
//
// A request the apikey or jwt middleware lets through carries its Identity
// in the context: Caller (which credential called, for the per-caller
// limits) and, with jwt, Subject (the token's sub under a keyed hash: the end user, for
// MerchantUserId and the per-subject limits). An event carries none, and
// neither does a request under AUTH_MODE=none: there is no one to count by,
// so the limits leave both alone.
package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/config"
)

// Middleware wraps a function's HTTP API.
type Middleware = func(http.Handler) http.Handler

// FromEnv returns the middleware AUTH_MODE asks for.
//
//   - none: every caller is let through, with no Identity.
//   - apikey: API_KEY_HASHES holds the lowercase hex SHA-256 of each
//     accepted key, comma-separated (several, for rotation); the caller sends
//     the key as "Authorization: Bearer <key>" or "X-Api-Key: <key>". Only
//     hashes are configured, so the configuration never holds a usable key.
//   - jwt: a bearer JWT signed with RS256 or ES256, checked as JWTConfigFromEnv
//     describes.
func FromEnv() (Middleware, error) {
	mode, err := config.String("AUTH_MODE", "")
	if err != nil {
		return nil, err
	}
	switch mode {
	case "none":
		return None(), nil
	case "apikey":
		hashes, err := config.List("API_KEY_HASHES")
		if err != nil {
			return nil, err
		}
		return APIKey(hashes)
	case "jwt":
		c, err := JWTConfigFromEnv()
		if err != nil {
			return nil, err
		}
		return JWT(c)
	case "":
		return nil, errors.New("AUTH_MODE is required: jwt (with AUTH_JWT_ISSUER, AUTH_JWT_AUDIENCE, AUTH_SUBJECT_SECRET and a key), apikey (with API_KEY_HASHES), or none to let every caller through (local runs, or behind the FC trigger's jwt authType)")
	default:
		return nil, fmt.Errorf("AUTH_MODE=%q is not one of apikey, jwt, none", mode)
	}
}

// Identity is who made an HTTP request.
type Identity struct {
	// Caller names the credential: "key:<16 hex>" (the start of the API
	// key's configured hash) or "jwt:<16 hex>" (a hash of the token's issuer
	// and client). It never holds a secret.
	Caller string
	// Subject is the JWT's subject id (SubjectID: a keyed hash of its
	// issuer and sub); empty in the other modes.
	Subject string
}

type identityKey struct{}

// WithIdentity returns ctx carrying id. The middlewares call it; tests of
// handlers use it to stand in for them.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// Caller returns the authenticated caller of an HTTP request; ok is false
// when there is none: an event invocation, which no middleware saw, or
// AUTH_MODE=none.
func Caller(ctx context.Context) (caller string, ok bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id.Caller, ok
}

// Subject returns the subject id (SubjectID) of the request's JWT, or "" when the
// request carried none (other modes, events). Handlers use it in place of
// any user id the body names: the token is signed, the body is not.
func Subject(ctx context.Context) string {
	id, _ := ctx.Value(identityKey{}).(Identity)
	return id.Subject
}

// None lets every request through as it is. It sets no Identity: one shared
// "anonymous" caller would make the per-caller limit a global one, which
// throttles everybody once anybody is busy.
func None() Middleware {
	return func(next http.Handler) http.Handler { return next }
}

// APIKey returns a middleware accepting keys whose SHA-256 is in hashes.
func APIKey(hashes []string) (Middleware, error) {
	if len(hashes) == 0 {
		return nil, errors.New("API_KEY_HASHES is required with AUTH_MODE=apikey: the hex SHA-256 of each accepted key, comma-separated")
	}
	var sums [][]byte
	for i, h := range hashes {
		b, err := hex.DecodeString(strings.ToLower(h))
		if err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("API_KEY_HASHES: item %d is not a 64-digit hex SHA-256", i+1)
		}
		sums = append(sums, b)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			i := matchKey(sums, presentedKey(r))
			if i < 0 {
				unauthorized(w, r, "Send a valid API key as Authorization: Bearer <key> or X-Api-Key.")
				return
			}
			id := Identity{Caller: "key:" + hex.EncodeToString(sums[i][:8])}
			next.ServeHTTP(w, r.WithContext(WithIdentity(r.Context(), id)))
		})
	}, nil
}

func unauthorized(w http.ResponseWriter, r *http.Request, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="api"`)
	apierr.Write(w, r, apierr.New(apierr.Unauthorized, msg))
}

func presentedKey(r *http.Request) string {
	if k := r.Header.Get("X-Api-Key"); k != "" {
		return k
	}
	return bearer(r)
}

func bearer(r *http.Request) string {
	a := r.Header.Get("Authorization")
	if len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	return ""
}

// matchKey returns the index of the hash key matches, or -1. It compares
// against every hash without stopping early, so the time taken does not
// tell which one matched.
func matchKey(sums [][]byte, key string) int {
	if key == "" {
		return -1
	}
	got := sha256.Sum256([]byte(key))
	found := -1
	for i, s := range sums {
		eq := subtle.ConstantTimeCompare(got[:], s)
		found = subtle.ConstantTimeSelect(eq, i, found)
	}
	return found
}
