package emulator

// ClientEnv is the environment that points a function's client of upstream
// u at an emulator serving at baseURL (scheme and host), with the
// credentials this emulator accepts. Tests, benchmarks and the local stack
// all configure functions through it, so a new setting is added once.
func ClientEnv(u Upstream, baseURL string) []string {
	switch u {
	case Cloudauth:
		return []string{
			"CLOUDAUTH_ENDPOINT=" + baseURL,
			"ALIBABA_CLOUD_ACCESS_KEY_ID=" + DefaultAccessKeyID,
			"ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + DefaultAccessKeySecret,
		}
	case Alipay:
		return []string{
			"ALIPAY_GATEWAY=" + baseURL + "/gateway.do",
			"ALIPAY_APP_ID=" + AlipayTestAppID,
			"ALIPAY_PRIVATE_KEY=" + AlipayTestAppPrivateKey,
			"ALIPAY_PUBLIC_KEY=" + AlipayTestPublicKey,
		}
	case Antom:
		return []string{
			"ANTOM_GATEWAY=" + baseURL,
			"ANTOM_CLIENT_ID=" + AntomClientID,
			"ANTOM_PRIVATE_KEY=" + AntomMerchantPrivateKey,
			"ANTOM_PUBLIC_KEY=" + AntomGatewayPublicKey,
		}
	}
	panic("emulator.ClientEnv: unknown upstream " + string(u))
}
