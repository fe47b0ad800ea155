package e2e

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// Pending is a request sent in the background, whose caller may hang up
// before the answer.
type Pending struct {
	done   chan error
	hangUp context.CancelFunc
}

// Send POSTs body (JSON, unless headers say otherwise) to url in the
// background, for a test of a client that gives up: see Pending.
func Send(t testing.TB, url string, headers map[string]string, body []byte) *Pending {
	t.Helper()
	ctx, hangUp := context.WithCancel(context.Background())
	t.Cleanup(hangUp)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	p := &Pending{done: make(chan error, 1), hangUp: hangUp}
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
		}
		p.done <- err
	}()
	return p
}

// Done receives how the call ended (nil: answered) once it has.
func (p *Pending) Done() <-chan error { return p.done }

// HangUp goes away before the answer, as a client that gives up does, and
// returns how the call ended (context.Canceled when it was still waiting).
func (p *Pending) HangUp() error {
	p.hangUp()
	return <-p.done
}
