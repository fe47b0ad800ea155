package alipay

import (
	"crypto/md5"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"unicode/utf8"
)

// CertSN is the serial number Alipay gives a certificate in certificate
// mode (app_cert_sn, alipay_cert_sn, and each part of alipay_root_cert_sn):
// lowercase hex MD5 of the issuer's name, written as the official SDKs
// write it (see IssuerName), followed by the decimal serial number.
func CertSN(c *x509.Certificate) (string, error) {
	return certSN(c.RawIssuer, c.SerialNumber)
}

func certSN(rawIssuer []byte, serial *big.Int) (string, error) {
	name, err := IssuerName(rawIssuer)
	if err != nil {
		return "", err
	}
	if serial.Sign() < 0 {
		// RFC 5280 4.1.2.2; the SDKs would each write it differently.
		return "", fmt.Errorf("%w: the certificate's serial number is negative", ErrMalformedKey)
	}
	sum := md5.Sum([]byte(name + serial.String()))
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
// Node SDK writes it before hashing (npm alipay-sdk, antcertutil.ts
// getCertSN, over @fidm/x509's reading of the name):
//
//   - every attribute of every RDN in the certificate's order, then the
//     whole list reversed (RFC 4514 order), joined with ",";
//   - the attributes of a multi-valued RDN are separate entries, reversed
//     with the rest, not joined with "+";
//   - types are named CN, C, L, ST, O, OU and E (emailAddress); every other
//     type, serialNumber included, is written with an empty name: "=value";
//   - a value is the bytes of its encoding, unescaped: "O=Acme, Inc" keeps
//     its comma, and a BMPString's UTF-16 bytes are written as they are.
//
// The Java SDK hashes getIssuerX500Principal().getName() (RFC 2253). For
// Alipay's own issuers (C, O, OU, CN, one value each, in any order, OUs
// repeated or not) the two are the same string, e.g. "CN=Ant Financial
// Certification Authority Class 2 R1,OU=Certification Authority,O=Ant
// Financial,C=CN". They differ, and this follows the Node SDK, for (as
// OpenJDK 17 and 25 write them):
//
//   - a multi-valued RDN: Java keeps it, "CN=Multi CA+L=Hangzhou,...";
//   - specials: Java escapes them, "O=\#Ant Group\, Inc.\; \"A\+B\" \<x\=y\>";
//   - types other than CN, C, L, ST, O, OU, STREET, DC, UID: Java writes
//     the dotted OID and the value's DER in hex,
//     "1.2.840.113549.1.9.1=#160e6361406578616d706c652e636f6d";
//   - a BMPString: Java 25 decodes it ("CN=BMP CA"), Java 17 writes each
//     NUL byte as "\00".
//
// A value that is not a string, or whose bytes are not UTF-8, is refused:
// no two SDKs would agree on it, and Alipay does not issue such
// certificates.
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

// stringTag is whether an ASN.1 universal tag is a character string type
// (X.680 41): UTF8String, NumericString, PrintableString, TeletexString,
// VideotexString, IA5String, GraphicString, VisibleString, GeneralString,
// UniversalString, BMPString. The Node SDK writes the bytes of each of them
// as they are; a certificate of the root bundle may hold any of them, since
// that bundle is not read through crypto/x509.
func stringTag(tag int) bool {
	switch tag {
	case asn1.TagUTF8String, asn1.TagNumericString, asn1.TagPrintableString, asn1.TagT61String,
		21, asn1.TagIA5String, 25, 26, asn1.TagGeneralString, 28, asn1.TagBMPString:
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
// of Alipay's root bundle, joined with '_' in file order. As the official
// SDKs do, a certificate counts when the OID of its signature algorithm
// starts with "1.2.840.113549.1.1" (the RSA family, as text): the SM2 and
// the ECDSA certificates of Alipay's bundle do not. The certificates are
// read only as far as the SN needs (certOutline), since crypto/x509 refuses
// some the SDKs read: the SM2 one ("unsupported elliptic curve"), and an
// RSA family it does not know, such as sha224WithRSAEncryption, which
// would then go missing from the SN.
func RootCertSN(pemText string) (string, error) {
	var sns []string
	rest := []byte(pemText)
	for n := 1; ; n++ {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		var c certOutline
		if tail, err := asn1.Unmarshal(block.Bytes, &c); err != nil || len(tail) != 0 || c.TBS.Serial == nil {
			return "", fmt.Errorf("%w: certificate %d of the bundle cannot be read", ErrMalformedKey, n)
		}
		if !strings.HasPrefix(c.SignatureAlgorithm.Algorithm.String(), "1.2.840.113549.1.1") {
			continue
		}
		sn, err := certSN(c.TBS.Issuer.FullBytes, c.TBS.Serial)
		if err != nil {
			return "", fmt.Errorf("certificate %d of the bundle: %w", n, err)
		}
		sns = append(sns, sn)
	}
	if len(sns) == 0 {
		return "", ErrNoRSACertificate
	}
	return strings.Join(sns, "_"), nil
}

// certOutline is the start of a certificate (RFC 5280 4.1): what its SN and
// the signature algorithm the SDKs filter a bundle on need. encoding/asn1
// ignores the SEQUENCE elements that follow the last field.
type certOutline struct {
	TBS struct {
		Version int `asn1:"optional,explicit,default:0,tag:0"`
		Serial  *big.Int
		Sig     asn1.RawValue
		Issuer  asn1.RawValue
	}
	SignatureAlgorithm pkix.AlgorithmIdentifier
}
