package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// Remote drives an emulator in another process through its control API
// (control.go), with the same methods as the in-process Emulator, each
// returning the transport or control error as well.
type Remote struct {
	// BaseURL is the emulator's address, e.g. "http://127.0.0.1:8600".
	BaseURL string
	// Client is the HTTP client to use; nil means http.DefaultClient.
	Client *http.Client
}

// Transaction returns the transaction with id.
func (r *Remote) Transaction(id string) (Transaction, error) {
	return remoteGet[Transaction](r, "/_emulator/transactions/"+url.PathEscape(id))
}

// LastRequest returns the last accepted request for action.
func (r *Remote) LastRequest(action string) (Received, error) {
	return remoteGet[Received](r, "/_emulator/requests/"+url.PathEscape(action)+"/last")
}

// Stats returns the emulator's counters.
func (r *Remote) Stats() (Stats, error) {
	return remoteGet[Stats](r, "/_emulator/stats")
}

// Reset forgets all transactions, faults, seen nonces and counters.
func (r *Remote) Reset() error {
	return r.call(context.Background(), http.MethodPost, "/_emulator/reset", nil, nil)
}

// InjectFault is Emulator.InjectFault on the emulator process; a bad fault is an error, not a panic.
func (r *Remote) InjectFault(u Upstream, target string, f Fault) error {
	return r.call(context.Background(), http.MethodPost, "/_emulator/faults", map[string]any{
		"upstream": u, "target": target, "kind": f.Kind, "times": f.Times, "delay": f.Delay.String(),
	}, nil)
}

// ClearFaults removes every injected fault, of every upstream.
func (r *Remote) ClearFaults() error {
	return r.call(context.Background(), http.MethodDelete, "/_emulator/faults", nil, nil)
}

// Complete sets a transaction's result and, when callback is set, notifies
// its CallbackUrl; see Emulator.Complete.
func (r *Remote) Complete(ctx context.Context, transactionID, passed, subCode string, callback bool) error {
	return r.CompleteWithCallbacks(ctx, transactionID, passed, subCode, callbackCount(callback))
}

// CompleteWithCallbacks sets a transaction's result and notifies its
// CallbackUrl n times (0: never); see Emulator.CompleteWithCallbacks.
func (r *Remote) CompleteWithCallbacks(ctx context.Context, transactionID, passed, subCode string, n int) error {
	return r.call(ctx, http.MethodPost, "/_emulator/transactions/"+url.PathEscape(transactionID)+"/complete",
		map[string]any{"passed": passed, "subCode": subCode, "callbacks": n}, nil)
}

// remoteGet is a GET of path that decodes the 2xx answer into a T.
func remoteGet[T any](r *Remote, path string) (T, error) {
	var out T
	err := r.call(context.Background(), http.MethodGet, path, nil, &out)
	return out, err
}

// call sends in as JSON (when not nil) and decodes a 2xx answer into out
// (when not nil); any other answer becomes an error with the emulator's message.
func (r *Remote) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.BaseURL+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	client := r.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var e struct{ Error string }
		_ = json.Unmarshal(raw, &e)
		return fmt.Errorf("emulator %s %s: HTTP %d: %s", method, path, resp.StatusCode, e.Error)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}
