package antom

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/idverify/fc-kyc/pkg/apierr"
)

// FuzzVerifyAnswer: the answer check of the client, over any body and any
// signature, response-time and client-id headers, with Antom's key from
// testdata/vectors/antom. The fuzzer cannot forge RSA, so:
//   - an answer accepted with a signature is the vector's genuine answer,
//     byte for byte, with its genuine response-time;
//   - an unsigned answer is never accepted as S;
//   - an accepted answer always has a result status, and a refusal is the
//     documented BadUpstreamAnswer (502).
func FuzzVerifyAnswer(f *testing.F) {
	v := func(name string) string { return readFile(f, "v3_init_response", name) }
	path, clientID, rtime, sig := v("path"), v("client_id"), v("time"), v("signature_header")
	body := []byte(v("body"))
	pub, err := ParsePublicKey(readFile(f, "keys", "gateway_public_spki.pem"))
	if err != nil {
		f.Fatal(err)
	}
	merchant, err := ParsePrivateKey(readFile(f, "keys", "merchant_private_pkcs8.pem"))
	if err != nil {
		f.Fatal(err)
	}
	c, err := New(Config{Gateway: "http://127.0.0.1:1", ClientID: clientID, PrivateKey: merchant, AntomPublicKey: pub})
	if err != nil {
		f.Fatal(err)
	}
	genuine := http.Header{"Signature": {sig}, "Response-Time": {rtime}, "Client-Id": {clientID}}
	if _, err := c.verify(path, genuine, body); err != nil {
		f.Fatalf("the vector's genuine answer must verify: %v", err)
	}
	f.Add(body, rtime, sig, clientID)
	f.Add(body, rtime, sig, "")
	f.Add(body, rtime, sig, "OTHER")
	f.Add(append(bytes.Clone(body), ' '), rtime, sig, clientID)
	f.Add(body, rtime+"0", sig, clientID)
	f.Add(body, rtime, strings.Replace(sig, "%2B", "+", -1), clientID)
	f.Add(body, rtime, strings.Replace(sig, "algorithm=RSA256,", "", 1), clientID)
	f.Add(body, "", "", "")
	f.Add([]byte(`{"result":{"resultCode":"USER_NOT_EXIST","resultStatus":"F","resultMessage":"x"}}`), "", "", "")
	f.Add([]byte(`{"result":{"resultStatus":"U"}}`), "", "", "")
	f.Add([]byte(`{"result":null}`), "", "", "")
	f.Fuzz(func(t *testing.T, raw []byte, respTime, signature, answerClientID string) {
		h := http.Header{}
		for k, val := range map[string]string{"Signature": signature, "Response-Time": respTime, "Client-Id": answerClientID} {
			if val != "" {
				h.Set(k, val)
			}
		}
		res, err := c.verify(path, h, raw)
		if err != nil {
			if e := apierr.As(err); e.Code != apierr.BadUpstreamAnswer || apierr.Status(err) != http.StatusBadGateway {
				t.Fatalf("refusal is %s (HTTP %d), want BadUpstreamAnswer 502", e.Code, apierr.Status(err))
			}
			return
		}
		if res.ResultStatus == "" {
			t.Fatalf("accepted an answer without a result status: %q", raw)
		}
		signed := h.Get("Signature") != "" || h.Get("Response-Time") != ""
		switch {
		case signed && (!bytes.Equal(raw, body) || respTime != rtime):
			t.Fatalf("accepted a signed answer that is not the genuine one: body %q, response-time %q", raw, respTime)
		case !signed && res.ResultStatus == StatusSuccess:
			t.Fatalf("accepted an unsigned S: %q", raw)
		}
	})
}

// FuzzVerifySignature: Verify accepts the vector's signature header only
// over the exact content it signs, whatever spelling of the header
// the fuzzer finds, and refuses anything else with a package error.
func FuzzVerifySignature(f *testing.F) {
	v := func(name string) string { return readFile(f, "v3_init_response", name) }
	content := []byte(v("content_to_sign"))
	pub, err := ParsePublicKey(readFile(f, "keys", "gateway_public_spki.pem"))
	if err != nil {
		f.Fatal(err)
	}
	sig := v("signature_header")
	if err := Verify(pub, content, sig); err != nil {
		f.Fatalf("the vector's signature must verify: %v", err)
	}
	f.Add(content, sig)
	f.Add(content, strings.Replace(sig, ",", ", ", -1))
	f.Add(content, "algorithm=RSA256,keyVersion=1,signature="+v("signature.b64"))
	f.Add(content[1:], sig)
	f.Add(content, "signature=%zz")
	f.Add(content, "")
	f.Fuzz(func(t *testing.T, c []byte, header string) {
		err := Verify(pub, c, header)
		if err == nil {
			if !bytes.Equal(c, content) {
				t.Fatalf("signature header %q accepted over other content %q", header, c)
			}
			return
		}
		if !errors.Is(err, ErrBadSignature) && !errors.Is(err, ErrUnsigned) && !errors.Is(err, ErrMalformedSignature) {
			t.Fatalf("Verify: undocumented error %v", err)
		}
	})
}
