package e2e_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/idverify/fc-kyc/internal/e2e"
)

func TestStartFails(t *testing.T) {
	e2e.Skip(t)
	assert.Contains(t, e2e.StartFails(t, "result"), "AUTH_MODE is required")
	e2e.RefusesToStart(t, "result",
		e2e.BadStart{Name: "a bad port, which the env may set", Env: []string{"AUTH_MODE=none", "FC_CUSTOM_LISTEN_PORT=http"}, Want: "FC_CUSTOM_LISTEN_PORT"})
}
