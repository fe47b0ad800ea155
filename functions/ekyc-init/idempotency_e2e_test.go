package main

// End to end, idempotent starts: the built ekyc-init under AUTH_MODE=jwt
// and the built emulator, two users (JWT subjects alice and bob) choosing
// the same MerchantBizId, as retrying front-ends and careless callers do.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/apierr"
)

const (
	e2eIssuer   = "https://idp.example.com/"
	e2eAudience = "ekyc-api"
)

// jwtEnv is AUTH_MODE=jwt trusting a new key, and a function that signs a
// token for a subject with it.
func jwtEnv(t *testing.T) ([]string, func(sub string) string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	require.NoError(t, err)
	f := filepath.Join(t.TempDir(), "idp.pem")
	require.NoError(t, os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600))
	sign := func(sub string) string {
		now := time.Now()
		s, err := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"iss": e2eIssuer, "aud": e2eAudience, "sub": sub,
			"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}).SignedString(key)
		require.NoError(t, err)
		return s
	}
	return []string{"AUTH_MODE=jwt", "AUTH_JWT_ISSUER=" + e2eIssuer, "AUTH_JWT_AUDIENCE=" + e2eAudience, "AUTH_JWT_PUBLIC_KEY_FILE=" + f}, sign
}

func TestEndToEndIdempotentStarts(t *testing.T) {
	env, sign := jwtEnv(t)
	s := startStack(t, append(env, "IDEMPOTENCY_SECRET=e2e-idempotency-secret-0123456789abcdef")...)
	initializes := func() int64 {
		st, err := s.emu.Stats()
		require.NoError(t, err)
		return st.Requests["Initialize"]
	}
	as := func(sub string) map[string]string { return map[string]string{"Authorization": "Bearer " + sign(sub)} }
	order := func(id, docType string) map[string]any {
		b := validBody()
		b["MerchantBizId"], b["DocType"] = id, docType
		return b
	}

	first := post(t, s.fn.URL()+"/", as("alice"), order("ORDER123", "01560000"))
	require.Equal(t, http.StatusOK, first.status, first.body)
	txID := first.str("Result", "TransactionId")
	require.NotEmpty(t, txID)
	require.EqualValues(t, 1, initializes())

	t.Run("alice's retry: the first answer, no second Initialize", func(t *testing.T) {
		again := post(t, s.fn.URL()+"/", as("alice"), order("ORDER123", "01560000"))
		require.Equal(t, http.StatusOK, again.status, again.body)
		assert.Equal(t, first.body, again.body)
		assert.EqualValues(t, 1, initializes())
	})
	t.Run("bob with alice's order id: 409 before any upstream call", func(t *testing.T) {
		bob := post(t, s.fn.URL()+"/", as("bob"), order("ORDER123", "01560000"))
		assert.Equal(t, http.StatusConflict, bob.status, bob.body)
		assert.Equal(t, apierr.IdempotentParameterMismatch, bob.str("Code"))
		assert.Contains(t, bob.str("Message"), "another caller")
		assert.NotContains(t, bob.str("Message"), txID, "nothing of alice's transaction")
		assert.EqualValues(t, 1, initializes())
	})
	t.Run("alice, another request under the same id: 409", func(t *testing.T) {
		other := post(t, s.fn.URL()+"/", as("alice"), order("ORDER123", "00000001"))
		assert.Equal(t, http.StatusConflict, other.status, other.body)
		assert.Equal(t, apierr.IdempotentParameterMismatch, other.str("Code"))
		assert.EqualValues(t, 1, initializes())
	})
	t.Run("concurrent identical requests: one Initialize", func(t *testing.T) {
		const n = 8
		answers := make([]answer, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				answers[i] = post(t, s.fn.URL()+"/", as("carol"), order("ORDER456", "01560000"))
			}()
		}
		wg.Wait()
		assert.EqualValues(t, 2, initializes(), "one more Initialize for eight requests")
		for _, a := range answers {
			require.Equal(t, http.StatusOK, a.status, a.body)
			assert.Equal(t, answers[0].str("Result", "TransactionId"), a.str("Result", "TransactionId"))
		}
	})
	t.Run("no order id: every request a new transaction", func(t *testing.T) {
		before := initializes()
		for range 2 {
			a := post(t, s.fn.URL()+"/", as("alice"), validBody())
			require.Equal(t, http.StatusOK, a.status, a.body)
		}
		assert.Equal(t, before+2, initializes())
	})
}
