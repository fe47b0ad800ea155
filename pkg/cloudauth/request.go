package cloudauth

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	"github.com/alibabacloud-go/tea/dara"

	"github.com/idverify/fc-kyc/pkg/credentials"
)

// This file builds, signs and sends one attempt the way darabonba-openapi's
// CallApi does for an RPC-style action called with ACS3-HMAC-SHA256 and
// every parameter in the query (what the generated cloudauth-intl SDK does
// for these actions): the same URL, the same headers, the same signature
// from the SDK's own utils.GetAuthorization. The V3 signature is documented
// at https://www.alibabacloud.com/help/en/sdk/product-overview/v3-request-structure-and-signature.

// signatureAlgorithm is CallApi's default and the only one used here.
const signatureAlgorithm = "ACS3-HMAC-SHA256"

// emptyPayloadHash is the hex SHA-256 of the empty body: every parameter
// goes in the query, so every request has this x-acs-content-sha256.
const emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// acsDateLayout is x-acs-date: ISO 8601 in UTC, to the second, as
// utils.GetTimestamp writes it.
const acsDateLayout = "2006-01-02T15:04:05Z"

// query is one call's parameters, built once and used by every attempt.
type query struct {
	params map[string]*string // what GetAuthorization puts in the canonical query
	raw    string             // the URL's query, written as url.Values.Encode writes it (keys sorted)
}

// newQuery drops empty values, as the callers' "empty fields are not sent"
// promises.
func newQuery(kv map[string]string) query {
	keys := make([]string, 0, len(kv))
	vals := make([]string, 0, len(kv)) // never grows: the pointers into it stay valid
	params := make(map[string]*string, len(kv))
	for k, v := range kv {
		if v != "" {
			keys = append(keys, k)
			vals = append(vals, v)
			params[k] = &vals[len(vals)-1]
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(k))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(*params[k]))
	}
	return query{params: params, raw: b.String()}
}

// newNonce is x-acs-signature-nonce: 128 random bits, never repeated in
// practice, which is all the gateway asks of it (it refuses a nonce seen
// before as SignatureNonceUsed).
func newNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error
	return hex.EncodeToString(b[:])
}

// newRequest builds and signs one attempt of op. Each attempt has its own
// date and nonce, so a retry is never refused as a replay.
func (c *Client) newRequest(ctx context.Context, op operation, q query, creds credentials.Credentials) (*http.Request, error) {
	// GetAuthorization takes pointers: the values live in one allocation.
	v := &struct{ version, date, nonce, payload, provider, method, path, alg string }{
		version: Version, date: c.now().UTC().Format(acsDateLayout), nonce: c.nonce(), payload: emptyPayloadHash,
		// The SDK names the credential provider in a signed header: a static
		// AccessKey pair, or a static STS triple (credentials-go's static_ak
		// and static_sts), which is what each invocation's credentials are.
		provider: "static_ak",
		method:   http.MethodPost, path: "/", alg: signatureAlgorithm,
	}
	signed := map[string]*string{
		"host":                       &c.host,
		"x-acs-version":              &v.version,
		"x-acs-action":               &op.action,
		"x-acs-date":                 &v.date,
		"x-acs-signature-nonce":      &v.nonce,
		"x-acs-content-sha256":       &v.payload,
		"x-acs-credentials-provider": &v.provider,
	}
	if creds.SecurityToken != "" {
		v.provider = "static_sts"
		signed["x-acs-accesskey-id"] = &creds.AccessKeyID
		signed["x-acs-security-token"] = &creds.SecurityToken
	}
	auth := openapiutil.GetAuthorization(&dara.Request{Method: &v.method, Pathname: &v.path, Query: q.params, Headers: signed},
		&v.alg, &v.payload, &creds.AccessKeyID, &creds.AccessKeySecret)

	target := c.prefix
	if q.raw != "" {
		target += "?" + q.raw
	}
	req, err := http.NewRequestWithContext(ctx, v.method, target, nil)
	if err != nil {
		return nil, err
	}
	// Header names as the SDK sends them: lower case, set directly. One
	// backing array holds every value.
	values := make([]string, 0, len(signed)+3)
	set := func(name, value string) {
		values = append(values, value)
		req.Header[name] = values[len(values)-1 : len(values) : len(values)]
	}
	for k, p := range signed {
		if k != "host" { // net/http sends req.Host, which is c.host
			set(k, *p)
		}
	}
	set("User-Agent", c.userAgent)
	set("accept", "application/json")
	set("Authorization", *auth)
	return req, nil
}

// send makes one attempt and returns the body of an answer that is not an
// HTTP error; an HTTP 4xx or 5xx answer is a *statusError.
func (c *Client) send(ctx context.Context, op operation, q query, creds credentials.Credentials) ([]byte, error) {
	req, err := c.newRequest(ctx, op, q, creds)
	if err != nil {
		return nil, err
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	if n := res.ContentLength; n > 0 && n < 64<<20 {
		buf.Grow(int(n) + bytes.MinRead) // one allocation, and room to read EOF so the connection is reused
	}
	if _, err := buf.ReadFrom(res.Body); err != nil {
		return nil, err
	}
	if res.StatusCode >= 400 && res.StatusCode < 600 {
		return nil, statusErrorOf(res, buf.Bytes())
	}
	return buf.Bytes(), nil
}

// statusError is an HTTP 4xx or 5xx answer: what the SDK's ClientError,
// ServerError and ThrottlingError carry.
type statusError struct {
	Status    int
	Code      string
	Message   string
	RequestID string
	// RetryAfter is the wait a throttling answer asks for
	// (x-ratelimit-user-api or x-ratelimit-user "TimeLeft:<ms>"), if any.
	RetryAfter time.Duration
}

func (e *statusError) Error() string {
	return "HTTP " + strconv.Itoa(e.Status) + " " + e.Code + ": " + e.Message + " (RequestId " + e.RequestID + ")"
}

// statusErrorOf reads an error answer as the SDK does: JSON, or XML when the
// gateway says text/xml. Code, Message and RequestId are read in either case
// of their first letter from JSON (encoding/json matches names without
// regard to case), but only capitalised, as the gateway writes them, from
// XML (encoding/xml matches names exactly; the SDK also takes "code").
func statusErrorOf(res *http.Response, body []byte) error {
	var a struct {
		RequestId string
		Code      string
		Message   string
	}
	var err error
	if strings.HasPrefix(strings.ToLower(res.Header.Get("Content-Type")), "text/xml") {
		err = xml.Unmarshal(body, &a)
	} else {
		err = json.Unmarshal(body, &a)
	}
	if err != nil {
		// A page from a gateway or load balancer in between (an HTML 503,
		// say): its status still says what happened, so it decides
		// retries, the caller's status and billing as any other answer's.
		return &statusError{Status: res.StatusCode,
			Message: "ID Verification answered HTTP " + strconv.Itoa(res.StatusCode) + " with a body that is neither JSON nor XML (a proxy or load balancer in between?)."}
	}
	e := &statusError{Status: res.StatusCode, Code: a.Code, Message: a.Message, RequestID: a.RequestId}
	switch e.Code {
	case "Throttling", "Throttling.User", "Throttling.Api": // the SDK's ThrottlingError
		left := openapiutil.GetThrottlingTimeLeft(map[string]*string{
			"x-ratelimit-user-api": header(res, "x-ratelimit-user-api"),
			"x-ratelimit-user":     header(res, "x-ratelimit-user"),
		})
		if ms := dara.Int64Value(left); ms > 0 {
			e.RetryAfter = time.Duration(ms) * time.Millisecond
		}
	}
	return e
}

// header is the first value of name, or nil when the answer has none.
func header(res *http.Response, name string) *string {
	if v := res.Header.Values(name); len(v) > 0 {
		return &v[0]
	}
	return nil
}
