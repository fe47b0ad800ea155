package emulator

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The fixed example below was worked out by hand from the recipe in the
// cloudauth reference (section 2.3) and its digests computed outside Go, so
// the verifier is checked against something other than itself. The query
// has a space (sent as "+", canonical "%20"), a "*" (canonical "%2A"), a "~"
// (left as is) and an empty value.
const (
	vecBody      = "FacePictureBase64=aGVsbG8%3D"
	vecBodyHash  = "2fa4617f36d4d3b23ab7d5ab2cf7d21d7a468a386c168b5e420b71177b26ef8b"
	vecDate      = "2026-01-02T03:04:05Z"
	vecNonce     = "3c6e1b7a9f0d4e2c8b5a7d9e1f3c5b7a"
	vecSigned    = "content-type;host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version"
	vecCanonical = "POST\n/\na=%2A~&b=x%20y&c=\n" +
		"content-type:application/x-www-form-urlencoded\n" +
		"host:emulator.test:8600\n" +
		"x-acs-action:Initialize\n" +
		"x-acs-content-sha256:" + vecBodyHash + "\n" +
		"x-acs-date:" + vecDate + "\n" +
		"x-acs-signature-nonce:" + vecNonce + "\n" +
		"x-acs-version:2022-08-09\n" +
		"\n" + vecSigned + "\n" + vecBodyHash
	vecStringToSign = "ACS3-HMAC-SHA256\n98636368c02548a1751c06c0dcc5f98ba1842a948433204d0bb7ecc8f2679056"
	vecSignature    = "c5adf92d6bc01dd77352ffa487a59a1fd60f9cc3419bb44fa61c597db335d22d" // key "test-secret"
)

func TestVerifierAgainstHandComputedExample(t *testing.T) {
	now, err := time.Parse(acs3DateLayout, vecDate)
	require.NoError(t, err)
	emu := New(Config{
		Credentials: map[string]Credential{"test-akid": {Secret: "test-secret"}},
		Now:         func() time.Time { return now },
	})

	req := httptest.NewRequest("POST", "http://emulator.test:8600/?b=x+y&a=%2A~&c=", strings.NewReader(vecBody))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("x-acs-action", "Initialize")
	req.Header.Set("x-acs-content-sha256", vecBodyHash)
	req.Header.Set("x-acs-date", " "+vecDate+" ") // values are trimmed before signing
	req.Header.Set("x-acs-signature-nonce", vecNonce)
	req.Header.Set("x-acs-version", "2022-08-09")
	req.Header.Set("User-Agent", "not signed")
	req.Header.Set("Authorization", "ACS3-HMAC-SHA256 Credential=test-akid,SignedHeaders="+vecSigned+",Signature="+vecSignature)

	query, err := url.ParseQuery(req.URL.RawQuery)
	require.NoError(t, err)
	canonical := canonicalRequest(req, query, strings.Split(vecSigned, ";"), vecBodyHash)
	assert.Equal(t, vecCanonical, canonical)
	assert.Equal(t, vecStringToSign, acs3StringToSign(canonical))

	who, aerr := emu.authenticate(req, query, []byte(vecBody))
	require.Nil(t, aerr)
	assert.Equal(t, "test-akid", who.AccessKeyID)

	// The same request again is a replay.
	_, aerr = emu.authenticate(req, query, []byte(vecBody))
	require.NotNil(t, aerr)
	assert.Equal(t, "SignatureNonceUsed", aerr.Code)
}

func TestCanonicalQuery(t *testing.T) {
	tests := []struct {
		name, raw, want string
	}{
		{"empty", "", ""},
		{"sorted bytewise, upper case first", "b=1&B=2&a=3", "B=2&a=3&b=1"},
		{"space plus star tilde", "q=a+b*c~d", "q=a%20b%2Ac~d"},
		{"reserved characters escaped", "q=%2F%3A%3D%26%25", "q=%2F%3A%3D%26%25"},
		{"empty value", "e=", "e="},
		{"repeated key keeps every value", "k=2&k=1", "k=1&k=2"},
		{"unicode", "n=%E5%BC%A0", "n=%E5%BC%A0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.raw)
			require.NoError(t, err)
			assert.Equal(t, tt.want, canonicalQuery(q))
		})
	}
}

func TestParseACS3Authorization(t *testing.T) {
	sig := strings.Repeat("ab", 32)
	tests := []struct {
		name, header string
		ok           bool
	}{
		{"valid", "ACS3-HMAC-SHA256 Credential=k,SignedHeaders=host;x-acs-date,Signature=" + sig, true},
		{"spaces after commas", "ACS3-HMAC-SHA256 Credential=k, SignedHeaders=host;x-acs-date, Signature=" + sig, true},
		{"empty", "", false},
		{"other algorithm", "ACS3-HMAC-SM3 Credential=k,SignedHeaders=host,Signature=" + sig, false},
		{"no credential", "ACS3-HMAC-SHA256 SignedHeaders=host,Signature=" + sig, false},
		{"empty credential", "ACS3-HMAC-SHA256 Credential=,SignedHeaders=host,Signature=" + sig, false},
		{"no signed headers", "ACS3-HMAC-SHA256 Credential=k,Signature=" + sig, false},
		{"duplicate field", "ACS3-HMAC-SHA256 Credential=k,Credential=k,SignedHeaders=host,Signature=" + sig, false},
		{"unknown field", "ACS3-HMAC-SHA256 Credential=k,SignedHeaders=host,Signature=" + sig + ",Extra=1", false},
		{"signature not hex", "ACS3-HMAC-SHA256 Credential=k,SignedHeaders=host,Signature=" + strings.Repeat("zz", 32), false},
		{"signature short", "ACS3-HMAC-SHA256 Credential=k,SignedHeaders=host,Signature=abcd", false},
		{"headers unsorted", "ACS3-HMAC-SHA256 Credential=k,SignedHeaders=x-acs-date;host,Signature=" + sig, false},
		{"headers upper case", "ACS3-HMAC-SHA256 Credential=k,SignedHeaders=Host;x-acs-date,Signature=" + sig, false},
		{"headers repeated", "ACS3-HMAC-SHA256 Credential=k,SignedHeaders=host;host,Signature=" + sig, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, aerr := parseACS3Authorization(tt.header)
			if tt.ok {
				require.Nil(t, aerr)
				assert.Equal(t, "k", a.AccessKeyID)
				assert.Equal(t, []string{"host", "x-acs-date"}, a.SignedHeaders)
				return
			}
			require.NotNil(t, aerr)
			assert.Equal(t, "IncompleteSignature", aerr.Code)
		})
	}
}

func TestSignedHeaderSetIsEnforced(t *testing.T) {
	_, srv := startEmulator(t, Config{})
	for _, drop := range []string{"host", "x-acs-action", "x-acs-version", "x-acs-date",
		"x-acs-signature-nonce", "x-acs-content-sha256", "content-type", "x-acs-security-token", "x-acs-accesskey-id"} {
		t.Run(drop, func(t *testing.T) {
			s := testSigner{ID: DefaultSTSAccessKeyID, Secret: DefaultSTSAccessKeySecret, Token: DefaultSecurityToken}
			req := s.request(t, "POST", srv.URL, "Initialize", values(validInitialize()), url.Values{})
			auth := req.Header.Get("Authorization")
			signed := strings.SplitN(strings.SplitN(auth, "SignedHeaders=", 2)[1], ",", 2)[0]
			kept := strings.ReplaceAll(";"+signed+";", ";"+drop+";", ";")
			require.NotEqual(t, ";"+signed+";", kept, "the signer signs %s", drop)
			req.Header.Set("Authorization", strings.Replace(auth, signed, strings.Trim(kept, ";"), 1))

			status, body := do(t, srv.Client(), req)
			assert.Equal(t, 400, status)
			assert.Equal(t, "IncompleteSignature", body["Code"])
			assert.Contains(t, body["Message"], drop)
		})
	}
}

func TestNonceCacheForgetsExpiredNonces(t *testing.T) {
	c := nonceCache{seen: map[string]time.Time{}}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	require.True(t, c.use("a", t0, t0.Add(15*time.Minute)))
	require.False(t, c.use("a", t0.Add(time.Minute), t0.Add(16*time.Minute)), "replay within the window")
	require.True(t, c.use("b", t0.Add(2*time.Minute), t0.Add(17*time.Minute)))

	later := t0.Add(15*time.Minute + time.Second)
	require.True(t, c.use("a", later, later.Add(15*time.Minute)), "a request with that nonce could no longer pass the date check")
	c.use("c", t0.Add(20*time.Minute), t0.Add(35*time.Minute)) // sweeps "b"
	assert.NotContains(t, c.seen, "b")
	assert.Len(t, c.seen, 2)
}
