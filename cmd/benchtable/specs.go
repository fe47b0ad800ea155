package main

import (
	"time"

	"github.com/idverify/fc-kyc/pkg/emulator"
)

// spec is one function as the harness measures it. Adding a function to the
// tables is one entry in specs.
type spec struct {
	// Name is the directory under functions/ and the table's title.
	Name string
	// Env configures the function against the emulator at emu
	// ("http://127.0.0.1:port"), besides the listen port the harness sets.
	// The Node peer gets the same environment.
	Env func(emu string) []string
	// Body is the request every measured call sends; Want is its status.
	Body string
	Want int
	// RSA marks functions that sign with RSA-2048: their table adds the cost
	// of one sign and CPU per request divided by it. Signs is how many signs
	// one request needs (the floor of that ratio); 0 means 1.
	RSA   bool
	Signs int
	// Upstream is the emulated upstream made slow for the runs that need
	// it; "" leaves it answering at once.
	Upstream emulator.Upstream
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

// alipayEnv points a function at the emulator's Alipay gateway with the
// emulator's test app keys.
func alipayEnv(emu string) []string {
	return []string{
		"AUTH_MODE=none",
		"ALIPAY_GATEWAY=" + emu + "/gateway.do",
		"ALIPAY_APP_ID=" + emulator.AlipayTestAppID,
		"ALIPAY_PRIVATE_KEY=" + emulator.AlipayTestAppPrivateKey,
		"ALIPAY_PUBLIC_KEY=" + emulator.AlipayTestPublicKey,
	}
}

// antomEnv points a function at the emulator's Antom gateway with the
// emulator's registered merchant.
func antomEnv(emu string) []string {
	return []string{
		"AUTH_MODE=none",
		"ANTOM_GATEWAY=" + emu,
		"ANTOM_CLIENT_ID=" + emulator.AntomClientID,
		"ANTOM_PRIVATE_KEY=" + emulator.AntomMerchantPrivateKey,
		"ANTOM_PUBLIC_KEY=" + emulator.AntomGatewayPublicKey,
	}
}

// cloudauthEnv points a function at the emulator's cloudauth-intl gateway
// with the emulator's AccessKey, as cmd/devstack does.
func cloudauthEnv(emu string) []string {
	return []string{
		"AUTH_MODE=none",
		"CLOUDAUTH_ENDPOINT=" + emu,
		"ALIBABA_CLOUD_ACCESS_KEY_ID=" + emulator.DefaultAccessKeyID,
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + emulator.DefaultAccessKeySecret,
	}
}

// specs are the functions measured, in table order. The bodies are the ones
// cmd/devstack prints; the card's prefix makes the emulator answer
// "consistent" (BizCode 1).
var specs = []spec{
	{
		Name:     "ekyc-init",
		Env:      cloudauthEnv,
		Body:     `{"MetaInfo":{"zimVer":"3.0.0","appName":"com.example.app","deviceType":"h5"},"MerchantUserId":"user-1","DocType":"01560000"}`,
		Want:     200,
		Upstream: emulator.Cloudauth,
		Peer:     "ekyc-init",
	},
	{
		Name:     "bank-verify",
		Env:      cloudauthEnv,
		Body:     `{"ProductType":"BANK_CARD_4_META","BankCard":"6222020101987654","UserName":"张三","IdentifyNum":"11010519491231002X","Mobile":"13812345678"}`,
		Want:     200,
		Upstream: emulator.Cloudauth,
		Peer:     "bank-verify",
	},
	{
		// Two signs per request: the gateway call and the certify URL.
		Name:          "zhima-init",
		Signs:         2,
		Env:           alipayEnv,
		Body:          `{"biz_code":"FACE","identity_param":{"identity_type":"CERT_INFO","cert_type":"IDENTITY_CARD","cert_name":"张三","cert_no":"260104197909275964"}}`,
		Want:          200,
		RSA:           true,
		Upstream:      emulator.Alipay,
		UpstreamDelay: 300 * time.Millisecond,
		Peer:          "zhima-init",
	},
	{
		// One sign per request; Antom has no official Node SDK to compare with.
		Name:          "otp-init",
		Env:           antomEnv,
		Body:          `{"authenticationType":"OTP","authenticationChannelType":"SMS","userIdentityType":"WALLET_TOKEN","userIdentityValue":"2020042910435415881282340824710273532915573saFBMrdXVH"}`,
		Want:          200,
		RSA:           true,
		Upstream:      emulator.Antom,
		UpstreamDelay: 300 * time.Millisecond,
		Prepare:       func(emu *emulator.Remote) error { return emu.SetAntomSendLimit(1 << 30) },
	},
}
