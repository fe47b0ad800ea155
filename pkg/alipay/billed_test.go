package alipay

import (
	"context"
	"errors"
	"net"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Unbilled reads the errors as zhima-init gets them (through
// upstreamError) and says yes only where the gateway provably did nothing.
func TestUnbilled(t *testing.T) {
	ctx := context.Background()
	dial := &url.Error{Op: "Post", URL: "https://gw/?sign=x", Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}
	reset := &url.Error{Op: "Post", URL: "https://gw/", Err: &net.OpError{Op: "read", Err: errors.New("connection reset by peer")}}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"never connected", upstreamError(ctx, stripURL(dial)), true},
		{"rate limited (40005)", upstreamError(ctx, &GatewayError{Code: CodeRateLimited, Msg: "Call Limited"}), true},
		{"service unavailable (20000): may have run", upstreamError(ctx, &GatewayError{Code: CodeUnavailable, Msg: "Service Currently Unavailable"}), false},
		{"reset after sending", upstreamError(ctx, stripURL(reset)), false},
		{"a business failure", upstreamError(ctx, &GatewayError{Code: CodeBusinessFailed, SubCode: "INVALID_PARAMETER"}), false},
		{"no error", nil, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Unbilled(tt.err), tt.name)
	}
}
