// Package alipay calls the Alipay open platform gateway (v2 gateway.do) with
// RSA2 signatures, and verifies what it answers. It is written by hand
// because no Alipay Go SDK can be had here; every rule follows
// the public Alipay open platform documentation (gateway.do, RSA2 "sign and
// verify", certificate mode) and is checked against the official SDKs' own
// test vectors, kept in testdata/vectors/alipay at the repository's root.
//
// The pieces, each usable alone:
//   - sign.go: the sign string, RSA2 signing and verification, key parsing;
//   - response.go: the signed node of an answer, taken as exact raw bytes;
//   - certsn.go: serial numbers of public-key certificates (certificate mode);
//   - client.go and zhima.go: the gateway client and the Zhima certification
//     calls (initialize, certify URL, query).
package alipay

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/idverify/fc-kyc/pkg/rsakey"
)

// Signature types. RSA2 is the only one the client sends; RSA (SHA1) is here
// because the official vectors cover it and old notifications still use it.
const (
	SignTypeRSA2 = "RSA2"
	SignTypeRSA  = "RSA"
)

// Errors a caller can tell apart with errors.Is.
var (
	ErrBadSignature     = errors.New("alipay: signature does not verify")
	ErrUnknownSignType  = errors.New("alipay: unknown sign_type (want RSA2 or RSA)")
	ErrMalformedKey     = errors.New("alipay: malformed key")
	ErrUnsignedSuccess  = errors.New("alipay: a successful answer without a sign")
	ErrDuplicateNode    = errors.New("alipay: duplicate top-level key in the answer")
	ErrNoResponseNode   = errors.New("alipay: the answer has neither the method's response node nor error_response")
	ErrCertSNMismatch   = errors.New("alipay: alipay_cert_sn of the answer is not the configured Alipay certificate")
	ErrMalformedAnswer  = errors.New("alipay: the answer is not a JSON object")
	ErrNoRSACertificate = errors.New("alipay: no RSA certificate in the bundle")
)

// SignContent is the string both sides sign: every parameter except sign,
// empty values dropped, keys sorted bytewise (keys, not "k=v" pairs: they
// differ when a key holds a character below '='), "k=v" joined with '&',
// values raw (no URL-encoding, no escaping).
func SignContent(params map[string]string) string {
	keys := make([]string, 0, len(params))
	n := 0
	for k, v := range params {
		if k == "sign" || k == "" || v == "" {
			continue
		}
		keys = append(keys, k)
		n += len(k) + len(v) + 2
	}
	slices.Sort(keys)
	var b strings.Builder
	b.Grow(n)
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(params[k])
	}
	return b.String()
}

// digest hashes content for signType.
func digest(signType string, content []byte) (crypto.Hash, []byte, error) {
	switch signType {
	case SignTypeRSA2:
		h := sha256.Sum256(content)
		return crypto.SHA256, h[:], nil
	case SignTypeRSA:
		h := sha1.Sum(content)
		return crypto.SHA1, h[:], nil
	}
	return 0, nil, ErrUnknownSignType
}

// Sign signs content (UTF-8 bytes) with PKCS#1 v1.5 and returns standard
// base64 with padding, the form of the sign parameter. PKCS#1 v1.5 is
// deterministic, which is what makes fixed test vectors possible.
func Sign(key *rsa.PrivateKey, signType string, content []byte) (string, error) {
	h, sum, err := digest(signType, content)
	if err != nil {
		return "", err
	}
	sig, err := rsa.SignPKCS1v15(nil, key, h, sum)
	if err != nil {
		return "", fmt.Errorf("alipay: signing: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// Verify checks a base64 sign over content with key. Any failure, including
// a sign that is not base64, is ErrBadSignature.
func Verify(key *rsa.PublicKey, signType string, content []byte, sign string) error {
	h, sum, err := digest(signType, content)
	if err != nil {
		return err
	}
	sig, err := base64.StdEncoding.DecodeString(sign)
	if err != nil {
		return ErrBadSignature
	}
	if rsa.VerifyPKCS1v15(key, h, sum, sig) != nil {
		return ErrBadSignature
	}
	return nil
}

// ParsePrivateKey reads an RSA private key in any of the four forms seen in
// the wild (pkg/rsakey). Errors wrap ErrMalformedKey and never include the key.
func ParsePrivateKey(s string) (*rsa.PrivateKey, error) {
	k, err := rsakey.ParsePrivate(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedKey, err)
	}
	return k, nil
}

// ParsePublicKey reads an RSA public key: X.509 SubjectPublicKeyInfo (the
// "MIIBIj..." form Alipay's console shows), PKCS#1, or a certificate whose
// key it takes; PEM or bare base64 (pkg/rsakey).
func ParsePublicKey(s string) (*rsa.PublicKey, error) {
	k, err := rsakey.ParsePublic(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedKey, err)
	}
	return k, nil
}

// VerifyParams checks the sign of form-style parameters (asynchronous
// notifications, return_url parameters) with Alipay's public key. The signed
// string is SignContent of the parameters without sign and, when
// signTypeSigned is false, without sign_type too: trade notifications use
// that older rule (the Java SDK's rsaCheckV1), other notifications sign
// sign_type (rsaCheckV2). The algorithm is the one sign_type names, RSA2 when
// absent.
func VerifyParams(key *rsa.PublicKey, params map[string]string, signTypeSigned bool) error {
	signType := params["sign_type"]
	if signType == "" {
		signType = SignTypeRSA2
	}
	content := params
	if !signTypeSigned {
		content = make(map[string]string, len(params))
		for k, v := range params {
			if k != "sign_type" {
				content[k] = v
			}
		}
	}
	return Verify(key, signType, []byte(SignContent(content)), params["sign"])
}
