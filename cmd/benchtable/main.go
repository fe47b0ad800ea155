// Command benchtable measures each function as a merchant would pay for it
// and prints one Markdown table per function, side by side with the Node.js
// peer (bench/peer: the same upstream call with the official SDKs): cold
// start, CPU per request, added latency at concurrency 1 and 50, peak RSS at
// concurrency 100, stripped binary size, upstream connection reuse, the
// `go test -bench` figures of the request paths and, for functions that sign
// with RSA, the cost of one sign. Each figure is set against the goals listed
// in docs/performance.md. `make bench` runs it; see docs/performance.md.
//
// Everything runs on loopback against the emulator (cmd/emulator) in its own
// process. The tables go to stdout, progress to stderr.
package main

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/idverify/fc-kyc/pkg/emulator"
)

// config is what the flags set.
type config struct {
	Repo    string   // repository root (holds go.mod)
	Only    []string // spec names; empty means all
	PeerDir string   // the Node peer; "" skips it
	GoBench string   // `go test -bench -benchmem` output to read; "" runs the function packages' benchmarks once
	Plan    plan
}

func main() {
	cfg := config{}
	only := flag.String("only", "", "comma-separated functions to measure (default all)")
	flag.StringVar(&cfg.PeerDir, "peer", "bench/peer", "the Node peer's directory, relative to the repository root (\"\" skips the peer)")
	flag.StringVar(&cfg.GoBench, "gobench", "", "read `go test -bench -benchmem` output from this file instead of running the benchmarks")
	flag.IntVar(&cfg.Plan.Starts, "starts", 20, "cold starts per function")
	flag.IntVar(&cfg.Plan.Sequential, "sequential", 200, "sequential requests of the connection-reuse run")
	flag.IntVar(&cfg.Plan.Latency1, "requests1", 1000, "requests at concurrency 1")
	flag.IntVar(&cfg.Plan.CPU50, "cpu50", 5000, "requests at concurrency 50, upstream answering at once (CPU per request)")
	flag.IntVar(&cfg.Plan.Latency50, "requests50", 1000, "requests at concurrency 50, upstream delayed (added latency)")
	flag.IntVar(&cfg.Plan.Requests100, "requests100", 1000, "requests at concurrency 100, upstream delayed (peak RSS)")
	flag.DurationVar(&cfg.Plan.UpstreamDelay, "upstream-delay", 100*time.Millisecond, "the emulator's answer time in the runs at 50 (latency) and 100, for functions whose spec sets none")
	flag.Parse()
	if *only != "" {
		cfg.Only = strings.Split(*only, ",")
	}
	repo, err := repoRoot()
	if err != nil {
		fail(err)
	}
	cfg.Repo = repo
	if err := run(cfg, os.Stdout, os.Stderr); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "benchtable:", err)
	os.Exit(1)
}

// run measures every selected spec and writes the tables to out; progress
// goes to progress. A function that cannot be measured is reported and the
// others still are; run then returns an error.
func run(cfg config, out, progress io.Writer) error {
	selected := specs
	if len(cfg.Only) > 0 {
		selected = nil
		for _, s := range specs {
			if slices.Contains(cfg.Only, s.Name) {
				selected = append(selected, s)
			}
		}
		if len(selected) == 0 {
			return fmt.Errorf("-only %s names no function of %v", strings.Join(cfg.Only, ","), specNames())
		}
	}

	tmp, err := os.MkdirTemp("", "benchtable-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintln(progress, "building the emulator and the functions (stripped)...")
	emuBin, err := build(cfg.Repo, tmp, "./cmd/emulator")
	if err != nil {
		return err
	}
	bins := map[string]string{}
	for _, s := range selected {
		if bins[s.Name], err = build(cfg.Repo, tmp, "./functions/"+s.Name); err != nil {
			return err
		}
	}

	emuURL, stopEmu, err := startEmulator(emuBin)
	if err != nil {
		return err
	}
	defer stopEmu()
	emu := &emulator.Remote{BaseURL: emuURL, Client: &http.Client{Timeout: 10 * time.Second}}
	storeURL, storeAbout, stopStore, err := startStore(tmp)
	if err != nil {
		return err
	}
	defer stopStore()

	peerDir, peerWhy := peer(cfg)
	var sign time.Duration
	if slices.ContainsFunc(selected, func(s spec) bool { return s.RSA }) {
		fmt.Fprintln(progress, "timing RSA-2048 signs...")
		if sign, err = signCost(); err != nil {
			return err
		}
	}
	benches, err := goBenches(cfg, selected, progress)
	if err != nil {
		return err
	}

	fmt.Fprintf(out, "## Performance, %s\n\n%s Store: %s.\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), machine(), storeAbout)
	var failed []string
	for _, s := range selected {
		r := result{Spec: s, Sign: sign, Benches: benchesOf(benches, s.Name)}
		if fi, err := os.Stat(bins[s.Name]); err == nil {
			r.Binary = fi.Size()
		}
		fmt.Fprintf(progress, "measuring %s (Go)...\n", s.Name)
		goT := target{Label: "Go", Argv: []string{bins[s.Name]}, Env: append(s.env(emuURL), harnessEnv(storeURL)...)}
		if r.Go, err = measure(goT, s, emu, cfg.Plan); err != nil {
			fmt.Fprintf(out, "\n### %s\n\nnot measured: %v\n", s.Name, err)
			failed = append(failed, s.Name)
			continue
		}
		switch {
		case peerDir == "":
			r.NodeWhy = peerWhy
		case s.Peer == "":
			r.NodeWhy = "bench/peer has no counterpart of this function"
		default:
			fmt.Fprintf(progress, "measuring %s (Node peer)...\n", s.Name)
			// alipay-sdk writes its timestamp in local time, which the gateway
			// reads as Beijing time: the zone a merchant's Node function runs in.
			nodeT := target{Label: "Node", Argv: []string{"node", "server.js"}, Dir: peerDir,
				Env: append(s.env(emuURL), "PEER_OPERATION="+s.Peer, "TZ=Asia/Shanghai")}
			m, err := measure(nodeT, s, emu, cfg.Plan)
			if err != nil {
				r.NodeWhy = "failed: " + err.Error()
				failed = append(failed, s.Name+" (Node peer)")
			} else {
				r.Node = &m
			}
		}
		writeTable(out, r)
	}
	fmt.Fprint(out, method)
	if len(failed) > 0 {
		return fmt.Errorf("not measured: %s", strings.Join(failed, ", "))
	}
	return nil
}

// harnessEnv is added to every function's environment: the store, limits
// per caller and per subject (RATE_LIMIT_*) and the account's QPS budget
// (CLOUDAUTH_QPS_*) all set out of reach, since the harness sends thousands
// of identical requests per second from one caller; the counting stays in
// the measured cost. Functions that do not read these ignore them.
func harnessEnv(storeURL string) []string {
	return []string{
		"STORE_URL=" + storeURL,
		"RATE_LIMIT_PER_CALLER=1000000000/1m",
		"RATE_LIMIT_PER_SUBJECT=1000000000/1m",
		"CLOUDAUTH_QPS_EKYC=1000000000",
		"CLOUDAUTH_QPS_BANK_CARD_N_META=1000000000",
	}
}

// startStore runs redis-server on a free loopback port, without
// persistence, as the store a deployment uses (ApsaraDB for Redis in the
// VPC); like the emulator, its CPU is not counted. Without redis-server the
// functions get a file store in dir, which costs them file I/O per call.
func startStore(dir string) (storeURL, about string, stop func(), err error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return "file://" + filepath.Join(dir, "store"), "file store (redis-server is not installed)", func() {}, nil
	}
	port, err := freePort()
	if err != nil {
		return "", "", nil, err
	}
	t := target{Label: "redis", Argv: []string{bin, "--bind", "127.0.0.1", "--port", port, "--dir", dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"}}
	p, err := t.start(port)
	if err != nil {
		return "", "", nil, err
	}
	if err := p.waitListening(20 * time.Second); err != nil {
		p.stop(false)
		return "", "", nil, fmt.Errorf("redis-server: %w", err)
	}
	return "redis://127.0.0.1:" + port + "/0", "redis-server on loopback", func() { p.stop(true) }, nil
}

func specNames() []string {
	var n []string
	for _, s := range specs {
		n = append(n, s.Name)
	}
	return n
}

// build compiles pkg as it is deployed (the Makefile's TAGS): static,
// stripped, without aws-lambda-go's net/rpc entry point (~8 MB of net/rpc
// and html/template) and without net/http's HTTP/2.
func build(repo, dir, pkg string) (string, error) {
	bin := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc,nethttpomithttp2", "-ldflags=-s -w", "-o", bin, pkg)
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin, nil
}

// startEmulator runs the emulator on a free loopback port.
func startEmulator(bin string) (url string, stop func(), err error) {
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	t := target{Label: "emulator", Argv: []string{bin}, Env: []string{"EMULATOR_ADDR=127.0.0.1:" + port}}
	p, err := t.start(port)
	if err != nil {
		return "", nil, err
	}
	if err := p.waitListening(20 * time.Second); err != nil {
		p.stop(false)
		return "", nil, fmt.Errorf("emulator: %w", err)
	}
	return "http://127.0.0.1:" + port, func() { p.stop(true) }, nil
}

// peer returns the Node peer's directory, or "" and why it cannot run.
func peer(cfg config) (dir, why string) {
	if cfg.PeerDir == "" {
		return "", "skipped (-peer \"\")"
	}
	if _, err := exec.LookPath("node"); err != nil {
		return "", "node is not installed"
	}
	dir = cfg.PeerDir
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(cfg.Repo, dir)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules")); err != nil {
		return "", "its packages are not installed (run `npm ci` in " + cfg.PeerDir + ", as `make bench` does)"
	}
	return dir, ""
}

// goBenches reads cfg.GoBench, or runs the selected functions' benchmarks once.
func goBenches(cfg config, selected []spec, progress io.Writer) (map[string][]goBench, error) {
	if cfg.GoBench != "" {
		f, err := os.Open(cfg.GoBench)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return parseGoBench(f)
	}
	fmt.Fprintln(progress, "running go test -bench on the functions...")
	args := []string{"test", "-run", "^$", "-bench", ".", "-benchmem", "-count", "1"}
	for _, s := range selected {
		args = append(args, "./functions/"+s.Name)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = cfg.Repo
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go test -bench: %v\n%s%s", err, raw, stderr.Bytes())
	}
	return parseGoBench(bytes.NewReader(raw))
}

// signCost is the CPU time of one RSA-2048 PKCS#1 v1.5 SHA-256 sign (what
// Alipay's RSA2 and Antom's RSA256 ask for), the median of 5 batches of 50,
// with a key whose CRT values are precomputed as a parsed key's are. It is
// CPU time of this thread (getrusage RUSAGE_THREAD), not wall time, so that
// it compares with the functions' CPU per request on a busy machine.
func signCost() (time.Duration, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return 0, err
	}
	digest := sha256.Sum256([]byte("app_id=2021000000000000&biz_content={}&charset=utf-8&method=zhima.customer.certification.initialize"))
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var batches []time.Duration
	for range 5 {
		t0, err := threadCPU()
		if err != nil {
			return 0, err
		}
		for range 50 {
			if _, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:]); err != nil {
				return 0, err
			}
		}
		t1, err := threadCPU()
		if err != nil {
			return 0, err
		}
		batches = append(batches, (t1-t0)/50)
	}
	return median(batches), nil
}

// rusageThread is Linux's RUSAGE_THREAD: the calling thread only.
const rusageThread = 1

// threadCPU is the user+sys CPU time of the calling OS thread.
func threadCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// machine describes where the figures come from.
func machine() string {
	cpu := "unknown CPU"
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(raw)) {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimLeft(v, "\t :"))
				break
			}
		}
	}
	kernel := "?"
	if raw, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = strings.TrimSpace(string(raw))
	}
	node := "not installed"
	if v, err := exec.Command("node", "--version").Output(); err == nil {
		node = strings.TrimSpace(string(v))
	}
	return fmt.Sprintf("Machine: %s, %d CPUs, Linux %s, %s %s/%s, Node.js %s.",
		cpu, runtime.NumCPU(), kernel, runtime.Version(), runtime.GOOS, runtime.GOARCH, node)
}

// repoRoot is the nearest directory upwards from the working directory
// that holds go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod in the working directory or above: run from the repository")
		}
		dir = parent
	}
}
