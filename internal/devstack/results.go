package devstack

import (
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/idverify/fc-kyc/api"
	"github.com/idverify/fc-kyc/pkg/webhook"
)

// Results is the merchant's side of the local stack: the receiver of the
// callback function's result events (RESULT_WEBHOOK_URL). It verifies each
// event's Kyc-Signature exactly as a merchant's receiver must (pkg/webhook),
// prints it as one readable line, and keeps it so that the emulator's page
// and a person with curl can see what was recorded.
type Results struct {
	secret []byte
	print  func(format string, args ...any)

	mu     sync.Mutex
	events map[string]webhook.Event // by transaction id and by merchantBizId
	order  []string                 // event ids, oldest first
	byID   map[string]webhook.Event
}

// NewResults returns a receiver that accepts events signed with secret and
// prints each through print.
func NewResults(secret []byte, print func(format string, args ...any)) *Results {
	return &Results{secret: secret, print: print, events: map[string]webhook.Event{}, byID: map[string]webhook.Event{}}
}

// Handler serves
//
//	POST /webhook         a result event, answered 200 once verified (400 otherwise)
//	GET  /results         every event received, newest first
//	GET  /results/{id}    the event of a TransactionId or MerchantBizId, or 404
//	GET  /openapi.yaml    the functions' HTTP contract (api/openapi.yaml)
func (r *Results) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /openapi.yaml", func(w http.ResponseWriter, _ *http.Request) {
		// application/yaml (RFC 9512); the document is what the tests hold
		// the functions to, so a front-end developer reads the same.
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(api.OpenAPI)
	})
	mux.HandleFunc("POST /webhook", r.receive)
	mux.HandleFunc("GET /results", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, r.All())
	})
	mux.HandleFunc("GET /results/{id}", func(w http.ResponseWriter, req *http.Request) {
		ev, ok := r.Lookup(req.PathValue("id"))
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no result recorded for this id yet"})
			return
		}
		writeJSON(w, http.StatusOK, ev)
	})
	return mux
}

func (r *Results) receive(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, webhook.MaxBodyBytes))
	if err == nil {
		err = webhook.Verify(req.Header.Get(webhook.SignatureHeader), body, r.secret, webhook.DefaultTolerance)
	}
	var ev webhook.Event
	if err == nil {
		err = json.Unmarshal(body, &ev)
	}
	if err != nil {
		r.print("result event REFUSED: %v", err)
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	r.mu.Lock()
	_, seen := r.byID[ev.ID]
	if !seen {
		r.order = append(r.order, ev.ID)
	}
	r.byID[ev.ID] = ev
	r.events[ev.TransactionID] = ev
	r.events[ev.MerchantBizID] = ev
	r.mu.Unlock()
	again := ""
	if seen {
		again = " (delivered again: receivers dedupe on the event id)"
	}
	r.print("result %s: transaction %s, merchantBizId %s, passed %q, subCode %q, recorded %s, signature verified%s",
		ev.Status, ev.TransactionID, ev.MerchantBizID, ev.Passed, ev.SubCode, ev.RecordedAt.Format(time.RFC3339), again)
	w.WriteHeader(http.StatusOK)
}

// Lookup returns the last event for a TransactionId or MerchantBizId.
func (r *Results) Lookup(id string) (webhook.Event, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev, ok := r.events[id]
	return ev, ok
}

// All returns every event received, newest first.
func (r *Results) All() []webhook.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]webhook.Event, 0, len(r.order))
	for i := len(r.order) - 1; i >= 0; i-- {
		out = append(out, r.byID[r.order[i]])
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
