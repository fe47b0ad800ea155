package cloudauth

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/emulator"
)

func bankReq() BankMetaVerifyRequest {
	return BankMetaVerifyRequest{ProductType: "BANK_CARD_2_META", ParamType: "normal",
		BankCard: "6222020206123456", UserName: "张三"}
}

func TestBankMetaVerifyAgainstTheEmulator(t *testing.T) {
	emu, c := newEmulator(t, Config{})
	res, err := c.BankMetaVerifyIntl(akCtx, bankReq())
	require.NoError(t, err)
	assert.Equal(t, "200", res.Code)
	assert.NotEmpty(t, res.RequestId)
	assert.Equal(t, BankMetaVerifyResult{BizCode: "2", SubCode: "206"}, res.ResultObject)

	got, ok := emu.LastRequest("BankMetaVerifyIntl")
	require.True(t, ok)
	assert.Equal(t, "BANK_CARD_N_META", got.Params["ProductCode"], "always sent")
	assert.Equal(t, "VERIFY_BANK_CARD", got.Params["VerifyMode"], "always sent")
	assert.Equal(t, "张三", got.Params["UserName"], "sent as is")
	_, sent := got.Params["IdentifyNum"]
	assert.False(t, sent, "empty fields are not sent")
}

func TestBankMetaVerifyRetries(t *testing.T) {
	tests := []struct {
		name      string
		fault     emulator.Fault
		wantCalls int64
		wantCode  string
		wantHTTP  int
	}{
		{"throttled once: retried", emulator.Fault{Kind: emulator.FaultThrottle, Times: 1}, 2, "", 200},
		{"503: billed, not repeated", emulator.Fault{Kind: emulator.FaultServerError, Times: 1}, 1, "ServiceUnavailable", 503},
		{"reset: may have reached, not repeated", emulator.Fault{Kind: emulator.FaultReset, Times: 1}, 1, apierr.BadUpstreamAnswer, 502},
		{"malformed: not repeated", emulator.Fault{Kind: emulator.FaultMalformed, Times: 1}, 1, apierr.BadUpstreamAnswer, 502},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu, c := newEmulator(t, Config{})
			emu.InjectFault(emulator.Cloudauth, "BankMetaVerifyIntl", tt.fault)
			_, err := c.BankMetaVerifyIntl(akCtx, bankReq())
			assert.Equal(t, tt.wantCalls, emu.Stats().Requests["BankMetaVerifyIntl"], "upstream attempts")
			if tt.wantCode == "" {
				require.NoError(t, err)
				return
			}
			assert.Equal(t, tt.wantCode, apierr.As(err).Code)
			assert.Equal(t, tt.wantHTTP, apierr.Status(err))
		})
	}
}

func TestBankMetaVerifySuccessCodes(t *testing.T) {
	for _, code := range []string{"200", "Success"} {
		t.Run("success Code "+code, func(t *testing.T) {
			res, err := fakeAnswer(t, `{"RequestId":"R1","Code":"`+code+`","Message":"success","ResultObject":{"BizCode":"3","SubCode":"301"}}`).BankMetaVerifyIntl(akCtx, bankReq())
			require.NoError(t, err)
			assert.Equal(t, BankMetaVerifyResult{BizCode: "3", SubCode: "301"}, res.ResultObject)
		})
	}
}
