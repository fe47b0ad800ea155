package emulator

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
)

// alipayFaultBody returns the answer body fault f makes of a signed node.
func alipayFaultBody(f *Fault, node, content, sign string) string {
	switch f.Kind {
	case AlipayFaultBadSignature:
		b := []byte(sign)
		if b[5] == 'A' {
			b[5] = 'B'
		} else {
			b[5] = 'A'
		}
		sign = string(b)
	case AlipayFaultDuplicateNode:
		return `{"` + node + `":` + content + `,"sign":"` + sign + `","` + node +
			`":{"code":"10000","msg":"Success","biz_no":"forged00000000000000000000000000","passed":"true"}}`
	case AlipayFaultUnsigned:
		return `{"` + node + `":` + content + `}`
	}
	return `{"` + node + `":` + content + `,"sign":"` + sign + `"}`
}

// AlipayStats are the gateway's counters since its last Reset.
type AlipayStats struct {
	// Requests counts every call by method, rejected ones included.
	Requests map[string]int64 `json:"requests"`
	// Accepted counts calls that passed the signature checks, by method.
	Accepted map[string]int64 `json:"accepted"`
	// Rejected counts error answers by sub_code (code when none).
	Rejected map[string]int64 `json:"rejected"`
	// Faults counts injected faults that fired, by kind.
	Faults map[string]int64 `json:"faults"`
}

// Stats returns a copy of the counters.
func (g *AlipayGateway) Stats() AlipayStats {
	g.mu.Lock()
	defer g.mu.Unlock()
	return AlipayStats{Requests: maps.Clone(g.requests), Accepted: maps.Clone(g.accepted),
		Rejected: maps.Clone(g.rejected), Faults: g.faults.counts("")}
}

// LastRequest returns the parameters of the last accepted call of method.
func (g *AlipayGateway) LastRequest(method string) (map[string]string, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	p, ok := g.last[method]
	return maps.Clone(p), ok
}

// registerControl adds the gateway's part of the control API:
//
//	GET    /_emulator/alipay/stats                                AlipayStats
//	POST   /_emulator/alipay/reset                                204
//	GET    /_emulator/alipay/requests/{method}/last               the parameters
//	GET    /_emulator/alipay/certifications/{biz_no}              ZhimaCertification
//	POST   /_emulator/alipay/certifications/{biz_no}/complete     {"passed":"true"} → ZhimaCertification
//	                                                              (the certify page's form redirects to return_url)
func (g *AlipayGateway) registerControl(mux *http.ServeMux) {
	const base = "/_emulator/alipay/"
	mux.HandleFunc("GET "+base+"stats", controlShow(g.Stats))
	mux.HandleFunc("POST "+base+"reset", controlDo(g.Reset))
	mux.HandleFunc("GET "+base+"requests/{method}/last", controlFind("method", "no accepted call of this method", g.LastRequest))
	mux.HandleFunc("GET "+base+"certifications/{bizNo}", controlFind("bizNo", "unknown biz_no", g.Certification))
	mux.HandleFunc("POST "+base+"certifications/{bizNo}/complete", g.controlComplete)
}

// controlComplete takes JSON from tests, or the certify page's form, which
// it answers by sending the browser on to return_url with the biz_no.
func (g *AlipayGateway) controlComplete(w http.ResponseWriter, r *http.Request) {
	bizNo := r.PathValue("bizNo")
	var req struct {
		Passed string `json:"passed"`
	}
	var returnURL string
	isForm, ok := readCompletion(w, r, &req, func(f url.Values) {
		req.Passed, returnURL = f.Get("passed"), f.Get("return_url")
	})
	if !ok {
		return
	}
	if req.Passed != "true" && req.Passed != "false" {
		writeControlError(w, http.StatusBadRequest, `passed must be "true" or "false"`)
		return
	}
	if !g.Complete(bizNo, req.Passed == "true") {
		writeControlError(w, http.StatusNotFound, "unknown biz_no")
		return
	}
	if isForm && returnURL != "" {
		u, err := url.Parse(returnURL)
		if err == nil {
			q := u.Query()
			q.Set("biz_no", bizNo)
			u.RawQuery = q.Encode()
			http.Redirect(w, r, u.String(), http.StatusSeeOther)
			return
		}
	}
	c, _ := g.Certification(bizNo)
	writeControl(w, http.StatusOK, c)
}

// AlipayStats returns the gateway's counters.
func (r *Remote) AlipayStats() (AlipayStats, error) {
	return remoteGet[AlipayStats](r, "/_emulator/alipay/stats")
}

// AlipayReset forgets the gateway's certifications, faults and counters.
func (r *Remote) AlipayReset() error {
	return r.call(context.Background(), http.MethodPost, "/_emulator/alipay/reset", nil, nil)
}

// AlipayCertification returns the certification bizNo.
func (r *Remote) AlipayCertification(bizNo string) (ZhimaCertification, error) {
	return remoteGet[ZhimaCertification](r, "/_emulator/alipay/certifications/"+url.PathEscape(bizNo))
}

// AlipayComplete sets a certification's result.
func (r *Remote) AlipayComplete(bizNo string, passed bool) error {
	return r.call(context.Background(), http.MethodPost, "/_emulator/alipay/certifications/"+url.PathEscape(bizNo)+"/complete",
		map[string]string{"passed": fmt.Sprint(passed)}, nil)
}

// AlipayLastRequest returns the parameters of the last accepted call of method.
func (r *Remote) AlipayLastRequest(method string) (map[string]string, error) {
	return remoteGet[map[string]string](r, "/_emulator/alipay/requests/"+url.PathEscape(method)+"/last")
}
