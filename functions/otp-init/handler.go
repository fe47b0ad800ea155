package main

import (
	"context"
	"crypto/rand"
	"log/slog"

	"github.com/idverify/fc-kyc/pkg/antom"
	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/auth"
	"github.com/idverify/fc-kyc/pkg/logging"
	"github.com/idverify/fc-kyc/pkg/ratelimit"
	"github.com/idverify/fc-kyc/pkg/validate"
)

// Limits from the upstream documentation (initAuthentication's parameter table). The verify
// operation's table is not in the upstream documentation; its id shares init's limit and the
// code is bounded like any short text field.
const (
	maxType      = 16
	maxRequestID = 64
	maxIdentity  = 128
	maxOTP       = 64
	maxBody      = 4 << 10
)

// The operation names a request selects with (see api.go).
const (
	opInit   = "init"
	opVerify = "verify"
)

// InitRequest is the caller's initAuthentication: the upstream documentation's request
// parameters, plus operation for events. Client-Id, Request-Time and
// Signature are the server's and have no field, so a caller cannot set them.
// It does not embed antom.InitRequest: a decoding error would then name a
// parameter InitRequest.authenticationType.
type InitRequest struct {
	Operation                 string `json:"operation"`
	AuthenticationType        string `json:"authenticationType"`
	AuthenticationRequestId   string `json:"authenticationRequestId"`
	AuthenticationChannelType string `json:"authenticationChannelType"`
	UserIdentityType          string `json:"userIdentityType"`
	UserIdentityValue         string `json:"userIdentityValue"`
}

// VerifyRequest is the caller's verifyAuthentication.
type VerifyRequest struct {
	Operation               string `json:"operation"`
	AuthenticationType      string `json:"authenticationType"`
	AuthenticationRequestId string `json:"authenticationRequestId"`
	AuthenticationValue     string `json:"authenticationValue"`
}

// Upstream is Antom; *antom.Client implements it.
type Upstream interface {
	InitAuthentication(context.Context, antom.InitRequest) (antom.InitResponse, error)
	VerifyAuthentication(context.Context, antom.VerifyRequest) (antom.VerifyResponse, error)
}

// Handler runs the two operations.
type Handler struct {
	Upstream Upstream
	// Limits caps the codes sent per caller and per JWT subject: each one
	// is a billed SMS or email, and an open sender invites SMS pumping.
	// nil is no limit.
	Limits *ratelimit.Limiter
}

// Init checks req per the upstream documentation and asks Antom to send the code. The answer
// is Antom's: {result, authenticationRequestId}. A U from Antom is repeated
// inside the client with the same id; if the deadline comes first, the
// error carries the id so that the caller can repeat with it.
func (h *Handler) Init(ctx context.Context, req InitRequest) (antom.InitResponse, error) {
	if req.AuthenticationRequestId == "" {
		// Generated here rather than left to the caller so that every
		// request has an idempotency key; it comes back in the answer.
		req.AuthenticationRequestId = rand.Text()
	}
	// Messages name the field, never its value: userIdentityValue is the
	// user's wallet access token.
	err := validate.First(
		operation(req.Operation, opInit),
		validate.Required("authenticationType", req.AuthenticationType),
		validate.MaxLen("authenticationType", req.AuthenticationType, maxType),
		validate.OneOf("authenticationType", req.AuthenticationType, "OTP"),
		validate.MaxLen("authenticationRequestId", req.AuthenticationRequestId, maxRequestID),
		validate.Required("authenticationChannelType", req.AuthenticationChannelType),
		validate.OneOf("authenticationChannelType", req.AuthenticationChannelType, "EMAIL", "SMS"),
		validate.Required("userIdentityType", req.UserIdentityType),
		validate.OneOf("userIdentityType", req.UserIdentityType, "WALLET_TOKEN"),
		validate.Required("userIdentityValue", req.UserIdentityValue),
		validate.MaxLen("userIdentityValue", req.UserIdentityValue, maxIdentity),
	)
	if err != nil {
		return antom.InitResponse{}, err
	}
	if _, err := h.Limits.Allow(ctx, auth.Subject(ctx)); err != nil {
		return antom.InitResponse{}, withID(err, req.AuthenticationRequestId)
	}
	log := logging.From(ctx).With("authentication_request_id", req.AuthenticationRequestId, "channel", req.AuthenticationChannelType)
	res, err := h.Upstream.InitAuthentication(ctx, antom.InitRequest{
		AuthenticationType:        req.AuthenticationType,
		AuthenticationRequestId:   req.AuthenticationRequestId,
		AuthenticationChannelType: req.AuthenticationChannelType,
		UserIdentityType:          req.UserIdentityType,
		UserIdentityValue:         req.UserIdentityValue,
	})
	if err != nil {
		return res, failed(log, "initAuthentication", err, req.AuthenticationRequestId)
	}
	if res.AuthenticationRequestId == "" {
		res.AuthenticationRequestId = req.AuthenticationRequestId
	}
	log.Info("initAuthentication ok", "code", res.Result.ResultCode)
	return res, nil
}

// Verify checks the code the user typed for an authenticationRequestId
// that Init used. The answer is Antom's: {result, isPassed}.
func (h *Handler) Verify(ctx context.Context, req VerifyRequest) (antom.VerifyResponse, error) {
	err := validate.First(
		operation(req.Operation, opVerify),
		validate.Required("authenticationType", req.AuthenticationType),
		validate.MaxLen("authenticationType", req.AuthenticationType, maxType),
		validate.OneOf("authenticationType", req.AuthenticationType, "OTP"),
		validate.Required("authenticationRequestId", req.AuthenticationRequestId),
		validate.MaxLen("authenticationRequestId", req.AuthenticationRequestId, maxRequestID),
		validate.Required("authenticationValue", req.AuthenticationValue),
		validate.MaxLen("authenticationValue", req.AuthenticationValue, maxOTP),
	)
	if err != nil {
		return antom.VerifyResponse{}, err
	}
	log := logging.From(ctx).With("authentication_request_id", req.AuthenticationRequestId)
	res, err := h.Upstream.VerifyAuthentication(ctx, antom.VerifyRequest{
		AuthenticationType:      req.AuthenticationType,
		AuthenticationRequestId: req.AuthenticationRequestId,
		AuthenticationValue:     req.AuthenticationValue,
	})
	if err != nil {
		return res, failed(log, "verifyAuthentication", err, req.AuthenticationRequestId)
	}
	log.Info("verifyAuthentication ok", "code", res.Result.ResultCode, "is_passed", bool(res.IsPassed))
	return res, nil
}

// operation checks the body's operation field against the operation the
// request was routed to.
func operation(got, want string) error {
	if got != "" && got != want {
		return apierr.Invalid("operation", "this request was routed to "+want+"; send "+want+" or leave operation out")
	}
	return nil
}

// failed logs a failed call of api by its code alone (never a value the
// caller sent) and returns its error, with id (withID).
func failed(log *slog.Logger, api string, err error, id string) error {
	log.Warn(api+" failed", "code", apierr.As(err).Code)
	return withID(err, id)
}

// withID makes sure an upstream error carries the authenticationRequestId
// as its RequestID: the caller repeats a U with it.
func withID(err error, id string) error {
	e := apierr.As(err)
	if e.RequestID == "" {
		e.RequestID = id
	}
	return e
}
