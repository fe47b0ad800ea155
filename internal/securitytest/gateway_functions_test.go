package securitytest

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/internal/e2e"
	"github.com/idverify/fc-kyc/pkg/emulator"
)

// The functions whose upstreams are the Alipay gateway and Antom get the same
// protection as the cloudauth ones: CORS, and limits on their billed calls
// (a Zhima initialize; an OTP sent by SMS or email), refused before any
// upstream request.

// gatewayFunction is one of them, with a way to count its billed calls at
// the emulator.
type gatewayFunction struct {
	name  string
	body  func(i int) map[string]any
	calls func(t *testing.T, e *emulator.Remote) int64
}

var gatewayFunctions = []gatewayFunction{
	{
		name: "zhima-init",
		body: func(int) map[string]any {
			return map[string]any{"biz_code": "FACE", "identity_param": map[string]any{"identity_type": "CERT_INFO",
				"cert_type": "IDENTITY_CARD", "cert_name": "欧阳明月", "cert_no": "429001199001018211"}}
		},
		calls: func(t *testing.T, e *emulator.Remote) int64 {
			st, err := e.AlipayStats()
			require.NoError(t, err)
			return st.Requests["zhima.customer.certification.initialize"]
		},
	},
	{
		name: "otp-init",
		body: func(i int) map[string]any {
			return map[string]any{"authenticationType": "OTP", "authenticationChannelType": "SMS",
				"authenticationRequestId": fmt.Sprintf("limits-%d", i), "userIdentityType": "WALLET_TOKEN",
				"userIdentityValue": fmt.Sprintf("2020042910435415881282340824710273532915573user%d", i)}
		},
		calls: func(t *testing.T, e *emulator.Remote) int64 {
			var n int64
			for i := range 4 {
				reqs, err := e.AntomRequests(fmt.Sprintf("limits-%d", i))
				require.NoError(t, err)
				n += int64(len(reqs))
			}
			return n
		},
	},
}

func TestGatewayFunctionsLimitsAndCORS(t *testing.T) {
	e2e.Skip(t)
	const shop = "https://shop.example.com"
	for _, fn := range gatewayFunctions {
		t.Run(fn.name, func(t *testing.T) {
			_, e := e2e.Emulator(t)
			env := append(apiKeyEnv("key-one"), "RATE_LIMIT_PER_CALLER=2/1m", "CORS_ALLOWED_ORIGINS="+shop)
			proc := startFunction(t, fn.name, e, env...)
			key := map[string]string{"X-Api-Key": "key-one"}

			// An origin not configured: refused before auth and upstream.
			r := e2e.Post(t, proc.URL()+"/", map[string]string{"X-Api-Key": "key-one", "Origin": "https://evil.example"}, fn.body(0))
			assert.Equal(t, http.StatusForbidden, r.Status, r.Raw)
			assert.Equal(t, int64(0), fn.calls(t, e), "a refused origin costs no upstream call")

			for i := range 2 {
				r := e2e.Post(t, proc.URL()+"/", key, fn.body(i))
				require.Equal(t, http.StatusOK, r.Status, "call %d: %s", i+1, r.Raw)
			}
			r = e2e.Post(t, proc.URL()+"/", key, fn.body(2))
			assert.Equal(t, http.StatusTooManyRequests, r.Status, r.Raw)
			secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
			require.NoError(t, err, "Retry-After is whole seconds")
			assert.Greater(t, secs, 0)
			assert.LessOrEqual(t, secs, 60)
			assert.Equal(t, int64(2), fn.calls(t, e), "the refused call reached no upstream")
		})
	}
}
