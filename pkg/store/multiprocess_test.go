package store_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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

	helperGoroutines = 4  // Finish callers and Admit callers per process
	helperAdmits     = 10 // Admits per goroutine
	// helperBurst is the burst of the cell the helpers race for, under
	// their number of Admits: exactly that many are admitted.
	helperBurst = 100
)

// Several processes on one directory, as ekyc-init and callback under the
// local stack or instances on a NAS mount: racing Finish on one transaction,
// exactly one records; racing Admit on one cell, exactly its burst is
// admitted. The processes are this test binary run again as
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
	admitted := 0
	for i, cmd := range cmds {
		require.NoError(t, cmd.Wait(), "helper %d:\n%s", i, outs[i])
		for _, line := range strings.Split(outs[i].String(), "\n") {
			switch f := strings.Fields(line); {
			case len(f) == 2 && f[0] == "recorded":
				winners = append(winners, f[1])
			case len(f) == 1 && f[0] == "admitted":
				admitted++
			}
		}
	}
	require.Len(t, winners, 1, "exactly one of %d processes x %d goroutines records", procs, helperGoroutines)
	got, err := s.Get(ctx, "tx-shared")
	require.NoError(t, err)
	assert.Equal(t, winners[0], got.Result.EventID)

	assert.Equal(t, helperBurst, admitted, "%d Admits of %d processes on one cell of burst %d",
		procs*helperGoroutines*helperAdmits, procs, helperBurst)
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
			// A slot an hour: none comes back during the test.
			cell := store.Cell{Key: "shared-key", Every: time.Hour, Burst: helperBurst}
			for range helperAdmits {
				a, err := s.Admit(ctx, "g", []store.Cell{cell})
				mu.Lock()
				if err != nil {
					fmt.Fprintf(&out, "error %v\n", err)
				} else if a.OK {
					fmt.Fprintln(&out, "admitted")
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	fmt.Print(out.String())
	require.NotContains(t, out.String(), "error")
}
