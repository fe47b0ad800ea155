package devstack_test

// The demo page in a real headless Chromium: the four flows through the
// stack (AUTH_MODE=jwt, CORS for the demo origin only), the owner rule seen
// from the browser, and a page on an origin that is not listed, which the
// browser refuses and which costs no upstream call.

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/emulator"
)

// chromium finds the browser: CHROMIUM names it, else the usual names on
// PATH ("chromium" is Debian's package).
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("REQUIRE_CHROMIUM") == "1" {
		t.Fatal("REQUIRE_CHROMIUM=1 and no Chromium found (Debian: apt-get install chromium; or set CHROMIUM to its path)")
	}
	t.Skip("SKIPPED: the browser test of the demo page needs Chromium, and none was found " +
		"(Debian: apt-get install chromium; or set CHROMIUM to its path). CI installs it (.ci/run).")
	return ""
}

// browser drives one Chromium; it keeps a screenshot of every step, and
// writes them all to a directory it names when the test fails.
type browser struct {
	t     *testing.T
	ctx   context.Context
	shots []shot
}

type shot struct {
	name string
	png  []byte
}

func newBrowser(t *testing.T, exe string) *browser {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // root in CI containers
		chromedp.DisableGPU,
		chromedp.WindowSize(1100, 1400),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	require.NoError(t, chromedp.Do(ctx), "Chromium (%s) did not start", exe)
	b := &browser{t: t, ctx: ctx}
	t.Cleanup(func() {
		if t.Failed() {
			b.save()
		}
		cancel()
		cancelAlloc()
	})
	return b
}

// step runs actions in the main tab within 20 s, then takes a screenshot
// of it.
func (b *browser) step(name string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	b.stepIn(b.ctx, name, actions...)
}

// stepIn is step in another tab.
func (b *browser) stepIn(tab context.Context, name string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	err := chromedp.Do(ctx, actions...)
	sctx, scancel := context.WithTimeout(tab, 5*time.Second)
	defer scancel()
	if png, serr := chromedp.Run(sctx, chromedp.CaptureScreenshot()); serr == nil {
		b.shots = append(b.shots, shot{name, png})
	}
	require.NoError(b.t, err, "step %q", name)
}

func (b *browser) save() {
	dir, err := os.MkdirTemp("", "devstack-browser-")
	if err != nil {
		b.t.Logf("screenshots not saved: %v", err)
		return
	}
	for i, s := range b.shots {
		_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("%02d-%s.png", i+1, s.name)), s.png, 0o644)
	}
	b.t.Logf("screenshots of the %d steps: %s", len(b.shots), dir)
}

// textContains waits until the text of the element with id holds want.
// A query can fail while the page navigates (the redirects after a
// certify page: "No node with given id found"); it is asked again until
// the step's deadline, which then reports the last answer or error.
func textContains(id, want string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for {
			text, err := chromedp.TextContent(chromedp.ID(id), chromedp.NodeReady)(ctx, t)
			if err == nil && strings.Contains(text, want) {
				return nil
			}
			select {
			case <-ctx.Done():
				if err != nil {
					return fmt.Errorf("#%s never held %q: %v", id, want, err)
				}
				return fmt.Errorf("#%s never held %q; it holds %q", id, want, text)
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
}

// attribute reads the attribute name of the element with id into v.
func attribute(id, name string, v *string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		r, err := chromedp.AttributeValue(chromedp.ID(id), name)(ctx, t)
		if err == nil && !r.Exists {
			err = fmt.Errorf("#%s has no attribute %s", id, name)
		}
		*v = r.Value
		return err
	})
}

// changed fires the change event of the element with id, as a person
// choosing an option does (SetValue does not).
func changed(id string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](`document.getElementById('` + id + `').dispatchEvent(new Event('change'))`)
}

func TestDemoPageInABrowser(t *testing.T) {
	exe := chromium(t)
	s, _ := startStack(t, binDir(t))
	b := newBrowser(t, exe)
	emu := &emulator.Remote{BaseURL: s.URL("emulator")}
	demo := s.URL("demo") + "/"

	b.step("open", chromedp.Navigate(demo), textContains("ready", "ready"))

	// 1. eKYC: start, pass on the emulator's page (another tab, another
	// origin), and the page shows the result it waited for.
	var bizID, txURL string
	b.step("ekyc-start", chromedp.Click(chromedp.ID("ekyc-start")),
		chromedp.WaitVisible(chromedp.ID("ekyc-open")),
		attribute("ekyc-open", "href", &txURL), attribute("ekyc-open", "data-merchant-biz-id", &bizID))
	require.True(t, strings.HasPrefix(txURL, s.URL("emulator")), "TransactionUrl %s is the emulator's page", txURL)
	tab, closeTab := chromedp.NewContext(b.ctx)
	b.stepIn(tab, "ekyc-emulator-page", chromedp.Navigate(txURL), chromedp.Click(`//button[text()="Pass"]`),
		chromedp.WaitVisible(`//b[text()="Y"]`))
	closeTab()
	b.step("ekyc-result", textContains("ekyc-result", `"status": "passed"`), textContains("ekyc-step", "recorded: passed"))

	// The owner rule, from the browser: bob asks for alice's transaction.
	b.step("lookup-as-bob", chromedp.SetValue(chromedp.ID("user"), "bob"),
		changed("user"),
		chromedp.SetValue(chromedp.ID("lookup-id"), bizID), chromedp.Click(chromedp.ID("lookup-go")),
		textContains("lookup-result", "TransactionNotFound"))
	b.step("lookup-as-alice", chromedp.SetValue(chromedp.ID("user"), "alice"),
		changed("user"),
		chromedp.Click(chromedp.ID("lookup-go")), textContains("lookup-result", `"status": "passed"`))

	// 2. Zhima: the certify page in this tab, then back to the demo page.
	b.step("zhima-certify-page", chromedp.Click(chromedp.ID("zhima-start")),
		chromedp.WaitVisible(`//button[text()="passed=true"]`))
	var here string
	b.step("zhima-pass", chromedp.Click(`//button[text()="passed=true"]`),
		textContains("zhima-step", "recorded: passed"), textContains("zhima-result", `"kind": "zhima"`), chromedp.Func(func(ctx context.Context, t *chromedp.Target) (err error) {
			here, err = chromedp.Location()(ctx, t)
			return err
		}))
	u, err := url.Parse(here)
	require.NoError(t, err)
	assert.Equal(t, "zhima", u.Query().Get("flow"), "the callback sent the browser back to the demo page")

	// 3. OTP: send, read the code the emulator "sent", verify.
	b.step("otp", chromedp.Click(chromedp.ID("otp-send")), textContains("otp-step", "sent:"),
		chromedp.Click(chromedp.ID("otp-fetch")), textContains("otp-step", "is in the box"),
		chromedp.Click(chromedp.ID("otp-verify")), textContains("otp-step", "verified: the code is right"))

	// 4. Bank card: 2, 3 and 4 factors, with what the codes mean.
	for _, c := range []struct{ product, card, biz string }{
		{"BANK_CARD_2_META", "6222020101987654", "BizCode 1"},
		{"BANK_CARD_3_META", "6222020210987654", "BizCode 2"},
		{"BANK_CARD_4_META", "6222020301987654", "BizCode 3"},
	} {
		b.step("bank-"+c.product, chromedp.SetValue(chromedp.ID("bank-type"), c.product),
			chromedp.SetValue(chromedp.ID("bank-card"), c.card), chromedp.Click(chromedp.ID("bank-verify")),
			textContains("bank-result", c.product+": "+c.biz), textContains("bank-result", "SubCode"))
	}

	// An origin that is not listed: the same page from http://localhost:<port>
	// (another origin than http://127.0.0.1:<port>). The browser's preflight
	// is refused, the page sees a TypeError, and nothing reached upstream.
	before, err := emu.Stats()
	require.NoError(t, err)
	alipayBefore, err := emu.AlipayStats()
	require.NoError(t, err)
	other := strings.Replace(demo, "127.0.0.1", "localhost", 1)
	b.step("foreign-origin", chromedp.Navigate(other), textContains("ready", "ready"),
		chromedp.Click(chromedp.ID("ekyc-start")), textContains("ekyc-step", "refused by the browser"),
		chromedp.Click(chromedp.ID("zhima-start")), textContains("zhima-step", "refused by the browser"),
		chromedp.Click(chromedp.ID("bank-verify")), textContains("bank-result", "TypeError"))
	after, err := emu.Stats()
	require.NoError(t, err)
	alipayAfter, err := emu.AlipayStats()
	require.NoError(t, err)
	assert.Equal(t, before.Requests, after.Requests, "a refused origin cost a cloudauth call")
	assert.Equal(t, alipayBefore.Requests, alipayAfter.Requests, "a refused origin cost an Alipay call")
}
