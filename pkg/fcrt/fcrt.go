package fcrt

import (
	"context"
	"fmt"
	"github.com/idverify/fc-kyc/pkg/apierr"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/idverify/fc-kyc/pkg/logging"
)

// Function is one deployable function: its two entry points and its
// optional lifecycle hooks.
type Function struct {
	// Name tags every log line, so that the lines of the five functions can
	// be told apart in one log store.
	Name string
	// HTTP is the function's API: every request that is not an FC control
	// call (HTTP triggers, custom domains, local runs).
	HTTP http.Handler
	// ErrorShape, when set, is the body of every error the HTTP side
	// answers (through apierr.Write), from CORS and authentication to the
	// operation: a function that fronts the Alipay gateway or Antom answers
	// in that upstream's vocabulary. Nil is the common {RequestId,Code,
	// Message}. Event errors always keep the common shape.
	ErrorShape apierr.Shape
	// Event answers x-fc-control-path: /invoke (InvokeFunction, timers,
	// EventBridge).
	Event EventFunc
	// Init warms the function up: parse keys, build clients, open the store.
	// FC calls it through /initialize when an initializer hook is
	// configured. Otherwise the first invocation runs it, so local runs and a
	// deployment without the hook behave the same. It is retried until it
	// succeeds once, and never runs twice at the same time. Its ctx ends with
	// the invocation that runs it, so Init must not keep it.
	Init func(ctx context.Context) error
	// Ready, when set, is what must succeed before the first request is
	// served, such as the store answering (store.FromEnv). It runs while
	// the listener comes up; an error stops the start, and the connections
	// that came meanwhile are closed unanswered.
	Ready func() error
	// PreStop flushes what must not be lost before FC stops the instance.
	PreStop func(ctx context.Context) error
}

// Options tune the server. Zero fields take their defaults.
type Options struct {
	// Timeout is the function's timeout as configured on FC (10 s by
	// default). Invocations get a deadline slightly shorter than it. On
	// Lambda the platform's deadline is used instead (LambdaHandler).
	Timeout time.Duration
	// Logger receives the JSON log lines (slog.Default() by default).
	Logger *slog.Logger
	// MaxEventBytes limits an /invoke body (1 MiB by default).
	MaxEventBytes int64
}

const (
	defaultTimeout  = 10 * time.Second
	defaultMaxBytes = 1 << 20
	// maxTimeoutS is FC's own upper bound on a function's timeout.
	maxTimeoutS = 86400
)

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = defaultTimeout
	}
	if o.MaxEventBytes <= 0 {
		o.MaxEventBytes = defaultMaxBytes
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// budget is the deadline an invocation runs under: the timeout minus a
// margin (10 %, at most 500 ms) in which the function can still write its
// own error answer before the platform cuts it off.
func budget(timeout time.Duration) time.Duration {
	return timeout - min(timeout/10, 500*time.Millisecond)
}

// OptionsFromEnv reads FUNCTION_TIMEOUT_S (whole seconds, 1 to 86400,
// default 10) and LOG_LEVEL, and logs to stdout. A bad value is an error that
// names its variable, so the function stops at start, not at the first
// request.
func OptionsFromEnv() (Options, error) {
	o := Options{Timeout: defaultTimeout, MaxEventBytes: defaultMaxBytes}
	if s := os.Getenv("FUNCTION_TIMEOUT_S"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxTimeoutS {
			return Options{}, fmt.Errorf("FUNCTION_TIMEOUT_S=%q is not a whole number of seconds from 1 to %d", s, maxTimeoutS)
		}
		o.Timeout = time.Duration(n) * time.Second
	}
	l, err := logging.New(os.Stdout, os.Getenv("LOG_LEVEL"))
	if err != nil {
		return Options{}, err
	}
	o.Logger = l
	return o, nil
}

// ListenAddr is the address FC expects the server on: all interfaces (FC
// cannot reach a loopback listener) and the port from FC_CUSTOM_LISTEN_PORT,
// else FC_SERVER_PORT (the older name that local tooling still sets), else
// 9000. LISTEN_HOST replaces the host for local runs (the local stack sets
// 127.0.0.1, so nothing outside the machine reaches functions that run with
// AUTH_MODE=none); on FC leave it unset. Port 0 takes any free port, which
// the "listening" log line names: tests start functions that way, so that no
// two processes race for a port. A bad value is an error that names its
// variable.
func ListenAddr() (string, error) {
	host := os.Getenv("LISTEN_HOST")
	if host == "" {
		host = "0.0.0.0"
	} else if net.ParseIP(host) == nil && host != "localhost" {
		return "", fmt.Errorf("LISTEN_HOST=%q is not an IP address: give 127.0.0.1 for local runs, or leave it unset on FC (all interfaces)", host)
	}
	port := "9000"
	for _, name := range []string{"FC_CUSTOM_LISTEN_PORT", "FC_SERVER_PORT"} {
		s := os.Getenv(name)
		if s == "" {
			continue
		}
		n, err := strconv.ParseUint(s, 10, 16)
		if err != nil {
			return "", fmt.Errorf("%s=%q is not a port number from 0 to 65535", name, s)
		}
		port = strconv.FormatUint(n, 10)
		break
	}
	return net.JoinHostPort(host, port), nil
}
