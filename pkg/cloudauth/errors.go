package cloudauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/idverify/fc-kyc/pkg/apierr"
)

// retryable says whether err may be tried again. Throttling means the
// service refused the call before doing anything, and a failed dial means it
// never got the call: both are safe for every operation. Anything else might
// have reached the service, so only operations that are not billed
// (CheckResult) are repeated after a 5xx, a reset or a timeout of one attempt.
func retryable(ctx context.Context, err error, billed bool) bool {
	if ctx.Err() != nil {
		return false
	}
	if isThrottling(err) || neverSent(err) {
		return true
	}
	if billed {
		return false
	}
	var se *statusError
	if errors.As(err, &se) {
		return se.Status >= 500
	}
	return true // a reset, an attempt's timeout, an unreadable answer
}

func isThrottling(err error) bool {
	var se *statusError
	return errors.As(err, &se) && strings.HasPrefix(se.Code, "Throttling")
}

// neverSent reports a failure to connect: the request was never written.
func neverSent(err error) bool {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return true
	}
	var de *net.DNSError
	return errors.As(err, &de)
}

// retryAfter is the wait a throttling answer asked for, if any.
func retryAfter(err error) time.Duration {
	var se *statusError
	if errors.As(err, &se) {
		return se.RetryAfter
	}
	return 0
}

// isCredentialCode reports answers that mean the function's own credentials
// or signature are wrong: the merchant must fix the deployment, not the
// caller. (A function, not a regexp: nothing to compile at start.)
func isCredentialCode(code string) bool {
	switch code {
	case "SignatureDoesNotMatch", "IncompleteSignature", "SignatureNonceUsed", "NoPermission":
		return true
	}
	for _, prefix := range []string{"InvalidAccessKeyId", "InvalidSecurityToken", "InvalidTimeStamp", "Forbidden"} {
		if strings.HasPrefix(code, prefix) {
			return true
		}
	}
	return false
}

// upstreamError turns a failed call into the function's error, keeping the
// upstream code and RequestId.
func upstreamError(ctx context.Context, err error) error {
	var done *apierr.Error
	if errors.As(err, &done) {
		return done // already read (an unreadable 2xx answer)
	}
	e := classify(ctx, err)
	e.Err = withoutURL(err)
	return e
}

// withoutURL drops the request URL from a transport error: net/http puts
// the whole URL in its message, and the query carries the parameters
// (MerchantUserId, MetaInfo, bank card numbers), which must not reach a log.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s %s: %w", ue.Op, "(URL withheld)", ue.Err)
	}
	return err
}

// classify reads a failed call into the function's error vocabulary.
func classify(ctx context.Context, err error) *apierr.Error {
	var se *statusError
	if errors.As(err, &se) {
		e := &apierr.Error{Code: se.Code, Message: se.Message, RequestID: se.RequestID}
		if e.Code == "" {
			e.Code = apierr.BadUpstreamAnswer
		}
		switch {
		case isThrottling(err):
			e.RetryAfter = max(se.RetryAfter, time.Second)
			e.Message += " The ID Verification service limits calls per Alibaba Cloud account; try again shortly."
		case isCredentialCode(e.Code):
			e.Message += " Check the credentials the function runs with: its role on Function Compute, or ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET."
		case se.Status >= 500:
			// The upstream's InternalError is not the function's: 502, or 503 when the service says so.
			e.HTTPStatus = http.StatusBadGateway
			if se.Status == http.StatusServiceUnavailable {
				e.HTTPStatus = http.StatusServiceUnavailable
			}
		}
		return e
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		// The caller hung up (its request's context, not the deadline):
		// no one will read this, but the log line must not blame the upstream.
		return &apierr.Error{Code: apierr.UpstreamTimeout,
			Message: "The caller went away before ID Verification answered; the call may have reached the service."}
	}
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil || isTimeout(err) {
		return &apierr.Error{Code: apierr.UpstreamTimeout,
			Message: "ID Verification did not answer within the function's deadline; try again later."}
	}
	if neverSent(err) {
		return &apierr.Error{Code: apierr.UpstreamUnavailable,
			Message: "ID Verification could not be reached (is CLOUDAUTH_ENDPOINT right, and is the function in the VPC that reaches it?)."}
	}
	var syn *json.SyntaxError
	if errors.Is(err, errUnreadable) || errors.As(err, &syn) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &apierr.Error{Code: apierr.BadUpstreamAnswer,
			Message: "ID Verification answered with a body that is not JSON."}
	}
	return &apierr.Error{Code: apierr.BadUpstreamAnswer,
		Message: "The connection to ID Verification failed before an answer came; the request may have reached the service."}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// businessError reads an HTTP 200 answer whose Code is not success. The
// documentation lists codes as "400"/"MissingParameter" (numeric Code, word in
// Message) while the service and SDK use the word as Code; both are read so
// the caller always gets the word.
func businessError(env envelope) error {
	code, msg := env.Code, env.Message
	if isDigits(code) && msg != "" && !strings.Contains(msg, " ") {
		code = msg
	}
	if code == "" {
		code = apierr.BadUpstreamAnswer
	}
	e := &apierr.Error{Code: code, Message: msg, RequestID: env.RequestId}
	if code == apierr.InternalError {
		e.HTTPStatus = http.StatusBadGateway
	}
	return e
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

func badShape(requestID, what string) error {
	return &apierr.Error{Code: apierr.BadUpstreamAnswer, RequestID: requestID, Message: "ID Verification's answer is not as documented: " + what + "."}
}

func quote(s string) string { return `"` + s + `"` }
