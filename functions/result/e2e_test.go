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
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/internal/contract"
	"github.com/idverify/fc-kyc/pkg/emulator"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

const (
	aliceKey = "alice-api-key-0123456789abcdef0123456789"
	bobKey   = "bob-api-key-0123456789abcdef0123456789ab"
)

func keyHash(k string) string {
	s := sha256.Sum256([]byte(k))
	return hex.EncodeToString(s[:])
}

type reply struct {
	status int
	header http.Header
	body   string
}

func call(t *testing.T, url, key, body string) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Api-Key", key)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return reply{resp.StatusCode, resp.Header, string(b)}
}

func TestEndToEndOnlyTheOwnerReadsTheResult(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds and runs binaries")
	}
	emuProc := testproc.StartEmulator(t)
	emu := &emulator.Remote{BaseURL: emuProc.URL()}
	common := []string{
		"STORE_URL=file://" + t.TempDir(),
		"CALLBACK_SECRET=e2e-callback-secret-0123456789abcdef0123",
		"CLOUDAUTH_ENDPOINT=" + emuProc.URL(),
		"ALIBABA_CLOUD_ACCESS_KEY_ID=" + emulator.DefaultAccessKeyID,
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + emulator.DefaultAccessKeySecret,
	}
	front := []string{"AUTH_MODE=apikey", "API_KEY_HASHES=" + keyHash(aliceKey) + "," + keyHash(bobKey)}
	cb := testproc.StartFunction(t, "callback", append(common, "RECONCILE_AFTER=1h")...)
	ekyc := testproc.StartFunction(t, "ekyc-init", append(append(common, front...), "EKYC_CALLBACK_URL="+cb.URL()+"/ekyc/callback")...)
	result := testproc.StartFunction(t, "result", append(append(common, front...), "FUNCTION_TIMEOUT_S=30")...)
	contract.Register(t, "ekyc-init", ekyc.URL())
	contract.Register(t, "result", result.URL())
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("result output:\n%s", result.Output())
		}
	})

	started := call(t, ekyc.URL()+"/", aliceKey, `{"MerchantBizId":"ORDERE2E1","MetaInfo":{"zimVer":"3.0.0","appName":"com.example.app","deviceType":"h5"},"MerchantUserId":"user-1","DocType":"01560000"}`)
	require.Equal(t, http.StatusOK, started.status, started.body)
	var init struct {
		Result struct{ TransactionId string }
	}
	require.NoError(t, json.Unmarshal([]byte(started.body), &init))
	stats, err := emu.Stats()
	require.NoError(t, err)
	upstream := stats.Requests

	read := func(key, body string) (reply, map[string]any) {
		r := call(t, result.URL()+"/", key, body)
		var m map[string]any
		_ = json.Unmarshal([]byte(r.body), &m)
		return r, m
	}

	r, got := read(aliceKey, `{"MerchantBizId":"ORDERE2E1"}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, "pending", got["status"])
	assert.Equal(t, init.Result.TransactionId, got["transactionId"])
	assert.Nil(t, got["recordedAt"])

	// Bob, and an id nobody started: the same 404, byte for byte.
	bob, _ := read(bobKey, `{"MerchantBizId":"ORDERE2E1"}`)
	unknown, _ := read(aliceKey, `{"MerchantBizId":"ORDERE2E2"}`)
	assert.Equal(t, http.StatusNotFound, bob.status)
	assert.Equal(t, unknown.status, bob.status)
	assert.Equal(t, unknown.body, bob.body)
	assert.Contains(t, bob.body, `"Code":"TransactionNotFound"`)
	noKey, _ := read("", `{"MerchantBizId":"ORDERE2E1"}`)
	assert.Equal(t, http.StatusUnauthorized, noKey.status)

	// Alice waits; the emulator completes the transaction and notifies the
	// callback, which records it; the wait ends with the result.
	go func() {
		time.Sleep(500 * time.Millisecond)
		_ = emu.CompleteWithCallbacks(context.Background(), init.Result.TransactionId, "Y", "200", 1)
	}()
	began := time.Now()
	r, got = read(aliceKey, `{"MerchantBizId":"ORDERE2E1","wait":15}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, "passed", got["status"], r.body)
	assert.Equal(t, "Y", got["passed"])
	assert.Equal(t, "200", got["subCode"])
	assert.NotEmpty(t, got["recordedAt"])
	assert.Less(t, time.Since(began), 10*time.Second, "the wait ended with the result, not at its end")

	bob, _ = read(bobKey, `{"MerchantBizId":"ORDERE2E1"}`)
	assert.Equal(t, unknown.body, bob.body, "still nothing for bob once it is recorded")

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
	if testing.Short() {
		t.Skip("end-to-end: builds and runs the binary")
	}
	out, err := testproc.RunOnce(testproc.Build(t, "github.com/idverify/fc-kyc/functions/result"),
		"AUTH_MODE=apikey", "API_KEY_HASHES="+keyHash(aliceKey), "STORE_URL=file://"+t.TempDir(), "FC_CUSTOM_LISTEN_PORT="+testproc.FreePort(t))
	require.Error(t, err, out)
	assert.Contains(t, out, "IDEMPOTENCY_SECRET or CALLBACK_SECRET is required")
}
