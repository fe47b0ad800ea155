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
	mux.HandleFunc("GET /_emulator/health", controlShow(func() map[string]string { return map[string]string{"status": "ok"} }))
	mux.HandleFunc("GET /_emulator/stats", controlShow(e.Stats))
	mux.HandleFunc("POST /_emulator/reset", controlDo(e.Reset))
	mux.HandleFunc("POST /_emulator/faults", e.controlInjectFault)
	mux.HandleFunc("DELETE /_emulator/faults", controlDo(e.ClearFaults))
	mux.HandleFunc("GET /_emulator/transactions/{id}", controlFind("id", ErrUnknownTransaction.Error(), e.Transaction))
	mux.HandleFunc("POST /_emulator/transactions/{id}/complete", e.controlComplete)
	mux.HandleFunc("GET /_emulator/requests/{action}/last", controlFind("action", "no accepted request for this action", e.LastRequest))
	mux.HandleFunc("GET "+ekycPagePath+"{id}", e.serveEKYCPage)
}

// controlShow answers 200 with what show returns.
func controlShow[T any](show func() T) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { writeControl(w, http.StatusOK, show()) }
}

// controlDo runs do and answers 204.
func controlDo(do func()) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		do()
		w.WriteHeader(http.StatusNoContent)
	}
}

// controlFind answers 200 with what find returns for the path value
// called name, or 404 saying notFound when it finds nothing.
func controlFind[T any](name, notFound string, find func(string) (T, bool)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, ok := find(r.PathValue(name))
		if !ok {
			writeControlError(w, http.StatusNotFound, notFound)
			return
		}
		writeControl(w, http.StatusOK, v)
	}
}

// readCompletion reads the body of a complete request: the form one of
// the emulator's pages posts, handed to form, or else JSON decoded into
// v. When it cannot, it answers 400 itself and ok is false.
func readCompletion(w http.ResponseWriter, r *http.Request, v any, form func(url.Values)) (isForm, ok bool) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/x-www-form-urlencoded" {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return true, false
		}
		form(r.PostForm)
		return true, true
	}
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		writeControlError(w, http.StatusBadRequest, "bad completion: "+err.Error())
		return false, false
	}
	return false, true
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
	isForm, ok := readCompletion(w, r, &req, func(f url.Values) {
		req.Passed, req.SubCode = f.Get("passed"), f.Get("subCode")
		req.Callback, _ = strconv.ParseBool(f.Get("callback"))
	})
	if !ok {
		return
	}

	n := callbackCount(req.Callback)
	if req.Callbacks != nil {
		n = *req.Callbacks
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
