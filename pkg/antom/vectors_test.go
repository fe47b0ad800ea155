package antom

// Every case in testdata/vectors/antom, as table tests: the content to
// sign, the signature, the URL encoding and the whole header are rebuilt
// from the parts and compared byte for byte; the signature is verified;
// and each negative (one body byte, the time, the path, the client id, the
// other key, a missing or mangled header) must fail.

import (
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/testproc"
)

// vectorDir is testdata/vectors/antom from the repository root.
func vectorDir(t testing.TB) string { return testproc.Vectors(t, "antom") }

func readFile(t testing.TB, parts ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{vectorDir(t)}, parts...)...))
	require.NoError(t, err)
	return string(b)
}

type vector struct {
	name                               string
	method, path, clientID, time, body string
	content, sha, b64, urlenc, header  string
	signingKey                         string // merchant or gateway
	priv                               *rsa.PrivateKey
	pub, otherPub                      *rsa.PublicKey
}

type keyPair struct {
	priv *rsa.PrivateKey
	pub  *rsa.PublicKey
}

func vectorKeys(t testing.TB) map[string]keyPair {
	t.Helper()
	keys := map[string]keyPair{}
	for _, who := range []string{"merchant", "gateway"} {
		priv, err := ParsePrivateKey(readFile(t, "keys", who+"_private_pkcs8.pem"))
		require.NoError(t, err)
		pub, err := ParsePublicKey(readFile(t, "keys", who+"_public_spki.pem"))
		require.NoError(t, err)
		require.True(t, pub.Equal(priv.Public()), "%s keys are one pair", who)
		keys[who] = keyPair{priv, pub}
	}
	return keys
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	keys := vectorKeys(t)
	entries, err := os.ReadDir(vectorDir(t))
	require.NoError(t, err)
	var out []vector
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "v") {
			continue
		}
		f := func(name string) string { return readFile(t, e.Name(), name) }
		v := vector{name: e.Name(), method: f("method"), path: f("path"), clientID: f("client_id"), time: f("time"),
			body: f("body"), content: f("content_to_sign"), sha: f("content_to_sign.sha256"), b64: f("signature.b64"),
			urlenc: f("signature.urlenc"), header: f("signature_header"), signingKey: f("signing_key")}
		other := map[string]string{"merchant": "gateway", "gateway": "merchant"}[v.signingKey]
		require.NotEmpty(t, other, "%s: signing_key is merchant or gateway", v.name)
		v.priv, v.pub, v.otherPub = keys[v.signingKey].priv, keys[v.signingKey].pub, keys[other].pub
		out = append(out, v)
	}
	require.Len(t, out, 5, "the README lists five cases")
	return out
}

func TestVectorsReproduce(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.name, func(t *testing.T) {
			require.Equal(t, "POST", v.method)
			content := Content(v.path, v.clientID, v.time, []byte(v.body))
			require.Equal(t, v.content, string(content), "content to sign")
			sum := sha256.Sum256(content)
			assert.Equal(t, v.sha, hex.EncodeToString(sum[:]))

			sig, err := Sign(v.priv, content)
			require.NoError(t, err)
			assert.Equal(t, v.b64, sig, "PKCS#1 v1.5 is deterministic: same key and content give the vector's signature")
			assert.Equal(t, v.urlenc, url.QueryEscape(sig))
			assert.Equal(t, v.header, SignatureHeader("1", sig))

			assert.NoError(t, Verify(v.pub, content, v.header))
			// The forms other SDKs and the docs produce: raw base64, .NET's
			// lowercase escapes, the docs' spaces after commas.
			assert.NoError(t, Verify(v.pub, content, "signature="+v.b64), "raw base64 value")
			lower := strings.NewReplacer("%2B", "%2b", "%2F", "%2f", "%3D", "%3d").Replace(v.header)
			assert.NoError(t, Verify(v.pub, content, lower), "lowercase escapes")
			assert.NoError(t, Verify(v.pub, content, strings.ReplaceAll(v.header, ",", ", ")), "spaces after commas")
		})
	}
}

func TestVectorsNegatives(t *testing.T) {
	for _, v := range loadVectors(t) {
		body := []byte(v.body)
		oneByte := append([]byte(nil), body...)
		oneByte[len(oneByte)/2] ^= 1
		otherPath := strings.Replace(v.path, "/ams/api/", "/ams/sandbox/api/", 1)
		if otherPath == v.path {
			otherPath = strings.Replace(v.path, "/ams/sandbox/api/", "/ams/api/", 1)
		}
		cases := []struct {
			name    string
			pub     *rsa.PublicKey
			content []byte
			header  string
			want    error
		}{
			{"one body byte", v.pub, Content(v.path, v.clientID, v.time, oneByte), v.header, ErrBadSignature},
			{"body re-encoded with a trailing newline", v.pub, Content(v.path, v.clientID, v.time, append(body, '\n')), v.header, ErrBadSignature},
			{"time", v.pub, Content(v.path, v.clientID, v.time+"0", body), v.header, ErrBadSignature},
			{"path", v.pub, Content(otherPath, v.clientID, v.time, body), v.header, ErrBadSignature},
			{"client id", v.pub, Content(v.path, v.clientID+"X", v.time, body), v.header, ErrBadSignature},
			{"CRLF between the lines", v.pub, []byte(strings.Replace(v.content, "\n", "\r\n", 1)), v.header, ErrBadSignature},
			{"other key", v.otherPub, []byte(v.content), v.header, ErrBadSignature},
			{"one signature character", v.pub, []byte(v.content), SignatureHeader("1", flipSig(v.b64)), ErrBadSignature},
			{"missing header", v.pub, []byte(v.content), "", ErrUnsigned},
			{"no signature item", v.pub, []byte(v.content), "algorithm=RSA256,keyVersion=1", ErrMalformedSignature},
			{"other algorithm", v.pub, []byte(v.content), strings.Replace(v.header, "RSA256", "RSA", 1), ErrMalformedSignature},
			{"not base64", v.pub, []byte(v.content), "algorithm=RSA256,keyVersion=1,signature=%%%", ErrMalformedSignature},
			{"raw base64 with + read as a form value", v.pub, []byte(v.content), "signature=" + strings.ReplaceAll(v.b64, "+", " "), ErrMalformedSignature},
		}
		for _, c := range cases {
			t.Run(v.name+"/"+c.name, func(t *testing.T) {
				assert.ErrorIs(t, Verify(c.pub, c.content, c.header), c.want)
			})
		}
	}
}

// flipSig changes one character of a base64 signature, away from the
// padding, keeping it valid base64.
func flipSig(b64 string) string {
	b := []byte(b64)
	if b[10] == 'A' {
		b[10] = 'B'
	} else {
		b[10] = 'A'
	}
	return string(b)
}

func TestKeyForms(t *testing.T) {
	pkcs8 := readFile(t, "keys", "merchant_private_pkcs8.pem")
	want, err := ParsePrivateKey(pkcs8)
	require.NoError(t, err)
	for _, name := range []string{"merchant_private_pkcs8.b64", "merchant_private_pkcs1.pem", "merchant_private_pkcs1.b64"} {
		k, err := ParsePrivateKey(readFile(t, "keys", name))
		require.NoError(t, err, name)
		assert.True(t, want.Equal(k), name)
	}
	pub, err := ParsePublicKey(readFile(t, "keys", "merchant_public_spki.b64"))
	require.NoError(t, err)
	assert.True(t, pub.Equal(want.Public()))

	for _, bad := range []string{"", "not a key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----", "QUJD"} {
		_, err := ParsePrivateKey(bad)
		assert.Error(t, err, "%q", bad)
		_, err = ParsePublicKey(bad)
		assert.Error(t, err, "%q", bad)
	}
	// A public key is not a private key, and the other way round.
	_, err = ParsePrivateKey(readFile(t, "keys", "merchant_public_spki.pem"))
	assert.Error(t, err)
	_, err = ParsePublicKey(pkcs8)
	assert.Error(t, err)
}
