// Package cloudauth calls Alibaba Cloud ID Verification (cloudauth-intl, API
// version 2022-08-09) with our own typed requests and answers, signed by
// darabonba-openapi's own ACS3-HMAC-SHA256 signer (utils.GetAuthorization,
// the function the SDK's CallApi signs with).
//
// Why not the generated SDK or CallApi: the generated SDK's module cannot be
// had here and adds nothing but pointer-field structs over CallApi; CallApi
// itself costs about as much again as the rest of a request (a goroutine
// stack dump per nonce, a transport built per call, a generic map round trip
// of every answer). This package builds the request CallApi would build
// (request.go; TestWireEqualsCallApi holds the two byte-equal) and sends it
// on one keep-alive client. What it adds over the bare core: an explicit
// endpoint (the VPC host by default), timeouts that are always set,
// per-invocation STS credentials, a retry policy that never repeats a billed
// call that may have reached the service, and the business Code of every
// answer checked and turned into an apierr.Error.
package cloudauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"time"

	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"

	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/budget"
	"github.com/idverify/fc-kyc/pkg/config"
	"github.com/idverify/fc-kyc/pkg/credentials"
	"github.com/idverify/fc-kyc/pkg/store"
)

// Version is the API version every operation is called with.
const Version = "2022-08-09"

// DefaultEndpoint is the internal (VPC) host in Hong Kong: the functions
// deploy in the same region, and the eKYC CheckResult and BANK_CARD_N_META
// pages list only Hong Kong.
const DefaultEndpoint = "cloudauth-intl-vpc.cn-hongkong.aliyuncs.com"

// Config says where and how to call. Zero durations take the defaults.
type Config struct {
	// Endpoint is a host ("cloudauth-intl-vpc.ap-southeast-1.aliyuncs.com"),
	// or a URL; http:// is accepted only to a loopback host (the emulator).
	Endpoint       string
	ConnectTimeout time.Duration // default 2 s
	ReadTimeout    time.Duration // default 8 s; every attempt also ends at the context deadline
	MaxAttempts    int           // default 3, retries only as retryable() allows
	// BaseBackoff is the first retry's upper bound; it doubles per retry up
	// to MaxBackoff, with full jitter. Defaults 100 ms and 1 s.
	BaseBackoff, MaxBackoff time.Duration
	// Transport, when set, replaces the shared keep-alive transport (tests).
	Transport http.RoundTripper
	// BeforeAttempt, when set, runs before every attempt, retries included,
	// with the product whose per-account QPS cap the call counts against
	// (budget.Budget.Wait holds the fleet under it). An error ends the call
	// and is returned as is.
	BeforeAttempt func(ctx context.Context, product string) error
}

// ConfigFromEnv reads CLOUDAUTH_ENDPOINT.
func ConfigFromEnv() (Config, error) {
	ep, err := config.String("CLOUDAUTH_ENDPOINT", DefaultEndpoint)
	return Config{Endpoint: ep}, err
}

// FromEnv builds the process's client from the environment
// (CLOUDAUTH_ENDPOINT), holding every attempt to the account's QPS budget
// (CLOUDAUTH_QPS_*, package budget) kept in st, the store shared by every
// instance. The budget also decides the abuse limits a handler put on the
// call's context (ratelimit.Limiter.Defer), with the first attempt.
func FromEnv(st store.Admitter) (*Client, error) {
	cfg, err := ConfigFromEnv()
	if err != nil {
		return nil, err
	}
	qps, err := budget.FromEnv(st)
	if err != nil {
		return nil, err
	}
	cfg.BeforeAttempt = qps.Wait
	return New(cfg)
}

// Client is safe for concurrent use; one per process.
type Client struct {
	cfg         Config
	http        *http.Client
	host        string // host[:port]: the URL's host and the signed "host" header
	prefix      string // scheme://host/ : every request's URL up to its query
	userAgent   string // the SDK's own User-Agent
	maxAttempts int
	// now and nonce give each attempt its x-acs-date and
	// x-acs-signature-nonce; only tests replace them, to send a request
	// byte-equal to one the SDK sent.
	now   func() time.Time
	nonce func() string
	// hold remembers, per action, until when a throttling answer asked
	// for no call (its TimeLeft): no attempt of this instance, whichever
	// request it serves, goes out sooner.
	hold holdOff
}

// holdOff is the time, per action, before which the service asked not to
// be called again.
type holdOff struct {
	mu    sync.Mutex
	until map[string]time.Time
}

// extend holds action until at least t.
func (h *holdOff) extend(action string, t time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.until == nil {
		h.until = map[string]time.Time{}
	}
	if t.After(h.until[action]) {
		h.until[action] = t
	}
}

// left is how long action is still held, 0 when it is not.
func (h *holdOff) left(action string) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return max(time.Until(h.until[action]), 0)
}

// New checks cfg and builds the client. It makes no network call.
func New(cfg Config) (*Client, error) {
	host, protocol, err := parseEndpoint(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.ConnectTimeout, 2*time.Second)
	def(&cfg.ReadTimeout, 8*time.Second)
	def(&cfg.BaseBackoff, 100*time.Millisecond)
	def(&cfg.MaxBackoff, time.Second)
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 3
	}
	if cfg.Transport == nil {
		cfg.Transport = newTransport(cfg.ConnectTimeout, cfg.ReadTimeout)
	}
	return &Client{
		cfg:         cfg,
		http:        &http.Client{Transport: cfg.Transport},
		host:        host,
		prefix:      protocol + "://" + host + "/",
		userAgent:   *openapiutil.GetUserAgent(nil),
		maxAttempts: cfg.MaxAttempts,
		now:         time.Now,
		nonce:       newNonce,
	}, nil
}

// parseEndpoint accepts a bare host or a URL and returns host[:port] and protocol.
func parseEndpoint(ep string) (host, protocol string, err error) {
	ep = strings.TrimSpace(ep)
	if ep == "" {
		return DefaultEndpoint, "https", nil
	}
	if !strings.Contains(ep, "://") {
		if strings.ContainsAny(ep, "/?#@ ") {
			return "", "", fmt.Errorf("CLOUDAUTH_ENDPOINT=%q is neither a host nor a URL", ep)
		}
		return ep, "https", nil
	}
	u, err := config.SecureURL("CLOUDAUTH_ENDPOINT", ep)
	if err != nil {
		return "", "", err
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return "", "", fmt.Errorf("CLOUDAUTH_ENDPOINT=%q: give only scheme and host; the API path is always /", ep)
	}
	return u.Host, u.Scheme, nil
}

// newTransport is the one keep-alive transport all calls share, sized for an
// instance serving up to 200 requests at once (FC's instanceConcurrency cap).
func newTransport(connect, read time.Duration) *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   connect,
		ResponseHeaderTimeout: read,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     false, // the service speaks HTTP/1.1; keep-alive does the reuse
	}
}

// operation describes one action for call.
type operation struct {
	action string
	// billed operations are charged once they reach the service, so they are
	// repeated only when the request provably never got there.
	billed bool
	// product is the QPS table's name for the limit the action counts
	// against (the limit applies to every API of the product).
	product string
	// fixed are parameters the client always sends with these values;
	// callers never choose them.
	fixed map[string]string
}

// The actions. Initialize is billed ("TransactionId ... is used for
// billing") and so is BankMetaVerifyIntl (BizCode 1 and 2 are charged): they
// are repeated only when throttled or when the service provably never got
// them. CheckResult only reads, so any failure may be tried again.
var (
	initializeOp  = operation{action: "Initialize", billed: true, product: "eKYC"}
	checkResultOp = operation{action: "CheckResult", billed: false, product: "eKYC"}
	bankMetaOp    = operation{action: "BankMetaVerifyIntl", billed: true, product: "BANK_CARD_N_META",
		fixed: map[string]string{"ProductCode": BankMetaProductCode, "VerifyMode": BankMetaVerifyMode}}
)

// succeeded reports whether an answer's Code means success. The SDK and
// the service say "Success"; the upstream documentation shows "200" for
// Initialize and CheckResult, and the reference gives "200" for
// BankMetaVerifyIntl where its table says "Success": every action accepts
// both.
func succeeded(code string) bool { return code == "Success" || code == "200" }

// envelope is the part of every answer that says whether it succeeded.
type envelope struct {
	RequestId string `json:"RequestId"`
	Code      string `json:"Code"`
	Message   string `json:"Message"`
}

// call runs op with req's parameters (params) and returns its answer, once
// it has the documented shape (answer.lacks).
func call[Resp any, P interface {
	*Resp
	answer
}, Req any](ctx context.Context, c *Client, op operation, req Req) (*Resp, error) {
	out := P(new(Resp))
	if err := c.attempts(ctx, op, params(op.fixed, req), out); err != nil {
		return nil, err
	}
	if what := out.lacks(); what != "" {
		return nil, badShape(out.head().RequestId, what)
	}
	return out, nil
}

// params is a call's query: req's fields, each named as the parameter it
// is (InitializeRequest.MerchantBizId is MerchantBizId), and fixed. Every
// field of a request is a string.
func params(fixed map[string]string, req any) map[string]string {
	v := reflect.ValueOf(req)
	t := v.Type()
	kv := make(map[string]string, t.NumField()+len(fixed))
	for i := range t.NumField() {
		if f := t.Field(i); f.Type.Kind() != reflect.String {
			panic("cloudauth: request field " + t.Name() + "." + f.Name + " is not a string")
		}
		kv[t.Field(i).Name] = v.Field(i).String()
	}
	maps.Copy(kv, fixed)
	return kv
}

// attempts runs op with query parameters, decoding a successful answer
// into out. Empty query values are not sent.
func (c *Client) attempts(ctx context.Context, op operation, query map[string]string, out answer) error {
	creds, ok := credentials.Resolve(ctx)
	if !ok {
		return &apierr.Error{Code: "InvalidCredentials", HTTPStatus: http.StatusBadGateway,
			Message: "No Alibaba Cloud credentials: give the function a role (FC sends its STS credentials with each request) or set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET."}
	}
	q := newQuery(query)
	var err error // the last attempt's
	for attempt := 1; ; attempt++ {
		// A throttling answer's TimeLeft is honoured by every call of this
		// instance: none goes out sooner, and one whose deadline comes first
		// is answered now, with that wait as its Retry-After.
		if left := c.hold.left(op.action); left > 0 {
			if !fits(ctx, left+c.cfg.ConnectTimeout) {
				if err == nil {
					return throttled(op, left)
				}
				return upstreamError(ctx, err)
			}
			if !sleep(ctx, left) {
				if err == nil {
					return throttled(op, left)
				}
				return upstreamError(ctx, err)
			}
		}
		if c.cfg.BeforeAttempt != nil {
			if err := c.cfg.BeforeAttempt(ctx, op.product); err != nil {
				return err
			}
		}
		var body []byte
		body, err = c.send(ctx, op, q, creds)
		if ra := retryAfter(err); ra > 0 {
			c.hold.extend(op.action, time.Now().Add(ra))
		}
		if err == nil {
			// A business failure is final; an unreadable answer is like a
			// reset: retryable only when the operation is not billed.
			if err = decode(body, op, out); err == nil || !errors.Is(err, errUnreadable) {
				return err
			}
		}
		if attempt >= c.maxAttempts || !retryable(ctx, err, op.billed) {
			return upstreamError(ctx, err)
		}
		// The wait a throttling answer asked for is kept by the hold at the
		// top of the loop; the backoff comes on top of it.
		wait := c.backoff(attempt)
		if !fits(ctx, c.hold.left(op.action)+wait+c.cfg.ConnectTimeout) {
			return upstreamError(ctx, err) // no time left for another useful attempt
		}
		if !sleep(ctx, wait) {
			return upstreamError(ctx, err)
		}
	}
}

// fits reports whether d fits before ctx's deadline, if it has one.
func fits(ctx context.Context, d time.Duration) bool {
	dl, ok := ctx.Deadline()
	return !ok || time.Until(dl) >= d
}

// sleep waits d, or until ctx ends (then it returns false).
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// errHeld marks a call not sent because the service asked, in an earlier
// answer to this instance, for no call yet (throttled): Unbilled reads it.
var errHeld = errors.New("not sent: the service asked for no call before its wait has passed")

// throttled is the answer to a call not sent because the service asked,
// in an earlier answer to this instance, for no call of op before left has
// passed: the upstream's own code, and its wait as Retry-After.
func throttled(op operation, left time.Duration) error {
	return &apierr.Error{Code: "Throttling.Api", RetryAfter: max(left, time.Second), Err: errHeld,
		Message: "ID Verification limits calls per Alibaba Cloud account and asked for no " + op.action +
			" call before Retry-After has passed; try again then. (Not sent.)"}
}

// backoff is full jitter over an exponentially growing bound.
func (c *Client) backoff(attempt int) time.Duration {
	bound := c.cfg.BaseBackoff << (attempt - 1)
	if bound > c.cfg.MaxBackoff || bound <= 0 {
		bound = c.cfg.MaxBackoff
	}
	return time.Duration(rand.Int64N(int64(bound) + 1))
}

// errUnreadable marks an answer that could not be read at all.
var errUnreadable = errors.New("unreadable answer")

// answer is a typed answer: every one starts with the envelope, and says
// what a success lacks that the documentation promises ("" when nothing).
type answer interface {
	head() envelope
	lacks() string
}

func (r *InitializeResponse) head() envelope     { return envelope{r.RequestId, r.Code, r.Message} }
func (r *CheckResultResponse) head() envelope    { return envelope{r.RequestId, r.Code, r.Message} }
func (r *BankMetaVerifyResponse) head() envelope { return envelope{r.RequestId, r.Code, r.Message} }

// decode reads a 2xx answer straight into out: the business Code decides
// success. Only an answer that does not fit out is read a second time, for
// the envelope alone, to say why.
func decode(body []byte, op operation, out answer) error {
	err := json.Unmarshal(body, out)
	if err == nil {
		if env := out.head(); !succeeded(env.Code) {
			return businessError(env)
		}
		return nil
	}
	var env envelope
	if json.Unmarshal(body, &env) != nil {
		return &apierr.Error{Code: apierr.BadUpstreamAnswer, Err: errors.Join(errUnreadable, err),
			Message: "ID Verification answered " + op.action + " with a body that is not JSON."}
	}
	if !succeeded(env.Code) {
		return businessError(env)
	}
	return &apierr.Error{Code: apierr.BadUpstreamAnswer, RequestID: env.RequestId, Err: err,
		Message: "ID Verification's answer to " + op.action + " does not have the documented shape."}
}
