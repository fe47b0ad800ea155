package fcrt

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestServeShutsDownGracefully(t *testing.T) {
	started := make(chan struct{})
	release := make(chan struct{})
	f := Function{
		Name: "slow",
		HTTP: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			close(started)
			<-release
			_, _ = io.WriteString(w, "finished")
		}),
		Event: viaFunction().Event,
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	o, _ := testOptions()
	o.Timeout = 5 * time.Second

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, l, f, o) }()

	type result struct {
		status int
		body   string
		err    error
	}
	answered := make(chan result, 1)
	go func() {
		resp, err := http.Post("http://"+addr+"/", "application/json", strings.NewReader(`{}`))
		if err != nil {
			answered <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		answered <- result{resp.StatusCode, string(b), err}
	}()
	<-started
	cancel()

	require.Eventually(t, func() bool {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			_ = c.Close()
		}
		return err != nil
	}, 2*time.Second, 10*time.Millisecond, "new connections are still accepted after shutdown began")
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v before the request in flight finished", err)
	default:
	}

	close(release)
	r := <-answered
	require.NoError(t, r.err)
	assert.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "finished", r.body)
	select {
	case err := <-served:
		assert.NoError(t, err)
	case <-time.After(2 * time.Second):
		t.Fatal("Serve did not return after its last request")
	}
}

func TestServeReportsAListenerFailure(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	require.NoError(t, l.Close())
	o, _ := testOptions()
	err = Serve(context.Background(), l, viaFunction(), o)
	assert.Error(t, err)
}

func TestRunStartFailures(t *testing.T) {
	built := func() (Function, error) { return viaFunction(), nil }
	tests := []struct {
		name, timeout, port string
		build               func() (Function, error)
		says                string
	}{
		{"bad timeout", "soon", "9000", built, "FUNCTION_TIMEOUT_S"},
		{"bad port", "10", "http", built, "FC_CUSTOM_LISTEN_PORT"},
		{"bad configuration", "10", "9000", func() (Function, error) {
			return Function{}, errors.New("ALIPAY_APP_ID is required")
		}, "ALIPAY_APP_ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("FUNCTION_TIMEOUT_S", tt.timeout)
			t.Setenv("FC_CUSTOM_LISTEN_PORT", tt.port)
			t.Setenv("LOG_LEVEL", "error")
			err := run(tt.build)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.says)
		})
	}
}

// run serves on all interfaces at the configured port until a signal.
func TestRunServesUntilSignalled(t *testing.T) {
	port := freePort(t)
	defer slog.SetDefault(slog.Default())

	done := make(chan error, 1)
	go func() { done <- run(func() (Function, error) { return viaFunction(), nil }) }()
	var status int
	require.Eventually(t, func() bool {
		var err error
		status, err = postTo(port)
		return err == nil
	}, 5*time.Second, 20*time.Millisecond)
	assert.Equal(t, http.StatusOK, status)
	interrupt(t, done)
}

// interrupt sends the test process SIGINT and waits for run, which has
// answered a request and so is past signal.NotifyContext, to stop on it
// (rather than the test) with no error.
func interrupt(t *testing.T, done <-chan error) {
	t.Helper()
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGINT))
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("run did not stop on SIGINT")
	}
}

// freePort sets FC_CUSTOM_LISTEN_PORT to a port nothing listens on and
// returns it.
func freePort(t *testing.T) string {
	t.Helper()
	free, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := strconv.Itoa(free.Addr().(*net.TCPAddr).Port)
	require.NoError(t, free.Close())
	t.Setenv("FC_CUSTOM_LISTEN_PORT", port)
	t.Setenv("FUNCTION_TIMEOUT_S", "")
	t.Setenv("LOG_LEVEL", "error")
	return port
}

// postTo sends one request to port and returns its status, or the error.
func postTo(port string) (int, error) {
	resp, err := http.Post("http://127.0.0.1:"+port+"/", "application/json", strings.NewReader(`{}`))
	if err != nil {
		return 0, err
	}
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// serve runs Serve for f on a loopback port of its own until the test
// ends, and returns its address.
func serve(t *testing.T, f Function, o Options) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, l, f, o) }()
	t.Cleanup(func() { cancel(); <-served })
	return l.Addr().String()
}

// Ready runs while the port opens: a request that comes before it is done
// waits, and is answered only if it succeeds.
func TestRunServesOnlyOnceReady(t *testing.T) {
	defer slog.SetDefault(slog.Default())
	for _, tc := range []struct {
		name    string
		ready   error
		answers bool
	}{
		{"ready fails: the start stops, the waiting request gets no answer", errors.New("STORE_URL=\"redis://h:6379/0\": cannot reach redis"), false},
		{"ready succeeds: the waiting request is served", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port := freePort(t)
			release := make(chan struct{})
			done := make(chan error, 1)
			go func() {
				done <- run(func() (Function, error) {
					f := viaFunction()
					f.Ready = func() error { <-release; return tc.ready }
					return f, nil
				})
			}()
			require.Eventually(t, func() bool {
				c, err := net.Dial("tcp", "127.0.0.1:"+port)
				if err == nil {
					c.Close()
				}
				return err == nil
			}, 5*time.Second, 5*time.Millisecond, "the port opens before Ready is done")
			// The request is sent whole before Ready is released: it waits
			// in the accept queue.
			c, err := net.Dial("tcp", "127.0.0.1:"+port)
			require.NoError(t, err)
			defer c.Close()
			_, err = io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
			require.NoError(t, err)
			require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
			close(release)
			res, readErr := http.ReadResponse(bufio.NewReader(c), nil)
			if !tc.answers {
				err := <-done
				require.Error(t, err)
				assert.Contains(t, err.Error(), "STORE_URL")
				assert.Error(t, readErr, "no answer without Ready")
				_, err = postTo(port)
				assert.Error(t, err, "the port is closed")
				return
			}
			require.NoError(t, readErr, "the waiting request is answered")
			res.Body.Close()
			assert.Equal(t, http.StatusOK, res.StatusCode)
			interrupt(t, done)
		})
	}
}
