package devstack

import (
	"strings"
	"text/template"
)

// Guide is what a person can try on the running stack, with its own URLs.
func (s *Stack) Guide() string {
	var b strings.Builder
	data := map[string]any{
		"ekyc": s.URL("ekyc-init"), "bank": s.URL("bank-verify"), "zhima": s.URL("zhima-init"),
		"otp": s.URL("otp-init"), "callback": s.URL("callback"), "emulator": s.URL("emulator"),
		"result": s.URL("result"), "demo": s.URL("demo"), "aud": Audience,
		"results": s.URL("results"), "store": s.storeDir, "after": s.cfg.ReconcileAfter.String(),
		// The timer: how often it runs, and how soon it records a result no
		// callback reported ("" when -timer is negative: it never runs).
		"timer": "", "within": "", "event": timerEvent,
	}
	if s.cfg.Timer > 0 {
		data["timer"], data["within"] = s.cfg.Timer.String(), (s.cfg.ReconcileAfter + s.cfg.Timer).String()
	}
	_ = guide.Execute(&b, data)
	return b.String()
}

var guide = template.Must(template.New("guide").Parse(`
Stack is up, on 127.0.0.1 only. The functions run as production would: AUTH_MODE=jwt
(tokens from the stack's development identity provider, iss {{.demo}}, aud {{.aud}})
and CORS for the demo page's origin only.
  ekyc-init {{.ekyc}}   bank-verify {{.bank}}   zhima-init {{.zhima}}
  otp-init {{.otp}}    callback {{.callback}}     result {{.result}}
  emulator {{.emulator}}   results (the merchant's webhook receiver) {{.results}}
  store: {{.store}} (this run's own; removed on exit)
  the HTTP contract (OpenAPI 3.1): {{.results}}/openapi.yaml
  {{if .timer}}the callback's timer runs every {{.timer}}{{else}}the callback's timer does not run (-timer is negative){{end}} (RECONCILE_AFTER={{.after}})

Demo page: open {{.demo}}/ in a browser. It is a merchant's front-end on its own
origin: pick a user (alice, bob), then try eKYC, Zhima, OTP and a bank card; each
flow ends with what the functions answered or recorded. Its client, {{.demo}}/idverify.js,
is a dependency-free ES module a front-end can copy as it is.

With curl, get a token first (any user name; the limits count per user):

  TOKEN=$(curl -s '{{.demo}}/token?user=alice&format=text')

eKYC: start a transaction, open its Result.TransactionUrl, press Pass or Fail.
The callback confirms the result with CheckResult, records it once and posts
it here; the "results" line shows it, signature verified. "... callback lost"
completes without notifying: {{if .within}}the timer records it within about {{.within}}.{{else}}the timer does not run here: invoke it by hand (
  curl -s {{.callback}}/invoke -H 'x-fc-control-path: /invoke' -d '{{.event}}'
) once it is RECONCILE_AFTER old.{{end}}
The result function shows it to alice (the user who started it) only.

  curl -s {{.ekyc}}/ -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d '{"MerchantBizId":"order1","MetaInfo":{"zimVer":"3.0.0","appName":"com.example.app","deviceType":"h5"},"DocType":"01560000"}'
  curl -s {{.result}}/ -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d '{"MerchantBizId":"order1","wait":20}'   # waits up to 20 s for the result
  curl -s {{.results}}/results          # every result event received, newest first

Bank card, 4 factors (hashed inside the function before they leave it; the
card's digits before its last 6 choose the outcome: 6222020101 consistent,
6222020201/0206/0210 inconsistent, 6222020301/0304 no record; at most 5 per
user an hour, as in production):

  curl -s {{.bank}}/ -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d '{"ProductType":"BANK_CARD_4_META","BankCard":"6222020210987654","UserName":"张三","IdentifyNum":"11010519491231002X","Mobile":"13812345678"}'

Zhima: open the answer's certify_url, press passed=true or passed=false; the
browser comes back to the callback, which confirms and records the result (and
sends the browser on to the demo page). Ask result with {"biz_no":"..."}.

  curl -s {{.zhima}}/ -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d '{"biz_code":"FACE","identity_param":{"identity_type":"CERT_INFO","cert_type":"IDENTITY_CARD","cert_name":"张三","cert_no":"260104197909275964"}}'

OTP: send a code, read what the emulator "sent", verify it.

  curl -s {{.otp}}/ -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d '{"authenticationType":"OTP","authenticationRequestId":"otp-1","authenticationChannelType":"SMS","userIdentityType":"WALLET_TOKEN","userIdentityValue":"wallet-token-1"}'
  curl -s {{.emulator}}/_emulator/antom/otp/otp-1
  curl -s {{.otp}}/verify -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d '{"authenticationType":"OTP","authenticationRequestId":"otp-1","authenticationValue":"<the otp>"}'

Ctrl-C stops everything.
`))
