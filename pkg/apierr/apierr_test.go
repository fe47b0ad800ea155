package apierr

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestStatus(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{Missing("A"), 400},
		{Invalid("A", "x"), 400},
		{New(Unauthorized, "x"), 401},
		{New(UnsupportedMethod, "x"), 405},
		{New(RequestTooLarge, "x"), 413},
		{New("OcrFail", "x"), 422},
		{New("ProcessNotCompleted", "x"), 424},
		{New("Throttling.Api", "x"), 503},
		{New("Throttling.Somewhere", "x"), 503},
		{New(UpstreamUnavailable, "x"), 503},
		{New(UpstreamTimeout, "x"), 504},
		{New("Forbidden.RAMUserAccessDenied", "x"), 502},
		{New("SignatureDoesNotMatch", "x"), 502},
		{&Error{Code: InternalError, HTTPStatus: 502}, 502},
		{New(InternalError, "x"), 500},
		{errors.New("plain"), 500},
		{fmt.Errorf("wrapped: %w", Missing("A")), 400},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			assert.Equal(t, tt.want, Status(tt.err))
		})
	}
}

func TestAsNeverLeaksAPlainError(t *testing.T) {
	e := As(errors.New("dial tcp 10.0.0.1: secret detail"))
	assert.Equal(t, InternalError, e.Code)
	assert.NotContains(t, e.Message, "secret detail")
	assert.NotContains(t, BodyOf(e).Message, "secret detail")
}

func TestWrite(t *testing.T) {
	w := httptest.NewRecorder()
	err := &Error{Code: "Throttling.Api", Message: "slow down", RequestID: "R1", RetryAfter: 1500 * time.Millisecond}
	Write(w, httptest.NewRequest(http.MethodPost, "/", nil), err)
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.Equal(t, "2", w.Header().Get("Retry-After"), "rounded up to whole seconds")
	assert.JSONEq(t, `{"RequestId":"R1","Code":"Throttling.Api","Message":"slow down"}`, w.Body.String())
	assert.Equal(t, "application/json; charset=utf-8", w.Header().Get("Content-Type"))

	// A function's own shape keeps the status and Retry-After.
	w = httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	r = r.WithContext(WithShape(r.Context(), func(err error) any { return map[string]string{"code": As(err).Code} }))
	Write(w, r, err)
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.Equal(t, "2", w.Header().Get("Retry-After"))
	assert.JSONEq(t, `{"code":"Throttling.Api"}`, w.Body.String())
}

func TestAnswersAreNotHTMLEscaped(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteJSON(rec, http.StatusOK, map[string]string{"certify_url": "https://gw.example/gateway.do?a=1&b=<2>"})
	assert.Equal(t, `{"certify_url":"https://gw.example/gateway.do?a=1&b=<2>"}`+"\n", rec.Body.String())
}
