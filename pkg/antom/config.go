package antom

import (
	"crypto/rsa"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/idverify/fc-kyc/pkg/config"
	"github.com/idverify/fc-kyc/pkg/rsakey"
)

// DefaultGateway is the gateway used when ANTOM_GATEWAY is unset: Asia,
// the one Antom recommends for merchants there.
const DefaultGateway = "https://open-sea-global.alipay.com"

// Gateways are the hosts Antom documents (api_fund, and the Java SDK's
// EndPointConstants for the three *-global ones). open-eu-global.alipay.com
// appears only in third-party code, so it is refused, as is any other host:
// a typo in the gateway would otherwise send signed requests elsewhere.
var Gateways = []string{
	"open-sea-global.alipay.com", // Asia (recommended)
	"open-na-global.alipay.com",  // North America (recommended)
	"open-de-global.alipay.com",  // Europe (recommended)
	"open-sea.alipay.com",
	"open-na.alipay.com",
	"open.antglobal-us.com", // US merchants
}

// Config configures a Client. Keys are parsed by the caller once, at start.
type Config struct {
	// Gateway is the base URL: https to one of Gateways, or http to a
	// loopback host (the emulator).
	Gateway string
	// ClientID is the merchant's Client-Id from the Antom Dashboard.
	ClientID string
	// KeyVersion goes into the Signature header ("1" when empty).
	KeyVersion string
	// Sandbox sends to /ams/sandbox/api instead of /ams/api, and signs that
	// path.
	Sandbox bool
	// PrivateKey is the merchant's key; every request is signed with it.
	PrivateKey *rsa.PrivateKey
	// AntomPublicKey is Antom's key (Dashboard → Developer → Integration
	// resources), not the merchant's own: answers are verified with it.
	AntomPublicKey *rsa.PublicKey
	// HTTPClient sends the requests; nil means one with a 10 s timeout.
	HTTPClient *http.Client
	// AttemptTimeout bounds one attempt; 0 means 5 s. The context's deadline
	// bounds all attempts together.
	AttemptTimeout time.Duration
	// Backoff is the wait before the first repeat of a U; it doubles per
	// repeat, with jitter, up to 2 s. 0 means 200 ms.
	Backoff time.Duration
	// Now is the clock of Request-Time; nil means time.Now.
	Now func() time.Time
}

// ConfigFromEnv reads ANTOM_GATEWAY, ANTOM_CLIENT_ID, ANTOM_PRIVATE_KEY,
// ANTOM_PUBLIC_KEY, ANTOM_KEY_VERSION and ANTOM_SANDBOX (each secret may be
// given as NAME_FILE). The keys are parsed here, once; every error names the
// variable at fault, so a bad deployment stops at start.
func ConfigFromEnv() (Config, error) {
	var c Config
	var err error
	if c.Gateway, err = config.String("ANTOM_GATEWAY", DefaultGateway); err != nil {
		return c, err
	}
	if c.ClientID, err = config.Required("ANTOM_CLIENT_ID"); err != nil {
		return c, err
	}
	if c.KeyVersion, err = config.String("ANTOM_KEY_VERSION", "1"); err != nil {
		return c, err
	}
	if n, err := strconv.Atoi(c.KeyVersion); err != nil || n < 1 {
		return c, fmt.Errorf("ANTOM_KEY_VERSION=%q is not a positive whole number", c.KeyVersion)
	}
	if c.PrivateKey, err = rsakey.FromEnv("ANTOM_PRIVATE_KEY", ParsePrivateKey, "want the merchant's RSA private key, PKCS#8 or PKCS#1"); err != nil {
		return c, err
	}
	if c.AntomPublicKey, err = rsakey.FromEnv("ANTOM_PUBLIC_KEY", ParsePublicKey, "want Antom's public key from the Dashboard, not your own"); err != nil {
		return c, err
	}
	if c.AntomPublicKey.Equal(c.PrivateKey.Public()) {
		return c, fmt.Errorf("ANTOM_PUBLIC_KEY is the public half of ANTOM_PRIVATE_KEY; it must be Antom's public key from the Dashboard")
	}
	sandboxClient := strings.HasPrefix(c.ClientID, "SANDBOX_")
	switch s, err := config.String("ANTOM_SANDBOX", ""); {
	case err != nil:
		return c, err
	case s == "":
		// As the SDKs do: a SANDBOX_ client id means the sandbox.
		c.Sandbox = sandboxClient
	default:
		if c.Sandbox, err = strconv.ParseBool(s); err != nil {
			return c, fmt.Errorf("ANTOM_SANDBOX=%q is not true or false", s)
		}
		if c.Sandbox != sandboxClient {
			return c, fmt.Errorf("ANTOM_SANDBOX=%s does not match ANTOM_CLIENT_ID: sandbox client ids start with SANDBOX_ and only they use /ams/sandbox/api", s)
		}
	}
	return c, nil
}

// gatewayURL checks a gateway: a known Antom host over https, or any
// loopback host over http. A bare host means https.
func gatewayURL(raw string) (*url.URL, error) {
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := config.SecureURL("ANTOM_GATEWAY", raw)
	if err != nil {
		return nil, err
	}
	if u.Scheme == "https" && !slices.Contains(Gateways, strings.ToLower(u.Hostname())) {
		return nil, fmt.Errorf("ANTOM_GATEWAY: %s is not an Antom gateway; use one of %s", u.Hostname(), strings.Join(Gateways, ", "))
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, fmt.Errorf("ANTOM_GATEWAY must be the gateway's origin only (e.g. %s), without a path", DefaultGateway)
	}
	u.Path = ""
	return u, nil
}
