package cloudauth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/budget"
)

// Unbilled reads the errors as the handlers get them (classified by
// upstreamError), and says yes only where the upstream provably did not
// serve the call.
func TestUnbilled(t *testing.T) {
	ctx := context.Background()
	dial := &url.Error{Op: "Post", URL: "https://x/?BankCard=1", Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}
	reset := &url.Error{Op: "Post", URL: "https://x/", Err: &net.OpError{Op: "read", Err: errors.New("connection reset by peer")}}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"throttled", upstreamError(ctx, &statusError{Status: 403, Code: "Throttling.Api"}), true},
		{"503", upstreamError(ctx, &statusError{Status: 503, Code: "ServiceUnavailable"}), true},
		{"never connected", upstreamError(ctx, dial), true},
		{"held: not sent while a throttling wait runs", throttled(bankMetaOp, 5*time.Second), true},
		{"refused by the budget", fmt.Errorf("wrapped: %w", &apierr.Error{Code: "Throttling", Err: budget.ErrNotSent}), true},
		{"500 (may have been served)", upstreamError(ctx, &statusError{Status: 500, Code: "InternalError"}), false},
		{"reset after sending", upstreamError(ctx, reset), false},
		{"a business answer", businessError(envelope{Code: "InvalidParameter"}), false},
		{"no error", nil, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Unbilled(tt.err), tt.name)
	}
}
