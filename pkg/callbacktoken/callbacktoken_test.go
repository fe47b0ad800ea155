package callbacktoken

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	keyA = "0123456789abcdef0123456789abcdef-key-A"
	keyB = "fedcba9876543210fedcba9876543210-key-B"
)

var t0 = time.Unix(1_800_000_000, 0)

func TestTokenIsTheDocumentedHMAC(t *testing.T) {
	s, err := New([]string{keyA}, time.Hour)
	require.NoError(t, err)
	// Recompute independently from the format in the package comment.
	exp := "1800003600"
	for _, c := range []struct {
		p       Purpose
		subject string
	}{{EKYCCallback, "biz123"}, {ZhimaReturn, "ZM2088:ZM_tx_1"}} {
		tok := s.Token(c.p, c.subject, t0)
		h := hmac.New(sha256.New, []byte(keyA))
		h.Write([]byte("v2|" + string(c.p) + "|" + c.subject + "|" + exp))
		want := "v2." + string(c.p) + "." + exp + "." + base64.RawURLEncoding.EncodeToString(h.Sum(nil))
		assert.Equal(t, want, tok)
		assert.Equal(t, url.QueryEscape(tok), tok, "token must need no URL escaping")
	}
}

// TestPurposesAreSeparate: a token of one purpose never verifies as the
// other, whatever subject it is presented with: not its own subject, and
// not the subject the other purpose would build from the same ids (the
// attack of a Zhima return token replayed at the eKYC callback).
func TestPurposesAreSeparate(t *testing.T) {
	s, err := New([]string{keyA}, time.Hour)
	require.NoError(t, err)
	zhima := s.Token(ZhimaReturn, ZhimaSubject("ZM2088", "ORDER1"), t0)
	ekyc := s.Token(EKYCCallback, "ORDER1", t0)
	for _, subject := range []string{ZhimaSubject("ZM2088", "ORDER1"), "zhima:ZM2088:ORDER1", "ORDER1", "ZM2088"} {
		assert.ErrorIs(t, s.Verify(EKYCCallback, subject, zhima, t0), ErrPurpose, subject)
		assert.ErrorIs(t, s.Verify(ZhimaReturn, subject, ekyc, t0), ErrPurpose, subject)
	}
	// Relabelling the purpose in the text does not carry the MAC across.
	relabelled := strings.Replace(zhima, ".zhima.", ".ekyc.", 1)
	assert.ErrorIs(t, s.Verify(EKYCCallback, ZhimaSubject("ZM2088", "ORDER1"), relabelled, t0), ErrInvalid)
	assert.NoError(t, s.Verify(ZhimaReturn, ZhimaSubject("ZM2088", "ORDER1"), zhima, t0))
	assert.NoError(t, s.Verify(EKYCCallback, "ORDER1", ekyc, t0))
	assert.Panics(t, func() { s.Token("other", "x", t0) })
}

func TestVerify(t *testing.T) {
	signer, err := New([]string{keyA}, time.Hour)
	require.NoError(t, err)
	good := signer.Token(EKYCCallback, "biz123", t0)
	flip := func(s string) string { // change one character of the MAC
		b := []byte(s)
		i := len(b) - 5
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	otherKey, _ := New([]string{keyB}, time.Hour)

	tests := []struct {
		name  string
		bizID string
		token string
		now   time.Time
		want  error
	}{
		{"valid", "biz123", good, t0.Add(time.Minute), nil},
		{"valid at the last second", "biz123", good, t0.Add(time.Hour), nil},
		{"expired", "biz123", good, t0.Add(time.Hour + time.Second), ErrExpired},
		{"other MerchantBizId", "biz124", good, t0, ErrInvalid},
		{"altered MAC", "biz123", flip(good), t0, ErrInvalid},
		{"signed with another key", "biz123", otherKey.Token(EKYCCallback, "biz123", t0), t0, ErrInvalid},
		{"expiry moved later", "biz123", strings.Replace(good, ".1800003600.", ".1900003600.", 1), t0, ErrInvalid},
		{"empty", "biz123", "", t0, ErrMalformed},
		{"other version", "biz123", "v3" + good[2:], t0, ErrMalformed},
		{"first version, no purpose", "biz123", "v1.1800003600." + strings.Split(good, ".")[3], t0, ErrMalformed},
		{"unknown purpose", "biz123", strings.Replace(good, ".ekyc.", ".bank.", 1), t0, ErrMalformed},
		{"other purpose", "biz123", strings.Replace(good, ".ekyc.", ".zhima.", 1), t0, ErrPurpose},
		{"expiry not a number", "biz123", "v2.ekyc.abc." + strings.Split(good, ".")[3], t0, ErrMalformed},
		{"expiry with leading zero", "biz123", strings.Replace(good, ".1800003600.", ".01800003600.", 1), t0, ErrMalformed},
		{"short MAC", "biz123", "v2.ekyc.1800003600.AAAA", t0, ErrMalformed},
		{"extra part", "biz123", good + ".x", t0, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := signer.Verify(EKYCCallback, tt.bizID, tt.token, tt.now)
			if tt.want == nil {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, tt.want)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	old, _ := New([]string{keyA}, time.Hour)
	rotated, err := New([]string{keyB, keyA}, time.Hour)
	require.NoError(t, err)
	assert.NoError(t, rotated.Verify(EKYCCallback, "biz", old.Token(EKYCCallback, "biz", t0), t0), "a token signed before rotation still verifies")
	assert.NoError(t, rotated.Verify(EKYCCallback, "biz", rotated.Token(EKYCCallback, "biz", t0), t0))
	assert.ErrorIs(t, old.Verify(EKYCCallback, "biz", rotated.Token(EKYCCallback, "biz", t0), t0), ErrInvalid, "the new key signs")
}

func TestNewRefusesWeakKeys(t *testing.T) {
	_, err := New(nil, time.Hour)
	assert.ErrorContains(t, err, "CALLBACK_SECRET")
	_, err = New([]string{keyA, "short"}, time.Hour)
	assert.ErrorContains(t, err, "key 2 of 2")
	_, err = New([]string{keyA}, 0)
	assert.Error(t, err)
}

func TestCallbackURL(t *testing.T) {
	base, _ := url.Parse("https://cb.example.com/ekyc/callback?tenant=a")
	got := CallbackURL(base, "biz123")
	u, err := url.Parse(got)
	require.NoError(t, err)
	assert.Equal(t, "biz123", u.Query().Get(BizIDParam))
	assert.Equal(t, "a", u.Query().Get("tenant"))
	assert.Equal(t, "/ekyc/callback", u.Path)
	assert.Equal(t, "https://cb.example.com/ekyc/callback?tenant=a", base.String(), "base is not modified")
}

// TestOneSpellingPerToken: the MAC's 32 bytes leave 2 unused bits in the
// last base64 character; changing them must not give another valid token.
func TestOneSpellingPerToken(t *testing.T) {
	s, err := New([]string{"0123456789abcdef0123456789abcdef"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	tok := s.Token(EKYCCallback, "biz1", now)
	if err := s.Verify(EKYCCallback, "biz1", tok, now); err != nil {
		t.Fatalf("genuine token refused: %v", err)
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := tok[len(tok)-1]
	for i := 0; i < len(alphabet); i++ {
		if alphabet[i] == last {
			continue
		}
		altered := tok[:len(tok)-1] + string(alphabet[i])
		if err := s.Verify(EKYCCallback, "biz1", altered, now); err == nil {
			t.Errorf("altered last character %q accepted", alphabet[i])
		}
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv("CALLBACK_SECRET", "")
	_, err := FromEnv("EKYC_CALLBACK_URL is set")
	assert.ErrorContains(t, err, "CALLBACK_SECRET is required when EKYC_CALLBACK_URL is set")

	t.Setenv("CALLBACK_SECRET", keyB+","+keyA)
	t.Setenv("CALLBACK_TOKEN_TTL", "")
	s, err := FromEnv("x")
	require.NoError(t, err)
	tok := s.Token(EKYCCallback, "biz", t0)
	assert.NoError(t, s.Verify(EKYCCallback, "biz", tok, t0.Add(DefaultTTL-time.Second)))
	assert.ErrorIs(t, s.Verify(EKYCCallback, "biz", tok, t0.Add(DefaultTTL+time.Second)), ErrExpired)

	t.Setenv("CALLBACK_TOKEN_TTL", "soon")
	_, err = FromEnv("x")
	assert.ErrorContains(t, err, "CALLBACK_TOKEN_TTL")
	t.Setenv("CALLBACK_TOKEN_TTL", "1h")
	t.Setenv("CALLBACK_SECRET", "short")
	_, err = FromEnv("x")
	assert.ErrorContains(t, err, "CALLBACK_SECRET: key 1 of 1")
}
