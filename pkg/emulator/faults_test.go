package emulator

import (
	"context"
	"io"
	"net/url"
	"testing"
	"time"

	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFaultsThroughSDK(t *testing.T) {
	tests := []struct {
		name   string
		fault  Fault
		client clientOption
		check  func(t *testing.T, err error)
	}{
		{"throttle", Fault{Kind: FaultThrottle}, nil, wantCode("Throttling.Api", 403)},
		{"server error", Fault{Kind: FaultServerError}, nil, wantCode("ServiceUnavailable", 503)},
		{"internal error", Fault{Kind: FaultInternalError}, nil, wantCode("InternalError", 500)},
		{"reset", Fault{Kind: FaultReset}, nil, func(t *testing.T, err error) {
			var transport *url.Error
			require.ErrorAs(t, err, &transport, "a transport error, not an answer")
			assert.False(t, transport.Timeout())
		}},
		{"malformed", Fault{Kind: FaultMalformed}, nil, func(t *testing.T, err error) {
			assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "the JSON body is cut short")
		}},
		{"slow beyond the client's read timeout", Fault{Kind: FaultSlow, Delay: 2 * time.Second},
			func(c *openapiutil.Config) { c.ReadTimeout = dara.Int(100) },
			func(t *testing.T, err error) {
				var transport *url.Error
				require.ErrorAs(t, err, &transport)
				assert.True(t, transport.Timeout(), "%v", err)
			}},
		{"slow within the client's read timeout", Fault{Kind: FaultSlow, Delay: 50 * time.Millisecond}, nil,
			func(t *testing.T, err error) { require.NoError(t, err) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu, srv := startEmulator(t, Config{})
			emu.InjectFault(Cloudauth, "Initialize", tt.fault)
			var opts []clientOption
			if tt.client != nil {
				opts = append(opts, tt.client)
			}
			start := time.Now()
			_, err := callSDK(context.Background(), newSDKClient(t, srv, opts...), "Initialize", "", validInitialize(), map[string]string{})
			tt.check(t, err)
			assert.Less(t, time.Since(start), time.Second, "nothing waits longer than asked")

			closing := time.Now()
			srv.Close() // waits for the handler: a slow fault must stop when the client leaves
			assert.Less(t, time.Since(closing), time.Second)

			st := emu.Stats()
			assert.Equal(t, int64(1), st.Accepted["Initialize"], "the request reached the server and passed the checks")
			assert.Equal(t, int64(1), st.Faults[string(tt.fault.Kind)])
		})
	}
}

func wantCode(code string, status int) func(t *testing.T, err error) {
	return func(t *testing.T, err error) {
		t.Helper()
		got, gotStatus, ok := sdkErrorCode(err)
		require.True(t, ok, "error %v", err)
		assert.Equal(t, code, got)
		assert.Equal(t, status, gotStatus)
	}
}

func TestThrottleTimeLeftHeader(t *testing.T) {
	emu, srv := startEmulator(t, Config{})
	emu.InjectFault(Cloudauth, "*", Fault{Kind: FaultThrottle, Delay: 1500 * time.Millisecond})
	resp, err := srv.Client().Do(defaultSigner.request(t, "POST", srv.URL, "Initialize", values(validInitialize()), url.Values{}))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 403, resp.StatusCode)
	assert.Equal(t, "TimeLeft:1500", resp.Header.Get("x-ratelimit-user-api"))
}

func TestFaultTimesCountsDown(t *testing.T) {
	emu, srv := startEmulator(t, Config{})
	client := newSDKClient(t, srv)
	emu.InjectFault(Cloudauth, "Initialize", Fault{Kind: FaultServerError, Times: 2})
	for i, want := range []string{"ServiceUnavailable", "ServiceUnavailable", ""} {
		_, err := callSDK(context.Background(), client, "Initialize", "", validInitialize(), map[string]string{})
		if want == "" {
			require.NoError(t, err, "call %d", i)
			continue
		}
		code, _, _ := sdkErrorCode(err)
		assert.Equal(t, want, code, "call %d", i)
	}
	assert.Equal(t, int64(2), emu.Stats().Faults["server_error"])
}

func TestFaultScope(t *testing.T) {
	ctx := context.Background()
	emu, srv := startEmulator(t, Config{})
	client := newSDKClient(t, srv)
	checkResult := func() error {
		_, err := callSDK(ctx, client, "CheckResult", "", map[string]string{"MerchantBizId": "b", "TransactionId": "t"}, nil)
		return err
	}
	initialize := func() error {
		_, err := callSDK(ctx, client, "Initialize", "", validInitialize(), map[string]string{})
		return err
	}
	code := func(err error) string { c, _, _ := sdkErrorCode(err); return c }

	emu.InjectFault(Cloudauth, "Initialize", Fault{Kind: FaultInternalError})
	assert.Equal(t, "InternalError", code(initialize()))
	assert.Equal(t, "InvalidParameter", code(checkResult()), "other actions are not affected")

	emu.InjectFault(Cloudauth, "", Fault{Kind: FaultThrottle})
	assert.Equal(t, "Throttling.Api", code(checkResult()), `"" means any action`)
	assert.Equal(t, "InternalError", code(initialize()), "an action's own fault wins")

	bad := newSDKClient(t, srv, withKey(DefaultAccessKeyID, "wrong-secret", ""))
	_, err := callSDK(ctx, bad, "Initialize", "", validInitialize(), map[string]string{})
	assert.Equal(t, "SignatureDoesNotMatch", code(err), "a bad signature is rejected before any fault")

	emu.ClearFaults()
	assert.NoError(t, initialize())
	assert.Equal(t, "InvalidParameter", code(checkResult()))
}

func TestInjectFaultRejectsNonsense(t *testing.T) {
	emu := New(Config{})
	assert.Panics(t, func() { emu.InjectFault(Cloudauth, "*", Fault{Kind: "explode"}) })
	assert.Panics(t, func() { emu.InjectFault(Cloudauth, "*", Fault{Kind: FaultSlow, Times: -1}) })
}
