package rsakey_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/rsakey"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

// The official Node SDK's test key in four encodings, and the Antom keys in
// theirs: every encoding of one key reads as the same key, and as the pair
// of its public key.
func TestEveryEncodingOfAKeyReadsTheSame(t *testing.T) {
	groups := []struct {
		private []string
		public  []string
	}{
		{
			private: []string{"alipay/nodejs-sdk/app-private-key.pem", "alipay/nodejs-sdk/app-private-key-pkcs8.pem",
				"alipay/nodejs-sdk/app-private-key-no-wrapper.pem", "alipay/nodejs-sdk/app-private-key-pkcs8-no-wrapper.pem"},
			public: []string{"alipay/nodejs-sdk/app-public-key.pem", "alipay/nodejs-sdk/app-public-key-no-wrapper.pem"},
		},
		{
			private: []string{"antom/keys/merchant_private_pkcs1.pem", "antom/keys/merchant_private_pkcs1.b64",
				"antom/keys/merchant_private_pkcs8.pem", "antom/keys/merchant_private_pkcs8.b64"},
			public: []string{"antom/keys/merchant_public_spki.pem", "antom/keys/merchant_public_spki.b64"},
		},
	}
	for _, g := range groups {
		first, err := rsakey.ParsePrivate(testproc.ReadVector(t, strings.Split(g.private[0], "/")...))
		require.NoError(t, err, g.private[0])
		for _, name := range g.private[1:] {
			k, err := rsakey.ParsePrivate(testproc.ReadVector(t, strings.Split(name, "/")...))
			require.NoError(t, err, name)
			assert.True(t, first.Equal(k), name)
		}
		for _, name := range g.public {
			k, err := rsakey.ParsePublic(testproc.ReadVector(t, strings.Split(name, "/")...))
			require.NoError(t, err, name)
			assert.True(t, first.PublicKey.Equal(k), name)
		}
	}
}

func TestCertificatesGiveTheirKey(t *testing.T) {
	k, err := rsakey.ParsePublic(testproc.ReadVector(t, "alipay", "java-sdk", "appCertPublicKey_2019091767145019.crt"))
	require.NoError(t, err)
	priv, err := rsakey.ParsePrivate(testproc.ReadVector(t, "alipay", "java-sdk", "prodcert_private_pkcs8.pem"))
	require.NoError(t, err)
	assert.True(t, priv.PublicKey.Equal(k), "the certificate holds the ProdCert key")
}

func TestWhatIsNotAnRSAKey(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	ecPriv, _ := x509.MarshalPKCS8PrivateKey(ec)
	ecPub, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)

	_, err = rsakey.ParsePrivate(string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecPriv})))
	assert.ErrorIs(t, err, rsakey.ErrNotRSA)
	_, err = rsakey.ParsePublic(base64.StdEncoding.EncodeToString(ecPub))
	assert.ErrorIs(t, err, rsakey.ErrNotRSA)

	for _, bad := range []string{"", "not base64 !", "-----BEGIN PRIVATE KEY-----\nxx", base64.StdEncoding.EncodeToString([]byte("not DER"))} {
		_, err = rsakey.ParsePrivate(bad)
		assert.ErrorIs(t, err, rsakey.ErrFormat, "%q", bad)
		_, err = rsakey.ParsePublic(bad)
		assert.ErrorIs(t, err, rsakey.ErrFormat, "%q", bad)
	}
	// A public key is not a private key.
	_, err = rsakey.ParsePrivate(testproc.ReadVector(t, "antom", "keys", "merchant_public_spki.pem"))
	assert.ErrorIs(t, err, rsakey.ErrFormat)
}

// FromEnv names the variable in every error, says what is wanted, and
// never echoes the key.
func TestFromEnv(t *testing.T) {
	const name, want = "TEST_RSAKEY_PRIVATE", "the merchant's key"
	t.Setenv(name, "")
	_, err := rsakey.FromEnv(name, rsakey.ParsePrivate, want)
	assert.ErrorContains(t, err, name+" is required")

	t.Setenv(name, "MIIEnotakey")
	_, err = rsakey.FromEnv(name, rsakey.ParsePrivate, want)
	assert.ErrorIs(t, err, rsakey.ErrFormat)
	assert.EqualError(t, err, name+": "+rsakey.ErrFormat.Error()+" ("+want+")")

	text := testproc.ReadVector(t, "antom", "keys", "merchant_private_pkcs8.pem")
	t.Setenv(name, text)
	k, err := rsakey.FromEnv(name, rsakey.ParsePrivate, want)
	require.NoError(t, err)
	direct, err := rsakey.ParsePrivate(text)
	require.NoError(t, err)
	assert.True(t, direct.Equal(k))
}
