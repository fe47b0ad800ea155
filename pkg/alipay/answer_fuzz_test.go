package alipay

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/idverify/fc-kyc/pkg/apierr"
)

// FuzzRead: the client's whole answer path, extraction then verification,
// with a key pair from testdata/vectors/alipay/java-sdk standing in for
// Alipay's. The fuzzer cannot forge RSA2, so:
//   - an accepted answer's node is the genuinely signed node, byte for
//     byte, and a slice of the body it came in (never re-serialised);
//   - an unsigned 10000 is never accepted;
//   - every refusal is one of the package's errors or the gateway's own,
//     and becomes a 502/503/504 or the gateway's status, never a 500.
func FuzzRead(f *testing.F) {
	key := privateKey(f, "java-sdk/prodcert_private_pkcs8.pem")
	pub := publicKey(f, "java-sdk/prodcert_public.pem")
	c := &Client{cfg: Config{AlipayPublicKey: pub}}
	const method = MethodZhimaInitialize
	node := ResponseNode(method)
	genuine := `{"code":"10000","msg":"Success","biz_no":"ZM201611253000000121200404215172"}`
	sign, err := Sign(key, SignTypeRSA2, []byte(genuine))
	if err != nil {
		f.Fatal(err)
	}
	good := `{"` + node + `":` + genuine + `,"sign":"` + sign + `"}`
	if raw, err := c.read([]byte(good), method); err != nil || string(raw) != genuine {
		f.Fatalf("the genuine answer must verify: %v", err)
	}
	for _, s := range []string{
		good,
		`{"sign":"` + sign + `", "` + node + `" : ` + genuine + ` }`,
		`{"` + node + `":` + genuine + `,"sign":"` + sign + `","` + node + `":{"code":"10000"}}`,
		`{"` + node + `":` + genuine + `}`,
		`{"` + node + `":{"code":"40004","msg":"Business Failed","sub_code":"INVALID_PARAMETER","sub_msg":"x"}}`,
		`{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-signature","sub_msg":"验签字符串为：app_id=1&biz_content={}"}}`,
		`{"` + node + `":` + genuine + `,"sign":"` + sign + `","alipay_cert_sn":"1"}`,
		`{"` + node + `":"10000","sign":"` + sign + `"}`,
		`[]`, `{}`, `{"` + node + `":{}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		raw, err := c.read(body, method)
		if err == nil {
			if string(raw) != genuine {
				t.Fatalf("accepted a node that was never signed: %q", raw)
			}
			if !bytes.Contains(body, raw) {
				t.Fatalf("node %q is not a slice of the body %q", raw, body)
			}
			return
		}
		var g *GatewayError
		known := errors.As(err, &g)
		for _, e := range []error{ErrMalformedAnswer, ErrNoResponseNode, ErrDuplicateNode, ErrBadSignature, ErrCertSNMismatch, ErrUnsignedSuccess} {
			known = known || errors.Is(err, e)
		}
		if !known {
			t.Fatalf("undocumented error %v", err)
		}
		if g != nil && g.Code == CodeSuccess {
			t.Fatalf("a 10000 answer came back as a gateway error: %v", err)
		}
		if status := apierr.Status(upstreamError(context.Background(), err)); status == http.StatusInternalServerError {
			t.Fatalf("%v answers 500", err)
		}
	})
}
