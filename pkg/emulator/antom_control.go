package emulator

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
)

// The Antom part of the control API (see control.go):
//
//	PUT    /_emulator/antom/send-limit      {"limit": n} → 204
//	GET    /_emulator/antom/otp/{id}        {"otp": "123456"}
//	GET    /_emulator/antom/requests/{id}   [AntomRequest...]
func (e *Emulator) registerAntomControl(mux *http.ServeMux) {
	mux.HandleFunc("PUT /_emulator/antom/send-limit", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Limit int `json:"limit"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Limit < 0 {
			writeControlError(w, http.StatusBadRequest, `want {"limit": n} with n ≥ 0`)
			return
		}
		e.SetAntomSendLimit(req.Limit)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_emulator/antom/otp/{id}", controlFind("id", "no code was sent for this authenticationRequestId",
		func(id string) (map[string]string, bool) {
			otp, ok := e.AntomOTP(id)
			return map[string]string{"otp": otp}, ok
		}))
	mux.HandleFunc("GET /_emulator/antom/requests/{id}", func(w http.ResponseWriter, r *http.Request) {
		writeControl(w, http.StatusOK, e.AntomRequests(r.PathValue("id")))
	})
}

// SetAntomSendLimit sets how many codes one userIdentityValue can be sent.
func (r *Remote) SetAntomSendLimit(n int) error {
	return r.call(context.Background(), http.MethodPut, "/_emulator/antom/send-limit", map[string]int{"limit": n}, nil)
}

// AntomOTP returns the code sent for an authenticationRequestId.
func (r *Remote) AntomOTP(authenticationRequestID string) (string, error) {
	out, err := remoteGet[struct{ OTP string }](r, "/_emulator/antom/otp/"+url.PathEscape(authenticationRequestID))
	return out.OTP, err
}

// AntomRequests returns every signed request accepted for an
// authenticationRequestId, in order.
func (r *Remote) AntomRequests(authenticationRequestID string) ([]AntomRequest, error) {
	return remoteGet[[]AntomRequest](r, "/_emulator/antom/requests/"+url.PathEscape(authenticationRequestID))
}
