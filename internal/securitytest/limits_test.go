package securitytest

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/testproc"
)

// bank-verify's default per-subject limit, as docs/configuration.md documents it.
const bankVerifyPerSubject = 5

func TestPerSubjectLimitWithBothDrivers(t *testing.T) {
	skipShort(t)
	e := startEmulator(t)
	p := newIDP(t)
	stores := map[string]string{
		"file":  "file://" + t.TempDir(),
		"redis": testproc.Redis(t).URL,
	}
	for driver, url := range stores {
		t.Run(driver, func(t *testing.T) {
			// Two instances sharing the store, as FC scales a function out.
			env := append(p.env(), "STORE_URL="+url)
			a := startFunction(t, "bank-verify", e, env...)
			b := startFunction(t, "bank-verify", e, env...)
			body := initFunctions[1].body()
			tok := bearer(p.token(t, "carol-"+driver, nil))

			before := e.requests(t, "BankMetaVerifyIntl")
			for i := range bankVerifyPerSubject {
				proc := a
				if i%2 == 1 {
					proc = b
				}
				r := post(t, proc.URL()+"/", tok, body)
				require.Equal(t, http.StatusOK, r.status, "call %d: %s", i+1, r.raw)
			}
			for _, proc := range []*testproc.Proc{a, b} {
				r := post(t, proc.URL()+"/", tok, body)
				assert.Equal(t, http.StatusTooManyRequests, r.status, r.raw)
				assert.Equal(t, "Throttling.User", r.str("Code"))
				secs, err := strconv.Atoi(r.header.Get("Retry-After"))
				require.NoError(t, err, "Retry-After is whole seconds")
				assert.Greater(t, secs, 0)
				assert.LessOrEqual(t, secs, 3600)
			}
			assert.Equal(t, before+bankVerifyPerSubject, e.requests(t, "BankMetaVerifyIntl"), "refused calls cost no upstream request")

			r := post(t, a.URL()+"/", bearer(p.token(t, "dave-"+driver, nil)), body)
			assert.Equal(t, http.StatusOK, r.status, "another user has their own count: %s", r.raw)
			r = post(t, a.URL()+"/invoke", event, body)
			assert.Equal(t, http.StatusOK, r.status, "events are not counted: %s", r.raw)
		})
	}
}

func TestPerCallerLimit(t *testing.T) {
	skipShort(t)
	e := startEmulator(t)
	sum := func(k string) string { s := sha256.Sum256([]byte(k)); return hex.EncodeToString(s[:]) }
	proc := startFunction(t, "ekyc-init", e, "AUTH_MODE=apikey", "API_KEY_HASHES="+sum("key-one")+","+sum("key-two"),
		"RATE_LIMIT_PER_CALLER=2/1m")
	body := initFunctions[0].body()
	for range 2 {
		r := post(t, proc.URL()+"/", map[string]string{"X-Api-Key": "key-one"}, body)
		require.Equal(t, http.StatusOK, r.status, r.raw)
	}
	r := post(t, proc.URL()+"/", map[string]string{"X-Api-Key": "key-one"}, body)
	assert.Equal(t, http.StatusTooManyRequests, r.status, r.raw)
	assert.NotEmpty(t, r.header.Get("Retry-After"))
	r = post(t, proc.URL()+"/", map[string]string{"X-Api-Key": "key-two"}, body)
	assert.Equal(t, http.StatusOK, r.status, "the other key is another caller: %s", r.raw)
}

func TestLimitStoreDownRefusesBilledCalls(t *testing.T) {
	skipShort(t)
	e := startEmulator(t)
	p := newIDP(t)
	redis := testproc.Redis(t)
	proc := startFunction(t, "bank-verify", e, append(p.env(), "STORE_URL="+redis.URL)...)
	tok := bearer(p.token(t, "erin", nil))
	require.Equal(t, http.StatusOK, post(t, proc.URL()+"/", tok, initFunctions[1].body()).status)

	redis.Stop()
	before := e.requests(t, "BankMetaVerifyIntl")
	r := post(t, proc.URL()+"/", tok, initFunctions[1].body())
	assert.Equal(t, http.StatusServiceUnavailable, r.status, r.raw)
	assert.NotEmpty(t, r.header.Get("Retry-After"))
	assert.Equal(t, before, e.requests(t, "BankMetaVerifyIntl"), "no unlimited billed call while the limits cannot be counted")
	assert.NotContains(t, r.raw, redis.Addr, "the store's address is for the log, not the caller")
}
