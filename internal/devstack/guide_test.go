package devstack

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// The guide says what the timer does with the stack's own settings: every
// -timer, or not at all when it is negative.
func TestGuideSaysWhatTheTimerDoes(t *testing.T) {
	s := &Stack{cfg: Config{Base: DefaultBase, Timer: 2 * time.Second, ReconcileAfter: 30 * time.Second}}
	g := s.Guide()
	assert.Contains(t, g, "the callback's timer runs every 2s (RECONCILE_AFTER=30s)")
	assert.Contains(t, g, "the timer records it within about 32s.")

	s.cfg.Timer = -1
	g = s.Guide()
	assert.Contains(t, g, "the callback's timer does not run (-timer is negative)")
	assert.Contains(t, g, "the timer does not run here: invoke it by hand (")
	assert.NotContains(t, g, "-1ns")
}
