// Package credentials carries the Alibaba Cloud credentials of one
// invocation.
//
// On Function Compute the function role's STS triple arrives with every
// request in x-fc-access-key-id, x-fc-access-key-secret and
// x-fc-security-token; the runtime adapter puts it in the request context.
// Without those headers (local runs, Lambda) the ALIBABA_CLOUD_* environment
// is used. The values are secrets: nothing here formats them for logs.
package credentials

import (
	"context"
	"log/slog"
	"net/http"
	"os"
)

// Credentials is an AccessKey pair with an optional STS security token.
type Credentials struct {
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string
}

// Valid reports whether both halves of the key pair are present.
func (c Credentials) Valid() bool { return c.AccessKeyID != "" && c.AccessKeySecret != "" }

// String never shows the secret or the token.
func (c Credentials) String() string { return "credentials(redacted)" }

// LogValue keeps credentials out of structured logs even when passed by mistake.
func (c Credentials) LogValue() slog.Value { return slog.StringValue("redacted") }

type ctxKey struct{}

// NewContext returns ctx carrying c.
func NewContext(ctx context.Context, c Credentials) context.Context {
	return context.WithValue(ctx, ctxKey{}, c)
}

// FromContext returns the credentials of the invocation, if any were given.
func FromContext(ctx context.Context) (Credentials, bool) {
	c, ok := ctx.Value(ctxKey{}).(Credentials)
	return c, ok && c.Valid()
}

// FromHeader reads Function Compute's x-fc-* credential headers.
func FromHeader(h http.Header) (Credentials, bool) {
	c := Credentials{
		AccessKeyID:     h.Get("x-fc-access-key-id"),
		AccessKeySecret: h.Get("x-fc-access-key-secret"),
		SecurityToken:   h.Get("x-fc-security-token"),
	}
	return c, c.Valid()
}

// FromEnv reads ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET
// and ALIBABA_CLOUD_SECURITY_TOKEN. On FC these are the role's credentials at
// instance start; the per-request headers are fresher and win.
func FromEnv() (Credentials, bool) {
	c := Credentials{
		AccessKeyID:     os.Getenv("ALIBABA_CLOUD_ACCESS_KEY_ID"),
		AccessKeySecret: os.Getenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
		SecurityToken:   os.Getenv("ALIBABA_CLOUD_SECURITY_TOKEN"),
	}
	return c, c.Valid()
}

// Resolve returns the invocation's credentials, else the environment's.
func Resolve(ctx context.Context) (Credentials, bool) {
	if c, ok := FromContext(ctx); ok {
		return c, true
	}
	return FromEnv()
}
