package e2e_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/internal/e2e"
)

func TestDoSendsAndReads(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Seen", r.Method+" "+r.Header.Get("Content-Type")+" "+r.Header.Get("X-Api-Key")+" "+string(b))
		if r.URL.Path == "/page" {
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "<p>not JSON</p>")
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = io.WriteString(w, `{"Code":"Success","ResultObject":{"TransactionId":"tx1"}}`)
	}))
	defer srv.Close()

	a := e2e.Post(t, srv.URL, map[string]string{"X-Api-Key": "k"}, map[string]any{"a": 1})
	assert.Equal(t, http.StatusOK, a.Status)
	assert.Equal(t, `POST application/json k {"a":1}`, a.Header.Get("X-Seen"))
	assert.Equal(t, "tx1", a.Str("ResultObject", "TransactionId"))
	assert.Equal(t, "", a.Str("ResultObject", "Missing"))
	assert.Equal(t, "Success", a.Str("Code"))

	raw := e2e.Post(t, srv.URL, nil, `{"b":2}`)
	assert.Equal(t, `POST application/json  {"b":2}`, raw.Header.Get("X-Seen"))

	page := e2e.Do(t, http.MethodGet, srv.URL+"/page", nil, nil)
	require.Nil(t, page.Body, "a non-JSON answer is not decoded")
	assert.Equal(t, "<p>not JSON</p>", page.Raw)
}
