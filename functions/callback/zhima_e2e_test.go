package main

// End to end, Zhima: the built emulator, zhima-init and callback binaries,
// each its own process on loopback, sharing a file store, with a webhook
// receiver in the test. The browser's part (open the certify URL, press a
// button on the emulator's page, follow the redirect back) is done over
// HTTP as a browser would.

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/internal/contract"
	"github.com/idverify/fc-kyc/internal/e2e"
	"github.com/idverify/fc-kyc/pkg/alipay"
	"github.com/idverify/fc-kyc/pkg/callbacktoken"
	"github.com/idverify/fc-kyc/pkg/emulator"
	"github.com/idverify/fc-kyc/pkg/store"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

type zhimaE2E struct {
	*e2eStack
	zhima *testproc.Proc
}

// startZhimaE2E starts the emulator, the callback (with the Alipay
// configuration and its return path, and callbackEnv) and zhima-init, on a
// file store. A "false" is final at once (ZHIMA_SETTLE_AFTER=1ms) unless
// callbackEnv says otherwise.
func startZhimaE2E(t *testing.T, callbackEnv ...string) *zhimaE2E {
	t.Helper()
	return startZhimaE2EOn(t, "", callbackEnv...)
}

// startZhimaE2EOn is startZhimaE2E on the store of storeURL ("" for a fresh
// file store directory).
//
// zhima-init needs the callback's address (its ZHIMA_RETURN_URL), so the
// callback starts first, on a port of its own choosing. The callback reads
// only the path of its ZHIMA_RETURN_URL (where it serves the return), so
// its own URL is not needed before it starts.
func startZhimaE2EOn(t *testing.T, storeURL string, callbackEnv ...string) *zhimaE2E {
	t.Helper()
	s := &zhimaE2E{e2eStack: newStack(t, storeURL)}
	s.callback = s.function(t, "callback", slices.Concat(
		[]string{"RECONCILE_AFTER=1ms", "ZHIMA_SETTLE_AFTER=1ms", "ZHIMA_RETURN_URL=http://127.0.0.1" + zhimaReturnPath,
			"RESULT_WEBHOOK_URL=" + s.hook.URL() + "/kyc/results", "RESULT_WEBHOOK_SECRET=" + e2eWebhookSecret},
		emulator.ClientEnv(emulator.Alipay, s.emu.BaseURL), callbackEnv)...)
	s.zhima = s.function(t, "zhima-init", "ZHIMA_RETURN_URL="+s.callback.URL()+zhimaReturnPath)
	return s
}

// zhimaReturnPath is where the callback serves the browser's return.
const zhimaReturnPath = "/zhima/return"

// initialize starts a certification through zhima-init.
func (s *zhimaE2E) initialize(t *testing.T, transactionID string) (bizNo, certifyURL string) {
	t.Helper()
	a := e2e.Post(t, s.zhima.URL()+"/", nil, `{"transaction_id":"`+transactionID+`","biz_code":"FACE","identity_param":{"identity_type":"CERT_INFO","cert_type":"IDENTITY_CARD","cert_name":"张三","cert_no":"260104197909275964"}}`)
	require.Equal(t, http.StatusOK, a.Status, a.Raw)
	require.NotEmpty(t, a.Str("biz_no"))
	return a.Str("biz_no"), a.Str("certify_url")
}

// certify is the browser on the emulator's certify page: it opens the
// signed URL, presses the button, and returns where the page sends it.
func (s *zhimaE2E) certify(t *testing.T, bizNo, certifyURL, passed string) string {
	t.Helper()
	u, err := url.Parse(certifyURL)
	require.NoError(t, err)
	res, err := http.Get(s.emu.BaseURL + "/gateway.do?" + u.RawQuery)
	require.NoError(t, err)
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, string(page), bizNo, "the emulator accepted the signed certify URL: %s", page)

	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err = noFollow.PostForm(s.emu.BaseURL+"/_emulator/alipay/certifications/"+bizNo+"/complete",
		url.Values{"passed": {passed}, "return_url": {u.Query().Get("return_url")}})
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	return res.Header.Get("Location")
}

// browse is the browser opening target: its status and page.
func (s *zhimaE2E) browse(t *testing.T, target string) (int, string) {
	t.Helper()
	a := e2e.Do(t, http.MethodGet, target, nil, nil)
	return a.Status, a.Raw
}

// browseRefused is browse for an address that breaks the contract on
// purpose (internal/contract checks only its answer).
func (s *zhimaE2E) browseRefused(t *testing.T, target string) (int, string) {
	t.Helper()
	a := e2e.Do(t, http.MethodGet, target, map[string]string{contract.InvalidHeader: "1"}, nil)
	return a.Status, a.Raw
}

func (s *zhimaE2E) queries(t *testing.T) int64 {
	t.Helper()
	st, err := s.emu.AlipayStats()
	require.NoError(t, err)
	return st.Requests[alipay.MethodZhimaQuery]
}

func TestEndToEndZhimaReturn(t *testing.T) {
	s := startZhimaE2E(t)
	st := s.openStore(t)

	t.Run("return twice: one query, one record, one signed event", func(t *testing.T) {
		bizNo, certifyURL := s.initialize(t, "ZM_e2e_return")
		tx, err := st.Get(context.Background(), bizNo)
		require.NoError(t, err, "zhima-init recorded the certification")
		assert.Equal(t, store.KindZhima, tx.Kind)
		assert.Equal(t, "ZM_e2e_return", tx.MerchantBizID)
		assert.Equal(t, store.Pending, tx.Status)

		back := s.certify(t, bizNo, certifyURL, "true")
		require.True(t, strings.HasPrefix(back, s.callback.URL()+zhimaReturnPath+"?"), back)
		for range 2 {
			code, page := s.browse(t, back)
			require.Equal(t, http.StatusOK, code, page)
			assert.Contains(t, page, "finished")
		}
		assert.EqualValues(t, 1, s.queries(t), "one query for two returns")
		tx, err = st.Get(context.Background(), bizNo)
		require.NoError(t, err)
		assert.Equal(t, store.Passed, tx.Status)
		assert.True(t, tx.Delivery.Delivered)
		events := s.hook.Events()
		require.Len(t, events, 1, "exactly one event")
		assert.Empty(t, s.hook.Rejected(), "correctly signed")
		assert.Equal(t, ZhimaEventType, events[0].Type)
		assert.Equal(t, bizNo, events[0].TransactionID)
		assert.Equal(t, "ZM_e2e_return", events[0].MerchantBizID)
		assert.Equal(t, "passed", events[0].Status)
		assert.Equal(t, "true", events[0].Passed)
	})

	t.Run("forged return token: 403, no query", func(t *testing.T) {
		bizNo, certifyURL := s.initialize(t, "ZM_e2e_forged")
		back := s.certify(t, bizNo, certifyURL, "true")
		before := s.queries(t)
		u, err := url.Parse(back)
		require.NoError(t, err)
		q := u.Query()
		tok := q.Get("callbackToken")
		for _, forged := range []string{tok[:len(tok)-4] + "AAAA", "v1.9999999999.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
			q.Set("callbackToken", forged)
			u.RawQuery = q.Encode()
			code, _ := s.browse(t, u.String())
			assert.Equal(t, http.StatusForbidden, code)
		}
		assert.Equal(t, before, s.queries(t), "a forged return costs no query")
		tx, err := st.Get(context.Background(), bizNo)
		require.NoError(t, err)
		assert.Equal(t, store.Pending, tx.Status)
	})

	t.Run("abandoned return: the timer records it", func(t *testing.T) {
		bizNo, _ := s.initialize(t, "ZM_e2e_abandoned")
		require.NoError(t, s.emu.AlipayComplete(bizNo, false)) // finished, browser closed
		before := len(s.hook.Events())
		code, rep := s.timer(t)
		require.Equal(t, http.StatusOK, code)
		assert.GreaterOrEqual(t, rep.Recorded, 1, "%+v", rep)
		tx, err := st.Get(context.Background(), bizNo)
		require.NoError(t, err)
		assert.Equal(t, store.Failed, tx.Status)
		events := s.hook.Events()
		require.Greater(t, len(events), before)
		var got []string
		for _, e := range events[before:] {
			if e.TransactionID == bizNo {
				got = append(got, e.Passed)
				assert.Equal(t, ZhimaEventType, e.Type)
			}
		}
		assert.Equal(t, []string{"false"}, got, "one event, from the timer")
	})
	assert.NotContains(t, s.callback.Output(), "260104197909275964", "no personal data in the callback's log")
	assert.NotContains(t, s.zhima.Output(), "260104197909275964", "nor in zhima-init's")
}

// TestEndToEndZhimaTokenRefusedAtEKYCCallback: the ids and token a browser
// holds from zhima-init's certify_url, replayed at the eKYC callback path in
// every spelling, are refused without an upstream call (the emulator's
// counters) and without a QPS slot (no limit counter in the store).
func TestEndToEndZhimaTokenRefusedAtEKYCCallback(t *testing.T) {
	s := startZhimaE2E(t)
	bizNo, certifyURL := s.initialize(t, "ORDER123")
	u, err := url.Parse(certifyURL)
	require.NoError(t, err)
	ret, err := url.Parse(u.Query().Get("return_url"))
	require.NoError(t, err)
	rq := ret.Query()
	txID, token := rq.Get("transactionId"), rq.Get("callbackToken")
	require.Equal(t, bizNo, rq.Get("bizNo"))
	require.Equal(t, "ORDER123", txID)
	require.NotEmpty(t, token)

	hits := func() int {
		entries, err := os.ReadDir(filepath.Join(strings.TrimPrefix(s.storeURL, "file://"), "hit"))
		require.NoError(t, err)
		return len(entries)
	}
	cloudauthCalls := func() int64 {
		st, err := s.emu.Stats()
		require.NoError(t, err)
		var n int64
		for _, c := range st.Requests {
			n += c
		}
		return n
	}
	hitsBefore, queriesBefore := hits(), s.queries(t)
	require.Zero(t, cloudauthCalls())
	for name, c := range map[string]struct {
		bizID, txID string
		want        int
	}{
		"zhima:<bizNo>:<transactionId>, a replayed Zhima token": {"zhima:" + bizNo + ":" + txID, txID, http.StatusBadRequest},
		"<bizNo>:<transactionId>, the token's own subject":      {callbacktoken.ZhimaSubject(bizNo, txID), bizNo, http.StatusBadRequest},
		"the transaction_id, a valid MerchantBizId":             {txID, bizNo, http.StatusForbidden},
		"the biz_no": {bizNo, txID, http.StatusForbidden},
	} {
		q := url.Values{"merchantBizId": {c.bizID}, "callbackToken": {token}, "transactionId": {c.txID}, "passed": {"Y"}, "subCode": {"200"}}
		code, body := s.browseRefused(t, s.callback.URL()+"/ekyc/callback?"+q.Encode())
		assert.Equal(t, c.want, code, "%s: %s", name, body)
	}
	assert.Zero(t, cloudauthCalls(), "no CheckResult, nor any other cloudauth call")
	assert.Equal(t, queriesBefore, s.queries(t), "no Zhima query")
	assert.Equal(t, hitsBefore, hits(), "no QPS slot taken")
	_, err = s.openStore(t).Get(context.Background(), txID)
	assert.ErrorIs(t, err, store.ErrNotFound, "no foreign transaction adopted")

	// The genuine return still works with the same token.
	code, page := s.browse(t, s.certify(t, bizNo, certifyURL, "true"))
	assert.Equal(t, http.StatusOK, code, page)
}

// TestEndToEndZhimaLatePass: a user who fails a first try, comes back
// through the return, and passes later (the emulator's certification
// completed as failed, then as passed) is recorded as passed: the return
// says the result is being confirmed, timer runs before ZHIMA_SETTLE_AFTER
// leave it pending and post nothing, and the pass is recorded and posted
// once.
func TestEndToEndZhimaLatePass(t *testing.T) {
	s := startZhimaE2E(t, "ZHIMA_SETTLE_AFTER=1h")
	st := s.openStore(t)
	bizNo, certifyURL := s.initialize(t, "ZM_e2e_late")

	back := s.certify(t, bizNo, certifyURL, "false")
	code, page := s.browse(t, back)
	require.Equal(t, http.StatusOK, code, page)
	assert.Contains(t, page, "being confirmed")
	code, rep := s.timer(t)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, 1, rep.StillPending, "%+v", rep)
	assert.Zero(t, rep.Recorded)
	tx, err := st.Get(context.Background(), bizNo)
	require.NoError(t, err)
	assert.Equal(t, store.Pending, tx.Status)
	assert.Empty(t, s.hook.Events(), "no provisional failure is posted")

	require.NoError(t, s.emu.AlipayComplete(bizNo, true)) // the user's later pass
	code, rep = s.timer(t)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, 1, rep.Recorded, "%+v", rep)
	tx, err = st.Get(context.Background(), bizNo)
	require.NoError(t, err)
	assert.Equal(t, store.Passed, tx.Status)
	events := s.hook.Events()
	require.Len(t, events, 1)
	assert.Equal(t, "passed", events[0].Status)
	assert.Equal(t, "true", events[0].Passed)
	code, page = s.browse(t, back)
	require.Equal(t, http.StatusOK, code, page)
	assert.Contains(t, page, "finished")
	assert.EqualValues(t, 3, s.queries(t), "return, timer, timer; the last return is answered from the store")
}
