package emulator

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// The control API lets a test (or a person) drive an emulator running in
// another process exactly as an in-process test drives the Go API. It is
// unsigned and JSON in and out; errors are {"error": "..."}.
//
//	GET    /_emulator/health                        200 {"status":"ok"}
//	GET    /_emulator/stats                         Stats
//	POST   /_emulator/reset                         204
//	POST   /_emulator/faults                        {"upstream","target","kind","times","delay":"2s"} → 204
//	                                                upstream cloudauth, alipay or antom; target an action,
//	                                                a gateway method or an Antom API ("" any); see faults.go
//	DELETE /_emulator/faults                        204 (every upstream's)
//	GET    /_emulator/transactions/{id}             Transaction
//	POST   /_emulator/transactions/{id}/complete    {"passed","subCode","callback","callbacks"} → Transaction
//	                                                callbacks: how many notifications (0 = none),
//	                                                else callback true = 1; an HTML form post
//	                                                redirects back to the page
//	GET    /_emulator/requests/{action}/last        Received
//	GET    /_emulator/ekyc/{id}                     the TransactionUrl page
func (e *Emulator) registerControl(mux *http.ServeMux) {
	mux.HandleFunc("GET /_emulator/health", func(w http.ResponseWriter, _ *http.Request) {
		writeControl(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /_emulator/stats", func(w http.ResponseWriter, _ *http.Request) {
		writeControl(w, http.StatusOK, e.Stats())
	})
	mux.HandleFunc("POST /_emulator/reset", func(w http.ResponseWriter, _ *http.Request) {
		e.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /_emulator/faults", e.controlInjectFault)
	mux.HandleFunc("DELETE /_emulator/faults", func(w http.ResponseWriter, _ *http.Request) {
		e.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_emulator/transactions/{id}", func(w http.ResponseWriter, r *http.Request) {
		tx, ok := e.Transaction(r.PathValue("id"))
		if !ok {
			writeControlError(w, http.StatusNotFound, ErrUnknownTransaction.Error())
			return
		}
		writeControl(w, http.StatusOK, tx)
	})
	mux.HandleFunc("POST /_emulator/transactions/{id}/complete", e.controlComplete)
	mux.HandleFunc("GET /_emulator/requests/{action}/last", func(w http.ResponseWriter, r *http.Request) {
		rec, ok := e.LastRequest(r.PathValue("action"))
		if !ok {
			writeControlError(w, http.StatusNotFound, "no accepted request for this action")
			return
		}
		writeControl(w, http.StatusOK, rec)
	})
	mux.HandleFunc("GET "+ekycPagePath+"{id}", e.serveEKYCPage)
}

// controlInjectFault is InjectFault over HTTP; delay is a Go duration
// string. A bad fault is 400 saying what is wrong, never a panic.
func (e *Emulator) controlInjectFault(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Upstream Upstream  `json:"upstream"`
		Target   string    `json:"target"`
		Kind     FaultKind `json:"kind"`
		Times    int       `json:"times"`
		Delay    string    `json:"delay"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeControlError(w, http.StatusBadRequest, "bad fault: "+err.Error())
		return
	}
	f := Fault{Kind: req.Kind, Times: req.Times}
	if req.Delay != "" {
		var err error
		if f.Delay, err = time.ParseDuration(req.Delay); err != nil {
			writeControlError(w, http.StatusBadRequest, "bad delay: "+err.Error())
			return
		}
	}
	if msg := faultError(req.Upstream, f); msg != "" {
		writeControlError(w, http.StatusBadRequest, "bad fault: "+msg)
		return
	}
	e.InjectFault(req.Upstream, req.Target, f)
	w.WriteHeader(http.StatusNoContent)
}

// controlComplete is Complete over HTTP. It takes JSON from tests, or the
// form posted by the TransactionUrl page, which it answers with a redirect
// back to the page so that a person sees the new state.
func (e *Emulator) controlComplete(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var req struct {
		Passed    string `json:"passed"`
		SubCode   string `json:"subCode"`
		Callback  bool   `json:"callback"`
		Callbacks *int   `json:"callbacks"`
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	isForm := mt == "application/x-www-form-urlencoded"
	if isForm {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req.Passed, req.SubCode = r.PostForm.Get("passed"), r.PostForm.Get("subCode")
		req.Callback, _ = strconv.ParseBool(r.PostForm.Get("callback"))
	} else if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeControlError(w, http.StatusBadRequest, "bad completion: "+err.Error())
		return
	}

	n := 0
	switch {
	case req.Callbacks != nil:
		n = *req.Callbacks
	case req.Callback:
		n = 1
	}
	err := e.CompleteWithCallbacks(r.Context(), id, req.Passed, req.SubCode, n)
	if isForm {
		page := ekycPagePath + url.PathEscape(id)
		if err != nil {
			page += "?error=" + url.QueryEscape(err.Error())
		}
		http.Redirect(w, r, page, http.StatusSeeOther)
		return
	}
	tx, _ := e.Transaction(id)
	switch {
	case errors.Is(err, ErrUnknownTransaction):
		writeControlError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, errInvalidPassed), errors.Is(err, errNegativeCallbacks):
		writeControlError(w, http.StatusBadRequest, err.Error())
	case err != nil: // the state is set; only the callback failed
		writeControl(w, http.StatusBadGateway, map[string]any{"error": err.Error(), "transaction": tx})
	default:
		writeControl(w, http.StatusOK, tx)
	}
}

func writeControl(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeControlError(w http.ResponseWriter, status int, msg string) {
	writeControl(w, status, map[string]string{"error": msg})
}
