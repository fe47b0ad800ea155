package fcrt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// ioGrace is how much longer than the function's timeout the server
// waits on a connection, so that an invocation that runs to its deadline can
// still send its answer.
const ioGrace = 5 * time.Second

// maxHeaderBytes is FC's own limit on an HTTP trigger's request headers.
const maxHeaderBytes = 8 << 10

// Main is a function's main. It reads the environment, listens on FC's
// port and serves until SIGTERM (FC stopping the instance) or SIGINT, then
// lets the requests in flight finish. Any failure is logged and ends the
// process with status 1, so that FC reports the instance as failed.
//
// build reads the function's own configuration; it runs once the logger is
// set up, and its error stops the function like any other start failure,
// with one JSON line that says why.
// On Lambda the failure is also posted to the Runtime API's init/error, so
// that the invocation waiting for the start is answered with the message
// rather than a bare exit status.
func Main(build func() (Function, error)) {
	if err := run(build); err != nil {
		log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
		log.Error("function stopped", "error", err.Error())
		if OnLambda() {
			if rerr := reportInitError(os.Getenv(lambdaRuntimeAPI), err); rerr != nil {
				log.Error("the start failure could not be reported to the Lambda Runtime API", "error", rerr.Error())
			}
		}
		os.Exit(1)
	}
}

func run(build func() (Function, error)) error {
	o, err := OptionsFromEnv()
	if err != nil {
		return err
	}
	slog.SetDefault(o.Logger)
	addr, err := ListenAddr()
	if err != nil {
		return err
	}
	f, err := build()
	if err != nil {
		return err
	}
	ready := f.Ready
	if ready == nil {
		ready = func() error { return nil }
	}
	if OnLambda() {
		if err := ready(); err != nil {
			return err
		}
		o.Logger.Info("serving through the Lambda Runtime API", "function", f.Name)
		serveLambda(f, o)
		return nil
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	// The port opens while Ready's checks are still under way (FC sends the
	// first request as soon as it does); the request waits in the accept
	// queue until they succeed. When they fail, that error is the one
	// reported, even if the port could not be opened either.
	l, lerr := net.Listen("tcp", addr)
	if err := ready(); err != nil {
		if l != nil {
			l.Close()
		}
		return err
	}
	if lerr != nil {
		return lerr
	}
	o.Logger.Info("listening", "function", f.Name, "addr", l.Addr().String())
	return Serve(ctx, l, f, o)
}

// Serve serves f on l until ctx is done, then shuts down gracefully: l is
// closed at once, so new connections are refused, and the requests in
// flight finish, each within its own deadline, all within o.Timeout.
func Serve(ctx context.Context, l net.Listener, f Function, o Options) error {
	o = o.withDefaults()
	srv := &http.Server{
		Handler:           Handler(f, o),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       o.Timeout + ioGrace,
		WriteTimeout:      o.Timeout + ioGrace,
		IdleTimeout:       2 * time.Minute,
		// FC refuses request headers over 8 KB before they reach us; a local
		// caller gets the same bound (net/http adds 4 KB of slack).
		MaxHeaderBytes: maxHeaderBytes,
		// net/http's own complaints become JSON lines like everything else.
		ErrorLog: slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	select {
	case err := <-served:
		return fmt.Errorf("fcrt: serving: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.Timeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		err = errors.Join(fmt.Errorf("fcrt: shutting down: %w", err), srv.Close())
	}
	<-served
	return err
}
