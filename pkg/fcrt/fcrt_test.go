package fcrt

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestListenAddr(t *testing.T) {
	tests := []struct {
		name, custom, server string
		host                 string
		want                 string
		errNames             string // the variable the error must name
	}{
		{name: "default", want: "0.0.0.0:9000"},
		{name: "custom port wins", custom: "9100", server: "9200", want: "0.0.0.0:9100"},
		{name: "older name", server: "9200", want: "0.0.0.0:9200"},
		{name: "custom port not a number", custom: "abc", server: "9200", errNames: "FC_CUSTOM_LISTEN_PORT"},
		{name: "custom port out of range", custom: "70000", errNames: "FC_CUSTOM_LISTEN_PORT"},
		{name: "port zero: any free port", custom: "0", want: "0.0.0.0:0"},
		{name: "signed port", custom: "+80", errNames: "FC_CUSTOM_LISTEN_PORT"},
		{name: "older name negative", server: "-1", errNames: "FC_SERVER_PORT"},
		{name: "loopback for local runs", host: "127.0.0.1", custom: "9100", want: "127.0.0.1:9100"},
		{name: "IPv6 loopback", host: "::1", want: "[::1]:9000"},
		{name: "host not an address", host: "example.com", errNames: "LISTEN_HOST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("FC_CUSTOM_LISTEN_PORT", tt.custom)
			t.Setenv("FC_SERVER_PORT", tt.server)
			t.Setenv("LISTEN_HOST", tt.host)
			got, err := ListenAddr()
			if failedNaming(t, err, tt.errNames) {
				return
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

// OptionsFromEnv reads the timeout, the log level and whether the control
// path is trusted (on FC, or by TRUST_CONTROL_PATH) from the environment.
func TestOptionsFromEnv(t *testing.T) {
	tests := []struct {
		name, timeout, level string
		onFC, trust          string // FC_FUNCTION_NAME, TRUST_CONTROL_PATH
		want                 time.Duration
		debug                bool
		trusted              bool
		errNames             string
	}{
		{name: "defaults", want: 10 * time.Second},
		{name: "timeout and level", timeout: "30", level: "debug", want: 30 * time.Second, debug: true},
		{name: "FC's longest timeout", timeout: "86400", want: 24 * time.Hour},
		{name: "zero", timeout: "0", errNames: "FUNCTION_TIMEOUT_S"},
		{name: "negative", timeout: "-5", errNames: "FUNCTION_TIMEOUT_S"},
		{name: "fraction", timeout: "1.5", errNames: "FUNCTION_TIMEOUT_S"},
		{name: "with unit", timeout: "10s", errNames: "FUNCTION_TIMEOUT_S"},
		{name: "over FC's limit", timeout: "86401", errNames: "FUNCTION_TIMEOUT_S"},
		{name: "bad level", level: "verbose", errNames: "LOG_LEVEL"},

		{name: "on FC: the control path is trusted", onFC: "ekyc-init", want: 10 * time.Second, trusted: true},
		{name: "off FC, trusted by the setting", trust: "true", want: 10 * time.Second, trusted: true},
		{name: "off FC, setting false", trust: "false", want: 10 * time.Second},
		{name: "on FC, setting false: FC's header is FC's", onFC: "ekyc-init", trust: "false", want: 10 * time.Second, trusted: true},
		{name: "bad trust setting", trust: "trust", errNames: "TRUST_CONTROL_PATH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("FUNCTION_TIMEOUT_S", tt.timeout)
			t.Setenv("LOG_LEVEL", tt.level)
			t.Setenv(onFCVar, tt.onFC)
			t.Setenv("TRUST_CONTROL_PATH", tt.trust)
			o, err := OptionsFromEnv()
			if failedNaming(t, err, tt.errNames) {
				return
			}
			assert.Equal(t, tt.want, o.Timeout)
			assert.Equal(t, int64(1<<20), o.MaxEventBytes)
			require.NotNil(t, o.Logger)
			assert.Equal(t, tt.debug, o.Logger.Enabled(context.Background(), slog.LevelDebug))
			assert.Equal(t, tt.trusted, o.TrustControlPath)
		})
	}
}

// failedNaming checks err against a case that expects a failure naming the
// variable names ("" for success), and says whether it was such a failure:
// the case then has nothing more to check.
func failedNaming(t *testing.T, err error, names string) bool {
	t.Helper()
	if names != "" {
		require.Error(t, err)
		assert.Contains(t, err.Error(), names)
		return true
	}
	require.NoError(t, err)
	return false
}

func TestBudget(t *testing.T) {
	tests := []struct{ timeout, want time.Duration }{
		{time.Second, 900 * time.Millisecond},
		{2 * time.Second, 1800 * time.Millisecond},
		{5 * time.Second, 4500 * time.Millisecond},
		{10 * time.Second, 9500 * time.Millisecond},
		{time.Minute, time.Minute - 500*time.Millisecond},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, budget(tt.timeout), "timeout %v", tt.timeout)
	}
}
