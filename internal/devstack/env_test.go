package devstack

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/internal/registry"
	"github.com/idverify/fc-kyc/pkg/emulator"
)

// Each function's client of its registry upstream points at the stack's
// emulator; the callback's Alipay client too, for Zhima returns.
func TestProcessesPointClientsAtTheEmulator(t *testing.T) {
	s := &Stack{cfg: Config{Base: DefaultBase, ReconcileAfter: defaultReconcileAfter}, storeDir: t.TempDir()}
	procs := s.processes("webhook-secret")
	require.Len(t, procs, 1+len(registry.Functions))
	assert.Equal(t, "emulator", procs[0].name)
	assert.Contains(t, procs[0].env, "EMULATOR_ADDR="+s.Addr(emulatorOffset))
	emu := s.URL("emulator")
	for i, f := range registry.Functions {
		p := procs[i+1]
		require.Equal(t, f.Name, p.name)
		assert.Contains(t, p.env, "STORE_URL=file://"+s.storeDir, f.Name)
		if f.Upstream == registry.None {
			assert.False(t, slices.ContainsFunc(p.env, func(kv string) bool {
				return strings.HasPrefix(kv, "CLOUDAUTH_") || strings.HasPrefix(kv, "ALIPAY_") || strings.HasPrefix(kv, "ANTOM_")
			}), "%s calls no upstream", f.Name)
			continue
		}
		assert.Subset(t, p.env, emulator.ClientEnv(emulator.Upstream(f.Upstream), emu), f.Name)
	}
	callback := procs[slices.IndexFunc(procs, func(p procSpec) bool { return p.name == "callback" })]
	assert.Subset(t, callback.env, emulator.ClientEnv(emulator.Alipay, emu))
	assert.Contains(t, callback.env, "ZHIMA_RETURN_URL="+s.URL("callback")+"/zhima/return")
}

// The functions' ports stay clear of the stack's own (demo page, results
// receiver, emulator): a seventh function needs those moved first.
func TestFunctionPortsAreBelowTheStacksOwn(t *testing.T) {
	for _, f := range registry.Functions {
		assert.Less(t, f.PortOffset, min(demoOffset, resultsOffset, emulatorOffset), "%s's port offset", f.Name)
	}
}
