// Package devstack runs the whole project on one machine for a person to
// try: the upstream emulator and every function of the registry, on
// 127.0.0.1, configured as a deployment would be but pointed at the
// emulator, plus the merchant's side (a webhook receiver that verifies and
// prints each result event) and the callback's timer, as FC's timer trigger
// would run it. cmd/devstack is its command line.
//
// It is honest about its state: it says the stack is up only once every
// process has reported that it listens on its own port, and if a process
// cannot start, or stops later, it stops the others and returns an error
// naming the process and its port.
package devstack

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/idverify/fc-kyc/internal/registry"
	"github.com/idverify/fc-kyc/pkg/emulator"
)

// Ports of the stack, as offsets from its base port: the functions take
// theirs from the registry (1 to 6).
const (
	DefaultBase           = 9000
	demoOffset            = 7 // the demo page's origin, with the identity provider
	resultsOffset         = 8 // the webhook receiver and results lookup
	emulatorOffset        = 9
	defaultTimer          = 5 * time.Second
	defaultReconcileAfter = 10 * time.Second // the callback's RECONCILE_AFTER in the stack
	startTimeout          = 10 * time.Second
)

// shutdownTimeout is how long Stop waits after SIGTERM before it kills
// what is still running (a variable for the tests).
var shutdownTimeout = 10 * time.Second

// Config is how a stack runs.
type Config struct {
	// Base is the base port (DefaultBase when 0): function ports are
	// Base+1..Base+6, the demo page Base+7, the results receiver Base+8,
	// the emulator Base+9.
	Base int
	// BinDir holds the binaries `make build` makes.
	BinDir string
	// StoreDir is the file store's directory; empty means a fresh temporary
	// directory for this run, removed when it stops. Stacks never share one.
	StoreDir string
	// Timer is how often the callback's timer runs; 0 means every 5 s,
	// negative never.
	Timer time.Duration
	// ReconcileAfter is the callback's RECONCILE_AFTER: how long a
	// transaction waits for its notification before the timer asks; 0
	// means 10 s (a deployment waits minutes).
	ReconcileAfter time.Duration
	// Out receives every line the stack prints; nil means os.Stdout.
	Out io.Writer
}

// Stack is a running stack.
type Stack struct {
	cfg      Config
	out      *lineWriter
	procs    []*proc
	srv      *http.Server
	idp      *idp
	demoSrv  *http.Server
	storeDir string
	tempDir  bool
	exited   chan error
	stopOnce sync.Once
	timerEnd context.CancelFunc
	timerWG  sync.WaitGroup
}

// Addr is 127.0.0.1 and the port at offset from the stack's base.
func (s *Stack) Addr(offset int) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.cfg.Base+offset))
}

// URL is the base URL of the function called name, the emulator
// ("emulator"), the results receiver ("results") or the demo page and its
// identity provider ("demo").
func (s *Stack) URL(name string) string {
	switch name {
	case "emulator":
		return "http://" + s.Addr(emulatorOffset)
	case "results":
		return "http://" + s.Addr(resultsOffset)
	case "demo":
		return "http://" + s.Addr(demoOffset)
	}
	f, ok := registry.Lookup(name)
	if !ok {
		panic("devstack: no function " + name)
	}
	return "http://" + s.Addr(f.PortOffset)
}

// StoreDir is the file store's directory.
func (s *Stack) StoreDir() string { return s.storeDir }

// Start brings the stack up and returns once every process listens. When
// any part cannot start (a port in use, a binary missing or refusing its
// configuration), it stops what it started and says which part, on which
// port, and why.
func Start(cfg Config) (*Stack, error) {
	if cfg.Base == 0 {
		cfg.Base = DefaultBase
	}
	if cfg.Base < 1 || cfg.Base+emulatorOffset > 65535 {
		return nil, fmt.Errorf("base port %d: give one from 1 to %d", cfg.Base, 65535-emulatorOffset)
	}
	if cfg.Timer == 0 {
		cfg.Timer = defaultTimer
	}
	if cfg.ReconcileAfter <= 0 {
		cfg.ReconcileAfter = defaultReconcileAfter
	}
	if cfg.Out == nil {
		cfg.Out = os.Stdout
	}
	s := &Stack{cfg: cfg, out: &lineWriter{w: cfg.Out}, exited: make(chan error, 16), storeDir: cfg.StoreDir}
	if s.storeDir == "" {
		d, err := os.MkdirTemp("", "devstack-store-")
		if err != nil {
			return nil, err
		}
		s.storeDir, s.tempDir = d, true
	}
	if err := s.start(); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Stack) start() error {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	webhookSecret := hex.EncodeToString(secret)

	// The merchant's side first: the callback posts to it from its first run.
	addr := s.Addr(resultsOffset)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return portError("the results receiver", addr, err)
	}
	results := NewResults([]byte(webhookSecret), func(format string, args ...any) {
		s.out.printf("results", format, args...)
	})
	s.srv = &http.Server{Handler: results.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(l) }()

	// The demo origin next: it serves the JWKS the functions fetch at start.
	if s.idp, err = newIDP(s.URL("demo")); err != nil {
		return err
	}
	addr = s.Addr(demoOffset)
	dl, err := net.Listen("tcp", addr)
	if err != nil {
		return portError("the demo page", addr, err)
	}
	endpoints := map[string]string{}
	for name, fn := range map[string]string{"ekycInit": "ekyc-init", "zhimaInit": "zhima-init", "otpInit": "otp-init", "bankVerify": "bank-verify", "result": "result"} {
		endpoints[name] = s.URL(fn) + "/"
	}
	s.demoSrv = &http.Server{Handler: newDemo(s.idp, s.URL("emulator"), endpoints).Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.demoSrv.Serve(dl) }()

	for _, p := range s.processes(webhookSecret) {
		if err := s.run(p); err != nil {
			return err
		}
	}
	if s.cfg.Timer > 0 {
		ctx, cancel := context.WithCancel(context.Background())
		s.timerEnd = cancel
		s.timerWG.Add(1)
		go func() { defer s.timerWG.Done(); s.runTimer(ctx) }()
	}
	return nil
}

// processes is every process of the stack in start order (the emulator
// first), with its environment.
func (s *Stack) processes(webhookSecret string) []procSpec {
	emu, emuURL := s.Addr(emulatorOffset), s.URL("emulator")
	common := []string{"LISTEN_HOST=127.0.0.1", "LOG_LEVEL=info", "TRUST_CONTROL_PATH=true"}
	// As production: callers need a JWT, here from the stack's identity
	// provider, and browsers only the demo page's origin.
	front := []string{"AUTH_MODE=jwt", "AUTH_JWKS_URL=" + s.URL("demo") + "/.well-known/jwks.json",
		"AUTH_JWT_ISSUER=" + s.URL("demo"), "AUTH_JWT_AUDIENCE=" + Audience,
		"AUTH_SUBJECT_SECRET=devstack-subject-secret-for-local-runs-only", "CORS_ALLOWED_ORIGINS=" + s.URL("demo")}
	// Every function counts its limits (and the QPS budget) in this
	// stack's own store.
	own := []string{"STORE_URL=file://" + s.storeDir}
	// ekyc-init, zhima-init, the callback and result share the callback
	// key (result: the owner keys derived from it) and the store.
	results := []string{"CALLBACK_SECRET=devstack-callback-secret-for-local-runs-only"}
	zhimaReturn := "ZHIMA_RETURN_URL=" + s.URL("callback") + "/zhima/return"
	// bank-verify counts each card by an HMAC under this key (required
	// with AUTH_MODE=jwt).
	cardKey := []string{"BANK_CARD_LIMIT_SECRET=devstack-card-limit-key-for-local-runs-only"}
	// Each function's own settings; its client of the upstream the
	// registry names is pointed at the emulator below.
	env := map[string][]string{
		"ekyc-init":   join(front, own, results, []string{"EKYC_CALLBACK_URL=" + s.URL("callback") + "/ekyc/callback"}),
		"bank-verify": join(front, own, cardKey, []string{"BANK_VERIFY_PARAM_TYPE=md5"}),
		"zhima-init":  join(front, own, results, []string{zhimaReturn}),
		"otp-init":    join(front, own),
		// The callback also queries the Alipay gateway for Zhima returns.
		"callback": join(own, results, emulator.ClientEnv(emulator.Alipay, emuURL), []string{
			zhimaReturn,
			"RECONCILE_AFTER=" + s.cfg.ReconcileAfter.String(),
			"RESULT_WEBHOOK_URL=" + s.URL("results") + "/webhook", "RESULT_WEBHOOK_SECRET=" + webhookSecret,
			// The user's browser goes back to the demo page after a Zhima return.
			"ZHIMA_DONE_URL=" + s.URL("demo") + "/?flow=zhima",
		}),
		"result": join(front, own, results, []string{"FUNCTION_TIMEOUT_S=30"}),
	}
	specs := []procSpec{{name: "emulator", addr: emu, env: []string{
		"EMULATOR_ADDR=" + emu, "EMULATOR_RESULTS_URL=" + s.URL("results") + "/results/"}}}
	for _, f := range registry.Functions {
		e, ok := env[f.Name]
		if !ok {
			panic("devstack: no local configuration for function " + f.Name + " (internal/devstack, processes)")
		}
		if f.Upstream != registry.None {
			e = join(emulator.ClientEnv(emulator.Upstream(f.Upstream), emuURL), e)
		}
		addr := s.Addr(f.PortOffset)
		_, port, _ := net.SplitHostPort(addr)
		specs = append(specs, procSpec{name: f.Name, addr: addr, env: join(common, []string{"FC_CUSTOM_LISTEN_PORT=" + port}, e)})
	}
	return specs
}

func join(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// procSpec is one binary of the stack.
type procSpec struct {
	name, addr string
	env        []string
}

// proc is a started binary.
type proc struct {
	procSpec
	cmd  *exec.Cmd
	tail *tailWriter
	done chan struct{}
	err  error
}

// run starts p and waits until it says it listens on its port, or fails.
// A port already in use is found before the start, so the message names
// it rather than the process's own complaint.
func (s *Stack) run(p procSpec) error {
	if l, err := net.Listen("tcp", p.addr); err != nil {
		return portError(p.name, p.addr, err)
	} else {
		l.Close()
	}
	bin := filepath.Join(s.cfg.BinDir, p.name)
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("%s: no binary at %s: run `make build` first", p.name, bin)
	}
	ready := make(chan struct{})
	var once sync.Once
	pr := &proc{procSpec: p, done: make(chan struct{})}
	pr.tail = &tailWriter{next: s.out.prefixed(p.name), onLine: func(line []byte) {
		if listensOn(line, p.addr) {
			once.Do(func() { close(ready) })
		}
	}}
	pr.cmd = exec.Command(bin)
	pr.cmd.Env = append(os.Environ(), p.env...)
	pr.cmd.Stdout, pr.cmd.Stderr = pr.tail, pr.tail
	if err := pr.cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w", p.name, err)
	}
	s.procs = append(s.procs, pr)
	go func() {
		pr.err = pr.cmd.Wait()
		close(pr.done)
		s.exited <- exitError(p.name, p.addr, pr.err, pr.tail.last())
	}()
	select {
	case <-ready:
		return nil
	case <-pr.done:
		<-s.exited
		return exitError(p.name, p.addr, pr.err, pr.tail.last())
	case <-time.After(startTimeout):
		return fmt.Errorf("%s did not report listening on %s within %s; its last lines:\n%s", p.name, p.addr, startTimeout, pr.tail.last())
	}
}

// listensOn says whether a log line is the process's own report that it
// listens on addr: the functions' JSON "listening" line, the emulator's
// "emulator listening on http://addr".
func listensOn(line []byte, addr string) bool {
	return bytes.Contains(line, []byte("listening")) && bytes.Contains(line, []byte(addr))
}

func portError(name, addr string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("%s cannot listen on %s: the port is in use (another stack?). Choose other ports with -base or DEVSTACK_PORT_BASE", name, addr)
	}
	return fmt.Errorf("%s cannot listen on %s: %v", name, addr, err)
}

func exitError(name, addr string, err error, tail string) error {
	if err == nil {
		err = errors.New("exit status 0")
	}
	msg := fmt.Sprintf("%s (%s) stopped: %v", name, addr, err)
	if tail != "" {
		msg += "; its last lines:\n" + tail
	}
	return errors.New(msg)
}

// Wait blocks until ctx is done (nil) or a process of the stack stops on
// its own (its error).
func (s *Stack) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-s.exited:
		return err
	}
}

// Stop stops every process (SIGTERM, then SIGKILL after a grace period, in
// reverse start order), the timer and the receiver, and removes a
// temporary store directory.
func (s *Stack) Stop() {
	s.stopOnce.Do(func() {
		if s.timerEnd != nil {
			s.timerEnd()
			s.timerWG.Wait()
		}
		for i := len(s.procs) - 1; i >= 0; i-- {
			_ = s.procs[i].cmd.Process.Signal(syscall.SIGTERM)
		}
		// Done stays closed once the grace period is over, so every
		// process still running then is killed, not only the first.
		grace, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		for _, p := range s.procs {
			select {
			case <-p.done:
			case <-grace.Done():
				_ = p.cmd.Process.Kill()
				<-p.done
			}
		}
		if s.srv != nil {
			_ = s.srv.Close()
		}
		if s.demoSrv != nil {
			_ = s.demoSrv.Close()
		}
		if s.tempDir {
			_ = os.RemoveAll(s.storeDir)
		}
	})
}

// runTimer invokes the callback's timer as FC's timer trigger would, and
// prints a run's report when it did something.
func (s *Stack) runTimer(ctx context.Context) {
	t := time.NewTicker(s.cfg.Timer)
	defer t.Stop()
	client := &http.Client{Timeout: 30 * time.Second}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		report, err := invokeTimer(ctx, client, s.URL("callback"))
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			s.out.printf("timer", "the callback's timer run failed: %v", err)
		case report.didSomething():
			s.out.printf("timer", "run: %s", report.raw)
		}
	}
}

type timerReport struct {
	Recorded, Expired, Errors, Delivered, NotDelivered int
	raw                                                string
}

func (r timerReport) didSomething() bool {
	return r.Recorded+r.Expired+r.Errors+r.Delivered+r.NotDelivered > 0
}

// timerEvent is the body FC's timer trigger sends.
const timerEvent = `{"triggerTime":"2026-01-01T00:00:00Z","triggerName":"reconcile","payload":""}`

func invokeTimer(ctx context.Context, c *http.Client, base string) (timerReport, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/invoke", strings.NewReader(timerEvent))
	if err != nil {
		return timerReport{}, err
	}
	req.Header.Set("x-fc-control-path", "/invoke")
	resp, err := c.Do(req)
	if err != nil {
		return timerReport{}, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	// An event's failure is x-fc-status: 404 on a 200 answer (the FC contract).
	if st := resp.Header.Get("x-fc-status"); resp.StatusCode != http.StatusOK || (st != "" && st != "200") {
		return timerReport{}, fmt.Errorf("status %d: %s", resp.StatusCode, bytes.TrimSpace(body))
	}
	var r timerReport
	if err := json.Unmarshal(body, &r); err != nil {
		return timerReport{}, err
	}
	r.raw = string(bytes.TrimSpace(body))
	return r, nil
}
