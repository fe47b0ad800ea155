package e2e

import (
	"context"
	"net/http"
	"testing"
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
	req := newRequest(t, http.MethodPost, url, headers, body).WithContext(ctx)
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
