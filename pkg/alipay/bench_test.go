package alipay

import (
	"testing"
)

// BenchmarkSign is one RSA2 signature of the derived initialize sign string
// with a 2048-bit key: the cost every call and every certify URL pays.
func BenchmarkSign(b *testing.B) {
	key := privateKey(b, "java-sdk/prodcert_private_pkcs8.b64")
	content := []byte(readVector(b, "derived/zhima_initialize.sign_content.txt"))
	for b.Loop() {
		if _, err := Sign(key, SignTypeRSA2, content); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyAnswer is reading and verifying one real gateway answer.
func BenchmarkVerifyAnswer(b *testing.B) {
	key := publicKey(b, "nodejs-sdk/alipay-public-key.pem")
	raw := []byte(readVector(b, "nodejs-sdk/response_alipay_open_file_upload.raw.json"))
	for b.Loop() {
		a, err := ParseAnswer(raw, "alipay.open.file.upload")
		if err != nil {
			b.Fatal(err)
		}
		if err := a.Verify(key, ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignContent is building the sign string of the initialize call.
func BenchmarkSignContent(b *testing.B) {
	params := map[string]string{}
	readJSON(b, "derived/zhima_initialize.params.json", &params)
	for b.Loop() {
		_ = SignContent(params)
	}
}
