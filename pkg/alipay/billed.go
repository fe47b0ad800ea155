package alipay

import (
	"errors"
	"net"
)

// Unbilled reports whether a failed call provably cost nothing at the
// gateway, so that the abuse limits give its slot back
// (ratelimit.Hold.GiveBack): the connection was never made, or the gateway
// refused the call for its rate (40005) before doing anything. Any other
// failure may have created the certification and keeps the slot.
func Unbilled(err error) bool {
	if err == nil {
		return false
	}
	var g *GatewayError
	return neverSent(err) || errors.As(err, &g) && g.Code == CodeRateLimited
}

// neverSent reports a failure to connect: the request was never written,
// so the gateway did nothing.
func neverSent(err error) bool {
	var oe *net.OpError
	var de *net.DNSError
	return errors.As(err, &oe) && oe.Op == "dial" || errors.As(err, &de)
}
