// Package rsakey reads the RSA keys merchants paste from the Alipay and
// Antom consoles, in every form the official SDKs accept, so that a key
// that works with an SDK works here: PEM (any header) or bare base64 DER
// with or without line breaks; private keys in PKCS#1 or PKCS#8; public
// keys as X.509 SubjectPublicKeyInfo (the "MIIBIj..." form the consoles
// show), PKCS#1, or a certificate whose key is taken. Errors never include
// the key.
package rsakey

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"
)

var (
	// ErrFormat: neither PEM nor base64, or DER that is no key of the kind asked for.
	ErrFormat = errors.New("not an RSA key in PEM or bare base64 form")
	// ErrNotRSA: a well-formed key of another algorithm (EC, Ed25519, SM2).
	ErrNotRSA = errors.New("a key, but not an RSA key")
)

// ParsePrivate reads an RSA private key, PKCS#1 or PKCS#8.
func ParsePrivate(s string) (*rsa.PrivateKey, error) {
	b, err := der(s)
	if err != nil {
		return nil, err
	}
	if k, err := x509.ParsePKCS1PrivateKey(b); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(b)
	if err != nil {
		return nil, ErrFormat
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, ErrNotRSA
	}
	return rk, nil
}

// ParsePublic reads an RSA public key: SubjectPublicKeyInfo, PKCS#1, or a
// certificate's.
func ParsePublic(s string) (*rsa.PublicKey, error) {
	b, err := der(s)
	if err != nil {
		return nil, err
	}
	if k, err := x509.ParsePKIXPublicKey(b); err == nil {
		if rk, ok := k.(*rsa.PublicKey); ok {
			return rk, nil
		}
		return nil, ErrNotRSA
	}
	if k, err := x509.ParsePKCS1PublicKey(b); err == nil {
		return k, nil
	}
	if c, err := x509.ParseCertificate(b); err == nil {
		if rk, ok := c.PublicKey.(*rsa.PublicKey); ok {
			return rk, nil
		}
		return nil, ErrNotRSA
	}
	return nil, ErrFormat
}

// der returns the bytes of a PEM block, or of bare base64 with white space
// anywhere (a key pasted from a console often has line breaks).
func der(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "-----BEGIN") {
		block, _ := pem.Decode([]byte(s))
		if block == nil {
			return nil, ErrFormat
		}
		return block.Bytes, nil
	}
	b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil || len(b) == 0 {
		return nil, ErrFormat
	}
	return b, nil
}
