// Package auth authenticates callers of the init functions' HTTP API.
//
// These functions spend the merchant's money per call, so none is anonymous
// by accident: AUTH_MODE must be set, and "none" has to be chosen
// explicitly (local runs, or when the FC trigger's own jwt authType checks
// callers first). Event invocations (/invoke) are not wrapped: Function
// Compute authorises those itself.
package auth

import (
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

// FromEnv returns the middleware AUTH_MODE asks for.
//
//   - none: every caller is let through.
//   - apikey: API_KEY_HASHES holds the lowercase hex SHA-256 of each
//     accepted key, comma-separated (several, for rotation); the caller sends
//     the key as "Authorization: Bearer <key>" or "X-Api-Key: <key>". Only
//     hashes are configured, so the configuration never holds a usable key.
//   - jwt: not built yet; the FC http trigger's jwt authType with
//     AUTH_MODE=none does the same job in the meantime.
func FromEnv() (func(http.Handler) http.Handler, error) {
	mode, err := config.String("AUTH_MODE", "")
	if err != nil {
		return nil, err
	}
	switch mode {
	case "none":
		return func(h http.Handler) http.Handler { return h }, nil
	case "apikey":
		hashes, err := config.List("API_KEY_HASHES")
		if err != nil {
			return nil, err
		}
		return APIKey(hashes)
	case "jwt":
		return nil, errors.New("AUTH_MODE=jwt is not available in this version: set the FC http trigger's authType to jwt and AUTH_MODE=none, or use AUTH_MODE=apikey")
	case "":
		return nil, errors.New("AUTH_MODE is required: apikey (with API_KEY_HASHES), or none to let every caller through (local runs, or behind the FC trigger's jwt authType)")
	default:
		return nil, fmt.Errorf("AUTH_MODE=%q is not one of apikey, jwt, none", mode)
	}
}

// APIKey returns a middleware accepting keys whose SHA-256 is in hashes.
func APIKey(hashes []string) (func(http.Handler) http.Handler, error) {
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
			if !validKey(sums, presentedKey(r)) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="api"`)
				apierr.Write(w, apierr.New(apierr.Unauthorized, "Send a valid API key as Authorization: Bearer <key> or X-Api-Key."))
				return
			}
			next.ServeHTTP(w, r)
		})
	}, nil
}

func presentedKey(r *http.Request) string {
	if k := r.Header.Get("X-Api-Key"); k != "" {
		return k
	}
	a := r.Header.Get("Authorization")
	if len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	return ""
}

// validKey compares against every hash without stopping early.
func validKey(sums [][]byte, key string) bool {
	if key == "" {
		return false
	}
	got := sha256.Sum256([]byte(key))
	ok := 0
	for _, s := range sums {
		ok |= subtle.ConstantTimeCompare(got[:], s)
	}
	return ok == 1
}
