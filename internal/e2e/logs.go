package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/testproc"
)

// Logs is what p has printed so far, which must not be empty and must be
// JSON lines: a suite's last check looks in it for what must never be
// logged.
func Logs(t testing.TB, p *testproc.Proc) string {
	t.Helper()
	out := p.Output()
	require.NotEmpty(t, out)
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		assert.NoError(t, json.Unmarshal([]byte(line), &m), "every log line is JSON: %s", line)
	}
	return out
}
