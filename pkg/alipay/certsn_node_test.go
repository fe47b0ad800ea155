package alipay

// Certificate SNs for issuer names unlike Alipay's own, on certificates
// the test makes, compared with the official Node SDK (npm alipay-sdk,
// pinned in testdata/node). The SNs the SDK gave are also kept in the
// table, so that the comparison still happens where Node is missing; the
// live run checks that they are still the SDK's.

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// av is one attribute of an RDN: its type, the ASN.1 string tag of its
// value, and the value's text.
type av struct {
	oid asn1.ObjectIdentifier
	tag int
	val string
}

var (
	oidCN     = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidSerial = asn1.ObjectIdentifier{2, 5, 4, 5}
	oidC      = asn1.ObjectIdentifier{2, 5, 4, 6}
	oidL      = asn1.ObjectIdentifier{2, 5, 4, 7}
	oidO      = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidOU     = asn1.ObjectIdentifier{2, 5, 4, 11}
	oidOrgID  = asn1.ObjectIdentifier{2, 5, 4, 97} // organizationIdentifier: a type no SDK names
	oidEmail  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
)

func printable(oid asn1.ObjectIdentifier, v string) av { return av{oid, asn1.TagPrintableString, v} }
func utf8s(oid asn1.ObjectIdentifier, v string) av     { return av{oid, asn1.TagUTF8String, v} }

// rawName is the DER Name of rdns, in the order given (each []av one RDN);
// encoding/asn1 writes a multi-valued RDN's attributes in DER (sorted) order.
func rawName(t *testing.T, rdns ...[]av) []byte {
	t.Helper()
	seq := make([]rdnSET, len(rdns))
	for i, rdn := range rdns {
		for _, a := range rdn {
			b := []byte(a.val)
			if a.tag == asn1.TagBMPString {
				b = nil
				for _, u := range utf16.Encode([]rune(a.val)) {
					b = append(b, byte(u>>8), byte(u))
				}
			}
			seq[i] = append(seq[i], attribute{Type: a.oid, Value: asn1.RawValue{Tag: a.tag, Bytes: b}})
		}
	}
	der, err := asn1.Marshal(seq)
	require.NoError(t, err)
	return der
}

// certSNCases are issuers the Node SDK and pkix.Name.String() write
// differently, and Alipay's shape as a control. node is each case's
// [app_cert_sn, alipay_cert_sn, alipay_root_cert_sn] as alipay-sdk 4.14.0
// computed them (TestCertSNMatchesNodeSDK).
var certSNCases = []struct {
	name   string
	issuer func(t *testing.T) []byte
	want   string // the issuer as the Node SDK writes it
	node   [3]string
}{
	{
		name: "alipay shape",
		issuer: func(t *testing.T) []byte {
			return rawName(t, []av{printable(oidC, "CN")}, []av{utf8s(oidO, "Ant Financial")},
				[]av{utf8s(oidOU, "Certification Authority")}, []av{utf8s(oidCN, "Test Class 2 R1")})
		},
		want: "CN=Test Class 2 R1,OU=Certification Authority,O=Ant Financial,C=CN",
		node: [3]string{"164044881176f81cf8140b79c021ee9f", "e62fce6ba90fb710c19b72878eabfd04", "e62fce6ba90fb710c19b72878eabfd04_164044881176f81cf8140b79c021ee9f"},
	},
	{
		name: "reversed order with OU twice",
		issuer: func(t *testing.T) []byte {
			return rawName(t, []av{utf8s(oidCN, "Odd Order CA")}, []av{utf8s(oidOU, "Certification Authority")},
				[]av{utf8s(oidOU, "Open Platform")}, []av{utf8s(oidO, "Ant Financial")}, []av{printable(oidC, "CN")})
		},
		want: "C=CN,O=Ant Financial,OU=Open Platform,OU=Certification Authority,CN=Odd Order CA",
		node: [3]string{"b42145784501c96a615de969b374020e", "1a0360cd1fcec635ba4ce8447e3efb05", "1a0360cd1fcec635ba4ce8447e3efb05_b42145784501c96a615de969b374020e"},
	},
	{
		name: "multi-valued RDN",
		issuer: func(t *testing.T) []byte {
			return rawName(t, []av{printable(oidC, "CN")}, []av{utf8s(oidO, "Ant Financial")},
				[]av{utf8s(oidL, "Hangzhou"), utf8s(oidCN, "Multi CA")})
		},
		want: "L=Hangzhou,CN=Multi CA,O=Ant Financial,C=CN",
		node: [3]string{"f373961e87000807015fb8cdad4fc803", "c628fc2da962bc7c5483745bbbb79961", "c628fc2da962bc7c5483745bbbb79961_f373961e87000807015fb8cdad4fc803"},
	},
	{
		name: "comma and other specials in O",
		issuer: func(t *testing.T) []byte {
			return rawName(t, []av{printable(oidC, "CN")}, []av{utf8s(oidO, `#Ant Group, Inc.; "A+B" <x=y> \ `)},
				[]av{utf8s(oidCN, " Comma CA")})
		},
		want: `CN= Comma CA,O=#Ant Group, Inc.; "A+B" <x=y> \ ,C=CN`,
		node: [3]string{"f78f6bae5dd1eb1134a8cca2eab0a65a", "09e8650b61d007eb511b756810d103ab", "09e8650b61d007eb511b756810d103ab_f78f6bae5dd1eb1134a8cca2eab0a65a"},
	},
	{
		name: "email, serialNumber and a type without a short name",
		issuer: func(t *testing.T) []byte {
			return rawName(t, []av{printable(oidC, "CN")}, []av{printable(oidSerial, "91330100MA27XF6T8A")},
				[]av{printable(oidOrgID, "VATCN-91330100")}, []av{utf8s(oidCN, "Mail CA")},
				[]av{{oidEmail, asn1.TagIA5String, "ca@example.com"}})
		},
		want: "E=ca@example.com,CN=Mail CA,=VATCN-91330100,=91330100MA27XF6T8A,C=CN",
		node: [3]string{"5b8075fe3439e9b51e5ae5ff2db54e44", "5981c4df59ef6fb0999c4e34fd2d97c5", "5981c4df59ef6fb0999c4e34fd2d97c5_5b8075fe3439e9b51e5ae5ff2db54e44"},
	},
	{
		name: "non-ASCII, BMPString and T61String",
		issuer: func(t *testing.T) []byte {
			return rawName(t, []av{printable(oidC, "CN")}, []av{utf8s(oidO, "蚂蚁科技集团股份有限公司")},
				[]av{{oidL, asn1.TagT61String, "Hangzhou"}}, []av{{oidCN, asn1.TagBMPString, "BMP CA"}})
		},
		want: "CN=\x00B\x00M\x00P\x00 \x00C\x00A,L=Hangzhou,O=蚂蚁科技集团股份有限公司,C=CN",
		node: [3]string{"d5d1a94854e2d12d41d0d492809581d8", "e440ea0f0f0d9770438e8388aa801bce", "e440ea0f0f0d9770438e8388aa801bce_d5d1a94854e2d12d41d0d492809581d8"},
	},
}

// certSet is what one case gives the SDK: an app certificate issued by the
// case's CA, the CA itself as the Alipay certificate, and a root bundle of
// an ECDSA certificate (skipped), the CA and the app certificate.
type certSet struct {
	App    string `json:"app"`
	Alipay string `json:"alipay"`
	Root   string `json:"root"`
}

// Serial numbers on both of Node's paths (a number up to 6 bytes, hex text
// beyond), the long one with a leading zero byte in its encoding.
var (
	caSerial, _ = new(big.Int).SetString("8f1e2d3c4b5a69788796a5b4c3d2e1f0", 16)
	appSerial   = big.NewInt(202109176714)
	ecSerial    = big.NewInt(3)
)

func makeCertSet(t *testing.T, issuer []byte, rsaKey *rsa.PrivateKey, ecKey *ecdsa.PrivateKey) certSet {
	t.Helper()
	notBefore := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	ca := &x509.Certificate{SerialNumber: caSerial, RawSubject: issuer, NotBefore: notBefore,
		NotAfter: notBefore.AddDate(10, 0, 0), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, SignatureAlgorithm: x509.SHA256WithRSA}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &rsaKey.PublicKey, rsaKey)
	require.NoError(t, err)
	caCert, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	app := &x509.Certificate{SerialNumber: appSerial, NotBefore: notBefore, NotAfter: notBefore.AddDate(5, 0, 0),
		Subject:  pkix.Name{CommonName: "2021000000000000", Organization: []string{"Test Merchant, Ltd"}},
		KeyUsage: x509.KeyUsageDigitalSignature, SignatureAlgorithm: x509.SHA256WithRSA}
	appDER, err := x509.CreateCertificate(rand.Reader, app, caCert, &rsaKey.PublicKey, rsaKey)
	require.NoError(t, err)
	ec := &x509.Certificate{SerialNumber: ecSerial, RawSubject: issuer, NotBefore: notBefore,
		NotAfter: notBefore.AddDate(10, 0, 0), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, SignatureAlgorithm: x509.ECDSAWithSHA256}
	ecDER, err := x509.CreateCertificate(rand.Reader, ec, ec, &ecKey.PublicKey, ecKey)
	require.NoError(t, err)
	p := func(der ...[]byte) string {
		var b strings.Builder
		for _, d := range der {
			require.NoError(t, pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: d}))
		}
		return b.String()
	}
	return certSet{App: p(appDER), Alipay: p(caDER), Root: p(ecDER, caDER, appDER)}
}

// makeCertSets is one certSet per case of certSNCases, all with the Java
// SDK's test key (RSA, fixed) and one fresh ECDSA key.
func makeCertSets(t *testing.T) []certSet {
	t.Helper()
	key := privateKey(t, "java-sdk/prodcert_private_pkcs8.pem")
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	sets := make([]certSet, len(certSNCases))
	for i, c := range certSNCases {
		sets[i] = makeCertSet(t, c.issuer(t), key, ecKey)
	}
	return sets
}

// sha224Set is set with, as its root bundle, its Alipay certificate
// relabelled sha224WithRSAEncryption (1.2.840.113549.1.1.14, a member of
// the RSA family that crypto/x509 does not know), then the ECDSA
// certificate and its app certificate. The SDKs do not check signatures,
// so the relabelled one counts.
func sha224Set(t *testing.T, set certSet) certSet {
	t.Helper()
	block, _ := pem.Decode([]byte(set.Alipay))
	sha256RSA := []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b}
	sha224RSA := append(sha256RSA[:len(sha256RSA)-1:len(sha256RSA)-1], 0x0e)
	require.Equal(t, 2, bytes.Count(block.Bytes, sha256RSA), "the signature algorithm, inside and outside the TBS")
	der := bytes.ReplaceAll(block.Bytes, sha256RSA, sha224RSA)
	c, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	require.Equal(t, x509.UnknownSignatureAlgorithm, c.SignatureAlgorithm)
	ec := strings.Index(set.Root, "-----BEGIN")
	ca := strings.Index(set.Root[ec+1:], "-----BEGIN") + ec + 1
	root := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})) + set.Root[:ca] +
		set.Root[strings.Index(set.Root[ca+1:], "-----BEGIN")+ca+1:]
	return certSet{App: set.App, Alipay: set.Alipay, Root: root}
}

// oddStringSet is set with, as its root bundle, a certificate whose
// issuer has string types crypto/x509 refuses in a name (VisibleString,
// UniversalString), then its Alipay certificate.
func oddStringSet(t *testing.T, set certSet) certSet {
	t.Helper()
	key := privateKey(t, "java-sdk/prodcert_private_pkcs8.pem")
	name := rawName(t, []av{printable(oidC, "CN")}, []av{{oidOU, 26, "Visible Unit"}},
		[]av{{oidCN, 28, "\x00\x00\x00U\x00\x00\x00C"}})
	notBefore := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(77), RawSubject: name, NotBefore: notBefore,
		NotAfter: notBefore.AddDate(10, 0, 0), SignatureAlgorithm: x509.SHA256WithRSA}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	root := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})) + set.Alipay
	return certSet{App: set.App, Alipay: set.Alipay, Root: root}
}

func TestRootCertSNReadsEveryStringType(t *testing.T) {
	set := oddStringSet(t, makeCertSets(t)[0])
	block, _ := pem.Decode([]byte(set.Root))
	var c certOutline
	_, err := asn1.Unmarshal(block.Bytes, &c)
	require.NoError(t, err)
	name, err := IssuerName(c.TBS.Issuer.FullBytes)
	require.NoError(t, err)
	assert.Equal(t, "CN=\x00\x00\x00U\x00\x00\x00C,OU=Visible Unit,C=CN", name)
	got, err := RootCertSN(set.Root)
	require.NoError(t, err)
	assert.Len(t, strings.Split(got, "_"), 2)
	assert.Equal(t, certSNCases[0].node[1], strings.Split(got, "_")[1])
}

func TestRootCertSNCountsEveryRSASignature(t *testing.T) {
	set := sha224Set(t, makeCertSets(t)[0])
	got, err := RootCertSN(set.Root)
	require.NoError(t, err)
	app, alipay := certSNCases[0].node[0], certSNCases[0].node[1]
	assert.Equal(t, alipay+"_"+app, got, "the relabelled certificate, not the ECDSA one, then the app certificate")
}

// sns is a certSet's three SNs as the package computes them.
func sns(t *testing.T, s certSet) [3]string {
	t.Helper()
	_, app, err := ParseCert(s.App)
	require.NoError(t, err)
	_, alipay, err := ParseCert(s.Alipay)
	require.NoError(t, err)
	root, err := RootCertSN(s.Root)
	require.NoError(t, err)
	return [3]string{app, alipay, root}
}

func TestIssuerNameAsTheNodeSDKWritesIt(t *testing.T) {
	sets := makeCertSets(t)
	for i, c := range certSNCases {
		t.Run(c.name, func(t *testing.T) {
			cert, _, err := ParseCert(sets[i].App)
			require.NoError(t, err)
			name, err := IssuerName(cert.RawIssuer)
			require.NoError(t, err)
			assert.Equal(t, c.want, name)
			got := sns(t, sets[i])
			assert.Equal(t, c.node, got, "the SNs alipay-sdk 4.14.0 computed")
			// The root bundle is the CA's SN then the app certificate's:
			// the ECDSA certificate is skipped.
			assert.Equal(t, got[1]+"_"+got[0], got[2])
		})
	}
}

func TestIssuerNameRefusesWhatTheSDKsReadDifferently(t *testing.T) {
	for name, issuer := range map[string][]byte{
		"not UTF-8 (a Latin-1 T61String)": rawName(t, []av{{oidO, asn1.TagT61String, "Caf\xe9"}}),
		"not a string":                    mustMarshal(t, []rdnSET{{{Type: oidCN, Value: asn1.RawValue{Tag: asn1.TagInteger, Bytes: []byte{1}}}}}),
		"not a Name":                      {0x30, 0x03, 0x02, 0x01, 0x01},
		"trailing bytes":                  append(rawName(t, []av{utf8s(oidCN, "x")}), 0),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := IssuerName(issuer)
			assert.ErrorIs(t, err, ErrMalformedKey)
		})
	}
}

func TestRootCertSNRefusesWhatTheSDKsRefuse(t *testing.T) {
	set := makeCertSets(t)[0]
	junk := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0x03, 0x02, 0x01, 0x01}}))
	_, err := RootCertSN(set.Root + junk)
	assert.ErrorIs(t, err, ErrMalformedKey)
	assert.ErrorContains(t, err, "certificate 4 of the bundle")

	_, err = certSN(rawName(t, []av{utf8s(oidCN, "x")}), big.NewInt(-1))
	assert.ErrorIs(t, err, ErrMalformedKey, "a negative serial number")
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := asn1.Marshal(v)
	require.NoError(t, err)
	return b
}

// TestCertSNMatchesNodeSDK gives every case's certificates to the official
// Node SDK (new AlipaySdk({appCertContent, alipayPublicCertContent,
// alipayRootCertContent}).config) and compares its three SNs with the
// package's; the published vectors go through the same run.
func TestCertSNMatchesNodeSDK(t *testing.T) {
	dir := nodeSDK(t)
	sets := makeCertSets(t)
	v := func(name string) string { return readVector(t, "nodejs-sdk/"+name) }
	vectors := certSet{App: v("appCertPublicKey_2021001161683774.crt"), Alipay: v("alipayCertPublicKey_RSA2.crt"),
		Root: v("alipayRootCert.crt")}
	all := append(sets, sha224Set(t, sets[0]), oddStringSet(t, sets[0]), vectors)
	in, err := json.Marshal(all)
	require.NoError(t, err)

	cmd := exec.Command("node", "sn.mjs")
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.Output()
	var stderr []byte
	if ee, ok := err.(*exec.ExitError); ok {
		stderr = ee.Stderr
	}
	require.NoError(t, err, "node sn.mjs: %s", stderr)
	var got []struct {
		App    string `json:"appCertSn"`
		Alipay string `json:"alipayCertSn"`
		Root   string `json:"alipayRootCertSn"`
		Error  string `json:"error"`
	}
	require.NoError(t, json.Unmarshal(out, &got), "%s", out)
	require.Len(t, got, len(all))

	for i, s := range all {
		name := map[int]string{len(sets): "root bundle with sha224WithRSA",
			len(sets) + 1: "root bundle with VisibleString and UniversalString", len(sets) + 2: "published vectors"}[i]
		if i < len(certSNCases) {
			name = certSNCases[i].name
		}
		t.Run(name, func(t *testing.T) {
			require.Empty(t, got[i].Error, "the Node SDK refused the certificates")
			node := [3]string{got[i].App, got[i].Alipay, got[i].Root}
			assert.Equal(t, node, sns(t, s))
			if i < len(certSNCases) {
				assert.Equal(t, certSNCases[i].node, node, "the recorded SNs are no longer the SDK's")
			}
		})
	}
}

// nodeSDK is testdata/node with alipay-sdk installed as its package-lock.json
// pins it: it runs `npm ci --ignore-scripts` there when node_modules lacks
// the pinned version, and skips, saying how to install, without Node.js.
func nodeSDK(t *testing.T) string {
	t.Helper()
	const how = "install Node.js 18+ and npm (Debian: apt-get install nodejs npm); " +
		"the test then installs alipay-sdk itself (or run `npm ci --ignore-scripts` in pkg/alipay/testdata/node)"
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not found, so the SNs are not compared with the official Node SDK: " + how)
	}
	dir, err := filepath.Abs(filepath.Join("testdata", "node"))
	require.NoError(t, err)
	var pkg struct {
		Version      string
		Dependencies map[string]string
	}
	b, err := os.ReadFile(filepath.Join(dir, "package.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &pkg))
	pinned := pkg.Dependencies["alipay-sdk"]
	installed := func() bool {
		b, err := os.ReadFile(filepath.Join(dir, "node_modules", "alipay-sdk", "package.json"))
		pkg.Version = ""
		return err == nil && json.Unmarshal(b, &pkg) == nil && pkg.Version == pinned
	}
	if !installed() {
		if _, err := exec.LookPath("npm"); err != nil {
			t.Skip("alipay-sdk is not installed in testdata/node and npm is not found: " + how)
		}
		cmd := exec.Command("npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "npm ci in %s (needs the npm registry): %s", dir, out)
		require.True(t, installed(), "npm ci did not install alipay-sdk %s", pinned)
	}
	return dir
}
