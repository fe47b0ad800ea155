package alipay

// Every file in testdata/vectors/alipay, as table tests. Each positive
// case has a negative twin with one byte changed, so that a verifier that
// accepts everything, or an extractor that returns the whole body, fails.

import (
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/testproc"
)

// vectorDir is testdata/vectors/alipay from the repository root.
func vectorDir(t testing.TB) string { return testproc.Vectors(t, "alipay") }

func readVector(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vectorDir(t), name))
	require.NoError(t, err)
	return string(b)
}

func readJSON(t testing.TB, name string, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal([]byte(readVector(t, name)), v), name)
}

// privateKey and publicKey are the key in the vector file name.
func privateKey(t testing.TB, name string) *rsa.PrivateKey {
	t.Helper()
	k, err := ParsePrivateKey(readVector(t, name))
	require.NoError(t, err, name)
	return k
}

func publicKey(t testing.TB, name string) *rsa.PublicKey {
	t.Helper()
	k, err := ParsePublicKey(readVector(t, name))
	require.NoError(t, err, name)
	return k
}

// vectorCases reads the JSON array of cases in the vector file name, which
// holds n of them: a file that lost or gained cases fails here.
func vectorCases[C any](t *testing.T, name string, n int) []C {
	t.Helper()
	var cases []C
	readJSON(t, name, &cases)
	require.Len(t, cases, n, name)
	return cases
}

// flip returns s with one byte changed: the byte at i gets its low bit
// toggled (a base64 character stays a base64 character in most cases, which
// is what a negative test of a signature wants).
func flip(s string, i int) string {
	b := []byte(s)
	b[i] ^= 1
	return string(b)
}

// prodCertKeys is the Java SDK's "ProdCert" key in its four encodings.
var prodCertKeys = []string{
	"java-sdk/prodcert_private_pkcs8.b64", // the SDK's own fixture
	"java-sdk/prodcert_private_pkcs8.pem",
	"java-sdk/prodcert_private_pkcs1.pem",
	"java-sdk/prodcert_private_pkcs1.b64",
}

// V1-V3: the Java SDK's RSACheckTest, signed with every encoding of its key.
func TestJavaSDKSignVectors(t *testing.T) {
	type signCase struct {
		Case        string            `json:"case"`
		Params      map[string]string `json:"params"`
		SignContent string            `json:"sign_content"`
		Sign        string            `json:"sign"`
	}
	cases := vectorCases[signCase](t, "java-sdk/rsacheck_sign_vectors.json", 3)
	pub := publicKey(t, "java-sdk/prodcert_public.pem")
	for _, c := range cases {
		t.Run(c.Case, func(t *testing.T) {
			content := SignContent(c.Params)
			require.Equal(t, c.SignContent, content)
			signType := c.Params["sign_type"]
			for _, f := range prodCertKeys {
				key := privateKey(t, f)
				got, err := Sign(key, signType, []byte(content))
				require.NoError(t, err)
				assert.Equal(t, c.Sign, got, "signature with %s", f)
			}
			require.NoError(t, Verify(pub, signType, []byte(content), c.Sign))
			// Negatives: one byte of the content, one byte of the signature.
			assert.ErrorIs(t, Verify(pub, signType, []byte(flip(content, 3)), c.Sign), ErrBadSignature)
			assert.ErrorIs(t, Verify(pub, signType, []byte(content), flip(c.Sign, 10)), ErrBadSignature)
			// The other algorithm over the same content must not verify.
			other := map[string]string{SignTypeRSA2: SignTypeRSA, SignTypeRSA: SignTypeRSA2}[signType]
			assert.ErrorIs(t, Verify(pub, other, []byte(content), c.Sign), ErrBadSignature)
		})
	}
}

// V10: our three zhima request shapes, derived with four libraries.
func TestDerivedZhimaVectors(t *testing.T) {
	key := privateKey(t, "java-sdk/prodcert_private_pkcs8.b64")
	for _, name := range []string{"zhima_initialize", "zhima_certify", "zhima_query"} {
		t.Run(name, func(t *testing.T) {
			var params map[string]string
			readJSON(t, "derived/"+name+".params.json", &params)
			wantContent := strings.TrimRight(readVector(t, "derived/"+name+".sign_content.txt"), "\n")
			wantSign := strings.TrimSpace(readVector(t, "derived/"+name+".sign.b64"))
			wantForm := strings.TrimRight(readVector(t, "derived/"+name+".form_urlencoded.txt"), "\n")

			content := SignContent(params)
			require.Equal(t, wantContent, content)
			sign, err := Sign(key, SignTypeRSA2, []byte(content))
			require.NoError(t, err)
			require.Equal(t, wantSign, sign)
			assert.Equal(t, wantForm, encodeForm(params, sign))

			// Negative: one byte of one value changes the signature.
			params["timestamp"] = flip(params["timestamp"], 18)
			other, err := Sign(key, SignTypeRSA2, []byte(SignContent(params)))
			require.NoError(t, err)
			assert.NotEqual(t, wantSign, other)
		})
	}
}

// V4 (the Node SDK's real gateway answer) and V5 (gopay's).
func TestRealSignedResponses(t *testing.T) {
	t.Run("nodejs alipay.open.file.upload", func(t *testing.T) {
		key := publicKey(t, "nodejs-sdk/alipay-public-key.pem")
		raw := strings.TrimRight(readVector(t, "nodejs-sdk/response_alipay_open_file_upload.raw.json"), "\n")
		source := strings.TrimRight(readVector(t, "nodejs-sdk/response_alipay_open_file_upload.sign_source.txt"), "\n")
		a, err := ParseAnswer([]byte(raw), "alipay.open.file.upload")
		require.NoError(t, err)
		assert.Equal(t, "alipay_open_file_upload_response", a.Node)
		assert.Equal(t, source, string(a.Raw))
		require.NoError(t, a.Verify(key, ""))

		// Negative: one byte of the node's content.
		i := strings.Index(raw, "CAxATo")
		bad, err := ParseAnswer([]byte(flip(raw, i)), "alipay.open.file.upload")
		require.NoError(t, err)
		assert.ErrorIs(t, bad.Verify(key, ""), ErrBadSignature)
		// Negative: the key of the app instead of Alipay's (a classic mistake).
		appKey := publicKey(t, "nodejs-sdk/app-public-key.pem")
		assert.ErrorIs(t, a.Verify(appKey, ""), ErrBadSignature)
		// Negative: the same key without its PEM wrapper still verifies.
		bare := publicKey(t, "nodejs-sdk/alipay-public-key-no-wrapper.pem")
		assert.NoError(t, a.Verify(bare, ""))
	})
	t.Run("gopay TestSyncVerifySign", func(t *testing.T) {
		var v struct {
			Key    string `json:"alipay_public_key_b64"`
			Source string `json:"sign_source"`
			Sign   string `json:"sign"`
		}
		readJSON(t, "gopay/sync_response_vector.json", &v)
		key, err := ParsePublicKey(v.Key)
		require.NoError(t, err)
		body := `{"alipay_trade_query_response":` + v.Source + `,"sign":"` + v.Sign + `"}`
		a, err := ParseAnswer([]byte(body), "alipay.trade.query")
		require.NoError(t, err)
		require.Equal(t, v.Source, string(a.Raw))
		require.NoError(t, a.Verify(key, ""))
		i := strings.Index(v.Source, "0.01")
		assert.ErrorIs(t, Verify(key, SignTypeRSA2, []byte(flip(v.Source, i)), v.Sign), ErrBadSignature)
		assert.ErrorIs(t, Verify(key, SignTypeRSA2, []byte(v.Source), flip(v.Sign, 40)), ErrBadSignature)
	})
}

// V6 and V7: notifications, one per signing rule.
func TestNotifyVectors(t *testing.T) {
	cases := []struct {
		file, keyFile  string
		signTypeSigned bool
	}{
		{"nodejs-sdk/notify_trade_status_sync.json", "nodejs-sdk/notify_key_v1_inline.b64", false},
		{"nodejs-sdk/notify_servicemarket_order.json", "nodejs-sdk/alipay-notify-sign-public-key-v2.pem", true},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			var v struct {
				Params map[string]string `json:"params"`
			}
			readJSON(t, c.file, &v)
			key := publicKey(t, c.keyFile)
			require.NoError(t, VerifyParams(key, v.Params, c.signTypeSigned))
			// Negative: the other rule.
			assert.ErrorIs(t, VerifyParams(key, v.Params, !c.signTypeSigned), ErrBadSignature)
			// Negative: one byte of a Chinese value (UTF-8 bytes are signed).
			for _, k := range []string{"subject", "title"} {
				if s, ok := v.Params[k]; ok {
					v.Params[k] = flip(s, 0)
				}
			}
			assert.ErrorIs(t, VerifyParams(key, v.Params, c.signTypeSigned), ErrBadSignature)
		})
	}
}

// V9: node extraction, whitespace, a nested "sign", duplicate nodes.
func TestExtractionVectors(t *testing.T) {
	type extractionCase struct {
		Source   string `json:"source"`
		Node     string `json:"node"`
		Raw      string `json:"raw"`
		Expected string `json:"expected"`
	}
	for i, c := range vectorCases[extractionCase](t, "extraction_vectors.json", 4) {
		t.Run(fmt.Sprintf("%d %s", i, c.Node), func(t *testing.T) {
			method := strings.ReplaceAll(strings.TrimSuffix(c.Node, "_response"), "_", ".")
			require.Equal(t, c.Node, ResponseNode(method))
			a, err := ParseAnswer([]byte(c.Raw), method)
			if strings.HasPrefix(c.Expected, "ERROR") {
				require.ErrorIs(t, err, ErrDuplicateNode)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.Expected, string(a.Raw))
			assert.Equal(t, c.Node, a.Node)
			// Negative: a forged copy of the node after the sign is refused.
			forged := strings.TrimSuffix(strings.TrimSpace(c.Raw), "}") + `,"` + c.Node + `":{"code":"10000"}}`
			_, err = ParseAnswer([]byte(forged), method)
			assert.ErrorIs(t, err, ErrDuplicateNode)
		})
	}
}

func TestParseAnswerEdges(t *testing.T) {
	const m = "zhima.customer.certification.initialize"
	cases := []struct {
		name, body, node, raw string
		err                   error
	}{
		{"error_response fallback", `{"error_response":{"code":"40002","msg":"Invalid Arguments"},"sign":"x"}`, ErrorNode, `{"code":"40002","msg":"Invalid Arguments"}`, nil},
		{"method node wins over error_response", `{"error_response":{"code":"1"},"zhima_customer_certification_initialize_response":{"code":"10000"}}`, "zhima_customer_certification_initialize_response", `{"code":"10000"}`, nil},
		{"cert sn read", `{"zhima_customer_certification_initialize_response":{"code":"10000"},"alipay_cert_sn":"abc","sign":"x"}`, "zhima_customer_certification_initialize_response", `{"code":"10000"}`, nil},
		{"another method's node", `{"alipay_trade_query_response":{"code":"10000"},"sign":"x"}`, "", "", ErrNoResponseNode},
		{"not an object", `[1]`, "", "", ErrMalformedAnswer},
		{"truncated", `{"zhima_customer_certification_initialize_response":{"code":"10`, "", "", ErrMalformedAnswer},
		{"trailing data", `{"zhima_customer_certification_initialize_response":{}}{}`, "", "", ErrMalformedAnswer},
		{"node not an object", `{"zhima_customer_certification_initialize_response":"x"}`, "", "", ErrMalformedAnswer},
		{"duplicate sign", `{"zhima_customer_certification_initialize_response":{},"sign":"a","sign":"b"}`, "", "", ErrDuplicateNode},
		{"escaped duplicate key", `{"zhima_customer_certification_initialize_response":{},"zhima_customer_certification_initialize\u005fresponse":{}}`, "", "", ErrDuplicateNode},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := ParseAnswer([]byte(c.body), m)
			if c.err != nil {
				require.ErrorIs(t, err, c.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.node, a.Node)
			assert.Equal(t, c.raw, string(a.Raw))
		})
	}
}

// V8: certificate serial numbers.
func TestCertSNVectors(t *testing.T) {
	type certSNCase struct {
		File     string `json:"file"`
		Kind     string `json:"kind"`
		Expected string `json:"expected"`
	}
	for _, c := range vectorCases[certSNCase](t, "cert_sn_vectors.json", 5) {
		t.Run(c.File, func(t *testing.T) {
			text := readVector(t, c.File)
			if c.Kind == "alipay_root_cert_sn" {
				sn, err := RootCertSN(text)
				require.NoError(t, err)
				assert.Equal(t, c.Expected, sn)
				// Negative: without its last certificate the bundle has one SN.
				last := strings.LastIndex(text, "-----BEGIN CERTIFICATE-----")
				sn, err = RootCertSN(text[:last])
				require.NoError(t, err)
				assert.Equal(t, strings.Split(c.Expected, "_")[0], sn)
				return
			}
			cert, sn, err := ParseCert(text)
			require.NoError(t, err)
			assert.Equal(t, c.Expected, sn)
			// Negative: a serial number one higher.
			cert.SerialNumber = new(big.Int).Add(cert.SerialNumber, big.NewInt(1))
			other, err := CertSN(cert)
			require.NoError(t, err)
			assert.NotEqual(t, c.Expected, other)
		})
	}
	_, err := RootCertSN("not a bundle")
	assert.ErrorIs(t, err, ErrNoRSACertificate)
}

// The same key in PKCS#1 and PKCS#8, PEM and bare base64, signs identically,
// and the signature verifies with the matching public key in both forms.
func TestKeyEncodingsSignIdentically(t *testing.T) {
	sets := map[string][]string{
		"nodejs app key": {"nodejs-sdk/app-private-key.pem", "nodejs-sdk/app-private-key-pkcs8.pem",
			"nodejs-sdk/app-private-key-no-wrapper.pem", "nodejs-sdk/app-private-key-pkcs8-no-wrapper.pem"},
		"java ProdCert key": prodCertKeys,
	}
	pubs := map[string][]string{
		"nodejs app key":    {"nodejs-sdk/app-public-key.pem", "nodejs-sdk/app-public-key-no-wrapper.pem"},
		"java ProdCert key": {"java-sdk/prodcert_public.pem", "java-sdk/appCertPublicKey_2019091767145019.crt"},
	}
	content := []byte("app_id=2019091767145019&biz_content={\"biz_no\":\"中\"}&sign_type=RSA2")
	for name, files := range sets {
		t.Run(name, func(t *testing.T) {
			var first string
			for _, f := range files {
				key := privateKey(t, f)
				sig, err := Sign(key, SignTypeRSA2, content)
				require.NoError(t, err)
				require.Len(t, sig, 344, "a 2048-bit key gives the documented 344 characters")
				if first == "" {
					first = sig
				}
				assert.Equal(t, first, sig, f)
			}
			for _, f := range pubs[name] {
				pub := publicKey(t, f)
				assert.NoError(t, Verify(pub, SignTypeRSA2, content, first), f)
			}
		})
	}
}

func TestMalformedKeys(t *testing.T) {
	pkcs8 := readVector(t, "java-sdk/prodcert_private_pkcs8.b64")
	for name, s := range map[string]string{
		"empty":              "",
		"not base64":         "not a key at all!",
		"truncated":          pkcs8[:len(pkcs8)/2],
		"public for private": readVector(t, "java-sdk/prodcert_public.pem"),
		"broken PEM":         "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n",
	} {
		_, err := ParsePrivateKey(s)
		assert.ErrorIs(t, err, ErrMalformedKey, name)
		assert.NotContains(t, errText(err), "MII", "the error must not carry key material")
	}
	_, err := ParsePublicKey(pkcs8)
	assert.ErrorIs(t, err, ErrMalformedKey)
	_, err = Sign(nil, "HMAC", nil)
	assert.ErrorIs(t, err, ErrUnknownSignType)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// encodeForm is the wire form of signed parameters (url.Values sorts keys
// and percent-encodes, + in sign included); kept here to check it against
// the derived form files. Empty values are not sent.
func encodeForm(params map[string]string, sign string) string {
	v := url.Values{}
	for k, s := range params {
		if s != "" {
			v.Set(k, s)
		}
	}
	v.Set("sign", sign)
	return v.Encode()
}

// FuzzParseAnswer: whatever the body, ParseAnswer does not panic, and what it
// returns as the signed node is a slice of the body's own bytes, never a
// re-serialisation.
func FuzzParseAnswer(f *testing.F) {
	f.Add(`{"a_b_response":{"code":"10000","x":"http:\/\/y"},"sign":"s"}`)
	f.Add(`{"error_response" : {"code":"40002"} , "sign":"s"}`)
	f.Add(`{"a_b_response":{},"a_b_response":{}}`)
	f.Add(`{"a_b_response":{"a_b_response":{"sign":"x"}}}`)
	f.Fuzz(func(t *testing.T, body string) {
		a, err := ParseAnswer([]byte(body), "a.b")
		if err != nil {
			return
		}
		if !strings.Contains(body, string(a.Raw)) {
			t.Fatalf("node %q is not part of the body %q", a.Raw, body)
		}
	})
}
