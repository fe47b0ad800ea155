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

	"github.com/idverify/fc-kyc/internal/e2e"
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
	return []string{"AUTH_MODE=jwt", "AUTH_JWT_ISSUER=" + e2eIssuer, "AUTH_JWT_AUDIENCE=" + e2eAudience, "AUTH_SUBJECT_SECRET=e2e-subject-secret-0123456789abcdef", "AUTH_JWT_PUBLIC_KEY_FILE=" + f}, sign
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

	first := e2e.Post(t, s.fn.URL()+"/", as("alice"), order("ORDER123", "01560000"))
	require.Equal(t, http.StatusOK, first.Status, first.Body)
	txID := first.Str("Result", "TransactionId")
	require.NotEmpty(t, txID)
	require.EqualValues(t, 1, initializes())

	t.Run("alice's retry: the first answer, no second Initialize", func(t *testing.T) {
		again := e2e.Post(t, s.fn.URL()+"/", as("alice"), order("ORDER123", "01560000"))
		require.Equal(t, http.StatusOK, again.Status, again.Body)
		assert.Equal(t, first.Body, again.Body)
		assert.EqualValues(t, 1, initializes())
	})
	t.Run("bob with alice's order id: 409 before any upstream call", func(t *testing.T) {
		bob := e2e.Post(t, s.fn.URL()+"/", as("bob"), order("ORDER123", "01560000"))
		assert.Equal(t, http.StatusConflict, bob.Status, bob.Body)
		assert.Equal(t, apierr.IdempotentParameterMismatch, bob.Str("Code"))
		assert.Contains(t, bob.Str("Message"), "another caller")
		assert.NotContains(t, bob.Str("Message"), txID, "nothing of alice's transaction")
		assert.EqualValues(t, 1, initializes())
	})
	t.Run("alice, another request under the same id: 409", func(t *testing.T) {
		other := e2e.Post(t, s.fn.URL()+"/", as("alice"), order("ORDER123", "00000001"))
		assert.Equal(t, http.StatusConflict, other.Status, other.Body)
		assert.Equal(t, apierr.IdempotentParameterMismatch, other.Str("Code"))
		assert.EqualValues(t, 1, initializes())
	})
	t.Run("concurrent identical requests: one Initialize", func(t *testing.T) {
		const n = 8
		answers := make([]e2e.Answer, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				answers[i] = e2e.Post(t, s.fn.URL()+"/", as("carol"), order("ORDER456", "01560000"))
			}()
		}
		wg.Wait()
		assert.EqualValues(t, 2, initializes(), "one more Initialize for eight requests")
		for _, a := range answers {
			require.Equal(t, http.StatusOK, a.Status, a.Body)
			assert.Equal(t, answers[0].Str("Result", "TransactionId"), a.Str("Result", "TransactionId"))
		}
	})
	t.Run("no order id: every request a new transaction", func(t *testing.T) {
		before := initializes()
		for range 2 {
			a := e2e.Post(t, s.fn.URL()+"/", as("alice"), validBody())
			require.Equal(t, http.StatusOK, a.Status, a.Body)
		}
		assert.Equal(t, before+2, initializes())
	})
}
