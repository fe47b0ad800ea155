package callbacktoken

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fuzzKeys: the signing key and a rotated-out one that still verifies.
var fuzzKeys = []string{strings.Repeat("k", MinKeyLen), strings.Repeat("o", MinKeyLen)}

// FuzzVerify: a token that verifies is exactly the one Token() makes for
// that purpose, MerchantBizId and expiry under one of the keys (there is one
// spelling of each token), and any other string is refused with one of the
// package's errors. Each input is tried for both purposes.
func FuzzVerify(f *testing.F) {
	s, err := New(fuzzKeys, time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	good := s.Token(EKYCCallback, "biz123", now)
	f.Add("biz123", good)
	f.Add("biz123", good+"=")
	f.Add("biz124", good)
	f.Add("biz123", strings.Replace(good, "v2.", "v1.", 1))
	f.Add("biz123", strings.Replace(good, ".ekyc.", ".zhima.", 1))
	f.Add("biz123", "v2.ekyc.01800003600."+good[len(good)-43:])
	f.Add("a:b", s.Token(ZhimaReturn, "a:b", now))
	f.Add("", "v2...")
	f.Add("biz123", "v2.ekyc.-1.AAAA")
	f.Fuzz(func(t *testing.T, bizID, token string) {
		for _, p := range []Purpose{EKYCCallback, ZhimaReturn} {
			err := s.Verify(p, bizID, token, now)
			if err != nil {
				if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrExpired) && !errors.Is(err, ErrPurpose) {
					t.Fatalf("Verify(%q, %q, %q): unexpected error %v", p, bizID, token, err)
				}
				continue
			}
			parts := strings.Split(token, ".")
			exp, perr := strconv.ParseInt(parts[2], 10, 64)
			if perr != nil || parts[1] != string(p) {
				t.Fatalf("verified token %q has no expiry, or another purpose than %q", token, p)
			}
			made := time.Unix(exp, 0).Add(-time.Hour)
			ok := false
			for _, k := range fuzzKeys {
				one, _ := New([]string{k}, time.Hour)
				ok = ok || one.Token(p, bizID, made) == token
			}
			if !ok {
				t.Fatalf("Verify accepted %q for %q %q, which Token() never makes", token, p, bizID)
			}
		}
	})
}

// FuzzTokenRoundTrip: Token's output verifies for its own purpose and
// MerchantBizId until it expires, and for no other.
func FuzzTokenRoundTrip(f *testing.F) {
	s, err := New(fuzzKeys, time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("biz123", "biz124", int64(1_800_000_000))
	f.Add("a", "A", int64(1))
	f.Add("0", "", int64(-100000))
	f.Fuzz(func(t *testing.T, bizID, other string, at int64) {
		now := time.Unix(at%(1<<40), 0)
		tok := s.Token(EKYCCallback, bizID, now)
		if err := s.Verify(EKYCCallback, bizID, tok, now); err != nil && now.Add(time.Hour).Unix() > 0 {
			t.Fatalf("fresh token for %q refused: %v", bizID, err)
		}
		if other != bizID {
			if err := s.Verify(EKYCCallback, other, tok, now); err == nil {
				t.Fatalf("token for %q accepted for %q", bizID, other)
			}
		}
		for _, subject := range []string{bizID, other} {
			if err := s.Verify(ZhimaReturn, subject, tok, now); err == nil {
				t.Fatalf("eKYC token for %q accepted as a Zhima return token for %q", bizID, subject)
			}
		}
		if err := s.Verify(EKYCCallback, bizID, tok, now.Add(time.Hour+time.Second)); err == nil {
			t.Fatalf("token for %q accepted after it expired", bizID)
		}
	})
}
