package main

// End to end: the built bank-verify binary and the built emulator, each its
// own process on loopback, driven over HTTP the way FC and a caller would.

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/internal/contract"
	"github.com/idverify/fc-kyc/internal/e2e"
	"github.com/idverify/fc-kyc/internal/testbody"
	"github.com/idverify/fc-kyc/pkg/emulator"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

// The fixture person. Every card is a fixture prefix (which chooses the
// emulator's outcome) followed by cardTail, which md5 mode hashes.
const (
	cardTail   = "987654"
	fixName    = "欧阳明月"
	fixID      = "42900119900101821X"
	fixMobile  = "13912345678"
	plainCard  = "6222020101" + cardTail // consistent
	noRecCard  = "6222020304" + cardTail
	lostCard   = "6222020210" + cardTail
	wrongCard  = "6222020201" + cardTail
	invalidCrd = "6222020206" + cardTail
	unsupCard  = "6222020301" + cardTail
)

var allCards = []string{plainCard, noRecCard, lostCard, wrongCard, invalidCrd, unsupCard}

// stack is one emulator and two bank-verify processes: one sending what the
// caller sent, one with BANK_VERIFY_PARAM_TYPE=md5.
type stack struct {
	plain, hashing *testproc.Proc
	emu            *emulator.Remote
}

func startStack(t *testing.T) *stack {
	t.Helper()
	e2e.Skip(t)
	emu, remote := e2e.Emulator(t)
	return &stack{
		plain:   e2e.Function(t, "bank-verify", emu.URL()),
		hashing: e2e.Function(t, "bank-verify", emu.URL(), "BANK_VERIFY_PARAM_TYPE=md5"),
		emu:     remote,
	}
}

func body4(card string) map[string]any {
	return map[string]any{"ProductType": "BANK_CARD_4_META", "BankCard": card, "UserName": fixName,
		"IdentifyNum": fixID, "Mobile": fixMobile}
}

// sentValues is every parameter value of the last BankMetaVerifyIntl the
// emulator accepted, joined.
func sentValues(t *testing.T, emu *emulator.Remote) (string, map[string]string) {
	t.Helper()
	got, err := emu.LastRequest("BankMetaVerifyIntl")
	require.NoError(t, err)
	keys := make([]string, 0, len(got.Params))
	for k := range got.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var all strings.Builder
	for _, k := range keys {
		all.WriteString(k + "=" + got.Params[k] + "\n")
	}
	return all.String(), got.Params
}

func TestEndToEnd(t *testing.T) {
	s := startStack(t)
	outcomes := []struct {
		card, biz, sub, meaning string
	}{
		{plainCard, "1", "101", "consistent (billed)"},
		{wrongCard, "2", "201", "inconsistent (billed)"},
		{invalidCrd, "2", "206", "inconsistent (billed)"},
		{lostCard, "2", "210", "inconsistent (billed)"},
		{unsupCard, "3", "301", "no record found (not billed)"},
		{noRecCard, "3", "304", "no record found (not billed)"},
	}
	for _, mode := range []struct {
		name string
		fn   *testproc.Proc
	}{{"normal", s.plain}, {"hashed in the function", s.hashing}} {
		for _, o := range outcomes {
			t.Run(mode.name+" BizCode "+o.biz+" SubCode "+o.sub, func(t *testing.T) {
				a := e2e.Post(t, mode.fn.URL()+"/", nil, body4(o.card))
				require.Equal(t, http.StatusOK, a.Status, "%v", a.Body)
				assert.Equal(t, "200", a.Str("Code"))
				assert.Equal(t, "success", a.Str("Message"))
				assert.NotEmpty(t, a.Str("RequestId"))
				assert.Equal(t, o.biz, a.Str("ResultObject", "BizCode"))
				assert.Equal(t, o.sub, a.Str("ResultObject", "SubCode"))
				assert.Equal(t, o.meaning, a.Str("BizCodeMeaning"))
				assert.NotEmpty(t, a.Str("SubCodeMeaning"))
			})
		}
	}

	t.Run("each ProductType as an event through /invoke", func(t *testing.T) {
		for _, b := range []map[string]any{
			{"ProductType": "BANK_CARD_2_META", "BankCard": lostCard, "UserName": fixName},
			{"ProductType": "BANK_CARD_3_META", "BankCard": lostCard, "UserName": fixName, "IdentifyNum": fixID},
			body4(lostCard),
		} {
			a := e2e.Post(t, s.plain.URL()+"/invoke", map[string]string{"x-fc-control-path": "/invoke"}, b)
			require.Equal(t, http.StatusOK, a.Status, "%v", a.Body)
			assert.Equal(t, "210", a.Str("ResultObject", "SubCode"))
			_, sent := sentValues(t, s.emu)
			assert.Equal(t, b["ProductType"], sent["ProductType"])
			assert.Equal(t, "BANK_CARD_N_META", sent["ProductCode"])
			assert.Equal(t, "VERIFY_BANK_CARD", sent["VerifyMode"])
		}
	})

	t.Run("normal mode sends the plaintext the caller chose", func(t *testing.T) {
		require.Equal(t, http.StatusOK, e2e.Post(t, s.plain.URL()+"/", nil, body4(plainCard)).Status)
		_, sent := sentValues(t, s.emu)
		assert.Equal(t, "normal", sent["ParamType"])
		assert.Equal(t, plainCard, sent["BankCard"])
	})

	t.Run("BANK_VERIFY_PARAM_TYPE=md5: no plaintext leaves the function", func(t *testing.T) {
		for _, card := range allCards {
			a := e2e.Post(t, s.hashing.URL()+"/", nil, body4(card))
			require.Equal(t, http.StatusOK, a.Status, "%v", a.Body)
			all, sent := sentValues(t, s.emu)
			assert.Equal(t, "md5", sent["ParamType"])
			assert.Equal(t, card[:len(card)-6], sent["BankCard"][:len(card)-6], "plaintext up to the last 6 digits")
			assert.Len(t, sent["BankCard"], len(card)-6+32)
			for _, secret := range []string{card, cardTail, fixID, "19900101", fixMobile, fixName} {
				assert.NotContains(t, all, secret)
			}
		}
	})

	t.Run("values the caller hashed are accepted in md5 mode", func(t *testing.T) {
		b := map[string]any{"ProductType": "BANK_CARD_4_META", "ParamType": "md5",
			"BankCard":    "6222020206" + md5hex(cardTail),
			"UserName":    md5hex("欧") + "阳明月",
			"IdentifyNum": "429001" + md5hex("19900101") + "821X",
			"Mobile":      md5hex(fixMobile)}
		a := e2e.Post(t, s.hashing.URL()+"/", nil, b)
		require.Equal(t, http.StatusOK, a.Status, "%v", a.Body)
		assert.Equal(t, "206", a.Str("ResultObject", "SubCode"))
		_, sent := sentValues(t, s.emu)
		for _, k := range []string{"BankCard", "UserName", "IdentifyNum", "Mobile"} {
			assert.Equal(t, b[k], sent[k], k)
		}
	})

	t.Run("invalid requests get 400 and cost no upstream call", func(t *testing.T) {
		before, err := s.emu.Stats()
		require.NoError(t, err)
		with := func(kv ...any) map[string]any { return testbody.With(body4(plainCard), kv...) } // nil deletes
		bad := map[string]any{
			"no ProductType":      with("ProductType", nil),
			"ProductType other":   with("ProductType", "BANK_CARD_N_META"),
			"no BankCard":         with("BankCard", nil),
			"no UserName":         with("UserName", nil),
			"4 factors no ID":     with("IdentifyNum", nil),
			"4 factors no Mobile": with("Mobile", nil),
			"3 factors no ID":     map[string]any{"ProductType": "BANK_CARD_3_META", "BankCard": plainCard, "UserName": fixName},
			"card with spaces":    with("BankCard", "6222 0201 0198 7654"),
			"card too short":      with("BankCard", "62220201019"),
			"card too long":       with("BankCard", "62220201019876543210"),
			"name too long":       with("UserName", strings.Repeat("名", 65)),
			"ID 17 characters":    with("IdentifyNum", fixID[:17]),
			"mobile with letters": with("Mobile", "1391234567a"),
			"ParamType other":     with("ParamType", "sha1"),
			"md5 with plaintext":  with("ParamType", "md5"),
			"ProductCode sent":    with("ProductCode", "BANK_CARD_N_META"),
			"VerifyMode sent":     with("VerifyMode", "VERIFY_BANK_CARD"),
			"unknown parameter":   with("CardHolder", "x"),
			"card as a number":    with("BankCard", 6222020101987654),
			"not JSON":            "BankCard=6222020101987654",
			"array":               "[]",
		}
		for _, fn := range []*testproc.Proc{s.plain, s.hashing} {
			for name, body := range bad {
				// Refused on purpose: the contract checks only the answers.
				a := e2e.Post(t, fn.URL()+"/", map[string]string{contract.InvalidHeader: "1"}, body)
				assert.Equal(t, http.StatusBadRequest, a.Status, name)
				assert.Contains(t, []string{"MissingParameter", "InvalidParameter"}, a.Str("Code"), name)
				for _, secret := range append([]string{fixName, fixID, fixMobile}, allCards...) {
					assert.NotContains(t, a.Str("Message"), secret, name)
				}
				ev := e2e.Post(t, fn.URL()+"/invoke", map[string]string{"x-fc-control-path": "/invoke", contract.InvalidHeader: "1"}, body)
				assert.Equal(t, "404", ev.Header.Get("x-fc-status"), name)
			}
		}
		after, err := s.emu.Stats()
		require.NoError(t, err)
		assert.Equal(t, before.Requests["BankMetaVerifyIntl"], after.Requests["BankMetaVerifyIntl"], "no request reached the emulator")
	})

	t.Run("throttling is retried; a reset is not, since the call is billed", func(t *testing.T) {
		a := e2e.BilledCallRetries(t, s.emu, "BankMetaVerifyIntl", func() e2e.Answer { return e2e.Post(t, s.hashing.URL()+"/", nil, body4(plainCard)) })
		assert.Equal(t, "101", a.Str("ResultObject", "SubCode"))
	})

	t.Run("an upstream refusal keeps its code and RequestId", func(t *testing.T) {
		e2e.Fault(t, s.emu, emulator.Cloudauth, "BankMetaVerifyIntl", emulator.Fault{Kind: emulator.FaultThrottle})
		a := e2e.Post(t, s.plain.URL()+"/", nil, body4(plainCard))
		assert.Equal(t, http.StatusServiceUnavailable, a.Status)
		assert.Equal(t, "Throttling.Api", a.Str("Code"))
		assert.NotEmpty(t, a.Str("RequestId"))
		assert.NotEmpty(t, a.Header.Get("Retry-After"))
		require.NoError(t, s.emu.ClearFaults())
	})

	// The case: Throttling.Api asking to wait 12 s used to be
	// followed by two more attempts within 2 s. The wait is past this
	// function's deadline, so one attempt, and 503 with that Retry-After; a
	// second request while the wait runs is not sent at all.
	t.Run("a throttling wait past the deadline: one attempt, 503 with its Retry-After", func(t *testing.T) {
		sent := e2e.Fault(t, s.emu, emulator.Cloudauth, "BankMetaVerifyIntl", emulator.Fault{Kind: emulator.FaultThrottle, Delay: 12 * time.Second})
		for i := range 2 {
			a := e2e.Post(t, s.plain.URL()+"/", nil, body4(plainCard))
			assert.Equal(t, http.StatusServiceUnavailable, a.Status, "%v", a.Body)
			assert.Equal(t, "Throttling.Api", a.Str("Code"))
			secs, err := strconv.Atoi(a.Header.Get("Retry-After"))
			require.NoError(t, err, "Retry-After %q", a.Header.Get("Retry-After"))
			if i == 0 {
				assert.GreaterOrEqual(t, secs, 12, "the wait the service asked for")
			} else {
				assert.Greater(t, secs, 0)
				assert.LessOrEqual(t, secs, 12, "what is left of it")
			}
			assert.EqualValues(t, 1, sent(), "exactly one attempt reached the service")
		}
		require.NoError(t, s.emu.ClearFaults())
	})

	// Last: every line both functions wrote during the subtests above.
	t.Run("logs carry no card number, name, ID number or mobile", func(t *testing.T) {
		for _, fn := range []*testproc.Proc{s.plain, s.hashing} {
			out := e2e.Logs(t, fn)
			assert.Contains(t, out, "622202******7654", "cards are logged masked")
			for _, secret := range append([]string{fixName, fixID, fixMobile, cardTail, "19900101"}, allCards...) {
				assert.NotContains(t, out, secret)
			}
		}
	})
}

func TestStartRefusesBadConfiguration(t *testing.T) {
	e2e.RefusesToStart(t, "bank-verify",
		e2e.BadStart{Name: "unknown param type", Env: []string{"AUTH_MODE=none", "BANK_VERIFY_PARAM_TYPE=sha1"}, Want: "BANK_VERIFY_PARAM_TYPE"},
		e2e.BadStart{Name: "upper-case param type", Env: []string{"AUTH_MODE=none", "BANK_VERIFY_PARAM_TYPE=MD5"}, Want: "BANK_VERIFY_PARAM_TYPE"},
		e2e.BadStart{Name: "http endpoint off loopback", Env: []string{"AUTH_MODE=none", "CLOUDAUTH_ENDPOINT=http://10.0.0.1:8600"}, Want: "CLOUDAUTH_ENDPOINT"},
		e2e.BadStart{Name: "callers counted without the card key", Env: []string{"AUTH_MODE=apikey", "API_KEY_HASHES=" + keyHash("k")}, Want: "BANK_CARD_LIMIT_SECRET"},
		e2e.BadStart{Name: "a short card key", Env: []string{"AUTH_MODE=apikey", "API_KEY_HASHES=" + keyHash("k"), "BANK_CARD_LIMIT_SECRET=short"}, Want: "at least 32 characters"},
		e2e.BadStart{Name: "a bad per-card rule", Env: []string{"AUTH_MODE=none", "RATE_LIMIT_PER_CARD=10"}, Want: "RATE_LIMIT_PER_CARD"},
	)
}
