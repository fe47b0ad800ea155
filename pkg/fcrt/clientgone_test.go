package fcrt

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/internal/e2e"
	"github.com/idverify/fc-kyc/pkg/apierr"
)

// lineWriter hands each log line to the test as it is written.
type lineWriter chan string

func (l lineWriter) Write(p []byte) (int, error) {
	for _, s := range strings.Split(strings.TrimSpace(string(p)), "\n") {
		l <- s
	}
	return len(p), nil
}

// untilInvocation reads log lines up to the invocation's own, and returns
// them decoded.
func untilInvocation(t *testing.T, lines lineWriter) []map[string]any {
	t.Helper()
	var out []map[string]any
	for {
		select {
		case l := <-lines:
			var m map[string]any
			require.NoError(t, json.Unmarshal([]byte(l), &m), "log line %q", l)
			out = append(out, m)
			if m["msg"] == "invocation" {
				return out
			}
		case <-time.After(time.Minute): // a hang guard, not a measurement
			t.Fatal("no invocation line was logged")
		}
	}
}

// TestClientHangUpIsLoggedAs499 serves a function whose upstream call ends
// with the request's context, as the real ones do (a 504 UpstreamTimeout or
// a 503 when their wait is cut short), over a real server, to a client that
// hangs up while it runs: the one line logged is INFO with status 499.
func TestClientHangUpIsLoggedAs499(t *testing.T) {
	for _, kind := range []struct {
		name   string
		header map[string]string
		status int
	}{{"http", nil, http.StatusGatewayTimeout}, {"http 503", nil, http.StatusServiceUnavailable}, {"invoke", invokeHeader, http.StatusGatewayTimeout}} {
		t.Run(kind.name, func(t *testing.T) {
			entered := make(chan struct{})
			upstream := func(ctx context.Context) error {
				close(entered)
				<-ctx.Done()
				if kind.status == http.StatusServiceUnavailable {
					return &apierr.Error{Code: apierr.InternalError, HTTPStatus: http.StatusServiceUnavailable, Message: "No slot came in time.", Err: ctx.Err()}
				}
				return &apierr.Error{Code: apierr.UpstreamTimeout, Message: "ID Verification did not answer within the function's deadline.", Err: ctx.Err()}
			}
			f := Function{
				Name: "gone",
				HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					// As the real handlers do: the body is read first (and
					// net/http notices a hang-up only once it has been).
					_, _ = io.ReadAll(r.Body)
					err := upstream(r.Context())
					noteFailure(r.Context(), err)
					apierr.Write(w, r, err)
				}),
				Event: func(ctx context.Context, _ Event) (any, error) { return nil, upstream(ctx) },
			}
			lines := make(lineWriter, 16)
			o := Options{Logger: slog.New(slog.NewJSONHandler(lines, nil)), TrustControlPath: true}
			url := server(t, f, o)

			ctx, hangUp := context.WithCancel(context.Background())
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/", strings.NewReader(`{}`))
			require.NoError(t, err)
			for k, v := range kind.header {
				req.Header.Set(k, v)
			}
			done := make(chan error, 1)
			go func() {
				res, err := http.DefaultClient.Do(req)
				if err == nil {
					res.Body.Close()
				}
				done <- err
			}()
			<-entered
			hangUp()
			assert.True(t, errors.Is(<-done, context.Canceled), "the client went away before an answer")

			logged := untilInvocation(t, lines)
			inv := logged[len(logged)-1]
			assert.Equal(t, "INFO", inv["level"], "a client that went away is no fault of the function")
			assert.EqualValues(t, 499, inv["status"])
			for _, l := range logged {
				assert.NotEqual(t, "ERROR", l["level"], "no line at ERROR: %v", l)
			}
			select {
			case l := <-lines:
				t.Fatalf("more than one line for the invocation: %s", l)
			default:
			}
		})
	}
}

// TestDeadlineIsStillAnError: the function's own deadline passing is its
// failure, logged at ERROR with the status it answered, whoever waits.
func TestDeadlineIsStillAnError(t *testing.T) {
	f := Function{
		Name: "slow",
		HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
			err := &apierr.Error{Code: apierr.UpstreamTimeout, Message: "ID Verification did not answer within the function's deadline.", Err: r.Context().Err()}
			noteFailure(r.Context(), err)
			apierr.Write(w, r, err)
		}),
		Event: viaFunction().Event,
	}
	lines := make(lineWriter, 16)
	o := Options{Logger: slog.New(slog.NewJSONHandler(lines, nil)), Timeout: time.Second}
	assert.Equal(t, http.StatusGatewayTimeout, e2e.Post(t, server(t, f, o)+"/", nil, `{}`).Status)
	logged := untilInvocation(t, lines)
	inv := logged[len(logged)-1]
	assert.Equal(t, "ERROR", inv["level"])
	assert.EqualValues(t, http.StatusGatewayTimeout, inv["status"])
}
