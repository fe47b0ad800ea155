package main

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/idverify/fc-kyc/internal/registry"
	"github.com/idverify/fc-kyc/pkg/callbacktoken"
	"github.com/idverify/fc-kyc/pkg/cloudauth"
	"github.com/idverify/fc-kyc/pkg/credentials"
	"github.com/idverify/fc-kyc/pkg/emulator"
)

// spec is one function as the harness measures it. Adding a function to the
// tables is one entry in specs.
type spec struct {
	// Name is the directory under functions/ and the table's title.
	Name string
	// Env is the function's own settings, besides AUTH_MODE=none, its
	// client of the upstream internal/registry names pointed at the
	// emulator (emulator.ClientEnv), and the listen port the harness sets;
	// env puts them together. The Node peer gets the same environment.
	Env []string
	// Body is the request every measured call sends; Want is its status.
	Body string
	Want int
	// Method is the request's method; "" is POST (with Body).
	Method string
	// Path, when set, is run once per target after Prepare and gives the
	// path and query every request goes to; "/" when nil.
	Path func(emu *emulator.Remote) (string, error)
	// RSA marks functions that sign with RSA-2048: their table adds the cost
	// of one sign and CPU per request divided by it. Signs is how many signs
	// one request needs (the floor of that ratio); 0 means 1.
	RSA   bool
	Signs int
	// UpstreamDelay, when set, replaces plan.UpstreamDelay: a function that
	// spends milliseconds of CPU per request (RSA) needs a slower upstream
	// for 50 requests in flight not to saturate two cores.
	UpstreamDelay time.Duration
	// Prepare, when set, readies the emulator before each target is
	// measured (for example lifts a per-user limit that thousands of
	// identical requests would reach).
	Prepare func(emu *emulator.Remote) error
	// Peer is the Node peer's PEER_OPERATION for the same call ("" when the
	// peer does not do this one yet).
	Peer string
}

// upstream is the emulated upstream the function calls, as
// internal/registry says: its client is pointed at the emulator, and it is
// the upstream made slow for the runs that need it ("" for none).
func (s spec) upstream() emulator.Upstream {
	f, ok := registry.Lookup(s.Name)
	if !ok {
		panic("benchtable: " + s.Name + " is not in internal/registry")
	}
	return emulator.Upstream(f.Upstream)
}

// env is the function's environment against the emulator at emu
// ("http://127.0.0.1:port"), besides the listen port.
func (s spec) env(emu string) []string {
	env := []string{"AUTH_MODE=none"}
	if u := s.upstream(); u != "" {
		env = append(env, emulator.ClientEnv(u, emu)...)
	}
	return append(env, s.Env...)
}

// specs are the functions measured, in table order. The bodies are the ones
// cmd/devstack prints; the card's prefix makes the emulator answer
// "consistent" (BizCode 1).
var specs = []spec{
	{
		Name: "ekyc-init",
		Body: `{"MetaInfo":{"zimVer":"3.0.0","appName":"com.example.app","deviceType":"h5"},"MerchantUserId":"user-1","DocType":"01560000"}`,
		Want: 200,
		Peer: "ekyc-init",
	},
	{
		Name: "bank-verify",
		Body: `{"ProductType":"BANK_CARD_4_META","BankCard":"6222020101987654","UserName":"张三","IdentifyNum":"11010519491231002X","Mobile":"13812345678"}`,
		Want: 200,
		Peer: "bank-verify",
	},
	{
		// Two signs per request: the gateway call and the certify URL.
		Name:          "zhima-init",
		Signs:         2,
		Body:          `{"biz_code":"FACE","identity_param":{"identity_type":"CERT_INFO","cert_type":"IDENTITY_CARD","cert_name":"张三","cert_no":"260104197909275964"}}`,
		Want:          200,
		RSA:           true,
		UpstreamDelay: 300 * time.Millisecond,
		Peer:          "zhima-init",
	},
	{
		// One sign per request; Antom has no official Node SDK to compare with.
		Name:          "otp-init",
		Body:          `{"authenticationType":"OTP","authenticationChannelType":"SMS","userIdentityType":"WALLET_TOKEN","userIdentityValue":"2020042910435415881282340824710273532915573saFBMrdXVH"}`,
		Want:          200,
		RSA:           true,
		UpstreamDelay: 300 * time.Millisecond,
		Prepare:       func(emu *emulator.Remote) error { return emu.SetAntomSendLimit(1 << 30) },
	},
	{
		// The eKYC notification of a transaction still pending (the user has
		// not finished): the token check, a store read and one signed
		// CheckResult per request, nothing written. A transaction that is
		// already recorded would be answered from the store alone.
		Name:   "callback",
		Env:    []string{"CALLBACK_SECRET=" + benchCallbackSecret},
		Method: "GET",
		Path:   pendingCallback,
		Want:   200,
	},
}

// benchCallbackSecret is the callback's CALLBACK_SECRET in the runs: the
// harness signs the notification's token with it, as ekyc-init would.
const benchCallbackSecret = "benchtable-callback-secret-0123456789abcdef"

// pendingCallback starts a transaction in the emulator (an Initialize
// signed as ekyc-init signs it) and returns the callback URL the service
// would call for it, with a token made as ekyc-init makes it.
func pendingCallback(emu *emulator.Remote) (string, error) {
	client, err := cloudauth.New(cloudauth.Config{Endpoint: emu.BaseURL})
	if err != nil {
		return "", err
	}
	ctx := credentials.NewContext(context.Background(),
		credentials.Credentials{AccessKeyID: emulator.DefaultAccessKeyID, AccessKeySecret: emulator.DefaultAccessKeySecret})
	bizID := fmt.Sprintf("bench%027d", time.Now().UnixNano())
	res, err := client.Initialize(ctx, cloudauth.InitializeRequest{ProductCode: "KYC_GLOBAL", MerchantBizId: bizID,
		MetaInfo: `{"zimVer":"3.0.0","appName":"com.example.app","deviceType":"h5"}`, MerchantUserId: "user-1",
		DocType: "01560000", ProductFlow: "DOC_FACE"})
	if err != nil {
		return "", fmt.Errorf("starting the transaction to notify: %w", err)
	}
	tokens, err := callbacktoken.New([]string{benchCallbackSecret}, 24*time.Hour)
	if err != nil {
		return "", err
	}
	q := url.Values{"merchantBizId": {bizID}, "transactionId": {res.Result.TransactionId},
		"callbackToken": {tokens.Token(callbacktoken.EKYCCallback, bizID, time.Now())}}
	return "/?" + q.Encode(), nil
}
