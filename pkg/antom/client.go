// Package antom is a client of Antom's (formerly Alipay Global "AMS") user
// authentication APIs, initAuthentication and verifyAuthentication, with the
// RSA256 Signature header scheme. No Antom Go SDK has these operations.
//
// Three rules carry the weight, each from a known way integrations break:
//
//   - The body is marshalled once; those exact bytes are signed and sent,
//     and sent again, byte for byte, when a U is repeated. Signing a
//     re-encoding is the usual cause of INVALID_SIGNATURE.
//   - Answers are verified over the raw bytes received, with Antom's public
//     key, before they are decoded. An unsigned S is refused (it could come
//     from anything between us and Antom); an unsigned F or U is read, since
//     Antom leaves error answers unsigned when it cannot sign them.
//   - S is success, F is final and never repeated, U is unknown and repeated
//     with the same authenticationRequestId, which Antom treats as the
//     idempotency key, until S or F or the context's deadline. A non-200
//     answer or a transport failure counts as U.
package antom

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/idverify/fc-kyc/pkg/apierr"
)

// Result statuses.
const (
	StatusSuccess = "S"
	StatusFailure = "F"
	StatusUnknown = "U"
)

// Result is the result object every Antom answer carries.
type Result struct {
	ResultCode    string `json:"resultCode"`
	ResultStatus  string `json:"resultStatus"`
	ResultMessage string `json:"resultMessage"`
}

// ResultError is an answer that was not S, or a call whose outcome is
// unknown. It is the Err of the *apierr.Error the client returns, so
// errors.As finds it and a caller can answer in Antom's own vocabulary.
type ResultError struct {
	Result Result
	// Err is why the outcome is unknown, when it is (a bad signature, a
	// transport failure).
	Err error
}

func (e *ResultError) Unwrap() error { return e.Err }

func (e *ResultError) Error() string {
	return "antom: " + e.Result.ResultStatus + " " + e.Result.ResultCode + ": " + e.Result.ResultMessage
}

const (
	maxAnswer      = 1 << 20
	maxBackoff     = 2 * time.Second
	defaultBackoff = 200 * time.Millisecond
	defaultAttempt = 5 * time.Second
	// minAttempt is the least time worth starting an attempt with.
	minAttempt = 300 * time.Millisecond
	// maxAttemptsNoDeadline bounds the repeats of a caller that set no
	// deadline (the functions always have one).
	maxAttemptsNoDeadline = 5
)

// Client calls Antom. It is safe for concurrent use.
type Client struct {
	cfg     Config
	base    string // gateway origin
	prefix  string // "/ams/api" or "/ams/sandbox/api"
	http    *http.Client
	now     func() time.Time
	attempt time.Duration
	backoff time.Duration
}

// New returns a Client for cfg.
func New(cfg Config) (*Client, error) {
	u, err := gatewayURL(cfg.Gateway)
	if err != nil {
		return nil, err
	}
	if cfg.ClientID == "" || cfg.PrivateKey == nil || cfg.AntomPublicKey == nil {
		return nil, errors.New("antom: ClientID, PrivateKey and AntomPublicKey are required")
	}
	c := &Client{cfg: cfg, base: u.String(), prefix: "/ams/api", http: cfg.HTTPClient, now: cfg.Now,
		attempt: cfg.AttemptTimeout, backoff: cfg.Backoff}
	if cfg.Sandbox {
		c.prefix = "/ams/sandbox/api"
	}
	if c.cfg.KeyVersion == "" {
		c.cfg.KeyVersion = "1"
	}
	if c.http == nil {
		// One keep-alive pool for every invocation of the instance. The
		// default transport keeps 2 idle connections per host, so under
		// instance concurrency most calls would open a new TLS connection.
		c.http = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   3 * time.Second,
			ResponseHeaderTimeout: 10 * time.Second,
			MaxIdleConns:          256,
			MaxIdleConnsPerHost:   256,
			IdleConnTimeout:       90 * time.Second,
		}}
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.attempt <= 0 {
		c.attempt = defaultAttempt
	}
	if c.backoff <= 0 {
		c.backoff = defaultBackoff
	}
	return c, nil
}

// Path is the URI an API is called on, and signed with: the sandbox path
// when in sandbox.
func (c *Client) Path(api string) string { return c.prefix + "/v1/users/" + api }

// call sends body to api until the answer is S or F, or the deadline
// comes; on S it decodes the answer into out. requestID is the
// authenticationRequestId, set as the RequestID of every error so that a
// caller can repeat with it.
func (c *Client) call(ctx context.Context, api, requestID string, body []byte, out any) error {
	path := c.Path(api)
	var last error
	for n := 0; ; n++ {
		raw, res, err := c.attemptOnce(ctx, path, body)
		switch {
		case err == nil && res.ResultStatus == StatusSuccess:
			if err := json.Unmarshal(raw, out); err != nil {
				return &apierr.Error{Code: apierr.BadUpstreamAnswer, RequestID: requestID,
					Message: "Antom answered S with a body that cannot be read; the outcome is unknown: repeat with the same authenticationRequestId.",
					Err:     &ResultError{Result: Result{"UNKNOWN_EXCEPTION", StatusUnknown, "unreadable S answer"}}}
			}
			return nil
		case err == nil && res.ResultStatus == StatusFailure:
			return &apierr.Error{Code: res.ResultCode, Message: failMessage(res), RequestID: requestID,
				HTTPStatus: StatusFor(res.ResultCode), Err: &ResultError{Result: res}}
		case err == nil: // U, or a status Antom does not document: not final
			if res.ResultCode == "" {
				res.ResultCode = "UNKNOWN_EXCEPTION"
			}
			last = &apierr.Error{Code: res.ResultCode, RequestID: requestID, HTTPStatus: http.StatusServiceUnavailable,
				Message: "Antom's answer is U (unknown): " + res.ResultMessage + " Repeat with the same authenticationRequestId.",
				Err:     &ResultError{Result: Result{res.ResultCode, StatusUnknown, res.ResultMessage}}}
		case errors.Is(err, errFinal):
			return withRequestID(err, requestID)
		default:
			last = err
		}
		wait := c.backoffFor(n)
		deadline, ok := ctx.Deadline()
		if ctx.Err() != nil || (ok && time.Until(deadline) < wait+minAttempt) || (!ok && n+1 >= maxAttemptsNoDeadline) {
			return withRequestID(last, requestID)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return withRequestID(last, requestID)
		case <-t.C:
		}
	}
}

func withRequestID(err error, requestID string) error {
	e := apierr.As(err)
	e.RequestID = requestID
	return e
}

// backoffFor is the wait before repeat n+1: doubling from Backoff, capped,
// with jitter in its upper half so that instances that failed together do
// not repeat together.
func (c *Client) backoffFor(n int) time.Duration {
	d := min(c.backoff<<min(n, 10), maxBackoff)
	return d/2 + rand.N(d/2+1)
}

// errFinal marks an attempt's error that a repeat cannot fix.
var errFinal = errors.New("final")

type finalError struct{ e *apierr.Error }

func (f finalError) Error() string        { return f.e.Error() }
func (f finalError) Is(target error) bool { return target == errFinal }
func (f finalError) Unwrap() error        { return f.e }

// attemptOnce sends one signed request and returns the verified answer. A
// transport failure, a non-200 status or an unreadable unsigned answer is
// an error to repeat; a signature that fails is final.
func (c *Client) attemptOnce(ctx context.Context, path string, body []byte) ([]byte, Result, error) {
	ctx, cancel := context.WithTimeout(ctx, c.attempt)
	defer cancel()
	reqTime := strconv.FormatInt(c.now().UnixMilli(), 10)
	sig, err := Sign(c.cfg.PrivateKey, Content(path, c.cfg.ClientID, reqTime, body))
	if err != nil {
		return nil, Result{}, finalError{e: &apierr.Error{Code: apierr.InternalError, Message: "The request could not be signed.", Err: err}}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, Result{}, finalError{e: &apierr.Error{Code: apierr.InternalError, Message: "The request could not be built.", Err: err}}
	}
	req.Header.Set("Content-Type", "application/json; charset=UTF-8")
	req.Header.Set("Client-Id", c.cfg.ClientID)
	req.Header.Set("Request-Time", reqTime)
	req.Header.Set("Signature", SignatureHeader(c.cfg.KeyVersion, sig))

	resp, err := c.http.Do(req)
	if err != nil {
		return nil, Result{}, transportError(ctx, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, Result{}, transportError(ctx, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, Result{}, &apierr.Error{Code: apierr.UpstreamUnavailable, HTTPStatus: http.StatusServiceUnavailable,
			Message: fmt.Sprintf("Antom answered HTTP %d; the outcome is unknown: repeat with the same authenticationRequestId.", resp.StatusCode),
			Err:     &ResultError{Result: Result{"UNKNOWN_EXCEPTION", StatusUnknown, "HTTP " + strconv.Itoa(resp.StatusCode)}}}
	}
	res, err := c.verify(path, resp.Header, raw)
	return raw, res, err
}

// verify checks an answer's signature over its raw bytes and returns its
// result. See the package doc for which unsigned answers are read.
func (c *Client) verify(path string, h http.Header, raw []byte) (Result, error) {
	var env struct {
		Result *Result `json:"result"`
	}
	readable := json.Unmarshal(raw, &env) == nil && env.Result != nil && env.Result.ResultStatus != ""
	sig, rtime := h.Get("Signature"), h.Get("Response-Time")
	if sig == "" && rtime == "" {
		switch {
		case !readable:
			return Result{}, &apierr.Error{Code: apierr.BadUpstreamAnswer, HTTPStatus: http.StatusBadGateway,
				Message: "Antom's answer is unsigned and cannot be read; the outcome is unknown: repeat with the same authenticationRequestId.",
				Err:     &ResultError{Result: Result{"UNKNOWN_EXCEPTION", StatusUnknown, "unreadable unsigned answer"}}}
		case env.Result.ResultStatus == StatusSuccess:
			return Result{}, badAnswer(ErrUnsigned, "Antom's answer says S but is not signed; it is refused. Check ANTOM_GATEWAY.")
		}
		return *env.Result, nil
	}
	if sig == "" || rtime == "" {
		return Result{}, badAnswer(ErrUnsigned, "Antom's answer carries only one of the signature and response-time headers; it is refused.")
	}
	if id := h.Get("Client-Id"); id != "" && id != c.cfg.ClientID {
		return Result{}, badAnswer(ErrBadSignature, "Antom's answer is for another client-id than ANTOM_CLIENT_ID; it is refused.")
	}
	if err := Verify(c.cfg.AntomPublicKey, Content(path, c.cfg.ClientID, rtime, raw), sig); err != nil {
		return Result{}, badAnswer(err, "Antom's answer does not verify with ANTOM_PUBLIC_KEY; check that it is Antom's public key from the Dashboard, not your own.")
	}
	if !readable {
		return Result{}, badAnswer(nil, "Antom's signed answer has no readable result.")
	}
	return *env.Result, nil
}

// badAnswer is a final error: repeating would meet the same answer. The
// outcome at Antom is unknown, so it reads as U to our caller.
func badAnswer(cause error, msg string) error {
	return finalError{e: &apierr.Error{Code: apierr.BadUpstreamAnswer, HTTPStatus: http.StatusBadGateway,
		Message: msg + " The outcome is unknown.",
		Err:     &ResultError{Result: Result{"UNKNOWN_EXCEPTION", StatusUnknown, errText(cause)}, Err: cause}}}
}

func errText(err error) string {
	if err == nil {
		return "unreadable answer"
	}
	return err.Error()
}

// transportError is a failure to get an answer: a timeout when the context
// ran out, otherwise unreachable. Either way the request may have arrived,
// so it is a U. The error never holds the URL's query (there is none) nor
// the body.
func transportError(ctx context.Context, err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	if ctx.Err() != nil {
		return &apierr.Error{Code: apierr.UpstreamTimeout, Message: "Antom did not answer in time; the outcome is unknown: repeat with the same authenticationRequestId.",
			Err: &ResultError{Result: Result{"UNKNOWN_EXCEPTION", StatusUnknown, err.Error()}}}
	}
	return &apierr.Error{Code: apierr.UpstreamUnavailable, Message: "Antom could not be reached; the outcome is unknown: repeat with the same authenticationRequestId.",
		Err: &ResultError{Result: Result{"UNKNOWN_EXCEPTION", StatusUnknown, err.Error()}}}
}

func failMessage(r Result) string {
	m := r.ResultMessage
	if what := resultCodes[r.ResultCode].action; what != "" {
		m += " " + what
	}
	return m
}

// StatusFor is the HTTP status our caller gets for a final (F) result
// code. The caller's own input decides 4xx codes; codes about the merchant's
// configuration or Antom itself (CLIENT_INVALID, INVALID_SIGNATURE,
// KEY_NOT_FOUND, ...) are not the caller's to fix, so they read as 502.
func StatusFor(code string) int {
	if s := resultCodes[code].status; s != 0 {
		return s
	}
	return http.StatusBadGateway
}

// resultCodes is what is known of each documented F result code: the
// status our caller gets when it is the caller's to act on (0: 502, see
// StatusFor), and the upstream documentation's "Further action" column.
var resultCodes = map[string]struct {
	status int
	action string
}{
	"PARAM_ILLEGAL":           {http.StatusBadRequest, ""},
	"CLIENT_INVALID":          {0, "Check whether the clientId (ANTOM_CLIENT_ID) is correct."},
	"USER_NOT_EXIST":          {http.StatusNotFound, "Prompt the user to check whether the user exists."},
	"USER_STATUS_ABNORMAL":    {http.StatusForbidden, "Prompt the user that the user status is abnormal."},
	"SEND_TIMES_EXCEED_LIMIT": {http.StatusTooManyRequests, "Try to send again later."},
	"METHOD_NOT_SUPPORTED":    {0, "Check whether the HTTP method is correct."},
	"INVALID_ACCESS_TOKEN":    {http.StatusUnprocessableEntity, "Check whether the accessToken has expired."},
	"REPEAT_REQ_INCONSISTENT": {http.StatusConflict, "This authenticationRequestId was used with other parameters; use a new id to send a new code."},
	"INVALID_SIGNATURE":       {0, "Check that ANTOM_PRIVATE_KEY matches the public key uploaded to the Antom Dashboard."},
}

// FromEnv builds the process's client from the environment (ConfigFromEnv).
func FromEnv() (*Client, error) {
	cfg, err := ConfigFromEnv()
	if err != nil {
		return nil, err
	}
	return New(cfg)
}
