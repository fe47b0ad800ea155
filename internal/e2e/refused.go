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

// Checked checks an operation's answer to one case of a table of requests,
// given its error and the upstream calls it made: a request with code ""
// passes the checks (no error) and costs one call; any other is Refused
// with code, naming param, and costs none. It says whether the request
// passed, for the case's own checks of the answer.
func Checked(t testing.TB, err error, upstreamCalls int, code, param string) (passed bool) {
	t.Helper()
	if code == "" {
		require.NoError(t, err)
		assert.Equal(t, 1, upstreamCalls, "upstream calls")
		return true
	}
	Refused(t, err, code, param)
	assert.Zero(t, upstreamCalls, "a bad request costs no upstream call")
	return false
}
