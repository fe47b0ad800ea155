package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/idverify/fc-kyc/pkg/config"
	"github.com/idverify/fc-kyc/pkg/logging"
)

// Algorithms accepted for a JWT. Only asymmetric ones: the function holds
// no secret that could sign a token, so a leaked configuration cannot mint
// one. "none" and HS256 are refused, whatever the token's header says.
var jwtAlgorithms = []string{"RS256", "ES256"}

// Limits on the leeway for clock skew: a little absorbs clocks that
// disagree, a lot would stretch the life of a stolen token.
const (
	defaultLeeway = 30 * time.Second
	maxLeeway     = 5 * time.Minute
)

// JWTConfig is what AUTH_MODE=jwt checks a token against.
type JWTConfig struct {
	// Issuer must equal the token's iss.
	Issuer string
	// Audience lists accepted values; the token's aud must hold one.
	Audience []string
	// Leeway absorbs clock skew on exp, nbf and iat.
	Leeway time.Duration
	// Keys verify the signature.
	Keys KeySource
	// SubjectKey keys the hash of the token's sub (see SubjectID): at least
	// MinSubjectKeyLen bytes.
	SubjectKey []byte
}

// MinSubjectKeyLen is the shortest AUTH_SUBJECT_SECRET accepted: 32
// characters of a random key, as for the other secrets.
const MinSubjectKeyLen = 32

// SubjectID is the subject id of a token: the lowercase hex HMAC-SHA256,
// under key (AUTH_SUBJECT_SECRET), of the issuer, one zero byte and the
// token's sub. It is what ekyc-init sends upstream as MerchantUserId and
// what the per-subject limits and order-id owners count by. Keyed, so that
// nobody without the key can tell from it whose it is, not even by hashing
// guessed e-mail addresses; the issuer is part of it so that two identity
// providers' equal subs never meet. A merchant holding the key computes the
// same value for its user.
func SubjectID(key []byte, issuer, sub string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(issuer))
	m.Write([]byte{0})
	m.Write([]byte(sub))
	return hex.EncodeToString(m.Sum(nil))
}

// JWTConfigFromEnv reads:
//
//   - AUTH_JWT_ISSUER (required): the token's iss.
//   - AUTH_JWT_AUDIENCE (required): accepted aud values, comma-separated.
//   - exactly one key source: AUTH_JWKS_URL (a JWKS document fetched over
//     https, or http to loopback, and cached), AUTH_JWKS (the JWKS document
//     itself; AUTH_JWKS_FILE names a file holding it), or
//     AUTH_JWT_PUBLIC_KEY (one or more PEM public keys or certificates, or
//     bare base64 DER; AUTH_JWT_PUBLIC_KEY_FILE for a file).
//   - AUTH_JWT_LEEWAY (30s, at most 5m): allowed clock skew.
//   - AUTH_JWKS_REFRESH (15m): how long fetched keys are used before they
//     are fetched again.
//   - AUTH_SUBJECT_SECRET (required, at least 32 characters): the key of
//     the subject id (SubjectID).
//
// A URL source is fetched here, once: a key that cannot be read stops the
// function at start, not at the first request.
func JWTConfigFromEnv() (JWTConfig, error) {
	var c JWTConfig
	var err error
	if c.Issuer, err = config.String("AUTH_JWT_ISSUER", ""); err != nil {
		return c, err
	}
	if c.Issuer == "" {
		return c, errors.New("AUTH_JWT_ISSUER is required with AUTH_MODE=jwt: the iss your identity provider puts in its tokens")
	}
	if c.Audience, err = config.List("AUTH_JWT_AUDIENCE"); err != nil {
		return c, err
	}
	if len(c.Audience) == 0 {
		return c, errors.New("AUTH_JWT_AUDIENCE is required with AUTH_MODE=jwt: the aud value(s) your identity provider issues for this API, comma-separated")
	}
	if c.Leeway, err = config.Duration("AUTH_JWT_LEEWAY", defaultLeeway); err != nil {
		return c, err
	}
	if c.Leeway > maxLeeway {
		return c, fmt.Errorf("AUTH_JWT_LEEWAY=%v is more than %v: a long leeway stretches the life of a stolen token", c.Leeway, maxLeeway)
	}
	secret, err := config.String("AUTH_SUBJECT_SECRET", "")
	if err != nil {
		return c, err
	}
	if err := checkSubjectKey([]byte(secret)); err != nil {
		return c, err
	}
	c.SubjectKey = []byte(secret)
	c.Keys, err = keySourceFromEnv()
	return c, err
}

func keySourceFromEnv() (KeySource, error) {
	sources, err := config.Strings("AUTH_JWKS_URL", "AUTH_JWKS", "AUTH_JWT_PUBLIC_KEY")
	if err != nil {
		return nil, err
	}
	rawURL, doc, pem := sources[0], sources[1], sources[2]
	set := 0
	for _, v := range sources {
		if v != "" {
			set++
		}
	}
	if set != 1 {
		return nil, errors.New("AUTH_MODE=jwt needs exactly one key source: AUTH_JWKS_URL, AUTH_JWKS (or AUTH_JWKS_FILE) or AUTH_JWT_PUBLIC_KEY (or AUTH_JWT_PUBLIC_KEY_FILE)")
	}
	switch {
	case doc != "":
		ks, err := ParseJWKS([]byte(doc))
		if err != nil {
			return nil, fmt.Errorf("AUTH_JWKS: %w", err)
		}
		return ks, nil
	case pem != "":
		ks, err := ParsePublicKeys(pem)
		if err != nil {
			return nil, fmt.Errorf("AUTH_JWT_PUBLIC_KEY: %w", err)
		}
		return ks, nil
	}
	u, err := config.SecureURL("AUTH_JWKS_URL", rawURL)
	if err != nil {
		return nil, err
	}
	refresh, err := config.Duration("AUTH_JWKS_REFRESH", defaultRefresh)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
	defer cancel()
	r := &RemoteKeys{URL: u.String(), Refresh: refresh}
	if err := r.Load(ctx); err != nil {
		return nil, fmt.Errorf("AUTH_JWKS_URL: %w", err)
	}
	return r, nil
}

// claims are the registered claims plus the ones that name the client an
// identity provider issued the token to.
type claims struct {
	jwt.RegisteredClaims
	AuthorizedParty string `json:"azp,omitempty"`
	ClientID        string `json:"client_id,omitempty"`
}

// JWT returns a middleware accepting a bearer JWT that c verifies. The
// request's Identity then carries the hashed sub as Subject and a hash of
// the issuer and the client the token was issued to (azp or client_id) as
// Caller.
func JWT(c JWTConfig) (Middleware, error) {
	switch {
	case c.Issuer == "":
		return nil, errors.New("auth: JWTConfig.Issuer is empty")
	case len(c.Audience) == 0:
		return nil, errors.New("auth: JWTConfig.Audience is empty")
	case c.Keys == nil:
		return nil, errors.New("auth: JWTConfig.Keys is nil")
	}
	if err := checkSubjectKey(c.SubjectKey); err != nil {
		return nil, err
	}
	parser := jwt.NewParser(
		jwt.WithValidMethods(jwtAlgorithms),
		jwt.WithIssuer(c.Issuer),
		jwt.WithAudience(c.Audience...),
		jwt.WithLeeway(c.Leeway),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
	)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			raw := bearer(r)
			if raw == "" {
				unauthorized(w, r, "Send a JWT from your identity provider as Authorization: Bearer <token>.")
				return
			}
			var cl claims
			_, err := parser.ParseWithClaims(raw, &cl, func(t *jwt.Token) (any, error) {
				kid, _ := t.Header["kid"].(string)
				return c.Keys.Keys(r.Context(), t.Method.Alg(), kid)
			})
			if err == nil && cl.Subject == "" {
				err = errNoSubject
			}
			if err != nil {
				why := rejection(err)
				// The reason, never the token: it is a bearer credential.
				logging.From(r.Context()).Info("JWT refused", "reason", why)
				unauthorized(w, r, "The bearer token was refused: "+why+".")
				return
			}
			client := cl.AuthorizedParty
			if client == "" {
				client = cl.ClientID
			}
			id := Identity{
				Caller:  "jwt:" + digest(c.Issuer, client)[:16],
				Subject: SubjectID(c.SubjectKey, c.Issuer, cl.Subject),
			}
			next.ServeHTTP(w, r.WithContext(WithIdentity(r.Context(), id)))
		})
	}, nil
}

var errNoSubject = errors.New("token has no sub")

func checkSubjectKey(key []byte) error {
	switch {
	case len(key) == 0:
		return fmt.Errorf("AUTH_SUBJECT_SECRET is required with AUTH_MODE=jwt: a random key of at least %d characters (for example 32 random bytes, hex-encoded) that keys the hash of each token's sub sent upstream as MerchantUserId; keep it, your backend needs it to match result events to users", MinSubjectKeyLen)
	case len(key) < MinSubjectKeyLen:
		return fmt.Errorf("AUTH_SUBJECT_SECRET is %d characters; it needs at least %d (for example 32 random bytes, hex-encoded)", len(key), MinSubjectKeyLen)
	}
	return nil
}

// rejection says why a token was refused, in words a developer can act on
// and that reveal nothing about the keys.
func rejection(err error) string {
	for _, r := range rejections {
		for _, e := range r.errs {
			if errors.Is(err, e) {
				return r.why
			}
		}
	}
	return "it is not valid"
}

// rejections are the reasons rejection gives, each for the errors it
// covers, checked in order.
var rejections = []struct {
	errs []error
	why  string
}{
	{[]error{errNoSubject, jwt.ErrTokenRequiredClaimMissing}, "it lacks a required claim (iss, aud, exp and sub are required)"},
	{[]error{jwt.ErrTokenMalformed}, "it is not a well-formed JWT"},
	{[]error{jwt.ErrTokenExpired}, "it has expired"},
	{[]error{jwt.ErrTokenNotValidYet, jwt.ErrTokenUsedBeforeIssued}, "it is not valid yet (nbf or iat in the future)"},
	{[]error{jwt.ErrTokenInvalidIssuer}, "its issuer (iss) is not the configured one"},
	{[]error{jwt.ErrTokenInvalidAudience}, "its audience (aud) is not this API"},
	{[]error{jwt.ErrTokenSignatureInvalid, jwt.ErrTokenUnverifiable}, "its signature does not verify with the configured keys (RS256 or ES256 only)"},
}

// digest is the hex SHA-256 of the issuer and a value, for the Caller of a
// token: it names the client the token was issued to (azp or client_id), an
// application, not a person, so it needs no key.
func digest(issuer, v string) string {
	s := sha256.Sum256([]byte(issuer + "\x00" + v))
	return hex.EncodeToString(s[:])
}
