package cloudauth

import (
	"errors"
	"net/http"

	"github.com/idverify/fc-kyc/pkg/budget"
)

// Unbilled reports whether a failed call provably cost nothing upstream, so
// that the abuse limits give its slots back (ratelimit.Hold.GiveBack): it
// was never sent (the budget or a limit refused it, an earlier throttling
// answer's wait was still running, or the connection was never made), or
// the service refused it before doing anything (a throttling answer, or 503
// Service Unavailable). Other failures, a timeout
// or a reset after the request was written, or a 500, may have been served
// and billed, so they keep their slots.
func Unbilled(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, budget.ErrNotSent) || errors.Is(err, errHeld) || neverSent(err) || isThrottling(err) {
		return true
	}
	var se *statusError
	return errors.As(err, &se) && se.Status == http.StatusServiceUnavailable
}
