// Command devstack runs the whole project on this machine (see
// internal/devstack): the emulator, every function, a webhook receiver
// that prints each verified result event, and the callback's timer. It
// runs the binaries `make build` puts beside it, and stops everything on
// Ctrl-C or when any of them stops.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/idverify/fc-kyc/internal/devstack"
)

func main() {
	base := devstack.DefaultBase
	if v := os.Getenv("DEVSTACK_PORT_BASE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			fail(fmt.Errorf("DEVSTACK_PORT_BASE=%q is not a port number", v))
		}
		base = n
	}
	cfg := devstack.Config{}
	flag.IntVar(&cfg.Base, "base", base, "base port (env DEVSTACK_PORT_BASE): functions on base+1..base+6, demo page base+7, results receiver base+8, emulator base+9")
	flag.StringVar(&cfg.StoreDir, "store", "", "the file store's directory (default: a fresh temporary directory, removed on exit)")
	flag.DurationVar(&cfg.Timer, "timer", 0, "how often the callback's timer runs (default 5s; negative: never)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: devstack [flags]\n\nRuns the emulator and every function on 127.0.0.1, with a demo page, a webhook receiver and the callback's timer.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	exe, err := os.Executable()
	if err != nil {
		fail(err)
	}
	cfg.BinDir = filepath.Dir(exe)

	s, err := devstack.Start(cfg)
	if err != nil {
		fail(err)
	}
	fmt.Print(s.Guide())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	err = s.Wait(ctx)
	s.Stop()
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "devstack:", err)
	os.Exit(1)
}
