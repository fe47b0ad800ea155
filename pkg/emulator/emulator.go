// Package emulator is a local stand-in for the upstream services the
// functions call, for end-to-end tests (in-process or as its own process) and
// for local runs.
//
// It is meant to be faithful where a client can tell the difference: it
// checks request signatures the way the real gateway does, answers with the
// real response and error shapes, keeps transaction state so that CheckResult
// follows Initialize, and can be told to fail (throttling, 5xx, slow,
// malformed, reset) so that tests reach every fault path.
//
// Today it emulates ID Verification (cloudauth-intl, API version 2022-08-09)
// on POST/GET "/" (files cloudauth*.go, acs3.go, ekyc.go), and the Alipay
// open platform gateway on POST/GET /gateway.do (alipay*.go), and Antom's
// user authentication APIs on /ams/api/v1/users/... and
// /ams/sandbox/api/v1/users/... (antom*.go). Other upstreams join on their
// own paths. Everything under /_emulator/ is an unsigned control API
// (control.go; Remote in remote.go is its Go client) for tests and for a
// person finishing a transaction by hand; the emulator is therefore meant to
// listen on loopback only.
package emulator

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Credential is what the emulator knows about one AccessKeyId.
type Credential struct {
	Secret string
	// SecurityToken is empty for a plain AccessKey. When set, the key is an
	// STS key and every request must carry exactly this token.
	SecurityToken string
}

// The credentials an emulator accepts when Config.Credentials is nil. They
// are exported so that the functions' local configuration and the tests use
// the same values; they are not secrets.
const (
	DefaultAccessKeyID     = "emulator-access-key-id"
	DefaultAccessKeySecret = "emulator-access-key-secret"

	DefaultSTSAccessKeyID     = "STS.emulator-sts-key-id"
	DefaultSTSAccessKeySecret = "emulator-sts-secret"
	DefaultSecurityToken      = "emulator-security-token"
)

// Config configures an Emulator. The zero value is usable.
type Config struct {
	// Credentials maps AccessKeyId to its credential; nil means the Default*
	// AccessKey and STS credentials above.
	Credentials map[string]Credential
	// MaxClockSkew bounds how far x-acs-date may be from Now; 0 means 15 minutes.
	MaxClockSkew time.Duration
	// Now is the emulator's clock; nil means time.Now.
	Now func() time.Time
	// CallbackClient calls a transaction's CallbackUrl; nil means a client
	// with a 10 s timeout.
	CallbackClient *http.Client
	// AllowHTTPCallback lets Initialize accept an http:// CallbackUrl whose
	// host is a loopback address. The real service demands https.
	AllowHTTPCallback bool
	// Logger receives one line per API request; nil discards.
	Logger *slog.Logger
	// ResultsURL, when set, is where the TransactionUrl page looks up what
	// the merchant's side recorded for a transaction: GET ResultsURL+<id>
	// answers the result event the callback posted (JSON with status,
	// passed, subCode, recordedAt) or 404. The local stack serves it from
	// its webhook receiver, so the page shows the recorded result beside the
	// emulator's own state, which a later button press may change.
	ResultsURL string
}

// Emulator is an in-memory emulator of the upstream services. It is safe for
// concurrent use. One mutex guards all state: the emulator serves tests and
// local runs, where simplicity beats throughput.
type Emulator struct {
	creds          map[string]Credential
	skew           time.Duration
	now            func() time.Time
	callbackClient *http.Client
	allowHTTPCB    bool
	log            *slog.Logger
	resultsURL     string

	connections atomic.Int64

	mu           sync.Mutex
	transactions map[string]*Transaction
	nonces       nonceCache
	last         map[string]Received
	requests     map[string]int64
	accepted     map[string]int64
	rejected     map[string]int64

	// faults holds each upstream's injected faults (faults.go), each
	// table under its own lock.
	faults map[Upstream]*faultTable

	antom antomState // antom.go: the Antom gateway, under its own lock

	alipay AlipayGateway // alipay.go: the Alipay gateway, under its own lock
}

// New returns an Emulator configured by cfg.
func New(cfg Config) *Emulator {
	e := &Emulator{
		creds:          maps.Clone(cfg.Credentials),
		skew:           cfg.MaxClockSkew,
		now:            cfg.Now,
		callbackClient: cfg.CallbackClient,
		allowHTTPCB:    cfg.AllowHTTPCallback,
		log:            cfg.Logger,
		resultsURL:     cfg.ResultsURL,
		faults:         map[Upstream]*faultTable{Cloudauth: newFaultTable(), Alipay: newFaultTable(), Antom: newFaultTable()},
	}
	e.alipay.faults = e.faults[Alipay]
	if e.creds == nil {
		e.creds = map[string]Credential{
			DefaultAccessKeyID:    {Secret: DefaultAccessKeySecret},
			DefaultSTSAccessKeyID: {Secret: DefaultSTSAccessKeySecret, SecurityToken: DefaultSecurityToken},
		}
	}
	if e.skew <= 0 {
		e.skew = 15 * time.Minute
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.callbackClient == nil {
		e.callbackClient = &http.Client{Timeout: 10 * time.Second}
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.Reset()
	return e
}

// Handler returns the emulated APIs and the control API.
func (e *Emulator) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{$}", e.serveCloudauth)
	mux.HandleFunc("GET /{$}", e.serveCloudauth)
	e.registerControl(mux)
	e.mountAlipay(mux) // alipay*.go: the Alipay gateway on /gateway.do
	// antom*.go: the Antom gateway on /ams/api/v1/users/... and /ams/sandbox/api/...
	e.registerAntom(mux)
	return withHandlingTimes(e.countPerSecond(mux)) // timing.go: handling time, for cmd/benchtable; qps.go: per-second counts
}

// ConnState counts new connections; set it as http.Server.ConnState so that
// tests can tell whether clients reuse connections.
func (e *Emulator) ConnState(_ net.Conn, state http.ConnState) {
	if state == http.StateNew {
		e.connections.Add(1)
	}
}

// Stats are the emulator's counters since New or the last Reset.
type Stats struct {
	// Connections is the number of TCP connections accepted (seen by ConnState).
	Connections int64 `json:"connections"`
	// Requests counts, by action, every request that reached an API handler,
	// rejected ones included.
	Requests map[string]int64 `json:"requests"`
	// Accepted counts, by action, requests that passed the signature checks.
	Accepted map[string]int64 `json:"accepted"`
	// Rejected counts error answers by error code, whatever produced them
	// (signature checks, parameter checks or an injected fault).
	Rejected map[string]int64 `json:"rejected"`
	// Faults counts injected faults that fired, by kind (Antom's prefixed
	// "antom_"; the Alipay gateway counts its own, AlipayStats).
	Faults map[string]int64 `json:"faults"`
}

// Stats returns a copy of the counters.
func (e *Emulator) Stats() Stats {
	faults := e.faults[Cloudauth].counts("")
	maps.Copy(faults, e.faults[Antom].counts("antom_"))
	e.mu.Lock()
	defer e.mu.Unlock()
	return Stats{
		Connections: e.connections.Load(),
		Requests:    maps.Clone(e.requests),
		Accepted:    maps.Clone(e.accepted),
		Rejected:    maps.Clone(e.rejected),
		Faults:      faults,
	}
}

// Received is what the emulator saw of an accepted request.
type Received struct {
	AccessKeyID   string            `json:"accessKeyId"`
	SecurityToken string            `json:"securityToken,omitempty"`
	Params        map[string]string `json:"params"`
}

// LastRequest returns the last accepted request for action, so that tests
// can check what a client really sent (for example that the STS token arrived).
func (e *Emulator) LastRequest(action string) (Received, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r, ok := e.last[action]
	r.Params = maps.Clone(r.Params)
	return r, ok
}

// Reset forgets all transactions, faults, seen nonces and counters.
func (e *Emulator) Reset() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.connections.Store(0)
	e.transactions = map[string]*Transaction{}
	e.nonces = nonceCache{seen: map[string]time.Time{}}
	e.last = map[string]Received{}
	e.requests = map[string]int64{}
	e.accepted = map[string]int64{}
	e.rejected = map[string]int64{}
	for _, t := range e.faults {
		t.reset()
	}
	e.antom.reset()
	e.alipay.reset(e.now)
}

// newRequestID returns an id in the form the real gateway uses,
// e.g. 130A2C10-B9EE-4D84-88E3-5384FF039795.
func newRequestID() string {
	h := strings.ToUpper(randomHex(16))
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// randomHex returns n random bytes in lowercase hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand documents that it panics instead)
	return hex.EncodeToString(b)
}

// copyOf returns a copy of (*m)[key], read under mu: the map is read
// through the pointer after locking, because Reset replaces it.
func copyOf[V any](mu *sync.Mutex, m *map[string]*V, key string) (V, bool) {
	mu.Lock()
	defer mu.Unlock()
	v, ok := (*m)[key]
	if !ok {
		var zero V
		return zero, false
	}
	return *v, true
}
