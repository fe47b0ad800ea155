package securitytest

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/internal/e2e"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

// bank-verify's default per-subject limit, as docs/configuration.md documents it.
const bankVerifyPerSubject = 5

func TestPerSubjectLimitWithBothDrivers(t *testing.T) {
	e2e.Skip(t)
	_, e := e2e.Emulator(t)
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

			before := requests(t, e, "BankMetaVerifyIntl")
			for i := range bankVerifyPerSubject {
				proc := a
				if i%2 == 1 {
					proc = b
				}
				r := e2e.Post(t, proc.URL()+"/", tok, body)
				require.Equal(t, http.StatusOK, r.Status, "call %d: %s", i+1, r.Raw)
			}
			for _, proc := range []*testproc.Proc{a, b} {
				r := e2e.Post(t, proc.URL()+"/", tok, body)
				assert.Equal(t, http.StatusTooManyRequests, r.Status, r.Raw)
				assert.Equal(t, "Throttling.User", r.Str("Code"))
				secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
				require.NoError(t, err, "Retry-After is whole seconds")
				assert.Greater(t, secs, 0)
				assert.LessOrEqual(t, secs, 3600)
			}
			assert.Equal(t, before+bankVerifyPerSubject, requests(t, e, "BankMetaVerifyIntl"), "refused calls cost no upstream request")

			r := e2e.Post(t, a.URL()+"/", bearer(p.token(t, "dave-"+driver, nil)), body)
			assert.Equal(t, http.StatusOK, r.Status, "another user has their own count: %s", r.Raw)
			r = e2e.Post(t, a.URL()+"/invoke", event, body)
			assert.Equal(t, http.StatusOK, r.Status, "events are not counted: %s", r.Raw)
		})
	}
}

func TestPerCallerLimit(t *testing.T) {
	e2e.Skip(t)
	_, e := e2e.Emulator(t)
	proc := startFunction(t, "ekyc-init", e, append(apiKeyEnv("key-one", "key-two"), "RATE_LIMIT_PER_CALLER=2/1m")...)
	body := initFunctions[0].body()
	for range 2 {
		r := e2e.Post(t, proc.URL()+"/", map[string]string{"X-Api-Key": "key-one"}, body)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
	}
	r := e2e.Post(t, proc.URL()+"/", map[string]string{"X-Api-Key": "key-one"}, body)
	assert.Equal(t, http.StatusTooManyRequests, r.Status, r.Raw)
	assert.NotEmpty(t, r.Header.Get("Retry-After"))
	r = e2e.Post(t, proc.URL()+"/", map[string]string{"X-Api-Key": "key-two"}, body)
	assert.Equal(t, http.StatusOK, r.Status, "the other key is another caller: %s", r.Raw)
}

func TestLimitStoreDownRefusesBilledCalls(t *testing.T) {
	e2e.Skip(t)
	_, e := e2e.Emulator(t)
	p := newIDP(t)
	redis := testproc.Redis(t)
	proc := startFunction(t, "bank-verify", e, append(p.env(), "STORE_URL="+redis.URL)...)
	tok := bearer(p.token(t, "erin", nil))
	require.Equal(t, http.StatusOK, e2e.Post(t, proc.URL()+"/", tok, initFunctions[1].body()).Status)

	redis.Stop()
	before := requests(t, e, "BankMetaVerifyIntl")
	r := e2e.Post(t, proc.URL()+"/", tok, initFunctions[1].body())
	assert.Equal(t, http.StatusServiceUnavailable, r.Status, r.Raw)
	assert.NotEmpty(t, r.Header.Get("Retry-After"))
	assert.Equal(t, before, requests(t, e, "BankMetaVerifyIntl"), "no unlimited billed call while the limits cannot be counted")
	assert.NotContains(t, r.Raw, redis.Addr, "the store's address is for the log, not the caller")
}
