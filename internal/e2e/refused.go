package e2e

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/apierr"
)

// Refused checks that err, an operation's answer to a bad request,
// refuses it with 400 and code, and names param in its message. For the
// handler tests' tables of requests.
func Refused(t testing.TB, err error, code, param string) {
	t.Helper()
	require.Error(t, err)
	assert.Equal(t, code, apierr.As(err).Code)
	assert.Equal(t, 400, apierr.Status(err))
	assert.Contains(t, err.Error(), `"`+param+`"`)
}
