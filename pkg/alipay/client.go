package alipay

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/config"
	"github.com/idverify/fc-kyc/pkg/rsakey"
)

// DefaultGateway is the production gateway.
const DefaultGateway = "https://openapi.alipay.com/gateway.do"

// maxAnswer bounds what is read of one gateway answer; Zhima answers are
// under 2 KiB.
const maxAnswer = 1 << 20

// Beijing is the zone of timestamp, whatever the machine's zone: the gateway
// reads it as Beijing time (the Java SDK's DATE_TIMEZONE "GMT+8"). A fixed
// zone needs no tzdata in the container.
var Beijing = time.FixedZone("GMT+8", 8*3600)

// Config says where and as whom to call the gateway.
type Config struct {
	// Gateway is the gateway.do URL (DefaultGateway when empty); plain http
	// only to a loopback host (the emulator).
	Gateway    string
	AppID      string
	PrivateKey *rsa.PrivateKey
	// AlipayPublicKey verifies answers. In certificate mode it is the key
	// of the Alipay public-key certificate, and the three SNs are set.
	AlipayPublicKey *rsa.PublicKey
	// Certificate mode: app_cert_sn and alipay_root_cert_sn are sent
	// (signed) with every call, and an answer must name AlipayCertSN.
	AppCertSN, RootCertSN, AlipayCertSN string

	ConnectTimeout time.Duration // default 2 s
	ReadTimeout    time.Duration // default 8 s; every attempt also ends at the context deadline
	MaxAttempts    int           // default 3; see retryable
	// Transport, when set, replaces the keep-alive transport (tests).
	Transport http.RoundTripper
	// Now is the clock of timestamp; time.Now when nil.
	Now func() time.Time
}

// ConfigFromEnv reads ALIPAY_GATEWAY, ALIPAY_APP_ID, ALIPAY_PRIVATE_KEY, and
// either ALIPAY_PUBLIC_KEY or the three certificates ALIPAY_APP_CERT,
// ALIPAY_PUBLIC_CERT, ALIPAY_ROOT_CERT (each may be given as NAME_FILE).
// Keys and certificates are parsed here, once: a malformed one is an error
// that names its variable, so the function stops at start.
func ConfigFromEnv() (Config, error) {
	var c Config
	var err error
	if c.Gateway, err = config.String("ALIPAY_GATEWAY", DefaultGateway); err != nil {
		return c, err
	}
	if c.AppID, err = config.Required("ALIPAY_APP_ID"); err != nil {
		return c, err
	}
	if c.PrivateKey, err = rsakey.FromEnv("ALIPAY_PRIVATE_KEY", ParsePrivateKey, "give the app private key as PKCS#1 or PKCS#8, PEM or bare base64"); err != nil {
		return c, err
	}
	pub, err := config.String("ALIPAY_PUBLIC_KEY", "")
	if err != nil {
		return c, err
	}
	appCert, err := config.String("ALIPAY_APP_CERT", "")
	if err != nil {
		return c, err
	}
	switch {
	case pub != "" && appCert != "":
		return c, errors.New("ALIPAY_PUBLIC_KEY and ALIPAY_APP_CERT are both set: use the public key or the certificates, not both")
	case pub != "":
		if c.AlipayPublicKey, err = ParsePublicKey(pub); err != nil {
			return c, fmt.Errorf("ALIPAY_PUBLIC_KEY: %w (give Alipay's public key, not the app's, PEM or bare base64)", err)
		}
		return c, nil
	case appCert == "":
		return c, errors.New("ALIPAY_PUBLIC_KEY is not set: give Alipay's public key, or ALIPAY_APP_CERT, ALIPAY_PUBLIC_CERT and ALIPAY_ROOT_CERT for certificate mode")
	}
	return c, c.readCerts(appCert)
}

func (c *Config) readCerts(appCert string) error {
	var err error
	if _, c.AppCertSN, err = ParseCert(appCert); err != nil {
		return fmt.Errorf("ALIPAY_APP_CERT: %w", err)
	}
	pubCert, err := config.Required("ALIPAY_PUBLIC_CERT")
	if err != nil {
		return err
	}
	cert, sn, err := ParseCert(pubCert)
	if err != nil {
		return fmt.Errorf("ALIPAY_PUBLIC_CERT: %w", err)
	}
	if c.AlipayPublicKey, err = CertPublicKey(cert); err != nil {
		return fmt.Errorf("ALIPAY_PUBLIC_CERT: %w", err)
	}
	c.AlipayCertSN = sn
	root, err := config.Required("ALIPAY_ROOT_CERT")
	if err != nil {
		return err
	}
	if c.RootCertSN, err = RootCertSN(root); err != nil {
		return fmt.Errorf("ALIPAY_ROOT_CERT: %w", err)
	}
	return nil
}

// Client calls the gateway. It is safe for concurrent use; one per process.
type Client struct {
	cfg     Config
	gateway string // without query
	http    *http.Client
}

// New checks cfg and builds the client. It makes no network call.
func New(cfg Config) (*Client, error) {
	if cfg.Gateway == "" {
		cfg.Gateway = DefaultGateway
	}
	u, err := config.SecureURL("ALIPAY_GATEWAY", cfg.Gateway)
	if err != nil {
		return nil, err
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("ALIPAY_GATEWAY=%q: give the gateway.do URL without a query", cfg.Gateway)
	}
	switch {
	case cfg.AppID == "":
		return nil, errors.New("alipay: no app id")
	case cfg.PrivateKey == nil:
		return nil, errors.New("alipay: no app private key")
	case cfg.AlipayPublicKey == nil:
		return nil, errors.New("alipay: no Alipay public key to verify answers with")
	case (cfg.AppCertSN == "") != (cfg.AlipayCertSN == "") || (cfg.AppCertSN == "") != (cfg.RootCertSN == ""):
		return nil, errors.New("alipay: certificate mode needs the app, Alipay and root certificate SNs together")
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 2 * time.Second
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 8 * time.Second
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 3
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Transport == nil {
		cfg.Transport = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   cfg.ConnectTimeout,
			ResponseHeaderTimeout: cfg.ReadTimeout,
			MaxIdleConns:          256,
			MaxIdleConnsPerHost:   256,
			IdleConnTimeout:       90 * time.Second,
		}
	}
	return &Client{cfg: cfg, gateway: u.String(), http: &http.Client{Transport: cfg.Transport}}, nil
}

// Timestamp is t as the gateway wants it: yyyy-MM-dd HH:mm:ss in Beijing time.
func Timestamp(t time.Time) string { return t.In(Beijing).Format("2006-01-02 15:04:05") }

// signed returns every parameter of a call to method, sign included.
// Empty values are neither signed nor sent.
func (c *Client) signed(method, bizContent string, extra map[string]string) (map[string]string, error) {
	p := map[string]string{
		"app_id":      c.cfg.AppID,
		"method":      method,
		"format":      "JSON",
		"charset":     "utf-8",
		"sign_type":   SignTypeRSA2,
		"timestamp":   Timestamp(c.cfg.Now()),
		"version":     "1.0",
		"biz_content": bizContent,
	}
	if c.cfg.AppCertSN != "" {
		p["app_cert_sn"] = c.cfg.AppCertSN
		p["alipay_root_cert_sn"] = c.cfg.RootCertSN
	}
	for k, v := range extra {
		p[k] = v
	}
	for k, v := range p {
		if v == "" {
			delete(p, k)
		}
	}
	sign, err := Sign(c.cfg.PrivateKey, SignTypeRSA2, []byte(SignContent(p)))
	if err != nil {
		return nil, err
	}
	p["sign"] = sign
	return p, nil
}

// PageURL is the signed GET URL of a page method (the user's browser opens
// it; the server never calls it), for example
// zhima.customer.certification.certify with return_url in extra.
func (c *Client) PageURL(method, bizContent string, extra map[string]string) (string, error) {
	p, err := c.signed(method, bizContent, extra)
	if err != nil {
		return "", err
	}
	return c.gateway + "?" + values(p).Encode(), nil
}

func values(p map[string]string) url.Values {
	v := make(url.Values, len(p))
	for k, s := range p {
		v[k] = []string{s}
	}
	return v
}

// Call runs method with bizContent (the exact JSON text that is signed and
// sent) and returns the verified content of its response node.
//
// As the official SDKs do, the common parameters (charset and sign among
// them) go in the URL query, where the gateway reads the charset from, and
// biz_content in the form body. A call is repeated, within ctx's deadline,
// only when the request never reached the gateway, or when idempotent says
// that doing it twice costs nothing (queries).
//
// Every answer that carries a sign is verified, success or not, and a
// success (code 10000) must carry a valid one. A business failure is an
// *apierr.Error wrapping a *GatewayError, with the gateway's vocabulary.
func (c *Client) Call(ctx context.Context, method, bizContent string, idempotent bool) (json.RawMessage, error) {
	for attempt := 1; ; attempt++ {
		raw, err := c.attempt(ctx, method, bizContent)
		if err == nil || attempt >= c.cfg.MaxAttempts || !retryable(ctx, err, idempotent) {
			return raw, upstreamError(ctx, err)
		}
		wait := time.Duration(rand.Int64N(int64(100*time.Millisecond) << (attempt - 1)))
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait+c.cfg.ConnectTimeout {
			return nil, upstreamError(ctx, err)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, upstreamError(ctx, err)
		}
	}
}

func (c *Client) attempt(ctx context.Context, method, bizContent string) (json.RawMessage, error) {
	p, err := c.signed(method, bizContent, nil)
	if err != nil {
		return nil, err
	}
	delete(p, "biz_content")
	body := url.Values{"biz_content": {bizContent}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.gateway+"?"+values(p).Encode(), strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=utf-8")
	res, err := c.http.Do(req)
	if err != nil {
		return nil, stripURL(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		return nil, &httpStatusError{res.StatusCode}
	}
	return c.read(b, method)
}

// read verifies an answer and returns its node, or the gateway's error.
func (c *Client) read(body []byte, method string) (json.RawMessage, error) {
	a, err := ParseAnswer(body, method)
	if err != nil {
		return nil, err
	}
	var g GatewayError
	if err := json.Unmarshal(a.Raw, &g); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedAnswer, err)
	}
	if a.Sign != "" {
		if err := a.Verify(c.cfg.AlipayPublicKey, c.cfg.AlipayCertSN); err != nil {
			return nil, err
		}
		g.Verified = true
	}
	if g.Code == CodeSuccess {
		if !g.Verified {
			return nil, ErrUnsignedSuccess
		}
		return a.Raw, nil
	}
	if g.Code == "" {
		return nil, fmt.Errorf("%w: %s has no code", ErrMalformedAnswer, a.Node)
	}
	g.SubMsg = redactSignString(g.SubMsg)
	return nil, &g
}

// redactSignString cuts the string the gateway verified out of an
// isv.invalid-signature sub_msg ("...网关生成的验签字符串为：app_id=...&biz_content=..."):
// it holds biz_content, that is the user's name and ID number, and the
// sub_msg travels on to logs and callers. What to check stays in the message.
func redactSignString(subMsg string) string {
	const marker = "验签字符串为"
	if i := strings.Index(subMsg, marker); i >= 0 {
		return subMsg[:i+len(marker)] + " (omitted here: it holds biz_content, which is personal data)"
	}
	return subMsg
}

// httpStatusError is an answer that is not HTTP 200: the gateway answers
// every call, failed or not, with 200, so this came from something between.
type httpStatusError struct{ status int }

func (e *httpStatusError) Error() string {
	return fmt.Sprintf("the gateway answered HTTP %d", e.status)
}

// stripURL keeps the query (which holds the sign and the app id) out of
// transport errors, which end up in logs.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// retryable: a failed dial never reached the gateway, which is safe for any
// call. Only idempotent calls are repeated after anything that may have
// reached it: 20000 (service unavailable), a non-200 status, a reset or an
// attempt's timeout. A bad signature or a forged answer is never retried.
func retryable(ctx context.Context, err error, idempotent bool) bool {
	if ctx.Err() != nil {
		return false
	}
	if neverSent(err) {
		return true
	}
	if !idempotent {
		return false
	}
	var g *GatewayError
	var hs *httpStatusError
	switch {
	case errors.As(err, &g):
		return g.Code == CodeUnavailable
	case errors.As(err, &hs):
		return hs.status >= 500
	case errors.Is(err, ErrBadSignature), errors.Is(err, ErrDuplicateNode), errors.Is(err, ErrCertSNMismatch),
		errors.Is(err, ErrUnsignedSuccess):
		return false
	}
	return true
}

// upstreamError turns a failed call into the apierr.Error the function
// answers with. Nothing of the request (personal data) is in it.
func upstreamError(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var g *GatewayError
	if errors.As(err, &g) {
		e := &apierr.Error{Code: g.Code, Message: g.Error(), HTTPStatus: g.HTTPStatus(), Err: g}
		if g.Code == CodeRateLimited {
			e.RetryAfter = time.Second
		}
		return e
	}
	var hs *httpStatusError
	switch {
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return &apierr.Error{Code: apierr.UpstreamTimeout, Message: "The Alipay gateway did not answer in time; the certification may or may not have been created.", Err: err}
	case errors.Is(err, ErrBadSignature), errors.Is(err, ErrCertSNMismatch), errors.Is(err, ErrUnsignedSuccess),
		errors.Is(err, ErrDuplicateNode):
		return &apierr.Error{Code: apierr.BadUpstreamAnswer, Message: "The Alipay gateway's answer failed verification (" + err.Error() + "); it was discarded. Check that ALIPAY_PUBLIC_KEY is Alipay's public key for this app.", Err: err}
	case errors.Is(err, ErrMalformedAnswer), errors.Is(err, ErrNoResponseNode):
		return &apierr.Error{Code: apierr.BadUpstreamAnswer, Message: "The Alipay gateway's answer could not be read: " + err.Error(), Err: err}
	case errors.As(err, &hs):
		return &apierr.Error{Code: apierr.UpstreamUnavailable, Message: "The Alipay gateway could not be reached: " + hs.Error() + ".", Err: err}
	}
	// Only a failed dial proves the call never left; a reset after the
	// request was written may have created the certification.
	if !neverSent(err) {
		return &apierr.Error{Code: apierr.BadUpstreamAnswer, Message: "The connection to the Alipay gateway failed before an answer came; the certification may have been created.", Err: err}
	}
	return &apierr.Error{Code: apierr.UpstreamUnavailable, Message: "The Alipay gateway could not be reached.", Err: err}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// FromEnv builds the process's client from the environment (ConfigFromEnv):
// what zhima-init and the callback's Zhima results start with.
func FromEnv() (*Client, error) {
	cfg, err := ConfigFromEnv()
	if err != nil {
		return nil, err
	}
	return New(cfg)
}
