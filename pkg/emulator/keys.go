package emulator

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
)

// The Alipay and Antom gateways both sign with RSASSA-PKCS1-v1_5 over
// SHA-256 (Alipay's RSA2, Antom's RSA256) with the embedded test keys of
// testdata/. What each signs, and how the signature travels, stays in
// alipay.go and antom.go.

// mustPublicKey parses an embedded PEM SubjectPublicKeyInfo RSA key.
func mustPublicKey(s string) *rsa.PublicKey {
	k, err := x509.ParsePKIXPublicKey(mustPEM(s))
	if err != nil {
		panic("emulator: embedded test public key: " + err.Error())
	}
	return k.(*rsa.PublicKey)
}

// mustPrivateKey parses an embedded PEM RSA private key, PKCS #1 (Alipay's
// test keys) or PKCS #8 (Antom's).
func mustPrivateKey(s string) *rsa.PrivateKey {
	der := mustPEM(s)
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		panic("emulator: embedded test private key: " + err.Error())
	}
	return k.(*rsa.PrivateKey)
}

func mustPEM(s string) []byte {
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		panic("emulator: embedded test key is not PEM")
	}
	return b.Bytes
}

// signSHA256 signs content with key.
func signSHA256(key *rsa.PrivateKey, content string) []byte {
	sum := sha256.Sum256([]byte(content))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:])
	if err != nil {
		panic("emulator: signing an answer: " + err.Error())
	}
	return sig
}

// verifySHA256 says whether sig is pub's signature of content.
func verifySHA256(pub *rsa.PublicKey, content string, sig []byte) bool {
	sum := sha256.Sum256([]byte(content))
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) == nil
}
