package main

// End to end at scale: the built emulator, ekyc-init, zhima-init and
// callback binaries on a real redis-server that holds 100,000 abandoned
// pending transactions (eKYC and Zhima). A transaction whose callback was
// lost, and a certification whose return was never opened, are recorded
// and posted within two timer runs, and no run reads or checks more than
// RECONCILE_BATCH.

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/internal/e2e"
	"github.com/idverify/fc-kyc/pkg/alipay"
	"github.com/idverify/fc-kyc/pkg/store"
	"github.com/idverify/fc-kyc/pkg/store/storetest"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

func TestEndToEndLostResultsAmong100kPending(t *testing.T) {
	e2e.Skip(t) // it also loads 100,000 transactions
	srv := testproc.Redis(t)
	s := startZhimaE2EOn(t, srv.URL)
	s.init = s.startEKYCInit(t)
	ctx := context.Background()

	st, err := store.OpenRedis(ctx, srv.URL, store.Options{})
	require.NoError(t, err)
	defer st.Close()
	start := time.Now()
	n, err := st.CreateMany(ctx, storetest.Backlog(100_000, time.Now()))
	require.NoError(t, err)
	require.Equal(t, 100_000, n)
	t.Logf("100,000 pending transactions loaded in %v", time.Since(start).Round(time.Millisecond))

	// The eKYC user finishes; the callback never arrives.
	lostTx, lostBiz := s.e2eStack.initialize(t)
	require.NoError(t, s.emu.CompleteWithCallbacks(ctx, lostTx, "Y", "", 0))
	// The Zhima user finishes and closes the browser before the return.
	bizNo, _ := s.initialize(t, "ZM_scale_lost")
	require.NoError(t, s.emu.AlipayComplete(bizNo, true))

	upstreamCalls := func() int64 {
		cr, err := s.emu.Stats()
		require.NoError(t, err)
		zq, err := s.emu.AlipayStats()
		require.NoError(t, err)
		return cr.Requests["CheckResult"] + zq.Requests[alipay.MethodZhimaQuery]
	}

	recorded := func() bool {
		a, err := st.Get(ctx, lostTx)
		require.NoError(t, err)
		b, err := st.Get(ctx, bizNo)
		require.NoError(t, err)
		return a.Status.Final() && b.Status.Final()
	}
	runs := 0
	for runs < 2 && !recorded() {
		runs++
		calls, keys := upstreamCalls(), storetest.KeyLookups(t, srv.Addr)
		code, rep := s.timer(t)
		require.Equal(t, 200, code)
		calls, keys = upstreamCalls()-calls, storetest.KeyLookups(t, srv.Addr)-keys
		t.Logf("run %d: %+v; %d upstream calls, %d redis key lookups", runs, rep, calls, keys)
		assert.LessOrEqual(t, rep.Listed, defaultBatch, "the run read at most RECONCILE_BATCH pending transactions")
		assert.LessOrEqual(t, calls, int64(defaultBatch), "CheckResult and Zhima query calls within RECONCILE_BATCH")
		// Per checked transaction: its record from Due, and the
		// compare-and-set of Finish or Reschedule (a read, the record and
		// three index sets in the script); per delivery the same again;
		// and one read per index set of each shard. None of it grows with
		// the 100,000.
		assert.LessOrEqual(t, keys, int64(12*defaultBatch+3*store.Shards+20), "redis reads bounded by the batch, not the backlog")
	}
	require.True(t, recorded(), "both lost results recorded within two timer runs")

	eKYC, err := st.Get(ctx, lostTx)
	require.NoError(t, err)
	assert.Equal(t, store.Passed, eKYC.Status)
	assert.True(t, eKYC.Delivery.Delivered)
	zhima, err := st.Get(ctx, bizNo)
	require.NoError(t, err)
	assert.Equal(t, store.Passed, zhima.Status)
	assert.True(t, zhima.Delivery.Delivered)

	posted := map[string]string{}
	for _, ev := range s.hook.Events() {
		posted[ev.TransactionID] = ev.Type + ":" + ev.Status + ":" + ev.MerchantBizID
	}
	assert.Equal(t, "ekyc.result:passed:"+lostBiz, posted[lostTx], "the eKYC event was posted")
	assert.Equal(t, ZhimaEventType+":passed:ZM_scale_lost", posted[bizNo], "the Zhima event was posted")
	assert.Empty(t, s.hook.Rejected())
}
