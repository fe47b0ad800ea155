package budget_test

// The budget as deployed: several instances of the built ekyc-init and
// bank-verify binaries, one real redis-server they all count in, and the
// emulator in its own process, set to throttle above the budget as the real
// service throttles above the account's cap. Driven well past the budget,
// the emulator must see no second over it and answer no Throttling.Api, and
// every caller must get 200 or 429.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/emulator"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

func TestFleetStaysWithinTheBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds and runs binaries and redis-server")
	}
	redis := testproc.Redis(t)
	emuProc := testproc.StartEmulator(t)
	emu := &emulator.Remote{BaseURL: emuProc.URL()}

	const (
		ekycBudget, bankBudget = 10, 20 // ekyc: the documented cap; bank: lowered so that the test drives past it quickly
		instances              = 3
		callers                = 40 // 20 per function: twice the eKYC budget at once
		drive                  = 4 * time.Second
	)

	start := func(fn string) []*testproc.Proc {
		bin := testproc.Build(t, "github.com/idverify/fc-kyc/functions/"+fn)
		var ps []*testproc.Proc
		for range instances {
			port := testproc.FreePort(t)
			p := testproc.Start(t, bin, port,
				"FC_CUSTOM_LISTEN_PORT="+port,
				"AUTH_MODE=none",
				"FUNCTION_TIMEOUT_S=5",
				"STORE_URL="+redis.URL,
				"RATE_LIMIT_PER_CALLER=off", "RATE_LIMIT_PER_SUBJECT=off",
				"CLOUDAUTH_QPS_EKYC="+strconv.Itoa(ekycBudget),
				"CLOUDAUTH_QPS_BANK_CARD_N_META="+strconv.Itoa(bankBudget),
				"CLOUDAUTH_QPS_MAX_WAIT=1s",
				"CLOUDAUTH_ENDPOINT="+emu.BaseURL,
				"ALIBABA_CLOUD_ACCESS_KEY_ID="+emulator.DefaultAccessKeyID,
				"ALIBABA_CLOUD_ACCESS_KEY_SECRET="+emulator.DefaultAccessKeySecret)
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("%s output (tail):\n%s", fn, tail(p.Output(), 3000))
				}
			})
			ps = append(ps, p)
		}
		return ps
	}
	fleet := map[string][]*testproc.Proc{"ekyc-init": start("ekyc-init"), "bank-verify": start("bank-verify")}
	bodies := map[string][]byte{
		"ekyc-init": mustJSON(t, map[string]any{"MetaInfo": map[string]any{"zimVer": "3.0.0", "appName": "com.example.app", "deviceType": "h5"},
			"MerchantUserId": "fleet-user", "DocType": "01560000"}),
		"bank-verify": mustJSON(t, map[string]any{"ProductType": "BANK_CARD_4_META", "BankCard": "6222020101987654",
			"UserName": "欧阳明月", "IdentifyNum": "42900119900101821X", "Mobile": "13912345678"}),
	}

	client := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: callers}}

	// Warm instances, as a fleet under steady traffic has: a just-started
	// instance's first upstream call (new connection, cold process on a
	// busy test machine) can take longer than the budget's Guard to arrive,
	// which is the limit of what a per-second budget can promise.
	for fn, ps := range fleet {
		for _, p := range ps {
			res, err := client.Post(p.URL()+"/", "application/json", bytes.NewReader(bodies[fn]))
			require.NoError(t, err)
			res.Body.Close()
			require.Equal(t, http.StatusOK, res.StatusCode, "%s warm-up", fn)
		}
	}
	time.Sleep(1100 * time.Millisecond) // the warm-up's seconds are over
	require.NoError(t, emu.ResetQPS())
	// The emulator throttles just above the budget: a single request over
	// it in any second would show as Throttling.Api.
	require.NoError(t, emu.SetQPSLimit("eKYC", ekycBudget))
	require.NoError(t, emu.SetQPSLimit("BANK_CARD_N_META", bankBudget))
	var mu sync.Mutex
	statuses := map[string]map[int]int{"ekyc-init": {}, "bank-verify": {}}
	var unexpected []string
	stop := time.Now().Add(drive)
	var wg sync.WaitGroup
	for i := range callers {
		fn := "ekyc-init"
		if i%2 == 1 {
			fn = "bank-verify"
		}
		target := fleet[fn][i%instances].URL() + "/"
		wg.Go(func() {
			for time.Now().Before(stop) {
				res, err := client.Post(target, "application/json", bytes.NewReader(bodies[fn]))
				if err != nil {
					mu.Lock()
					unexpected = append(unexpected, fmt.Sprintf("%s: %v", fn, err))
					mu.Unlock()
					return
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				mu.Lock()
				statuses[fn][res.StatusCode]++
				switch res.StatusCode {
				case http.StatusOK:
				case http.StatusTooManyRequests:
					if res.Header.Get("Retry-After") == "" {
						unexpected = append(unexpected, fn+": 429 without Retry-After")
					}
				default:
					unexpected = append(unexpected, fmt.Sprintf("%s: HTTP %d %s", fn, res.StatusCode, b))
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	qps, err := emu.QPS()
	require.NoError(t, err)
	stats, err := emu.Stats()
	require.NoError(t, err)
	t.Logf("callers' answers by status: %v; emulator's busiest second: %v; throttled: %v", statuses, qps.Max, qps.Throttled)

	assert.Empty(t, unexpected, "callers get 200 or 429 (with Retry-After) only")
	assert.LessOrEqual(t, qps.Max["eKYC"], int64(ekycBudget), "eKYC requests per second: %v", qps.Seconds["eKYC"])
	assert.LessOrEqual(t, qps.Max["BANK_CARD_N_META"], int64(bankBudget), "BANK_CARD_N_META per second: %v", qps.Seconds["BANK_CARD_N_META"])
	assert.Empty(t, qps.Throttled, "no request over the emulator's limit")
	assert.Zero(t, stats.Rejected["Throttling.Api"], "no Throttling.Api")
	for fn, by := range statuses {
		assert.Positive(t, by[http.StatusOK], "%s: some calls go through", fn)
		assert.Positive(t, by[http.StatusTooManyRequests], "%s: driven past the budget, some calls are refused", fn)
	}
	// Used, not only respected: the budget's seconds are mostly full.
	assert.GreaterOrEqual(t, qps.Max["eKYC"], int64(ekycBudget/2))
	assert.GreaterOrEqual(t, qps.Max["BANK_CARD_N_META"], int64(bankBudget/2))
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
