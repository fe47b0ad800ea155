package main

// End to end: the built ekyc-init, callback and result functions sharing a
// file store, under AUTH_MODE=apikey with two callers (alice's key and
// bob's), against the built emulator. Alice starts a transaction, reads it
// pending, waits for it while the emulator completes it, and reads the
// result the callback recorded; bob, and anybody asking for an id nobody
// started, get byte-identical 404s; none of it costs an upstream call.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/internal/e2e"
)

const (
	aliceKey = "alice-api-key-0123456789abcdef0123456789"
	bobKey   = "bob-api-key-0123456789abcdef0123456789ab"
)

func keyHash(k string) string {
	s := sha256.Sum256([]byte(k))
	return hex.EncodeToString(s[:])
}

func TestEndToEndOnlyTheOwnerReadsTheResult(t *testing.T) {
	e2e.Skip(t)
	emuProc, emu := e2e.Emulator(t)
	st, secret := "STORE_URL=file://"+t.TempDir(), "CALLBACK_SECRET=e2e-callback-secret-0123456789abcdef0123"
	callers := "API_KEY_HASHES=" + keyHash(aliceKey) + "," + keyHash(bobKey)
	cb := e2e.Function(t, "callback", emuProc.URL(), st, secret, "RECONCILE_AFTER=1h")
	ekyc := e2e.Function(t, "ekyc-init", emuProc.URL(), st, secret, "AUTH_MODE=apikey", callers, "EKYC_CALLBACK_URL="+cb.URL()+"/ekyc/callback")
	result := e2e.Function(t, "result", emuProc.URL(), st, secret, "AUTH_MODE=apikey", callers, "FUNCTION_TIMEOUT_S=30")
	as := func(key string) map[string]string { return map[string]string{"X-Api-Key": key} }

	started := e2e.Post(t, ekyc.URL()+"/", as(aliceKey), `{"MerchantBizId":"ORDERE2E1","MetaInfo":{"zimVer":"3.0.0","appName":"com.example.app","deviceType":"h5"},"MerchantUserId":"user-1","DocType":"01560000"}`)
	require.Equal(t, http.StatusOK, started.Status, started.Raw)
	txID := started.Str("Result", "TransactionId")
	stats, err := emu.Stats()
	require.NoError(t, err)
	upstream := stats.Requests

	read := func(key, body string) e2e.Answer { return e2e.Post(t, result.URL()+"/", as(key), body) }

	r := read(aliceKey, `{"MerchantBizId":"ORDERE2E1"}`)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Equal(t, "pending", r.Body["status"])
	assert.Equal(t, txID, r.Body["transactionId"])
	assert.Nil(t, r.Body["recordedAt"])

	// Bob, and an id nobody started: the same 404, byte for byte.
	bob := read(bobKey, `{"MerchantBizId":"ORDERE2E1"}`)
	unknown := read(aliceKey, `{"MerchantBizId":"ORDERE2E2"}`)
	assert.Equal(t, http.StatusNotFound, bob.Status)
	assert.Equal(t, unknown.Status, bob.Status)
	assert.Equal(t, unknown.Raw, bob.Raw)
	assert.Contains(t, bob.Raw, `"Code":"TransactionNotFound"`)
	noKey := read("", `{"MerchantBizId":"ORDERE2E1"}`)
	assert.Equal(t, http.StatusUnauthorized, noKey.Status)

	// Alice waits; the emulator completes the transaction and notifies the
	// callback, which records it; the wait ends with the result.
	go func() {
		time.Sleep(500 * time.Millisecond)
		_ = emu.CompleteWithCallbacks(context.Background(), txID, "Y", "200", 1)
	}()
	began := time.Now()
	r = read(aliceKey, `{"MerchantBizId":"ORDERE2E1","wait":15}`)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Equal(t, "passed", r.Body["status"], r.Raw)
	assert.Equal(t, "Y", r.Body["passed"])
	assert.Equal(t, "200", r.Body["subCode"])
	assert.NotEmpty(t, r.Body["recordedAt"])
	assert.Less(t, time.Since(began), 10*time.Second, "the wait ended with the result, not at its end")

	bob = read(bobKey, `{"MerchantBizId":"ORDERE2E1"}`)
	assert.Equal(t, unknown.Raw, bob.Raw, "still nothing for bob once it is recorded")

	// Reading cost no upstream call: the callback's one CheckResult is the
	// only call since the start.
	stats, err = emu.Stats()
	require.NoError(t, err)
	for op, n := range stats.Requests {
		if op != "CheckResult" {
			assert.Equal(t, upstream[op], n, "upstream %s", op)
		}
	}
}

// Without the owner keys the function cannot tell owners apart: it does
// not start, and says which variable to set.
func TestStartNeedsTheOwnerKeys(t *testing.T) {
	e2e.RefusesToStart(t, "result", e2e.BadStart{Name: "no owner keys",
		Env:  []string{"AUTH_MODE=apikey", "API_KEY_HASHES=" + keyHash(aliceKey), "STORE_URL=file://" + t.TempDir()},
		Want: "IDEMPOTENCY_SECRET or CALLBACK_SECRET is required"})
}
