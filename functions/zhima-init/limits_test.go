package main

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/alipay"
	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/auth"
	"github.com/idverify/fc-kyc/pkg/ratelimit"
	"github.com/idverify/fc-kyc/pkg/store"
)

// A call the gateway never received gives its limit slot back; a billed
// one keeps it.
func TestUnbilledCallGivesItsSlotBack(t *testing.T) {
	emu, gateway := emulatedGateway(t)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	down := "http://" + closed.Addr().String() + "/gateway.do"
	closed.Close() // nothing listens there: every dial is refused
	st, err := store.NewFile(t.TempDir(), store.Options{})
	require.NoError(t, err)
	limits := &ratelimit.Limiter{Store: st, Function: "zhima-init", PerCaller: ratelimit.Rule{Limit: 2, Window: time.Hour}}
	up := &Handler{Upstream: alipayClient(t, gateway), ProductCode: DefaultProductCode, ReturnURL: returnURL, Now: time.Now, Limits: limits}
	unreachable := &Handler{Upstream: alipayClient(t, down), ProductCode: DefaultProductCode, ReturnURL: returnURL, Now: time.Now, Limits: limits}
	ctx := auth.WithIdentity(context.Background(), auth.Identity{Caller: "key:0123456789abcdef"})
	req := request(t, validBody())

	for range 3 {
		_, err := unreachable.Initialize(ctx, req)
		require.Equal(t, apierr.UpstreamUnavailable, apierr.As(err).Code, "%v", err)
	}
	for i := range 2 {
		_, err := up.Initialize(ctx, req)
		require.NoError(t, err, "billed call %d of the caller's 2", i+1)
	}
	_, err = up.Initialize(ctx, req)
	assert.Equal(t, http.StatusTooManyRequests, apierr.Status(err), "%v", err)
	assert.Equal(t, int64(2), emu.Alipay().Stats().Requests[alipay.MethodZhimaInitialize])
}
