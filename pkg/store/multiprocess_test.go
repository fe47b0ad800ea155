package store_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/store"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

const (
	helperDirEnv  = "STORE_TEST_HELPER_DIR"
	helperGoEnv   = "STORE_TEST_HELPER_GO"
	helperNameEnv = "STORE_TEST_HELPER_NAME"

	helperGoroutines = 4  // Finish callers and Hit callers per process
	helperHits       = 10 // Hits per goroutine
)

// Several processes on one directory, as ekyc-init and callback under the
// local stack or instances on a NAS mount: racing Finish on one transaction,
// exactly one records; racing Hit on one key, every count is handed out
// once. The processes are this test binary run again as
// TestFileHelperProcess.
func TestFileMultiProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	const procs = 6
	ctx := context.Background()
	dir := t.TempDir()
	s, err := store.NewFile(dir, store.Options{})
	require.NoError(t, err)
	require.NoError(t, s.Create(ctx, store.Transaction{TransactionID: "tx-shared", MerchantBizID: "b"}))

	barrier := filepath.Join(t.TempDir(), "go")
	var cmds []*exec.Cmd
	var outs []*testproc.Buffer
	for i := range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^TestFileHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), helperDirEnv+"="+dir, helperGoEnv+"="+barrier, fmt.Sprintf("%s=p%d", helperNameEnv, i))
		out := &testproc.Buffer{}
		cmd.Stdout, cmd.Stderr = out, out
		require.NoError(t, cmd.Start())
		cmds, outs = append(cmds, cmd), append(outs, out)
	}
	// Once every process has opened the store and waits at the barrier, go.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		ready := 0
		for _, out := range outs {
			if strings.Contains(out.String(), "ready\n") {
				ready++
			}
		}
		if ready == procs {
			break
		}
		require.True(t, time.Now().Before(deadline), "%d of %d helpers ready", ready, procs)
	}
	require.NoError(t, os.WriteFile(barrier, nil, 0o600))

	var winners []string
	counts := map[int64]int{}
	for i, cmd := range cmds {
		require.NoError(t, cmd.Wait(), "helper %d:\n%s", i, outs[i])
		for _, line := range strings.Split(outs[i].String(), "\n") {
			switch f := strings.Fields(line); {
			case len(f) == 2 && f[0] == "recorded":
				winners = append(winners, f[1])
			case len(f) == 2 && f[0] == "hit":
				n, err := strconv.ParseInt(f[1], 10, 64)
				require.NoError(t, err)
				counts[n]++
			}
		}
	}
	require.Len(t, winners, 1, "exactly one of %d processes x %d goroutines records", procs, helperGoroutines)
	got, err := s.Get(ctx, "tx-shared")
	require.NoError(t, err)
	assert.Equal(t, winners[0], got.Result.EventID)

	total := procs * helperGoroutines * helperHits
	require.Len(t, counts, total, "every count handed out")
	for n := int64(1); n <= int64(total); n++ {
		assert.Equal(t, 1, counts[n], "count %d handed out once", n)
	}
}

// TestFileHelperProcess is one of TestFileMultiProcess's processes; run
// directly, it does nothing.
func TestFileHelperProcess(t *testing.T) {
	dir := os.Getenv(helperDirEnv)
	if dir == "" {
		t.Skip("helper of TestFileMultiProcess")
	}
	name := os.Getenv(helperNameEnv)
	s, err := store.NewFile(dir, store.Options{})
	require.NoError(t, err)
	fmt.Println("ready")
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, err := os.Stat(os.Getenv(helperGoEnv)); err == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "no go signal")
	}
	ctx := context.Background()
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		out strings.Builder
	)
	for g := range helperGoroutines {
		wg.Add(2)
		go func() {
			defer wg.Done()
			ev := fmt.Sprintf("%s-g%d", name, g)
			recorded, err := s.Finish(ctx, "tx-shared", store.Passed, store.Result{EventID: ev, Passed: "Y"})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				fmt.Fprintf(&out, "error %v\n", err)
			} else if recorded {
				fmt.Fprintf(&out, "recorded %s\n", ev)
			}
		}()
		go func() {
			defer wg.Done()
			for range helperHits {
				n, _, err := s.Hit(ctx, "shared-key", 100*365*24*time.Hour) // one window for the whole test
				mu.Lock()
				if err != nil {
					fmt.Fprintf(&out, "error %v\n", err)
				} else {
					fmt.Fprintf(&out, "hit %d\n", n)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	fmt.Print(out.String())
	require.NotContains(t, out.String(), "error")
}
