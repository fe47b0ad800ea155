package e2e

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/apierr"
)

// Edit is a copy of body with changes, given as key, value pairs; a nil
// value deletes its key: Edit(valid(), "DocType", "123", "MetaInfo", nil).
// For the suites' and the handler tests' requests; an odd kv panics.
func Edit(body map[string]any, kv ...any) map[string]any {
	m := make(map[string]any, len(body)+len(kv)/2)
	for k, v := range body {
		m[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		k := kv[i].(string)
		if kv[i+1] == nil {
			delete(m, k)
		} else {
			m[k] = kv[i+1]
		}
	}
	return m
}

// Decode is body, encoded as JSON, decoded into a T: the Request an
// operation gets from a caller who sent body.
func Decode[T any](t testing.TB, body any) T {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	var r T
	require.NoError(t, json.Unmarshal(b, &r))
	return r
}

// Refused checks that err refuses a request with 400 and code, and names
// param in its message.
func Refused(t testing.TB, err error, code, param string) {
	t.Helper()
	require.Error(t, err)
	assert.Equal(t, code, apierr.As(err).Code)
	assert.Equal(t, 400, apierr.Status(err))
	assert.Contains(t, err.Error(), `"`+param+`"`)
}
