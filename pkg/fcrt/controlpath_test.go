package fcrt

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
		srv := httptest.NewServer(Handler(f, o))
		t.Cleanup(srv.Close)
		via := func(method, path, control string) string {
			req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(`{"a":1}`))
			require.NoError(t, err)
			if control != "" {
				req.Header.Set(headerControlPath, control)
			}
			res, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			var got struct{ Via string }
			_ = json.Unmarshal(b, &got)
			if got.Via == "" {
				return "hook"
			}
			return got.Via
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

func TestTrustControlPathFromEnv(t *testing.T) {
	tests := []struct {
		name, onFC, setting string
		want                bool
		errNames            string
	}{
		{name: "off FC, no setting", want: false},
		{name: "on FC", onFC: "ekyc-init", want: true},
		{name: "off FC, trusted by the setting", setting: "true", want: true},
		{name: "off FC, setting false", setting: "false", want: false},
		{name: "on FC, setting false: FC's header is FC's", onFC: "ekyc-init", setting: "false", want: true},
		{name: "bad setting", setting: "trust", errNames: "TRUST_CONTROL_PATH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("FUNCTION_TIMEOUT_S", "")
			t.Setenv("LOG_LEVEL", "")
			t.Setenv(onFCVar, tt.onFC)
			t.Setenv("TRUST_CONTROL_PATH", tt.setting)
			o, err := OptionsFromEnv()
			if tt.errNames != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.errNames)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, o.TrustControlPath)
		})
	}
}
