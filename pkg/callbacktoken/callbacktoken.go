// Package callbacktoken makes and checks the tokens that make an unsigned
// request to the callback function ours: the CallbackToken that ekyc-init
// gives ID Verification (the eKYC callback), and the token zhima-init puts
// into the Zhima return_url (the user's browser back from Zhima).
//
// Both requests are unsigned GETs: anyone who learns a URL can call it. The
// token is an HMAC-SHA256, under CALLBACK_SECRET, over what it is for (its
// Purpose), the subject it covers (the eKYC MerchantBizId; the Zhima biz_no
// and transaction_id) and an expiry. The subject travels in the URL itself,
// so the callback function checks a token without a lookup and before
// spending an upstream call.
//
// One key signs both kinds, so the purpose is what keeps them apart: it is
// in the MAC input and in the token's text, and Verify is told which purpose
// it expects. A Zhima return token presented at the eKYC callback (or the
// reverse) is refused as ErrPurpose whatever subject it is presented with.
//
// Format: "v2.<purpose>.<expiry unix seconds>.<base64url HMAC>", only
// URL-safe characters, since the service appends it to the URL as it is.
// The MAC input is "v2|<purpose>|<subject>|<expiry>". Tokens of the first
// version ("v1.", no purpose) are refused as malformed: they lived a day at
// most, and a result whose callback was refused is still recorded by the
// reconciler.
//
// Several keys may be configured for rotation: the first signs, any verifies.
package callbacktoken

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/idverify/fc-kyc/pkg/config"
)

// MinKeyLen is the shortest key accepted: 32 bytes, the HMAC-SHA256 block
// of entropy a random key should carry.
const MinKeyLen = 32

// BizIDParam is the CallbackUrl query parameter that carries MerchantBizId.
const BizIDParam = "merchantBizId"

const version = "v2"

// Purpose is what a token is for. A token verifies only for the purpose it
// was made for.
type Purpose string

// The purposes, each the text that names it in the token.
const (
	// EKYCCallback: the eKYC CallbackUrl; the subject is the MerchantBizId
	// (the callback refuses one that is not valid before it verifies).
	EKYCCallback Purpose = "ekyc"
	// ZhimaReturn: the Zhima return_url; the subject is ZhimaSubject.
	ZhimaReturn Purpose = "zhima"
)

func (p Purpose) known() bool { return p == EKYCCallback || p == ZhimaReturn }

// ZhimaSubject is what a Zhima return token covers: the certification's
// biz_no (what the callback will query) and the caller's transaction_id.
func ZhimaSubject(bizNo, transactionID string) string {
	return bizNo + ":" + transactionID
}

// Errors a token check returns. All mean 403 to the callback.
var (
	ErrMalformed = errors.New("callbacktoken: malformed token")
	ErrExpired   = errors.New("callbacktoken: token expired")
	ErrInvalid   = errors.New("callbacktoken: token signature does not match")
	// ErrPurpose: a well-formed token made for another purpose.
	ErrPurpose = errors.New("callbacktoken: token made for another purpose")
)

// Signer makes and checks tokens. It is safe for concurrent use.
type Signer struct {
	keys [][]byte
	ttl  time.Duration
}

// New returns a Signer over keys (first signs) whose tokens live for ttl.
// Its errors name CALLBACK_SECRET, where every function reads the keys.
func New(keys []string, ttl time.Duration) (*Signer, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("CALLBACK_SECRET: no key; give one or more comma-separated keys of at least %d characters", MinKeyLen)
	}
	if ttl <= 0 {
		return nil, errors.New("CALLBACK_TOKEN_TTL: the token lifetime must be positive")
	}
	s := &Signer{ttl: ttl}
	for i, k := range keys {
		if len(k) < MinKeyLen {
			return nil, fmt.Errorf("CALLBACK_SECRET: key %d of %d is %d characters; each key needs at least %d (for example 32 random bytes, hex-encoded)", i+1, len(keys), len(k), MinKeyLen)
		}
		s.keys = append(s.keys, []byte(k))
	}
	return s, nil
}

// DefaultTTL is how long a token lives unless CALLBACK_TOKEN_TTL says
// otherwise: long enough for a user who leaves a verification open.
const DefaultTTL = 24 * time.Hour

// FromEnv is the one reader of the token keys, CALLBACK_SECRET
// (comma-separated; the first signs, every one verifies, for rotation), and
// their lifetime, CALLBACK_TOKEN_TTL. neededFor says what needs them, for
// the message when they are missing: "EKYC_CALLBACK_URL is set",
// "ZHIMA_RETURN_URL is set", "the callback checks every notification".
func FromEnv(neededFor string) (*Signer, error) {
	keys, err := config.List("CALLBACK_SECRET")
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("CALLBACK_SECRET is required when %s: give the callback function's keys (comma-separated, at least %d characters each)", neededFor, MinKeyLen)
	}
	ttl, err := config.Duration("CALLBACK_TOKEN_TTL", DefaultTTL)
	if err != nil {
		return nil, err
	}
	return New(keys, ttl)
}

// Token returns the token for purpose p and subject, valid until now+ttl.
// An unknown purpose is a programming error and panics.
func (s *Signer) Token(p Purpose, subject string, now time.Time) string {
	if !p.known() {
		panic("callbacktoken: unknown purpose " + strconv.Quote(string(p)))
	}
	exp := strconv.FormatInt(now.Add(s.ttl).Unix(), 10)
	return version + "." + string(p) + "." + exp + "." + base64.RawURLEncoding.EncodeToString(mac(s.keys[0], p, subject, exp))
}

// Verify checks that token was made for purpose p and subject, and is
// unexpired at now: form first (ErrMalformed), then purpose (ErrPurpose),
// then signature (in constant time, against every key), then expiry, so an
// expired forgery reads as invalid.
func (s *Signer) Verify(p Purpose, subject, token string, now time.Time) error {
	parts := strings.Split(token, ".")
	if len(parts) != 4 || parts[0] != version || !Purpose(parts[1]).known() {
		return ErrMalformed
	}
	if Purpose(parts[1]) != p {
		return ErrPurpose
	}
	exp, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || exp <= 0 || parts[2] != strconv.FormatInt(exp, 10) {
		return ErrMalformed
	}
	// Strict: a token has one spelling. Without it the unused low bits of
	// the last character would let three altered tokens pass as the same MAC.
	// The decoder also skips \r and \n anywhere, hence the comparison with
	// the one encoding of what it decoded.
	got, err := base64.RawURLEncoding.Strict().DecodeString(parts[3])
	if err != nil || len(got) != sha256.Size || base64.RawURLEncoding.EncodeToString(got) != parts[3] {
		return ErrMalformed
	}
	ok := false
	for _, k := range s.keys {
		// No early exit: every key is tried, so timing says nothing about which matched.
		if hmac.Equal(got, mac(k, p, subject, parts[2])) {
			ok = true
		}
	}
	if !ok {
		return ErrInvalid
	}
	if now.Unix() > exp {
		return ErrExpired
	}
	return nil
}

// CallbackURL is base with the MerchantBizId added, the URL ekyc-init gives
// as CallbackUrl. The service appends transactionId, passed, subCode and
// callbackToken to it.
func CallbackURL(base *url.URL, bizID string) string {
	u := *base
	q := u.Query()
	q.Set(BizIDParam, bizID)
	u.RawQuery = q.Encode()
	return u.String()
}

// mac binds the version, the purpose, the subject and the expiry. The input
// reads back one way only: the version and purpose are fixed words without
// the separator, and the expiry, after the last separator, is digits, so
// whatever the subject holds cannot shift a field's boundary.
func mac(key []byte, p Purpose, subject, exp string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(version + "|" + string(p) + "|" + subject + "|" + exp))
	return h.Sum(nil)
}
