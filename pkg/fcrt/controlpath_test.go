package fcrt

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/idverify/fc-kyc/internal/e2e"
)

// Off FC nothing stops a client from sending x-fc-control-path: a server
// that does not trust it serves every request, whatever its headers and
// path, as an HTTP request (where the function's authentication applies),
// and never runs the lifecycle hooks for one.
func TestControlPathIsNotTrustedOffFC(t *testing.T) {
	var preStops atomic.Int32
	f := viaFunction()
	f.PreStop = func(context.Context) error { preStops.Add(1); return nil }
	for _, trusted := range []bool{false, true} {
		o, _ := testOptions()
		o.TrustControlPath = trusted
		url := server(t, f, o)
		via := func(method, path, control string) string {
			var header map[string]string
			if control != "" {
				header = map[string]string{headerControlPath: control}
			}
			if via := e2e.Do(t, method, url+path, header, `{"a":1}`).Str("via"); via != "" {
				return via
			}
			return "hook"
		}
		before := preStops.Load()
		if !trusted {
			assert.Equal(t, "http", via(http.MethodPost, "/invoke", "/invoke"), "an event from a client")
			assert.Equal(t, "http", via(http.MethodPost, "/", "/invoke"))
			assert.Equal(t, "http", via(http.MethodPost, "/initialize", "/initialize"))
			assert.Equal(t, "http", via(http.MethodGet, "/pre-stop", "/pre-stop"))
			assert.Equal(t, "http", via(http.MethodGet, "/pre-stop", ""))
			assert.Equal(t, before, preStops.Load(), "no client runs the pre-stop hook")
		} else {
			assert.Equal(t, "event", via(http.MethodPost, "/invoke", "/invoke"))
			assert.Equal(t, "hook", via(http.MethodGet, "/pre-stop", "/pre-stop"))
			assert.Equal(t, before+1, preStops.Load())
			assert.Equal(t, "http", via(http.MethodPost, "/", "/http-invoke"))
		}
	}
}
