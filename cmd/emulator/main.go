// Command emulator serves the upstream emulator (pkg/emulator) for local runs
// and out-of-process end-to-end tests. It accepts the emulator's default
// AccessKey and STS credentials and http:// loopback callback URLs.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/idverify/fc-kyc/pkg/emulator"
)

func main() {
	addr := os.Getenv("EMULATOR_ADDR")
	if addr == "" {
		addr = "127.0.0.1:8600"
	}
	flag.StringVar(&addr, "addr", addr, "listen address (env EMULATOR_ADDR)")
	results := flag.String("results", os.Getenv("EMULATOR_RESULTS_URL"),
		"base URL where the eKYC page looks up the recorded result of a transaction: GET <url><TransactionId> (env EMULATOR_RESULTS_URL)")
	flag.Parse()

	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	emu := emulator.New(emulator.Config{AllowHTTPCallback: true, Logger: log, ResultsURL: *results})
	srv := &http.Server{Handler: emu.Handler(), ConnState: emu.ConnState, ReadHeaderTimeout: 10 * time.Second}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Error("listen", "error", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	// The port may have been 0: print the address actually bound.
	fmt.Printf("emulator listening on http://%s\n", ln.Addr())

	select {
	case err = <-served:
		log.Error("serve", "error", err)
		os.Exit(1)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		log.Error("shutdown", "error", err)
	}
}
