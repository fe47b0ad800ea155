package loadtest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/internal/e2e"
	"github.com/idverify/fc-kyc/pkg/callbacktoken"
	"github.com/idverify/fc-kyc/pkg/cloudauth"
	"github.com/idverify/fc-kyc/pkg/credentials"
	"github.com/idverify/fc-kyc/pkg/emulator"
	"github.com/idverify/fc-kyc/pkg/store"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

// kind is what a request of the load is meant to be.
type kind int

const (
	valid   kind = iota // a correct request; 200, or a fault's answer
	invalid             // refused by the function's checks: 400, no upstream call
)

// target is one function under load: what to send, and how to make its
// upstream fail.
type target struct {
	fn string
	// setup, when set, prepares state (transactions) and returns the
	// variables it needs.
	setup func(t *testing.T, emu *emulator.Emulator, emuURL string) []string
	// body returns request i's JSON body (POST), which spoil makes
	// invalid; or query returns its query (GET).
	body  func(i int) map[string]any
	spoil func(body map[string]any)
	query func(i int, k kind) url.Values
	// fault is what the upstream answers the faulty requests with: a
	// fault of kind on operation op of upstream.
	upstream emulator.Upstream
	op       string
	fault    emulator.FaultKind
	// faultStatus are the answers a valid request may get from a fault;
	// invalidStatus the answer to an invalid one (default 400).
	faultStatus   []int
	invalidStatus int
	// verify, when set, checks the state the load left.
	verify func(t *testing.T)
	// retried: the upstream call is retried on the injected fault, so a
	// request fails only when every attempt meets one and the answers
	// cannot be counted against the faults one for one.
	retried bool
}

// maxPeakRSS bounds a function's peak resident memory under the load. The
// functions hold nothing per request beyond the request: the bound is far
// above what they use and far below what growth with the request count
// would reach.
const maxPeakRSS = 200 << 10 // KiB

// goroutineSlack is how many more goroutines than after one request a
// function may have once the load is over and its connections are closed.
const goroutineSlack = 10

const invalidEvery = 10 // a tenth of the requests are invalid

var targets = []target{
	{
		fn: "ekyc-init",
		body: func(i int) map[string]any {
			return map[string]any{"MetaInfo": map[string]any{"zimVer": "3.0.0", "appName": "com.example.app", "deviceType": "h5"},
				"MerchantUserId": "load-user-" + strconv.Itoa(i), "DocType": "01560000"}
		},
		spoil:    func(b map[string]any) { delete(b, "DocType") },
		upstream: emulator.Cloudauth, op: "Initialize", fault: emulator.FaultServerError,
		faultStatus: []int{http.StatusServiceUnavailable},
	},
	{
		fn: "bank-verify",
		body: func(int) map[string]any {
			return map[string]any{"ProductType": "BANK_CARD_4_META", "BankCard": "6222020101987654",
				"UserName": "欧阳明月", "IdentifyNum": "42900119900101821X", "Mobile": "13912345678"}
		},
		spoil:    func(b map[string]any) { b["BankCard"] = "not-a-card" },
		upstream: emulator.Cloudauth, op: "BankMetaVerifyIntl", fault: emulator.FaultInternalError,
		faultStatus: []int{http.StatusBadGateway},
	},
	{
		fn: "otp-init",
		body: func(i int) map[string]any {
			return map[string]any{"authenticationType": "OTP", "authenticationChannelType": "SMS",
				// One user per request: the emulator, like Antom, limits the codes sent to one user.
				"userIdentityType": "WALLET_TOKEN", "userIdentityValue": fmt.Sprintf("2020042910435415881282340824710273532915573s%010d", i),
				"authenticationRequestId": fmt.Sprintf("load-%d-%d", time.Now().UnixNano(), i)}
		},
		spoil:    func(b map[string]any) { b["authenticationType"] = "PASSWORD" },
		upstream: emulator.Antom, op: "initAuthentication", fault: emulator.AntomFaultBadSignature,
		faultStatus: []int{http.StatusBadGateway},
	},
	{
		fn: "zhima-init",
		body: func(int) map[string]any {
			return map[string]any{"biz_code": "FACE", "identity_param": map[string]any{"identity_type": "CERT_INFO",
				"cert_type": "IDENTITY_CARD", "cert_name": "张三", "cert_no": "260104197909275964"}}
		},
		spoil:    func(b map[string]any) { delete(b, "identity_param") },
		upstream: emulator.Alipay, fault: emulator.AlipayFaultBadSignature,
		faultStatus: []int{http.StatusBadGateway},
	},
	{
		fn:    "callback",
		setup: callbackSetup,
		query: func(i int, k kind) url.Values {
			tx := callbackTxs[i%len(callbackTxs)]
			token := tx.token
			if k == invalid {
				token = strings.Repeat("A", len(token)) // forged: refused before any upstream call
			}
			return url.Values{"merchantBizId": {tx.bizID}, "transactionId": {tx.id}, "callbackToken": {token}}
		},
		upstream: emulator.Cloudauth, op: "CheckResult", fault: emulator.FaultServerError,
		faultStatus:   []int{http.StatusServiceUnavailable, http.StatusBadGateway},
		invalidStatus: http.StatusForbidden,
		retried:       true,
		verify:        callbackVerify,
	},
}

// callbackTx is a transaction the callback load notifies about.
type callbackTx struct{ id, bizID, token string }

// callbackTxs are made by callbackSetup; half are completed in the
// emulator (recorded once, then duplicates), half stay pending (each
// notification asks CheckResult again).
var callbackTxs []callbackTx

// callbackStore is the callback's store directory.
var callbackStore string

// callbackVerify checks that every completed transaction's result was
// recorded and every other is still pending.
func callbackVerify(t *testing.T) {
	st, err := store.NewFile(callbackStore, store.Options{})
	require.NoError(t, err)
	defer st.Close()
	for i, tx := range callbackTxs {
		got, err := st.Get(context.Background(), tx.id)
		require.NoError(t, err)
		want := store.Pending
		if i%2 == 0 {
			want = store.Passed
		}
		assert.Equal(t, want, got.Status, "transaction %d", i)
	}
}

const callbackSecret = "load-callback-secret-0123456789abcdef"

func callbackSetup(t *testing.T, emu *emulator.Emulator, emuURL string) []string {
	dir := t.TempDir()
	callbackStore = dir
	st, err := store.NewFile(dir, store.Options{})
	require.NoError(t, err)
	defer st.Close()
	client, err := cloudauth.New(cloudauth.Config{Endpoint: emuURL})
	require.NoError(t, err)
	signer, err := callbacktoken.New([]string{callbackSecret}, time.Hour)
	require.NoError(t, err)
	ctx := credentials.NewContext(context.Background(), credentials.Credentials{
		AccessKeyID: emulator.DefaultAccessKeyID, AccessKeySecret: emulator.DefaultAccessKeySecret})
	callbackTxs = nil
	for i := range 100 {
		biz := fmt.Sprintf("load%04d", i)
		res, err := client.Initialize(ctx, cloudauth.InitializeRequest{ProductCode: "KYC_GLOBAL", MerchantBizId: biz,
			MetaInfo: `{"zimVer":"3.0.0","appName":"com.example.app","deviceType":"h5"}`, MerchantUserId: "u", DocType: "01560000"})
		require.NoError(t, err)
		id := res.Result.TransactionId
		require.NoError(t, st.Create(ctx, store.Transaction{TransactionID: id, MerchantBizID: biz}))
		if i%2 == 0 {
			require.NoError(t, emu.Complete(ctx, id, "Y", "200", false))
		}
		callbackTxs = append(callbackTxs, callbackTx{id: id, bizID: biz, token: signer.Token(callbacktoken.EKYCCallback, biz, time.Now())})
	}
	return []string{"STORE_URL=file://" + dir, "CALLBACK_SECRET=" + callbackSecret}
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	require.NoError(t, err, name)
	require.Positive(t, n, name)
	return n
}

func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load: builds and runs the functions")
	}
	if raceEnabled {
		t.Skip("load: run without -race (make test does, after the race run; make load runs it larger)")
	}
	requests := envInt(t, "LOAD_REQUESTS", 2000)
	concurrency := envInt(t, "LOAD_CONCURRENCY", 200)
	for _, tg := range targets {
		t.Run(tg.fn, func(t *testing.T) { runLoad(t, tg, requests, concurrency) })
	}
}

func runLoad(t *testing.T, tg target, requests, concurrency int) {
	emu := emulator.New(emulator.Config{})
	srv := httptest.NewServer(emu.Handler())
	t.Cleanup(srv.Close)
	env := []string{"FUNCTION_TIMEOUT_S=10", "RATE_LIMIT_PER_CALLER=off", "RATE_LIMIT_PER_SUBJECT=off",
		// The load measures one instance's capacity, not the account's
		// QPS budget (pkg/budget has its own test).
		"CLOUDAUTH_QPS_EKYC=off", "CLOUDAUTH_QPS_BANK_CARD_N_META=off"}
	if tg.setup != nil {
		env = append(env, tg.setup(t, emu, srv.URL)...)
	}
	start := func() *testproc.Proc { return e2e.Function(t, tg.fn, srv.URL, env...) }
	invalidStatus := cmp.Or(tg.invalidStatus, http.StatusBadRequest)
	client := &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConns: concurrency, MaxIdleConnsPerHost: concurrency}}
	send := func(p *testproc.Proc, i int) (int, []byte, error) {
		k := valid
		if i%invalidEvery == invalidEvery-1 {
			k = invalid
		}
		var res *http.Response
		var err error
		if tg.query != nil {
			res, err = client.Get(p.URL() + "/?" + tg.query(i, k).Encode())
		} else {
			b := tg.body(i)
			if k == invalid {
				tg.spoil(b)
			}
			raw, _ := json.Marshal(b)
			res, err = client.Post(p.URL()+"/", "application/json", bytes.NewReader(raw))
		}
		if err != nil {
			return 0, nil, err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		return res.StatusCode, b, err
	}
	// quiesce closes every connection on both sides of p, and waits until
	// p has let go of them, so that what is left is what p keeps on its own.
	quiesce := func(p *testproc.Proc) {
		client.CloseIdleConnections()
		srv.CloseClientConnections()
		deadline := time.Now().Add(10 * time.Second)
		for connections(t, p) > 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
	}

	// Baseline: a fresh instance after one valid and one invalid request.
	base := start()
	for i := invalidEvery - 2; i < invalidEvery; i++ {
		_, _, err := send(base, i)
		require.NoError(t, err)
	}
	quiesce(base)
	baseline := goroutines(t, base)

	fn := start()
	faults := requests / 20 // a twentieth of the upstream calls fail
	emu.InjectFault(tg.upstream, tg.op, emulator.Fault{Kind: tg.fault, Times: faults})
	var (
		next       atomic.Int64
		mu         sync.Mutex
		byStatus   = map[int]int{}
		unexpected []string
		faulted    int
	)
	isFault := func(s int) bool {
		for _, f := range tg.faultStatus {
			if s == f {
				return true
			}
		}
		return false
	}
	began := time.Now()
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= requests {
					return
				}
				status, body, err := send(fn, i)
				mu.Lock()
				byStatus[status]++
				bad := ""
				switch {
				case err != nil:
					bad = err.Error()
				case i%invalidEvery == invalidEvery-1:
					if status != invalidStatus {
						bad = "invalid request answered " + strconv.Itoa(status)
					}
				case status == http.StatusOK:
				case isFault(status):
					faulted++
				default:
					bad = "valid request answered " + strconv.Itoa(status)
				}
				if bad == "" && status != http.StatusOK && !json.Valid(body) {
					bad = "error answer is not JSON"
				}
				if bad != "" && len(unexpected) < 20 {
					unexpected = append(unexpected, fmt.Sprintf("request %d: %s: %.300s", i, bad, body))
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	took := time.Since(began)
	peak := peakRSS(t, fn)
	quiesce(fn)
	after := goroutines(t, fn)

	t.Logf("%s: %d requests at concurrency %d in %v (%.0f/s): answers %v, faults answered %d of %d injected; peak RSS %d MiB; goroutines %d after the load, %d after one request",
		tg.fn, requests, concurrency, took.Round(time.Millisecond), float64(requests)/took.Seconds(), byStatus, faulted, faults,
		peak>>10, after, baseline)
	assert.Empty(t, unexpected, "unexpected answers")
	if tg.retried {
		// Under load the attempts of different requests interleave, so
		// a retry nearly always succeeds: the faults are met, not answered.
		assert.Equal(t, int64(faults), emu.Stats().Faults[string(tg.fault)], "every injected fault was met")
		assert.LessOrEqual(t, faulted, faults)
	} else {
		assert.Equal(t, faults, faulted, "each injected fault answered once, as its documented error")
	}
	assert.Equal(t, requests/invalidEvery, byStatus[invalidStatus], "every invalid request refused")
	assert.LessOrEqual(t, peak, int64(maxPeakRSS), "peak RSS (KiB)")
	assert.LessOrEqual(t, after, baseline+goroutineSlack, "goroutines left after the load")
	if tg.verify != nil {
		tg.verify(t)
	}
}
