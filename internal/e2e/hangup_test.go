package e2e_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/internal/e2e"
)

func TestSendAndHangUp(t *testing.T) {
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r.Header.Get("Content-Type") + " " + string(b)
		<-r.Context().Done() // answers only once the client is gone
	}))
	defer srv.Close()

	call := e2e.Send(t, srv.URL, nil, []byte(`{"a":1}`))
	assert.Equal(t, `application/json {"a":1}`, <-got)
	select {
	case err := <-call.Done():
		t.Fatalf("answered while the server waits: %v", err)
	default:
	}
	assert.True(t, errors.Is(call.HangUp(), context.Canceled))

	answered := e2e.Send(t, srv.URL+"/x", map[string]string{"Content-Type": "text/plain"}, nil)
	assert.Equal(t, "text/plain ", <-got)
	srv.CloseClientConnections()
	require.Error(t, <-answered.Done(), "the connection was closed unanswered")
}
