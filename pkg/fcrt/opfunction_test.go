package fcrt

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/apierr"
)

func TestOperationFunction(t *testing.T) {
	type req struct{ N int }
	double := func(_ context.Context, r req) (req, error) { return req{N: 2 * r.N}, nil }
	f := OperationFunction("doubler", double, WithMaxBody(16))
	assert.Equal(t, "doubler", f.Name)

	w := httptest.NewRecorder()
	f.HTTP.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"N":2}`)))
	assert.Equal(t, http.StatusOK, w.Code)
	assert.JSONEq(t, `{"N":4}`, w.Body.String())

	got, err := f.Event(context.Background(), Event{Request: []byte(`{"N":3}`)})
	require.NoError(t, err)
	assert.Equal(t, req{N: 6}, got)
	// 17 bytes, valid but for its length: only the limit can refuse it.
	_, err = f.Event(context.Background(), Event{Request: []byte(`{"N":3          }`)})
	assert.Equal(t, apierr.RequestTooLarge, apierr.As(err).Code, "the body limit holds on the event side too: %v", err)
}
