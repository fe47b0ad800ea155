package devstack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/internal/devstack"
	"github.com/idverify/fc-kyc/internal/registry"
	"github.com/idverify/fc-kyc/pkg/emulator"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

// binDir builds every binary of the stack into one directory, as `make build` does.
func binDir(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: builds and runs the binaries")
	}
	dir := filepath.Dir(testproc.Build(t, registry.Module+"/cmd/emulator"))
	for _, f := range registry.Functions {
		require.Equal(t, dir, filepath.Dir(testproc.Build(t, f.Package())))
	}
	return dir
}

// freeBase finds a base port whose ten ports are free right now.
func freeBase(t *testing.T) int {
	t.Helper()
	for range 50 {
		base := 20000 + rand.IntN(40000)
		free := true
		for off := range 10 {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(base+off))
			if err != nil {
				free = false
				break
			}
			l.Close()
		}
		if free {
			return base
		}
	}
	t.Fatal("no free range of ten ports")
	return 0
}

func startStack(t *testing.T, dir string) (*devstack.Stack, *testproc.Buffer) {
	t.Helper()
	out := &testproc.Buffer{}
	s, err := devstack.Start(devstack.Config{Base: freeBase(t), BinDir: dir, Timer: 300 * time.Millisecond,
		ReconcileAfter: time.Second, Out: out})
	require.NoError(t, err, out.String())
	t.Cleanup(s.Stop)
	return s, out
}

// initEKYC starts a transaction and returns its TransactionId and TransactionUrl.
func initEKYC(t *testing.T, s *devstack.Stack) (string, string) {
	t.Helper()
	body := `{"MetaInfo":{"zimVer":"3.0.0","appName":"com.example.app","deviceType":"h5"},"MerchantUserId":"user-1","DocType":"01560000"}`
	req, err := http.NewRequest(http.MethodPost, s.URL("ekyc-init")+"/", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token(t, s, "alice"))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out struct {
		Result struct{ TransactionId, TransactionUrl string }
	}
	raw, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(raw))
	require.NoError(t, json.Unmarshal(raw, &out))
	require.NotEmpty(t, out.Result.TransactionId)
	return out.Result.TransactionId, out.Result.TransactionUrl
}

// token is a token of the stack's identity provider for user, fetched as
// the guide's curl does.
func token(t *testing.T, s *devstack.Stack, user string) string {
	t.Helper()
	resp, err := http.Get(s.URL("demo") + "/token?format=text&user=" + user)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	return strings.TrimSpace(string(b))
}

func waitResult(t *testing.T, s *devstack.Stack, id string, within time.Duration) map[string]any {
	t.Helper()
	var got map[string]any
	require.Eventually(t, func() bool {
		resp, err := http.Get(s.URL("results") + "/results/" + id)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&got) == nil
	}, within, 50*time.Millisecond, "no result event for %s", id)
	return got
}

func TestResultsAreShownForNotifiedAndLostCallbacks(t *testing.T) {
	s, out := startStack(t, binDir(t))
	emu := &emulator.Remote{BaseURL: s.URL("emulator")}

	// Notified: the callback records and posts at once.
	tx, page := initEKYC(t, s)
	require.NoError(t, emu.CompleteWithCallbacks(context.Background(), tx, "Y", "200", 1))
	ev := waitResult(t, s, tx, 5*time.Second)
	assert.Equal(t, "passed", ev["status"])
	assert.Contains(t, out.String(), "result passed: transaction "+tx)
	assert.Contains(t, out.String(), "signature verified")

	// The emulator's page shows the recorded result beside its own state,
	// also after a later Fail changes the emulator's state.
	require.NoError(t, emu.CompleteWithCallbacks(context.Background(), tx, "N", "205", 0))
	resp, err := http.Get(page)
	require.NoError(t, err)
	html, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Contains(t, string(html), "passed <b>N</b>")
	assert.Contains(t, string(html), "Recorded by the callback and posted to the webhook:\n<b>passed</b>")

	// Lost: nothing notifies; the timer confirms and posts it.
	lost, _ := initEKYC(t, s)
	require.NoError(t, emu.CompleteWithCallbacks(context.Background(), lost, "N", "205", 0))
	ev = waitResult(t, s, lost, 15*time.Second)
	assert.Equal(t, "failed", ev["status"])
	assert.Eventually(t, func() bool { return strings.Contains(out.String(), `timer      | run: {"listed":1`) },
		5*time.Second, 50*time.Millisecond, "the timer's run was not printed")
}

func TestTwoStacksDoNotShareAStore(t *testing.T) {
	dir := binDir(t)
	a, _ := startStack(t, dir)
	b, _ := startStack(t, dir)
	assert.NotEqual(t, a.StoreDir(), b.StoreDir())
	assert.NotEqual(t, a.URL("ekyc-init"), b.URL("ekyc-init"))
	tx, _ := initEKYC(t, a)
	require.NoError(t, (&emulator.Remote{BaseURL: a.URL("emulator")}).CompleteWithCallbacks(context.Background(), tx, "Y", "200", 1))
	waitResult(t, a, tx, 5*time.Second)
	resp, err := http.Get(b.URL("results") + "/results/" + tx)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "the second stack saw the first one's result")

	// AUTH_MODE=jwt: no token, or a token of the other stack's identity
	// provider (its own key), is refused.
	for name, auth := range map[string]string{"no token": "", "the other stack's token": "Bearer " + token(t, a, "alice")} {
		req, err := http.NewRequest(http.MethodPost, b.URL("result")+"/", strings.NewReader(`{"MerchantBizId":"x1"}`))
		require.NoError(t, err)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, name)
	}
}

func TestAPortInUseStopsTheStartNamingIt(t *testing.T) {
	dir := binDir(t)
	base := freeBase(t)
	zhima, _ := registry.Lookup("zhima-init")
	taken := "127.0.0.1:" + strconv.Itoa(base+zhima.PortOffset)
	l, err := net.Listen("tcp", taken)
	require.NoError(t, err)
	defer l.Close()

	out := &testproc.Buffer{}
	began := time.Now()
	s, err := devstack.Start(devstack.Config{Base: base, BinDir: dir, Out: out})
	require.Error(t, err)
	assert.Nil(t, s)
	assert.Less(t, time.Since(began), 10*time.Second)
	assert.Contains(t, err.Error(), "zhima-init")
	assert.Contains(t, err.Error(), taken)
	assert.NotContains(t, out.String(), "Stack is up")
	// What had started before it was stopped: its ports are free again.
	ekyc, _ := registry.Lookup("ekyc-init")
	l2, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+ekyc.PortOffset))
	require.NoError(t, err, "ekyc-init was left running")
	l2.Close()
}

func TestAProcessThatStopsLaterEndsTheStack(t *testing.T) {
	s, _ := startStack(t, binDir(t))
	// The emulator's control API cannot kill it; a function that stops
	// on its own is simulated by a signal to the process on its port.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, devstack.KillForTest(s, "otp-init"))
	err := s.Wait(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "otp-init")
}
