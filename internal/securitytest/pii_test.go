package securitytest

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/internal/e2e"
	"github.com/idverify/fc-kyc/pkg/emulator"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

// The fixtures' personal data. None of it may appear in any log line or
// any answer, whatever the request and whatever goes wrong.
const (
	cardTail    = "987654"
	nameHan     = "欧阳明月"
	nameLatin   = "Wilhelmina Quarterfield"
	idCard      = "42900119900101821X"
	idCard15    = "429001900101821"
	birthDate   = "19900101"
	passport    = "E98765432P"
	mobile      = "13912345678"
	mobileIntl  = "+8613987654321"
	email       = "alice.private@example.com"
	merchantUID = "merchant-user-8d2f-private"
	metaMarker  = "PrivatePhone-XYZ123"
	metaBio     = "bio-meta-secret-778899"
	apiKey      = "api-key-never-logged-4242"
)

// Every emulator fixture prefix, and one card outside them.
var cards = []string{
	"6222020101" + cardTail, "6222020201" + cardTail, "6222020206" + cardTail,
	"6222020210" + cardTail, "6222020301" + cardTail, "6222020304" + cardTail,
	"4111111111" + cardTail,
}

func md5hex(s string) string { h := md5.Sum([]byte(s)); return hex.EncodeToString(h[:]) }

// personal is every value to search for.
func personal() []string {
	v := append([]string{cardTail, nameHan, nameLatin, "Wilhelmina", "Quarterfield", idCard, idCard15, birthDate,
		passport, mobile, mobileIntl, "8613987654321", email, "alice.private", merchantUID, metaMarker, metaBio, apiKey,
		"6222 0201 0198 7654", md5hex(cardTail), md5hex(mobile), md5hex(birthDate)}, cards...)
	return v
}

// capture keeps every answer body for the search at the end.
type capture struct {
	mu     sync.Mutex
	bodies []string
}

func (c *capture) post(t *testing.T, url string, headers map[string]string, body any) e2e.Answer {
	t.Helper()
	a := e2e.Post(t, url, headers, body)
	c.mu.Lock()
	c.bodies = append(c.bodies, a.Raw)
	c.mu.Unlock()
	return a
}

func TestNoPersonalDataInLogsOrAnswers(t *testing.T) {
	e2e.Skip(t)
	_, e := e2e.Emulator(t)
	p := newIDP(t)
	apikeyEnv := apiKeyEnv(apiKey)
	limits := "RATE_LIMIT_PER_SUBJECT=40/1h"
	procs := map[string]*testproc.Proc{
		"bank-verify jwt":        startFunction(t, "bank-verify", e, append(p.env(), limits)...),
		"bank-verify md5 apikey": startFunction(t, "bank-verify", e, append(apikeyEnv, "BANK_VERIFY_PARAM_TYPE=md5")...),
		"ekyc-init jwt":          startFunction(t, "ekyc-init", e, append(p.env(), limits, "CORS_ALLOWED_ORIGINS=https://shop.example.com")...),
		"ekyc-init none":         startFunction(t, "ekyc-init", e, "AUTH_MODE=none", "EKYC_CALLBACK_URL=http://127.0.0.1:9/cb", "CALLBACK_SECRET=0123456789abcdef0123456789abcdef"),
	}
	var c capture
	tok := bearer(p.token(t, email, nil))
	key := map[string]string{"X-Api-Key": apiKey}

	t.Run("bank-verify", func(t *testing.T) {
		for _, fn := range []struct {
			proc *testproc.Proc
			auth map[string]string
		}{{procs["bank-verify jwt"], tok}, {procs["bank-verify md5 apikey"], key}} {
			bankScenarios(t, &c, e, fn.proc.URL(), fn.auth)
		}
	})
	t.Run("ekyc-init", func(t *testing.T) {
		ekycScenarios(t, &c, e, procs["ekyc-init jwt"].URL(), tok)
		ekycScenarios(t, &c, e, procs["ekyc-init none"].URL(), nil)
	})
	t.Run("refused callers", func(t *testing.T) {
		stolen := signToken(t, stranger(t), email, nil)
		expired := p.token(t, email, func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() })
		for _, name := range []string{"bank-verify jwt", "ekyc-init jwt"} {
			u := procs[name].URL() + "/"
			for _, h := range []map[string]string{bearer(stolen), bearer(expired), bearer(apiKey), key} {
				a := c.post(t, u, refused(h), bankBody(cards[0], "BANK_CARD_4_META"))
				assert.Equal(t, http.StatusUnauthorized, a.Status)
			}
			a := c.post(t, u, refused(map[string]string{"Origin": "https://" + email[6:]}), bankBody(cards[0], "BANK_CARD_4_META"))
			assert.Equal(t, http.StatusForbidden, a.Status)
		}
		a := c.post(t, procs["bank-verify md5 apikey"].URL()+"/", refused(map[string]string{"X-Api-Key": mobile}), bankBody(cards[0], "BANK_CARD_4_META"))
		assert.Equal(t, http.StatusUnauthorized, a.Status)
	})
	t.Run("rate limited", func(t *testing.T) {
		tok := bearer(p.token(t, "limited-"+email, nil))
		got429 := false
		for range 41 {
			a := c.post(t, procs["bank-verify jwt"].URL()+"/", tok, bankBody(cards[1], "BANK_CARD_4_META"))
			got429 = got429 || a.Status == http.StatusTooManyRequests
		}
		assert.True(t, got429, "the 41st call is over RATE_LIMIT_PER_SUBJECT=40/1h")
	})

	// Last: everything the functions printed and answered.
	for name, proc := range procs {
		out := proc.Output()
		lines := strings.Split(strings.TrimSpace(out), "\n")
		require.Greater(t, len(lines), 20, "%s logged its invocations", name)
		secrets := []string{emulator.DefaultAccessKeySecret, emulator.DefaultSTSAccessKeySecret, emulator.DefaultSecurityToken, tok["Authorization"][7:]}
		for _, l := range lines {
			var m map[string]any
			assert.NoError(t, json.Unmarshal([]byte(l), &m), "%s: every log line is JSON: %s", name, l)
			for _, v := range append(personal(), secrets...) {
				if strings.Contains(l, v) {
					t.Errorf("%s logged %q: %s", name, v, l)
				}
			}
		}
	}
	assert.Contains(t, procs["bank-verify jwt"].Output(), "622202******7654", "cards are logged masked: the search looked at real log lines")
	require.Greater(t, len(c.bodies), 100)
	for _, b := range c.bodies {
		for _, v := range personal() {
			if strings.Contains(b, v) {
				t.Errorf("an answer carries personal data %q: %s", v, b)
			}
		}
	}
}

func bankBody(card, productType string) map[string]any {
	return map[string]any{"ProductType": productType, "BankCard": card, "UserName": nameHan, "IdentifyNum": idCard, "Mobile": mobile}
}

// bankScenarios drives bank-verify through outcomes, every bad parameter,
// events and upstream faults.
func bankScenarios(t *testing.T, c *capture, e *emulator.Remote, url string, auth map[string]string) {
	for _, card := range cards {
		for _, pt := range []string{"BANK_CARD_2_META", "BANK_CARD_3_META", "BANK_CARD_4_META"} {
			a := c.post(t, url+"/", auth, bankBody(card, pt))
			require.Equal(t, http.StatusOK, a.Status, a.Raw)
		}
	}
	other := bankBody(cards[2], "BANK_CARD_3_META")
	other["UserName"], other["IdentityType"], other["IdentifyNum"] = nameLatin, "02", passport
	old := bankBody(cards[3], "BANK_CARD_4_META")
	old["IdentifyNum"], old["Mobile"] = idCard15, mobileIntl
	for _, b := range []map[string]any{other, old} {
		a := c.post(t, url+"/", auth, b)
		require.Equal(t, http.StatusOK, a.Status, a.Raw)
	}
	with := func(k string, v any) map[string]any { m := bankBody(cards[0], "BANK_CARD_4_META"); m[k] = v; return m }
	for _, b := range []any{
		with("BankCard", "6222 0201 0198 7654"), with("BankCard", cardTail), with("BankCard", 6222020101987654),
		with("UserName", strings.Repeat(nameHan, 20)), with("UserName", nameLatin+"\n"+email),
		with("IdentifyNum", idCard[:17]), with("IdentifyNum", email), with("Mobile", mobile+"x"), with("Mobile", email),
		with("ParamType", "md5"), with("ProductType", "BANK_CARD_5_META"), with("CardHolder", nameLatin),
		with("ProductCode", idCard), with("VerifyMode", mobile), with("IdentityType", email),
		"BankCard=" + cards[0] + "&UserName=" + nameLatin, `{"BankCard":"` + cards[0] + `"`,
		`{"ProductType":"BANK_CARD_2_META","BankCard":"` + cards[0] + `","UserName":"` + strings.Repeat(nameHan, 600) + `"}`,
	} {
		a := c.post(t, url+"/", refused(auth), b)
		assert.GreaterOrEqual(t, a.Status, 400, a.Raw)
		ev := c.post(t, url+"/invoke", refused(event), b)
		assert.Equal(t, "404", ev.Header.Get("x-fc-status"), ev.Raw)
	}
	payload, _ := json.Marshal(bankBody(cards[4], "BANK_CARD_4_META"))
	for _, ev := range []any{
		bankBody(cards[5], "BANK_CARD_4_META"),
		map[string]any{"triggerTime": "2026-11-23T10:00:00Z", "triggerName": "t", "payload": string(payload)},
		map[string]any{"specversion": "1.0", "id": "1", "source": "s", "type": "t", "data": bankBody(cards[6], "BANK_CARD_3_META")},
	} {
		a := c.post(t, url+"/invoke", event, ev)
		assert.Equal(t, http.StatusOK, a.Status, a.Raw)
	}
	faults(t, c, e, "BankMetaVerifyIntl", func() e2e.Answer { return c.post(t, url+"/", auth, bankBody(cards[0], "BANK_CARD_4_META")) })
}

func ekycBody(user string) map[string]any {
	return map[string]any{"MetaInfo": map[string]any{"zimVer": "3.0.0", "deviceType": "h5", "deviceModel": metaMarker, "bioMetaInfo": metaBio},
		"MerchantUserId": user, "DocType": "01560000"}
}

func ekycScenarios(t *testing.T, c *capture, e *emulator.Remote, url string, auth map[string]string) {
	for _, user := range []string{merchantUID, email, mobile, idCard} {
		a := c.post(t, url+"/", auth, ekycBody(user))
		require.Equal(t, http.StatusOK, a.Status, a.Raw)
		a = c.post(t, url+"/invoke", event, ekycBody(user))
		require.Equal(t, http.StatusOK, a.Status, a.Raw)
	}
	with := func(k string, v any) map[string]any { m := ekycBody(merchantUID); m[k] = v; return m }
	metaString, _ := json.Marshal(ekycBody(email)["MetaInfo"])
	bad := []any{
		with("MetaInfo", "["+string(metaString)+"]"), with("MetaInfo", `{"deviceModel":"`+metaMarker+`"`),
		with("MetaInfo", map[string]any{"bioMetaInfo": strings.Repeat(metaBio, 300)}),
		with("DocType", mobile), with("MerchantBizId", email),
		with("ProductFlow", idCard), with("DocScanMode", nameHan), with("CallbackUrl", "https://"+email),
		with("UserName", nameLatin), with("ProductCode", passport), "MerchantUserId=" + email,
	}
	if auth == nil { // with a token the body's MerchantUserId is replaced, not checked
		bad = append(bad, with("MerchantUserId", strings.Repeat(email, 20)))
	}
	for _, b := range bad {
		a := c.post(t, url+"/", refused(auth), b)
		assert.GreaterOrEqual(t, a.Status, 400, a.Raw)
		ev := c.post(t, url+"/invoke", refused(event), b)
		assert.Equal(t, "404", ev.Header.Get("x-fc-status"), ev.Raw)
	}
	faults(t, c, e, "Initialize", func() e2e.Answer { return c.post(t, url+"/", auth, ekycBody(email)) })
}

// faults makes each upstream failure happen once under call.
func faults(t *testing.T, c *capture, e *emulator.Remote, action string, call func() e2e.Answer) {
	for _, f := range []emulator.Fault{
		{Kind: emulator.FaultThrottle}, {Kind: emulator.FaultServerError}, {Kind: emulator.FaultInternalError},
		{Kind: emulator.FaultMalformed}, {Kind: emulator.FaultReset}, {Kind: emulator.FaultSlow, Delay: 10 * time.Second},
	} {
		require.NoError(t, e.InjectFault(emulator.Cloudauth, action, f))
		a := call()
		assert.GreaterOrEqual(t, a.Status, 500, "%s: %s", f.Kind, a.Raw)
		require.NoError(t, e.ClearFaults())
	}
}
