package e2e_test

import (
	"errors"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/idverify/fc-kyc/internal/e2e"
	"github.com/idverify/fc-kyc/pkg/apierr"
)

func TestRefused(t *testing.T) {
	e2e.Refused(t, apierr.Invalid("DocType", "must be 8 digits"), apierr.InvalidParameter, "DocType")

	for name, err := range map[string]error{
		"no error":        nil,
		"another code":    apierr.Missing("DocType"),
		"another param":   apierr.Invalid("MetaInfo", "must be an object"),
		"not a 400":       &apierr.Error{Code: apierr.InvalidParameter, Message: `"DocType" is wrong`, HTTPStatus: 502},
		"not an apierror": errors.New(`"DocType" is wrong`),
	} {
		assert.True(t, fails(t, func(tb testing.TB) { e2e.Refused(tb, err, apierr.InvalidParameter, "DocType") }), name)
	}
}

func TestChecked(t *testing.T) {
	bad := apierr.Invalid("DocType", "must be 8 digits")
	assert.True(t, e2e.Checked(t, nil, 1, "", ""), "passed")
	assert.False(t, e2e.Checked(t, bad, 0, apierr.InvalidParameter, "DocType"), "refused")
	for name, c := range map[string]struct {
		err   error
		calls int
		code  string
	}{
		"passed with an error":            {bad, 1, ""},
		"passed without an upstream call": {nil, 0, ""},
		"passed with two calls":           {nil, 2, ""},
		"refused without an error":        {nil, 0, apierr.InvalidParameter},
		"refused after an upstream call":  {bad, 1, apierr.InvalidParameter},
	} {
		assert.True(t, fails(t, func(tb testing.TB) { e2e.Checked(tb, c.err, c.calls, c.code, "DocType") }), name)
	}
}

// fails says whether check fails the test it is given.
func fails(t *testing.T, check func(testing.TB)) bool {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		check(r)
	}()
	<-done
	return r.failed
}

// recorder is a testing.TB that notes failures instead of failing.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Error(args ...any)     { r.failed = true }
func (r *recorder) Fatalf(string, ...any) { r.failed = true; runtime.Goexit() }
func (r *recorder) FailNow()              { r.failed = true; runtime.Goexit() }
func (r *recorder) Fail()                 { r.failed = true }
