package fcrt

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/credentials"
	"github.com/idverify/fc-kyc/pkg/logging"
)

const (
	headerControlPath = "x-fc-control-path"
	headerRequestID   = "x-fc-request-id"
	// headerStatus tells FC whether an invocation failed ("404") or not:
	// FC reads it, not the HTTP status.
	headerStatus = "x-fc-status"
)

// Invocation kinds, as they appear in the log.
const (
	kindHTTP       = "http"
	kindInvoke     = "invoke"
	kindInitialize = "initialize"
	kindPreStop    = "pre-stop"
)

// credentialHeaders carry the function role's STS secret.
var credentialHeaders = []string{"x-fc-access-key-id", "x-fc-access-key-secret", "x-fc-security-token"}

// Handler serves f: it tells FC's control calls from the function's API (see
// the package doc) and runs each invocation with its request id, logger,
// credentials and deadline. It panics if f has no HTTP or no Event, as
// net/http does for a nil handler.
func Handler(f Function, o Options) http.Handler {
	return newHandler(f, o, false)
}

// newHandler is Handler; with platformDeadline, an invocation whose context
// comes with the platform's deadline (Lambda's) runs until that deadline
// less the margin budget keeps, instead of o.Timeout's budget.
func newHandler(f Function, o Options, platformDeadline bool) *handler {
	if f.HTTP == nil || f.Event == nil {
		panic("fcrt: Function " + f.Name + " needs both HTTP and Event")
	}
	o = o.withDefaults()
	return &handler{f: f, o: o, budget: budget(o.Timeout), platformDeadline: platformDeadline,
		init: &initOnce{fn: f.Init, turn: make(chan struct{}, 1)}}
}

type handler struct {
	f                Function
	o                Options
	budget           time.Duration
	platformDeadline bool
	init             *initOnce
}

// invocationContext is the context an invocation runs under: a deadline
// that leaves the function time to answer and log before the platform cuts
// it off.
func (h *handler) invocationContext(parent context.Context) (context.Context, context.CancelFunc) {
	if d, ok := parent.Deadline(); ok && h.platformDeadline {
		return context.WithDeadline(parent, time.Now().Add(budget(time.Until(d))))
	}
	return context.WithTimeout(parent, h.budget)
}

// kindOf reads the control path first. A plain GET /pre-stop counts as the
// hook only without the header: with "/http-invoke" it came from a caller
// through the HTTP trigger. When the control path is not trusted (off FC,
// see Options.TrustControlPath) every request is an HTTP request.
func kindOf(r *http.Request, trusted bool) string {
	if !trusted {
		return kindHTTP
	}
	switch r.Header.Get(headerControlPath) {
	case "/invoke":
		return kindInvoke
	case "/initialize":
		return kindInitialize
	case "/pre-stop":
		return kindPreStop
	case "":
		if r.Method == http.MethodGet && r.URL.Path == "/pre-stop" {
			return kindPreStop
		}
	}
	return kindHTTP
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	kind := kindOf(r, h.o.TrustControlPath)
	id := r.Header.Get(headerRequestID)
	if id == "" {
		// A local run. On FC the id always comes in, and FC itself returns it
		// to the caller; it does not let a function set x-fc-* headers.
		id = rand.Text()
		w.Header().Set(headerRequestID, id)
	}
	log := h.o.Logger.With("request_id", id, "function", h.f.Name)

	caller := r.Context() // net/http cancels it when the client hangs up
	ctx, cancel := h.invocationContext(caller)
	defer cancel()
	ctx = logging.NewContext(ctx, log)
	if c, ok := credentials.FromHeader(r.Header); ok {
		ctx = credentials.NewContext(ctx, c)
	}
	var noted error
	ctx = context.WithValue(ctx, failureKey{}, &noted)
	r = r.WithContext(ctx)
	// The credentials are in the context now; without the headers, no dump
	// of the request further down can leak them.
	r.Header = r.Header.Clone()
	for _, k := range credentialHeaders {
		r.Header.Del(k)
	}

	rec := &recorder{ResponseWriter: w}
	var err error
	defer func() {
		if v := recover(); v != nil {
			// Answer and keep serving: one bad request must not take down
			// the instance and the other requests in flight on it.
			log.Error("panic", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", v)
			if rec.status == 0 {
				answer(rec, r, kind, nil, err)
			}
		}
		if err == nil {
			err = noted
		}
		status := rec.status
		if clientGone(caller, status) {
			status = StatusClientClosedRequest
		}
		logInvocation(log, kind, r.Method, r.URL.Path, status, time.Since(start), err)
	}()
	err = h.dispatch(ctx, kind, rec, r)
}

// StatusClientClosedRequest is the status logged for an invocation whose
// client hung up before it was answered (nginx's 499). No client ever
// receives it: there is no one left to receive anything.
const StatusClientClosedRequest = 499

// clientGone tells whether the client hung up before it was answered: its
// request context was canceled (not timed out: a platform deadline is the
// function's own failure), and what was written, if anything, is the
// failure that cancellation caused (503, 504). That is no fault of the
// function, and must not page anyone as a 5xx.
func clientGone(caller context.Context, status int) bool {
	return errors.Is(caller.Err(), context.Canceled) && (status == 0 || status >= http.StatusInternalServerError)
}

// logInvocation writes the one line every invocation ends with. The path
// goes without its query, and no header or body is logged. A 5xx is an
// error; anything else, a client that hung up (499) included, is info.
func logInvocation(log *slog.Logger, kind, method, path string, status int, took time.Duration, err error) {
	if status == 0 {
		status = http.StatusOK // net/http's answer when nothing was written
	}
	attrs := []slog.Attr{
		slog.String("kind", kind),
		slog.String("method", method),
		slog.String("path", path),
		slog.Int("status", status),
		slog.Int64("duration_ms", took.Milliseconds()),
	}
	if err != nil {
		// apierr messages carry no personal data by design, and
		// neither may the causes they wrap.
		attrs = append(attrs, slog.String("error", err.Error()))
		var e *apierr.Error
		if errors.As(err, &e) && e.Err != nil {
			attrs = append(attrs, slog.String("cause", e.Err.Error()))
		}
	}
	level := slog.LevelInfo
	if status >= http.StatusInternalServerError {
		level = slog.LevelError
	}
	log.LogAttrs(context.Background(), level, "invocation", attrs...)
}

// dispatch runs one invocation and answers it. It returns the error to log.
// Every kind but pre-stop first makes sure Init has succeeded.
func (h *handler) dispatch(ctx context.Context, kind string, w http.ResponseWriter, r *http.Request) error {
	if kind == kindPreStop {
		var err error
		if h.f.PreStop != nil {
			err = h.f.PreStop(ctx)
		}
		return answer(w, r, kind, struct{}{}, err)
	}
	if err := h.init.run(ctx); err != nil {
		return answer(w, r, kind, nil, err)
	}
	switch kind {
	case kindInitialize:
		return answer(w, r, kind, struct{}{}, nil)
	case kindInvoke:
		body, err := readBody(w, r, h.o.MaxEventBytes)
		if err != nil {
			return answer(w, r, kind, nil, err)
		}
		ev, err := Unwrap(body)
		if err != nil {
			return answer(w, r, kind, nil, err)
		}
		res, err := h.f.Event(ctx, ev)
		return answer(w, r, kind, res, err)
	}
	if h.f.ErrorShape != nil {
		r = r.WithContext(apierr.WithShape(r.Context(), h.f.ErrorShape))
	}
	h.f.HTTP.ServeHTTP(w, r)
	return nil
}

// answer writes res as JSON, or err through apierr. Control calls also tell
// FC whether the invocation failed; HTTP answers do not, since a caller's
// 4xx is not a failure of the function.
func answer(w http.ResponseWriter, r *http.Request, kind string, res any, err error) error {
	var b []byte
	if err == nil {
		if b, err = apierr.Marshal(res); err != nil {
			err = fmt.Errorf("encoding the result: %w", err)
		}
	}
	if err != nil {
		if kind != kindHTTP {
			w.Header().Set(headerStatus, "404")
		}
		apierr.Write(w, r, err)
		return err
	}
	if kind != kindHTTP {
		w.Header().Set(headerStatus, "200")
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(b, '\n'))
	return nil
}

// failureKey holds a *error where an HTTP handler notes why it failed, so
// that the invocation's one log line says it.
type failureKey struct{}

func noteFailure(ctx context.Context, err error) {
	if p, ok := ctx.Value(failureKey{}).(*error); ok {
		*p = err
	}
}

// readBody reads a request body of at most limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	switch {
	case err == nil:
		return b, nil
	case errors.As(err, &tooLarge):
		return nil, errTooLarge(limit)
	}
	return nil, &apierr.Error{Code: apierr.InvalidParameter, Message: "The request body could not be read.", Err: err}
}

func errTooLarge(limit int64) error {
	return apierr.New(apierr.RequestTooLarge, fmt.Sprintf("The request body is over this function's limit of %d bytes.", limit))
}

// initOnce runs Init until it has succeeded once, one call at a time.
type initOnce struct {
	fn   func(context.Context) error
	done atomic.Bool
	turn chan struct{} // holds a token while Init runs
}

func (o *initOnce) run(ctx context.Context) error {
	if o.fn == nil || o.done.Load() {
		return nil
	}
	select {
	case o.turn <- struct{}{}:
		defer func() { <-o.turn }()
	case <-ctx.Done():
		return &apierr.Error{Code: apierr.InternalError, HTTPStatus: http.StatusServiceUnavailable,
			Message: "The function is still initializing; retry shortly.", Err: ctx.Err()}
	}
	if o.done.Load() {
		return nil
	}
	if err := o.fn(ctx); err != nil {
		return err
	}
	o.done.Store(true)
	return nil
}

// recorder remembers the status written, for the log line.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the server's writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
