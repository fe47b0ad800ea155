package alipay

import (
	"crypto/md5"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"strings"
	"unicode/utf8"
)

// CertSN is the serial number Alipay gives a certificate in certificate
// mode (app_cert_sn, alipay_cert_sn, and each part of alipay_root_cert_sn):
// lowercase hex MD5 of the issuer's name, written as the official SDKs
// write it (see IssuerName), followed by the decimal serial number.
func CertSN(c *x509.Certificate) (string, error) {
	name, err := IssuerName(c.RawIssuer)
	if err != nil {
		return "", err
	}
	sum := md5.Sum([]byte(name + c.SerialNumber.String()))
	return hex.EncodeToString(sum[:]), nil
}

// attribute and rdnSET are a Name as it is encoded (RFC 5280 4.1.2.4):
// unlike pkix.AttributeTypeAndValue they keep each value's bytes and tag,
// which the SN depends on. A type whose name ends in SET is read by
// encoding/asn1 as a SET OF.
type attribute struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

type rdnSET []attribute

// shortNames are the attribute types the Node SDK names (@fidm/x509's
// short names); it writes every other type with an empty name ("=value").
var shortNames = map[string]string{
	"2.5.4.3":              "CN",
	"2.5.4.6":              "C",
	"2.5.4.7":              "L",
	"2.5.4.8":              "ST",
	"2.5.4.10":             "O",
	"2.5.4.11":             "OU",
	"1.2.840.113549.1.9.1": "E", // emailAddress
}

// IssuerName is a certificate's issuer (its DER RawIssuer) as the official
// Node SDK (npm alipay-sdk, antcertutil.ts getCertSN) writes it before
// hashing, which for Alipay's own certificates (C, O, OU, CN, one value
// each) is also what the Java SDK's getIssuerX500Principal().getName()
// writes, e.g. "CN=Ant Financial Certification Authority Class 2 R1,OU=
// Certification Authority,O=Ant Financial,C=CN":
//
//   - every attribute of every RDN, in the certificate's order, then the
//     whole list reversed (RFC 4514 order), joined with ",";
//   - a multi-valued RDN is not kept together: its attributes are separate
//     ","-joined entries, reversed with the rest;
//   - types CN, C, L, ST, O, OU and E (emailAddress); any other type,
//     serialNumber included, has an empty name: "=value";
//   - each value is the bytes of its encoding, unescaped: "O=Acme, Inc"
//     keeps its comma, and a BMPString's UTF-16 bytes are written as they
//     are.
//
// The Java SDK writes RFC 2253 (javax.security.auth.x500.X500Principal
// getName()): a multi-valued RDN as "A+B" in encoded order; ',', '+', '"',
// '\', '<', '>', ';' escaped with '\'; types other than CN, C, L, ST, O,
// OU, STREET, DC and UID as a dotted OID with the value's DER in hex
// ("1.2.840.113549.1.9.1=#1610..."); string values decoded (BMPString as
// UTF-16). For such issuers the two SDKs disagree, and this follows the
// Node SDK, which the tests run against.
//
// A value that is not a string type, or whose bytes are not UTF-8, is
// refused: the SDKs would write it each in its own way, and Alipay does
// not issue such certificates.
func IssuerName(rawIssuer []byte) (string, error) {
	var rdns []rdnSET
	rest, err := asn1.Unmarshal(rawIssuer, &rdns)
	if err != nil || len(rest) != 0 {
		return "", fmt.Errorf("%w: the certificate's issuer name cannot be read", ErrMalformedKey)
	}
	var attrs []attribute
	for _, rdn := range rdns {
		attrs = append(attrs, rdn...)
	}
	parts := make([]string, 0, len(attrs))
	for i := len(attrs) - 1; i >= 0; i-- {
		a := attrs[i]
		v := a.Value
		if v.Class != asn1.ClassUniversal || v.IsCompound || !stringTag(v.Tag) || !utf8.Valid(v.Bytes) {
			return "", fmt.Errorf("%w: the issuer's %s attribute is not a UTF-8 string (ASN.1 class %d, tag %d): "+
				"the official SDKs would each compute another certificate SN, use a certificate Alipay issued",
				ErrMalformedKey, a.Type, v.Class, v.Tag)
		}
		parts = append(parts, shortNames[a.Type.String()]+"="+string(v.Bytes))
	}
	return strings.Join(parts, ","), nil
}

// stringTag is whether an ASN.1 universal tag is one of the string types
// crypto/x509 accepts in a name (DirectoryString, IA5String for
// emailAddress, NumericString).
func stringTag(tag int) bool {
	switch tag {
	case asn1.TagUTF8String, asn1.TagPrintableString, asn1.TagT61String, asn1.TagIA5String,
		asn1.TagBMPString, asn1.TagNumericString:
		return true
	}
	return false
}

// ParseCert reads the first certificate of a PEM text and returns it with
// its SN. It is how the app certificate (ALIPAY_APP_CERT) and the Alipay
// public-key certificate (ALIPAY_PUBLIC_CERT) are read; the latter must hold
// an RSA key, which it returns.
func ParseCert(pemText string) (*x509.Certificate, string, error) {
	block, _ := pem.Decode([]byte(strings.TrimSpace(pemText)))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, "", fmt.Errorf("%w: no PEM CERTIFICATE block", ErrMalformedKey)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, "", fmt.Errorf("%w: certificate cannot be parsed: %v", ErrMalformedKey, err)
	}
	sn, err := CertSN(c)
	if err != nil {
		return nil, "", err
	}
	return c, sn, nil
}

// CertPublicKey is the RSA key of a certificate.
func CertPublicKey(c *x509.Certificate) (*rsa.PublicKey, error) {
	k, ok := c.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: the certificate's key is not RSA", ErrMalformedKey)
	}
	return k, nil
}

// RootCertSN is alipay_root_cert_sn: the SNs of the RSA-signed certificates
// of Alipay's root bundle, joined with '_' in file order. The bundle also
// holds an SM2 certificate that crypto/x509 cannot parse ("unsupported
// elliptic curve") and an ECDSA one: both are skipped, as the official SDKs
// skip every certificate whose signature algorithm is not in the RSA family
// (OID 1.2.840.113549.1.1.*).
func RootCertSN(pemText string) (string, error) {
	var sns []string
	rest := []byte(pemText)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil || !rsaSigned(c.SignatureAlgorithm) {
			continue
		}
		sn, err := CertSN(c)
		if err != nil {
			return "", err
		}
		sns = append(sns, sn)
	}
	if len(sns) == 0 {
		return "", ErrNoRSACertificate
	}
	return strings.Join(sns, "_"), nil
}

func rsaSigned(a x509.SignatureAlgorithm) bool {
	switch a {
	case x509.MD2WithRSA, x509.MD5WithRSA, x509.SHA1WithRSA, x509.SHA256WithRSA, x509.SHA384WithRSA,
		x509.SHA512WithRSA, x509.SHA256WithRSAPSS, x509.SHA384WithRSAPSS, x509.SHA512WithRSAPSS:
		return true
	}
	return false
}
