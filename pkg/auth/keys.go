package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/idverify/fc-kyc/pkg/config"
)

// minRSABits: shorter RSA keys are refused at start (NIST SP 800-131A).
const minRSABits = 2048

const (
	defaultRefresh = 15 * time.Minute
	fetchTimeout   = 5 * time.Second
	maxJWKSBytes   = 1 << 20
	// refetchGap bounds how often a token with an unknown kid may make the
	// function fetch the JWKS again, so a caller sending made-up kids
	// cannot turn the function against the identity provider.
	refetchGap = time.Minute
)

// KeySource gives the keys that may have signed a token with alg and kid
// (kid may be empty). It returns a jwt.VerificationKeySet when several may.
type KeySource interface {
	Keys(ctx context.Context, alg, kid string) (any, error)
}

// ErrNoKey: no configured key fits the token's alg and kid.
var ErrNoKey = errors.New("auth: no key for this token")

// KeySet is a fixed set of RS256 and ES256 public keys.
type KeySet struct {
	keys []publicKey
}

type publicKey struct {
	kid string
	alg string // RS256 or ES256, from the key's type
	key crypto.PublicKey
}

// Len is the number of keys.
func (s *KeySet) Len() int { return len(s.keys) }

// Keys implements KeySource. A token with a kid is checked against the key
// with that kid only (and keys that have none, as PEM keys do); one without,
// against every key of its algorithm.
func (s *KeySet) Keys(_ context.Context, alg, kid string) (any, error) {
	var set jwt.VerificationKeySet
	for _, k := range s.keys {
		if k.alg == alg && (kid == "" || k.kid == "" || k.kid == kid) {
			set.Keys = append(set.Keys, k.key)
		}
	}
	switch len(set.Keys) {
	case 0:
		return nil, ErrNoKey
	case 1:
		return set.Keys[0], nil
	}
	return set, nil
}

func (s *KeySet) has(kid string) bool {
	for _, k := range s.keys {
		if k.kid == kid {
			return true
		}
	}
	return false
}

func newPublicKey(kid string, key crypto.PublicKey) (publicKey, error) {
	switch k := key.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return publicKey{}, fmt.Errorf("an RSA key of %d bits is too short (at least %d)", k.N.BitLen(), minRSABits)
		}
		return publicKey{kid: kid, alg: "RS256", key: k}, nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return publicKey{}, errors.New("an EC key must be on P-256 for ES256")
		}
		return publicKey{kid: kid, alg: "ES256", key: k}, nil
	}
	return publicKey{}, fmt.Errorf("a %T is neither an RSA nor an EC P-256 public key", key)
}

// ParsePublicKeys reads one or more PEM blocks (PUBLIC KEY, RSA PUBLIC KEY
// or CERTIFICATE), or one key as bare base64 DER (PKIX).
func ParsePublicKeys(text string) (*KeySet, error) {
	text = strings.TrimSpace(text)
	var ders []struct {
		typ string
		der []byte
	}
	if strings.HasPrefix(text, "-----BEGIN") {
		rest := []byte(text)
		for {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			ders = append(ders, struct {
				typ string
				der []byte
			}{b.Type, b.Bytes})
		}
		if strings.TrimSpace(string(rest)) != "" {
			return nil, errors.New("text after the last PEM block is not PEM")
		}
	} else {
		der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(text), ""))
		if err != nil {
			return nil, errors.New("not PEM and not base64 DER")
		}
		ders = append(ders, struct {
			typ string
			der []byte
		}{"PUBLIC KEY", der})
	}
	if len(ders) == 0 {
		return nil, errors.New("no PEM block")
	}
	s := &KeySet{}
	for i, d := range ders {
		var key crypto.PublicKey
		var err error
		switch d.typ {
		case "PUBLIC KEY":
			key, err = x509.ParsePKIXPublicKey(d.der)
		case "RSA PUBLIC KEY":
			key, err = x509.ParsePKCS1PublicKey(d.der)
		case "CERTIFICATE":
			var cert *x509.Certificate
			if cert, err = x509.ParseCertificate(d.der); err == nil {
				key = cert.PublicKey
			}
		default:
			return nil, fmt.Errorf("key %d: a %q PEM block is not a public key (is it a private key?)", i+1, d.typ)
		}
		if err != nil {
			return nil, fmt.Errorf("key %d: not a readable public key", i+1)
		}
		pk, err := newPublicKey("", key)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i+1, err)
		}
		s.keys = append(s.keys, pk)
	}
	return s, nil
}

// jwk holds the members of a JSON Web Key (RFC 7517, 7518) we read.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// ParseJWKS reads a JWKS document {"keys":[...]}. Keys for other uses
// (use other than sig) or other algorithms are skipped, as identity
// providers publish those side by side; a malformed RSA or EC signing key is
// an error, and so is a document with no usable key.
func ParseJWKS(doc []byte) (*KeySet, error) {
	var d struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, errors.New(`not a JWKS document (a JSON object {"keys":[...]})`)
	}
	s := &KeySet{}
	for i, k := range d.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		if k.Alg != "" && k.Alg != "RS256" && k.Alg != "ES256" {
			continue
		}
		var key crypto.PublicKey
		var err error
		switch k.Kty {
		case "RSA":
			key, err = rsaFromJWK(k)
		case "EC":
			if k.Crv != "P-256" {
				continue
			}
			key, err = ecFromJWK(k)
		default:
			continue
		}
		if err == nil {
			var pk publicKey
			if pk, err = newPublicKey(k.Kid, key); err == nil {
				s.keys = append(s.keys, pk)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("key %d (kid %q): %w", i+1, k.Kid, err)
		}
	}
	if len(s.keys) == 0 {
		return nil, errors.New("the JWKS holds no RS256 or ES256 (P-256) signing key")
	}
	return s, nil
}

func b64url(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

func rsaFromJWK(k jwk) (*rsa.PublicKey, error) {
	n, err1 := b64url(k.N)
	e, err2 := b64url(k.E)
	if err1 != nil || err2 != nil || len(n) == 0 || len(e) == 0 || len(e) > 4 {
		return nil, errors.New("n and e must be base64url big-endian integers")
	}
	exp := int(new(big.Int).SetBytes(e).Int64())
	if exp < 3 || exp%2 == 0 {
		return nil, errors.New("e must be an odd exponent of at least 3")
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: exp}, nil
}

func ecFromJWK(k jwk) (*ecdsa.PublicKey, error) {
	x, err1 := b64url(k.X)
	y, err2 := b64url(k.Y)
	if err1 != nil || err2 != nil || len(x) != 32 || len(y) != 32 {
		return nil, errors.New("x and y must be 32-byte base64url coordinates")
	}
	key, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	if err != nil {
		return nil, errors.New("x and y are not a point on P-256")
	}
	return key, nil
}

// RemoteKeys is a JWKS fetched from a URL and cached for Refresh. An
// unknown kid (the provider rotated its keys) makes it fetch again, at most
// once a minute. When a fetch fails the keys it has stay in use, so a
// provider's short outage does not lock every caller out.
//
// Fetches run one at a time and outside the lock: a request whose kid is
// known is answered from the keys at hand at once, even while a fetch is
// in flight (a stale set is refreshed behind it); only a request the keys at
// hand cannot answer (an unknown kid, or no keys yet) waits, and all of
// them wait for the same fetch. A slow identity provider then delays only
// the tokens it alone can vouch for.
type RemoteKeys struct {
	URL     string
	Refresh time.Duration // defaultRefresh when zero
	// Client fetches the document; one with a 5 s timeout when nil.
	Client *http.Client

	mu      sync.Mutex
	set     *KeySet
	fetched time.Time // when set was fetched
	tried   time.Time // when a fetch was last started
	flight  *flight   // the fetch in progress, or nil
}

// flight is one fetch: done is closed when it has ended, with err.
type flight struct {
	done chan struct{}
	err  error
}

// Load fetches the keys now and waits for them.
func (r *RemoteKeys) Load(ctx context.Context) error {
	r.mu.Lock()
	f := r.startLocked(ctx)
	r.mu.Unlock()
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Keys implements KeySource.
func (r *RemoteKeys) Keys(ctx context.Context, alg, kid string) (any, error) {
	r.mu.Lock()
	now := time.Now()
	refresh := r.Refresh
	if refresh <= 0 {
		refresh = defaultRefresh
	}
	set := r.set
	known := set != nil && (kid == "" || set.has(kid))
	stale := set == nil || now.Sub(r.fetched) > refresh
	f := r.flight
	if f == nil && (set == nil || (stale || !known) && now.Sub(r.tried) > refetchGap) {
		f = r.startLocked(ctx)
	}
	r.mu.Unlock()
	if !known && f != nil {
		// Only what the keys at hand cannot answer waits for the fetch.
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		r.mu.Lock()
		set = r.set
		r.mu.Unlock()
	}
	if set == nil {
		return nil, ErrNoKey
	}
	return set.Keys(ctx, alg, kid)
}

// startLocked starts a fetch, unless one is in flight, and returns it. The
// fetch does not end with the ctx of the request that started it: one
// caller hanging up must not spoil the keys every other request waits on.
func (r *RemoteKeys) startLocked(ctx context.Context) *flight {
	if r.flight != nil {
		return r.flight
	}
	f := &flight{done: make(chan struct{})}
	r.flight, r.tried = f, time.Now()
	go func() {
		set, err := r.fetch(context.WithoutCancel(ctx))
		if err != nil {
			slog.Default().Warn("JWKS fetch failed; keeping the keys already fetched", "error", err.Error())
		}
		r.mu.Lock()
		if err == nil {
			r.set, r.fetched = set, time.Now()
		}
		f.err, r.flight = err, nil
		r.mu.Unlock()
		close(f.done)
	}()
	return f
}

// secureRedirect follows at most 3 redirects, and only to https (or http
// on loopback): keys fetched over plain http could be anyone's.
func secureRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 3 {
		return errors.New("more than 3 redirects")
	}
	if req.URL.Scheme != "https" && !config.IsLoopback(req.URL.Hostname()) {
		return errors.New("redirected to a URL that is not https")
	}
	return nil
}

// fetch reads the JWKS document. It holds no lock.
func (r *RemoteKeys) fetch(ctx context.Context) (*KeySet, error) {
	client := r.Client
	if client == nil {
		client = &http.Client{Timeout: fetchTimeout, CheckRedirect: secureRedirect}
	}
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching the JWKS: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching the JWKS: HTTP %d", res.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the JWKS: %w", err)
	}
	if len(body) > maxJWKSBytes {
		return nil, errors.New("the JWKS is larger than 1 MiB")
	}
	return ParseJWKS(body)
}
