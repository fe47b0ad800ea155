package antom

import (
	"crypto/rsa"
	"errors"
	"fmt"

	"github.com/idverify/fc-kyc/pkg/rsakey"
)

// ParsePrivateKey reads the merchant's RSA private key as PEM or as bare
// base64 DER, in PKCS#8 (what the Java, Go and .NET SDKs take and the
// Dashboard recipe produces) or PKCS#1 (what the PHP and Python SDKs wrap).
// Accepting every form the SDKs accept means a merchant can paste the key
// they already use.
func ParsePrivateKey(s string) (*rsa.PrivateKey, error) {
	k, err := rsakey.ParsePrivate(s)
	return k, keyError("private", err)
}

// ParsePublicKey reads an RSA public key (Antom's, from the Dashboard) as
// PEM or bare base64 DER, X.509 SubjectPublicKeyInfo or PKCS#1, or a
// certificate's (pkg/rsakey).
func ParsePublicKey(s string) (*rsa.PublicKey, error) {
	k, err := rsakey.ParsePublic(s)
	return k, keyError("public", err)
}

func keyError(kind string, err error) error {
	if errors.Is(err, rsakey.ErrNotRSA) {
		return fmt.Errorf("the %s key is not an RSA key; Antom signs with RSA256", kind)
	}
	return err
}
