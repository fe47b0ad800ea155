package main

// Fair limits, end to end: the built bank-verify, the emulator and a real
// redis-server. A slot is spent only by a call the upstream bills, and one
// card is counted whoever sends it, by a keyed hash that never shows the
// card to the store.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/internal/e2e"
	"github.com/idverify/fc-kyc/pkg/emulator"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

const cardLimitSecret = "e2e-card-limit-key-0123456789abcdefgh"

func keyHash(k string) string { s := sha256.Sum256([]byte(k)); return hex.EncodeToString(s[:]) }

// startCounted starts bank-verify under AUTH_MODE=apikey (keys "key-one"
// and "key-two") on storeURL, with env added.
func startCounted(t *testing.T, emuURL, storeURL string, env ...string) *testproc.Proc {
	t.Helper()
	return e2e.Function(t, "bank-verify", emuURL, append([]string{
		"AUTH_MODE=apikey", "API_KEY_HASHES=" + keyHash("key-one") + "," + keyHash("key-two"),
		"STORE_URL=" + storeURL,
		"BANK_CARD_LIMIT_SECRET=" + cardLimitSecret,
	}, env...)...)
}

func TestUnbilledFailuresGiveTheirSlotBack(t *testing.T) {
	e2e.Skip(t)
	emuProc, emu := e2e.Emulator(t)
	srv := testproc.Redis(t)
	p := startCounted(t, emuProc.URL(), srv.URL, "RATE_LIMIT_PER_CALLER=3/1h", "RATE_LIMIT_PER_CARD=off")
	one := map[string]string{"X-Api-Key": "key-one"}
	sent := func() int64 {
		st, err := emu.Stats()
		require.NoError(t, err)
		return st.Requests["BankMetaVerifyIntl"]
	}

	// Three upstream 503s: the service did not serve them.
	require.NoError(t, emu.InjectFault(emulator.Cloudauth, "BankMetaVerifyIntl", emulator.Fault{Kind: emulator.FaultServerError, Times: 3}))
	for i := range 3 {
		r := e2e.Post(t, p.URL()+"/", one, body4(plainCard))
		require.Equal(t, http.StatusServiceUnavailable, r.Status, "call %d: %v", i+1, r.Body)
	}
	// A 500 may have been served: it keeps its slot.
	require.NoError(t, emu.InjectFault(emulator.Cloudauth, "BankMetaVerifyIntl", emulator.Fault{Kind: emulator.FaultInternalError, Times: 1}))
	r := e2e.Post(t, p.URL()+"/", one, body4(plainCard))
	require.Equal(t, http.StatusBadGateway, r.Status, "%v", r.Body)
	before := sent()
	for i := range 2 {
		r := e2e.Post(t, p.URL()+"/", one, body4(plainCard))
		require.Equal(t, http.StatusOK, r.Status, "billed call %d of the 3 the caller may make: %v", i+2, r.Body)
	}
	r = e2e.Post(t, p.URL()+"/", one, body4(plainCard))
	assert.Equal(t, http.StatusTooManyRequests, r.Status, "%v", r.Body)
	assert.Equal(t, "Throttling.User", r.Str("Code"))
	assert.Equal(t, before+2, sent(), "the refused call cost no upstream request")
}

func TestOneCardIsCountedWhoeverSendsIt(t *testing.T) {
	e2e.Skip(t)
	emuProc, _ := e2e.Emulator(t)
	srv := testproc.Redis(t)
	env := []string{"RATE_LIMIT_PER_CALLER=100/1m", "RATE_LIMIT_PER_CARD=2/24h"}
	a := startCounted(t, emuProc.URL(), srv.URL, env...)
	b := startCounted(t, emuProc.URL(), srv.URL, append(env, "BANK_VERIFY_PARAM_TYPE=md5")...) // another instance, hashing before it sends
	one, two := map[string]string{"X-Api-Key": "key-one"}, map[string]string{"X-Api-Key": "key-two"}

	require.Equal(t, http.StatusOK, e2e.Post(t, a.URL()+"/", one, body4(plainCard)).Status)
	require.Equal(t, http.StatusOK, e2e.Post(t, b.URL()+"/", two, body4(plainCard)).Status, "another caller, another instance")
	r := e2e.Post(t, a.URL()+"/", two, body4(plainCard))
	assert.Equal(t, http.StatusTooManyRequests, r.Status, "a third call on the card: %v", r.Body)
	assert.Equal(t, "Throttling.User", r.Str("Code"))
	assert.Contains(t, r.Str("Message"), "this card")
	assert.Equal(t, "43200", r.Header.Get("Retry-After"), "2 per 24 h: a slot back every 12 h")
	assert.Equal(t, http.StatusOK, e2e.Post(t, a.URL()+"/", one, body4(wrongCard)).Status, "another card has its own count")

	// The store holds an HMAC of each card: no number, no md5 form.
	rc := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rc.Close()
	keys, err := rc.Keys(context.Background(), "*").Result()
	require.NoError(t, err)
	var cardKeys int
	for _, k := range keys {
		assert.NotContains(t, k, cardTail)
		if strings.Contains(k, ":card:") {
			cardKeys++
			v, err := rc.Get(context.Background(), k).Result()
			require.NoError(t, err)
			assert.NotContains(t, v, cardTail)
		}
	}
	assert.Equal(t, 2, cardKeys, "one key per card: %v", keys)
}
