package e2e

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/internal/registry"
	"github.com/idverify/fc-kyc/pkg/testproc"
)

// BadStart is a configuration a function must refuse to start with.
type BadStart struct {
	Name string   // the subtest's
	Env  []string // the function's whole environment (see StartFails)
	Want string   // what the refusal must say
}

// RefusesToStart runs the built function name once per case (StartFails):
// each must stop without serving, and its output contain the case's Want.
func RefusesToStart(t *testing.T, name string, cases ...BadStart) {
	t.Helper()
	Skip(t)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			assert.Contains(t, StartFails(t, name, c.Env...), c.Want)
		})
	}
}

// StartFails runs the built function name (as internal/registry lists it)
// once with env and nothing else (no AUTH_MODE, no store) but a loopback
// port of its own choosing, so that a function which serves when it should
// not takes no port another test needs; env comes after and may set
// another. It fails t unless the function stopped with an error, and
// returns what it printed.
func StartFails(t testing.TB, name string, env ...string) string {
	t.Helper()
	f, ok := registry.Lookup(name)
	if !ok {
		t.Fatalf("e2e.StartFails(%q): no such function in internal/registry", name)
	}
	out, err := testproc.RunOnce(testproc.Build(t, f.Package()),
		append([]string{"FC_CUSTOM_LISTEN_PORT=0", "LISTEN_HOST=127.0.0.1"}, env...)...)
	require.Error(t, err, "%s must not start: %s", name, out)
	return out
}
