package cloudauth

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/emulator"
)

// BeforeAttempt is where the fleet's QPS budget is spent: it must run before
// every attempt that reaches the upstream, retries included, name the
// product the QPS table counts the action under, and stop the call when it
// refuses.
func TestBeforeAttemptRunsBeforeEveryAttempt(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	record := func(_ context.Context, product string) error {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, product)
		return nil
	}
	emu, c := newEmulator(t, Config{BeforeAttempt: record})

	tx, err := c.Initialize(akCtx, initReq())
	require.NoError(t, err)
	emu.InjectFault(emulator.Cloudauth, "CheckResult", emulator.Fault{Kind: emulator.FaultServerError, Times: 2})
	_, err = c.CheckResult(akCtx, CheckResultRequest{MerchantBizId: "biz1", TransactionId: tx.Result.TransactionId})
	require.NoError(t, err)
	_, err = c.BankMetaVerifyIntl(akCtx, BankMetaVerifyRequest{ProductType: "BANK_CARD_2_META", ParamType: "normal",
		BankCard: "6222020101987654", UserName: "欧阳明月"})
	require.NoError(t, err)

	st := emu.Stats()
	assert.Equal(t, []string{"eKYC", "eKYC", "eKYC", "eKYC", "BANK_CARD_N_META"}, seen,
		"Initialize once, CheckResult three times (two 503s retried), BankMetaVerifyIntl once")
	assert.Equal(t, int64(len(seen)), st.Requests["Initialize"]+st.Requests["CheckResult"]+st.Requests["BankMetaVerifyIntl"],
		"one hook run per upstream request")
}

func TestBeforeAttemptRefusalEndsTheCall(t *testing.T) {
	refusal := &apierr.Error{Code: "Throttling", HTTPStatus: http.StatusTooManyRequests, Message: "budget spent"}
	emu, c := newEmulator(t, Config{BeforeAttempt: func(context.Context, string) error { return refusal }})
	_, err := c.Initialize(akCtx, initReq())
	assert.Same(t, refusal, apierr.As(err))
	assert.Zero(t, emu.Stats().Requests["Initialize"], "nothing reaches the upstream")
}
