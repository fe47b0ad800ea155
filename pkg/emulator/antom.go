package emulator

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// This file is the Antom (AMS) gateway for the user authentication APIs,
// POST /ams/api/v1/users/{initAuthentication,verifyAuthentication} and the
// same under /ams/sandbox/api. Like the real gateway it checks the RSA256
// Signature header with the public key registered for the Client-Id, and
// signs its answers (signature, client-id, response-time headers) with its
// own key, except an INVALID_SIGNATURE answer, which Antom leaves unsigned.
// Its signature code is written apart from pkg/antom's on purpose, so that
// each checks the other.
//
// Outcomes are chosen by input, so that every documented result code can be
// reached from a test or by hand:
//   - userIdentityValue starting with USER_NOT_EXIST, USER_STATUS_ABNORMAL,
//     INVALID_ACCESS_TOKEN or SEND_TIMES_EXCEED_LIMIT answers that F code;
//   - more than AntomSendLimit codes sent to one userIdentityValue since the
//     last Reset answers SEND_TIMES_EXCEED_LIMIT;
//   - an unregistered Client-Id (or a SANDBOX_ one off the sandbox path, or
//     the other way round) answers CLIENT_INVALID;
//   - a method other than POST answers METHOD_NOT_SUPPORTED;
//   - a missing or bad field answers PARAM_ILLEGAL, and the same
//     authenticationRequestId with other parameters REPEAT_REQ_INCONSISTENT.
//
// Idempotency is the documented one: a final (S or F) init answer is
// repeated byte for byte for the same id and parameters. An OTP sent can be
// read through AntomOTP (control API: GET /_emulator/antom/otp/{id}), so
// the verify path runs end to end; a code passes once, and five wrong codes
// end it.

// The Antom identities the emulator knows. They are exported so that local
// configuration and tests use the same values; none is a secret.
const (
	AntomClientID        = "5X00EMULATOR00001"
	AntomSandboxClientID = "SANDBOX_5X00EMULATOR00001"
	// AntomSendLimit is how many codes one userIdentityValue can be sent.
	AntomSendLimit = 5
	// antomMaxFailures is how many wrong codes end an authentication.
	antomMaxFailures = 5
)

// The test keys (testdata/antom/README.md): the merchant pair the registered
// clients use, and the gateway pair the emulator signs its answers with.
var (
	//go:embed testdata/antom/merchant_private_pkcs8.pem
	AntomMerchantPrivateKey string
	//go:embed testdata/antom/merchant_public_spki.pem
	AntomMerchantPublicKey string
	//go:embed testdata/antom/gateway_public_spki.pem
	AntomGatewayPublicKey string
	//go:embed testdata/antom/gateway_private_pkcs8.pem
	antomGatewayPrivateKey string

	antomGatewayKey  = mustPrivateKey(antomGatewayPrivateKey)
	antomMerchantPub = mustPublicKey(AntomMerchantPublicKey)
)

// AntomRequest is one signed request the emulator accepted.
type AntomRequest struct {
	API         string `json:"api"`
	ClientID    string `json:"clientId"`
	RequestTime string `json:"requestTime"`
	Body        string `json:"body"`
}

// antomState is the Antom gateway's state; its zero value is made ready by
// reset. It has its own lock: nothing in it touches the cloudauth state.
type antomState struct {
	mu        sync.Mutex
	clients   map[string]*rsa.PublicKey // registered Client-Ids; kept across reset
	auths     map[string]*antomAuth     // by authenticationRequestId
	sent      map[string]int            // codes sent, by userIdentityValue
	verified  map[string][]byte         // final verify answers, by id + "\x00" + value
	requests  map[string][]AntomRequest // accepted requests, by authenticationRequestId
	sendLimit int
}

type antomAuth struct {
	params   antomInit
	answer   []byte // the final answer, repeated to the same request
	otp      string // empty unless a code was sent
	failures int
	passed   bool
}

// antomAuthentication are the fields both APIs take.
type antomAuthentication struct {
	AuthenticationType      string `json:"authenticationType"`
	AuthenticationRequestId string `json:"authenticationRequestId"`
}

type antomInit struct {
	antomAuthentication
	AuthenticationChannelType string `json:"authenticationChannelType"`
	UserIdentityType          string `json:"userIdentityType"`
	UserIdentityValue         string `json:"userIdentityValue"`
}

type antomVerify struct {
	antomAuthentication
	AuthenticationValue string `json:"authenticationValue"`
}

// antomParams is an API's request: invalid says what is wrong with it
// (the PARAM_ILLEGAL message), "" when nothing is.
type antomParams interface{ invalid() string }

func (p antomAuthentication) invalid() string {
	if p.AuthenticationType != "OTP" {
		return "authenticationType must be OTP."
	}
	return antomRequired("authenticationRequestId", p.AuthenticationRequestId, 64)
}

func (p antomInit) invalid() string {
	switch msg := p.antomAuthentication.invalid(); {
	case msg != "":
		return msg
	case p.AuthenticationChannelType != "EMAIL" && p.AuthenticationChannelType != "SMS":
		return "authenticationChannelType must be EMAIL or SMS."
	case p.UserIdentityType != "WALLET_TOKEN":
		return "userIdentityType must be WALLET_TOKEN."
	}
	return antomRequired("userIdentityValue", p.UserIdentityValue, 128)
}

func (p antomVerify) invalid() string {
	if msg := p.antomAuthentication.invalid(); msg != "" {
		return msg
	}
	return antomRequired("authenticationValue", p.AuthenticationValue, 64)
}

// antomRequired says what is wrong with a required field of at most limit
// characters, "" when nothing is.
func antomRequired(name, v string, limit int) string {
	if v == "" || utf8.RuneCountInString(v) > limit {
		return fmt.Sprintf("%s is required, at most %d characters.", name, limit)
	}
	return ""
}

// antomRun reads an API's request, one JSON object, checks it and runs op
// on it with the Antom state locked. A request it cannot read, or that is
// not valid, is PARAM_ILLEGAL.
func antomRun[P antomParams](s *antomState, body []byte, op func(*antomState, P) antomAnswer) antomAnswer {
	var p P
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&p); err != nil {
		return antomFail("PARAM_ILLEGAL", "The request body is not a JSON object with the documented string fields.")
	}
	if msg := p.invalid(); msg != "" {
		return antomFail("PARAM_ILLEGAL", msg)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return op(s, p)
}

type antomResult struct {
	ResultCode    string `json:"resultCode"`
	ResultStatus  string `json:"resultStatus"`
	ResultMessage string `json:"resultMessage"`
}

func (s *antomState) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.clients == nil {
		s.clients = map[string]*rsa.PublicKey{AntomClientID: antomMerchantPub, AntomSandboxClientID: antomMerchantPub}
	}
	s.auths = map[string]*antomAuth{}
	s.sent = map[string]int{}
	s.verified = map[string][]byte{}
	s.requests = map[string][]AntomRequest{}
	s.sendLimit = AntomSendLimit
}

// RegisterAntomClient accepts requests from clientID signed by the private
// half of pub (a client id starting with SANDBOX_ on the sandbox path only).
// It survives Reset.
func (e *Emulator) RegisterAntomClient(clientID string, pub *rsa.PublicKey) {
	e.antom.mu.Lock()
	defer e.antom.mu.Unlock()
	e.antom.clients[clientID] = pub
}

// SetAntomSendLimit sets how many codes one userIdentityValue can be sent
// until the next Reset (AntomSendLimit after a Reset).
func (e *Emulator) SetAntomSendLimit(n int) {
	e.antom.mu.Lock()
	defer e.antom.mu.Unlock()
	e.antom.sendLimit = n
}

// AntomOTP returns the code sent for an authenticationRequestId, as the
// user would read it in the SMS or email.
func (e *Emulator) AntomOTP(authenticationRequestID string) (string, bool) {
	e.antom.mu.Lock()
	defer e.antom.mu.Unlock()
	a, ok := e.antom.auths[authenticationRequestID]
	if !ok || a.otp == "" {
		return "", false
	}
	return a.otp, true
}

// AntomRequests returns every signed request accepted for an
// authenticationRequestId, in order, with its exact body bytes.
func (e *Emulator) AntomRequests(authenticationRequestID string) []AntomRequest {
	e.antom.mu.Lock()
	defer e.antom.mu.Unlock()
	return append([]AntomRequest(nil), e.antom.requests[authenticationRequestID]...)
}

func (e *Emulator) registerAntom(mux *http.ServeMux) {
	mux.HandleFunc("/ams/api/v1/users/{api}", e.serveAntom)
	mux.HandleFunc("/ams/sandbox/api/v1/users/{api}", e.serveAntom)
	e.registerAntomControl(mux)
}

// antomAnswer is what the gateway sends back.
type antomAnswer struct {
	status int
	body   []byte
	// unsigned: no signature, client-id or response-time header (Antom's
	// INVALID_SIGNATURE answer, or the unsigned fault).
	unsigned bool
	code     string
}

func (e *Emulator) serveAntom(w http.ResponseWriter, r *http.Request) {
	api := r.PathValue("api")
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	clientID := r.Header.Get("Client-Id")
	var a antomAnswer
	var fault Fault
	switch {
	case err != nil:
		a = antomFail("PARAM_ILLEGAL", "The request body could not be read.")
	default:
		a, fault = e.antomRequest(r, api, clientID, body)
	}
	e.mu.Lock()
	e.requests[api]++
	if a.code != "SUCCESS" {
		e.rejected[a.code]++
	}
	e.mu.Unlock()
	e.log.Info("antom request", "api", api, "status", a.status, "code", a.code, "fault", fault.Kind)

	if a.status != http.StatusOK {
		w.WriteHeader(a.status)
		_, _ = w.Write(a.body)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	if !a.unsigned {
		respTime := e.now().In(antomZone).Format(time.RFC3339)
		signedTime := respTime
		if fault.Kind == AntomFaultBadSignature {
			signedTime = e.now().Add(-time.Hour).In(antomZone).Format(time.RFC3339)
		}
		w.Header().Set("client-id", clientID)
		w.Header().Set("response-time", respTime)
		w.Header().Set("signature", antomSign(antomGatewayKey, r.URL.Path, clientID, signedTime, a.body))
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(a.body)
}

// antomZone is the zone of the real gateway's response-time (UTC+8).
var antomZone = time.FixedZone("UTC+8", 8*3600)

// antomRequest authenticates one request, applies a fault and runs the
// operation. It returns the answer and the fault that applied.
func (e *Emulator) antomRequest(r *http.Request, api, clientID string, body []byte) (antomAnswer, Fault) {
	if r.Method != http.MethodPost {
		return antomFail("METHOD_NOT_SUPPORTED", "The server does not implement the requested HTTP method."), Fault{}
	}
	if api != "initAuthentication" && api != "verifyAuthentication" {
		return antomFail("NO_INTERFACE_DEF", "API is not defined."), Fault{}
	}
	e.antom.mu.Lock()
	pub := e.antom.clients[clientID]
	e.antom.mu.Unlock()
	sandboxPath := strings.HasPrefix(r.URL.Path, "/ams/sandbox/")
	if pub == nil || sandboxPath != strings.HasPrefix(clientID, "SANDBOX_") {
		return antomFail("CLIENT_INVALID", "The client is invalid."), Fault{}
	}
	reqTime := r.Header.Get("Request-Time")
	if reqTime == "" {
		return antomFail("PARAM_ILLEGAL", "The Request-Time header is missing."), Fault{}
	}
	if !antomVerifySignature(pub, r.URL.Path, clientID, reqTime, body, r.Header.Get("Signature")) {
		a := antomFail("INVALID_SIGNATURE", "The signature is invalid.")
		a.unsigned = true
		return a, Fault{}
	}

	var idOnly struct {
		ID string `json:"authenticationRequestId"`
	}
	_ = json.Unmarshal(body, &idOnly)
	e.antom.mu.Lock()
	e.antom.requests[idOnly.ID] = append(e.antom.requests[idOnly.ID],
		AntomRequest{API: api, ClientID: clientID, RequestTime: reqTime, Body: string(body)})
	e.antom.mu.Unlock()
	e.mu.Lock()
	e.accepted[api]++
	e.mu.Unlock()

	f, ok := e.faults[Antom].take(api)
	if ok {
		switch f.Kind {
		case AntomFaultUnknown:
			return antomResultOnly(antomResult{"UNKNOWN_EXCEPTION", "U", "An API calling is failed, which is caused by unknown reasons."}), f
		case AntomFaultThrottle:
			return antomResultOnly(antomResult{"REQUEST_TRAFFIC_EXCEED_LIMIT", "U", "The request traffic exceeds the limit."}), f
		case AntomFaultHTTPError:
			return antomAnswer{status: http.StatusBadGateway, body: []byte("Bad Gateway"), code: "HTTP_502"}, f
		case FaultSlow:
			// The operation runs even for a client that gave up waiting,
			// as a request already taken by the gateway would.
			_ = waitSlow(r, f.Delay)
		}
	}
	var a antomAnswer
	if api == "initAuthentication" {
		a = antomRun(&e.antom, body, (*antomState).initAuthentication)
	} else {
		a = antomRun(&e.antom, body, (*antomState).verifyAuthentication)
	}
	a.unsigned = a.unsigned || f.Kind == AntomFaultUnsigned
	return a, f
}

// antomInputCodes are the F codes a userIdentityValue prefix chooses.
var antomInputCodes = []struct{ code, message string }{
	{"USER_NOT_EXIST", "The user does not exist."},
	{"USER_STATUS_ABNORMAL", "The user status is abnormal."},
	{"INVALID_ACCESS_TOKEN", "The access token is invalid."},
	{"SEND_TIMES_EXCEED_LIMIT", "Sending limit exceeds."},
}

// initAuthentication runs an init request, with s locked.
func (s *antomState) initAuthentication(p antomInit) antomAnswer {
	if prev, ok := s.auths[p.AuthenticationRequestId]; ok {
		if prev.params != p {
			return antomFail("REPEAT_REQ_INCONSISTENT", "The authenticationRequestId was used with other parameters.")
		}
		return antomAnswer{status: http.StatusOK, body: prev.answer, code: antomCodeOf(prev.answer)}
	}
	auth := &antomAuth{params: p}
	result := antomResult{"SUCCESS", "S", "success"}
	for _, c := range antomInputCodes {
		if strings.HasPrefix(p.UserIdentityValue, c.code) {
			result = antomResult{c.code, "F", c.message}
			break
		}
	}
	if result.ResultStatus == "S" && s.sent[p.UserIdentityValue] >= s.sendLimit {
		result = antomResult{"SEND_TIMES_EXCEED_LIMIT", "F", "Sending limit exceeds."}
	}
	if result.ResultStatus == "S" {
		s.sent[p.UserIdentityValue]++
		auth.otp = randomDigits(6)
	}
	auth.answer, _ = json.Marshal(struct {
		Result antomResult `json:"result"`
		ID     string      `json:"authenticationRequestId"`
	}{result, p.AuthenticationRequestId})
	s.auths[p.AuthenticationRequestId] = auth
	return antomAnswer{status: http.StatusOK, body: auth.answer, code: result.ResultCode}
}

// verifyAuthentication runs a verify request, with s locked.
func (s *antomState) verifyAuthentication(p antomVerify) antomAnswer {
	key := p.AuthenticationRequestId + "\x00" + p.AuthenticationValue
	if prev, ok := s.verified[key]; ok {
		return antomAnswer{status: http.StatusOK, body: prev, code: "SUCCESS"}
	}
	passed := false
	if a, ok := s.auths[p.AuthenticationRequestId]; ok && a.otp != "" && !a.passed && a.failures < antomMaxFailures {
		passed = subtle.ConstantTimeCompare([]byte(a.otp), []byte(p.AuthenticationValue)) == 1
		if passed {
			a.passed = true
		} else {
			a.failures++
		}
	}
	answer, _ := json.Marshal(struct {
		Result   antomResult `json:"result"`
		IsPassed bool        `json:"isPassed"`
	}{antomResult{"SUCCESS", "S", "success"}, passed})
	s.verified[key] = answer
	return antomAnswer{status: http.StatusOK, body: answer, code: "SUCCESS"}
}

// antomFail is an F answer with code and nothing but the result.
func antomFail(code, message string) antomAnswer {
	return antomResultOnly(antomResult{code, "F", message})
}

func antomResultOnly(r antomResult) antomAnswer {
	b, _ := json.Marshal(struct {
		Result antomResult `json:"result"`
	}{r})
	return antomAnswer{status: http.StatusOK, body: b, code: r.ResultCode}
}

func antomCodeOf(answer []byte) string {
	var v struct{ Result antomResult }
	_ = json.Unmarshal(answer, &v)
	return v.Result.ResultCode
}

// antomSignContent is what a Signature header signs:
// "POST <path>\n<clientID>.<time>.<body>".
func antomSignContent(path, clientID, t string, body []byte) string {
	return fmt.Sprintf("POST %s\n%s.%s.%s", path, clientID, t, body)
}

// antomSign returns a Signature header value.
func antomSign(key *rsa.PrivateKey, path, clientID, t string, body []byte) string {
	sig := signSHA256(key, antomSignContent(path, clientID, t, body))
	return "algorithm=RSA256,keyVersion=1,signature=" + url.QueryEscape(base64.StdEncoding.EncodeToString(sig))
}

// antomVerifySignature checks a request's Signature header the way the
// Antom SDKs read one: the value after "signature=", URL-decoded.
func antomVerifySignature(pub *rsa.PublicKey, path, clientID, t string, body []byte, header string) bool {
	if !strings.Contains(header, "algorithm=RSA256") {
		return false
	}
	_, value, ok := strings.Cut(header, "signature=")
	if !ok {
		return false
	}
	value, _, _ = strings.Cut(value, ",")
	decoded, err := url.QueryUnescape(value)
	if err != nil {
		return false
	}
	sig, err := base64.StdEncoding.DecodeString(decoded)
	if err != nil {
		return false
	}
	return verifySHA256(pub, antomSignContent(path, clientID, t, body), sig)
}

// randomDigits returns n random decimal digits.
func randomDigits(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	return string(b)
}
