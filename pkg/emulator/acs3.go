package emulator

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
)

// This file verifies the V3 signature (ACS3-HMAC-SHA256) that
// darabonba-openapi puts on every cloudauth-intl call: the server side of
// the client's GetAuthorization.

const acs3Algorithm = "ACS3-HMAC-SHA256"

// acs3DateLayout is the only x-acs-date form accepted: ISO 8601 in UTC.
const acs3DateLayout = "2006-01-02T15:04:05Z"

// Request headers the verifier reads.
const (
	hdrAction        = "x-acs-action"
	hdrVersion       = "x-acs-version"
	hdrDate          = "x-acs-date"
	hdrNonce         = "x-acs-signature-nonce"
	hdrContentSHA256 = "x-acs-content-sha256"
	hdrSecurityToken = "x-acs-security-token"
	hdrAccessKeyID   = "x-acs-accesskey-id"
)

// alwaysSigned are the headers every request must sign; signedIfPresent must
// be signed whenever the request carries them ("all common request headers
// other than Authorization must be signed if present").
var (
	alwaysSigned    = []string{"host", hdrAction, hdrVersion, hdrDate, hdrNonce, hdrContentSHA256}
	signedIfPresent = []string{"content-type", hdrSecurityToken, hdrAccessKeyID}
)

// acs3Authorization is a parsed Authorization header.
type acs3Authorization struct {
	AccessKeyID   string
	SignedHeaders []string // lower-case, sorted, unique
	Signature     []byte
}

// parseACS3Authorization parses
// "ACS3-HMAC-SHA256 Credential=<akid>,SignedHeaders=<a;b;c>,Signature=<hex>".
func parseACS3Authorization(h string) (acs3Authorization, *apiError) {
	var a acs3Authorization
	alg, rest, ok := strings.Cut(h, " ")
	if !ok || alg != acs3Algorithm {
		return a, errIncompleteSignature("the Authorization header must start with " + acs3Algorithm)
	}
	fields := map[string]string{}
	for part := range strings.SplitSeq(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if _, dup := fields[k]; !ok || dup {
			return a, errIncompleteSignature("the Authorization header is malformed")
		}
		fields[k] = v
	}
	a.AccessKeyID = fields["Credential"]
	sig, err := hex.DecodeString(fields["Signature"])
	if len(fields) != 3 || a.AccessKeyID == "" || fields["SignedHeaders"] == "" || err != nil || len(sig) != sha256.Size {
		return a, errIncompleteSignature("the Authorization header must hold Credential, SignedHeaders and a hex Signature")
	}
	a.Signature = sig
	a.SignedHeaders = strings.Split(fields["SignedHeaders"], ";")
	for i, name := range a.SignedHeaders {
		if name == "" || name != strings.ToLower(name) || (i > 0 && name <= a.SignedHeaders[i-1]) {
			return a, errIncompleteSignature("SignedHeaders must be lower-case names, sorted and unique")
		}
	}
	return a, nil
}

// checkSignedHeaderSet reports the first header that must be signed but is
// not in signed.
func checkSignedHeaderSet(r *http.Request, signed []string) *apiError {
	for _, name := range alwaysSigned {
		if !slices.Contains(signed, name) {
			return errIncompleteSignature("SignedHeaders must include " + name)
		}
	}
	for _, name := range signedIfPresent {
		if len(r.Header.Values(name)) > 0 && !slices.Contains(signed, name) {
			return errIncompleteSignature("SignedHeaders must include " + name + " when it is sent")
		}
	}
	return nil
}

// canonicalRequest rebuilds the client's canonical request from what arrived.
// The URI is always "/": only the root path is routed here. payloadHash is the
// hex SHA-256 of the body, already checked against x-acs-content-sha256.
func canonicalRequest(r *http.Request, query url.Values, signed []string, payloadHash string) string {
	var b strings.Builder
	b.WriteString(r.Method + "\n/\n" + canonicalQuery(query) + "\n")
	for _, name := range signed {
		b.WriteString(name + ":" + canonicalHeaderValue(r, name) + "\n")
	}
	b.WriteString("\n" + strings.Join(signed, ";") + "\n" + payloadHash)
	return b.String()
}

// canonicalQuery encodes the decoded query the way the client does before
// signing: keys sorted bytewise and not escaped, values url.QueryEscape'd,
// "key=" for an empty value, then "+"→"%20", "*"→"%2A", "%7E"→"~" over the
// whole string. The client never repeats a key; if a request does, every
// value is kept (sorted) so that none escapes the signature.
func canonicalQuery(q url.Values) string {
	var pairs []string
	for _, k := range slices.Sorted(maps.Keys(q)) {
		vals := slices.Clone(q[k])
		sort.Strings(vals)
		for _, v := range vals {
			pairs = append(pairs, k+"="+url.QueryEscape(v))
		}
	}
	return strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(strings.Join(pairs, "&"))
}

// canonicalHeaderValue is the trimmed value of a signed header; several
// values are sorted and joined with ",". Go's server moves Host out of the
// header map into r.Host (port included), which is what the client signed.
func canonicalHeaderValue(r *http.Request, name string) string {
	if name == "host" {
		return r.Host
	}
	vals := slices.Clone(r.Header.Values(name))
	for i := range vals {
		vals[i] = strings.TrimSpace(vals[i])
	}
	sort.Strings(vals)
	return strings.Join(vals, ",")
}

// acs3StringToSign is the algorithm name and the hex SHA-256 of the
// canonical request.
func acs3StringToSign(canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	return acs3Algorithm + "\n" + hex.EncodeToString(sum[:])
}

// acs3Sign returns HMAC-SHA256(secret, stringToSign).
func acs3Sign(secret, stringToSign string) []byte {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(stringToSign))
	return mac.Sum(nil)
}

// caller is the authenticated identity of a request.
type caller struct {
	AccessKeyID   string
	SecurityToken string
}

// authenticate runs the signature checks in the order that keeps each
// answer meaningful: the header's shape, the key, the signed-header set, the
// date, the body hash, the signature, the STS token, and last the nonce. So a
// request that fails an earlier check never records its nonce, and a replayed
// request is reported as SignatureNonceUsed only when it is otherwise valid:
// a replay with one byte changed reports the signature, not the nonce.
func (e *Emulator) authenticate(r *http.Request, query url.Values, body []byte) (caller, *apiError) {
	auth, aerr := parseACS3Authorization(r.Header.Get("Authorization"))
	if aerr != nil {
		return caller{}, aerr
	}
	cred, ok := e.creds[auth.AccessKeyID]
	if !ok {
		return caller{}, errAccessKeyNotFound()
	}
	if aerr := checkSignedHeaderSet(r, auth.SignedHeaders); aerr != nil {
		return caller{}, aerr
	}
	now := e.now()
	date, err := time.Parse(acs3DateLayout, strings.TrimSpace(r.Header.Get(hdrDate)))
	if err != nil || date.Sub(now).Abs() > e.skew {
		return caller{}, errTimestampExpired()
	}
	nonce := strings.TrimSpace(r.Header.Get(hdrNonce))
	if nonce == "" {
		return caller{}, errIncompleteSignature("x-acs-signature-nonce is empty")
	}
	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	if !hmac.Equal([]byte(strings.ToLower(strings.TrimSpace(r.Header.Get(hdrContentSHA256)))), []byte(payloadHash)) {
		return caller{}, errSignatureMismatch("x-acs-content-sha256 does not match the body")
	}
	// Like the real gateway, echo the string to sign: it helps a client find
	// its mistake and, unlike the canonical request, holds no token.
	sts := acs3StringToSign(canonicalRequest(r, query, auth.SignedHeaders, payloadHash))
	if !hmac.Equal(acs3Sign(cred.Secret, sts), auth.Signature) {
		return caller{}, errSignatureMismatch("server string to sign is: " + sts)
	}
	token := r.Header.Get(hdrSecurityToken)
	_, tokenSent := r.Header[http.CanonicalHeaderKey(hdrSecurityToken)]
	if cred.SecurityToken == "" && tokenSent ||
		cred.SecurityToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(cred.SecurityToken)) != 1 {
		return caller{}, errTokenMismatch()
	}
	if akid, sent := r.Header[http.CanonicalHeaderKey(hdrAccessKeyID)]; sent && (len(akid) != 1 || akid[0] != auth.AccessKeyID) {
		return caller{}, errTokenMismatch()
	}
	e.mu.Lock()
	fresh := e.nonces.use(nonce, now, date.Add(e.skew))
	e.mu.Unlock()
	if !fresh {
		return caller{}, errNonceUsed()
	}
	return caller{AccessKeyID: auth.AccessKeyID, SecurityToken: token}, nil
}

// nonceCache remembers signature nonces for as long as a request carrying
// them could still pass the date check, and no longer: memory stays bounded
// by the request rate times twice the allowed clock skew.
type nonceCache struct {
	seen      map[string]time.Time // nonce → when it may be forgotten
	nextSweep time.Time
}

// use records nonce until expires and reports whether it was unused.
func (c *nonceCache) use(nonce string, now, expires time.Time) bool {
	if now.After(c.nextSweep) {
		for n, exp := range c.seen {
			if !exp.After(now) {
				delete(c.seen, n)
			}
		}
		c.nextSweep = now.Add(time.Minute)
	}
	if exp, ok := c.seen[nonce]; ok && exp.After(now) {
		return false
	}
	c.seen[nonce] = expires
	return true
}
