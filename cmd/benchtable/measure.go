package main

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/idverify/fc-kyc/pkg/emulator"
)

// target is one server to measure: a function's binary or the Node peer.
type target struct {
	Label string   // column title: "Go" or "Node"
	Argv  []string // program and arguments
	Dir   string   // working directory ("" for the harness's)
	Env   []string // environment besides PATH, HOME and the listen port
}

// proc is a running target.
type proc struct {
	cmd  *exec.Cmd
	url  string
	out  *tailBuffer
	done chan struct{}
}

// start runs t listening on port. Its output is kept (the last few KiB)
// for error messages only.
func (t target) start(port string) (*proc, error) {
	p := &proc{url: "http://127.0.0.1:" + port + "/", out: &tailBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(t.Argv[0], t.Argv[1:]...)
	p.cmd.Dir = t.Dir
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "FC_CUSTOM_LISTEN_PORT=" + port}, t.Env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", t.Argv[0], err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitListening waits until the process accepts connections on its port.
func (p *proc) waitListening(within time.Duration) error {
	addr := strings.TrimSuffix(strings.TrimPrefix(p.url, "http://"), "/")
	deadline := time.Now().Add(within)
	for {
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		if p.exited() {
			return fmt.Errorf("exited before listening:\n%s", p.out)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not listening on %s after %s:\n%s", addr, within, p.out)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stop ends the process: SIGTERM and a grace period when graceful, else SIGKILL.
func (p *proc) stop(graceful bool) {
	if graceful {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
			return
		case <-time.After(5 * time.Second):
		}
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// coldStarts returns, for n fresh processes, the time from exec to the first
// answer with status want. The probe opens a new connection per try and
// retries every 200 µs while the port refuses, so the figure is at most
// that much late. Each process is killed once it has answered.
func coldStarts(t target, rq request, want, n int) ([]time.Duration, error) {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	var out []time.Duration
	for range n {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		t0 := time.Now()
		p, err := t.start(port)
		if err != nil {
			return nil, err
		}
		for {
			status, answer, err := rq.send(client, p.url)
			if err == nil {
				if status != want {
					p.stop(false)
					return nil, fmt.Errorf("first answer HTTP %d, want %d: %.300s\n%s", status, want, answer, p.out)
				}
				break
			}
			if p.exited() || time.Since(t0) > 20*time.Second {
				p.stop(false)
				return nil, fmt.Errorf("no answer after %s (%v):\n%s", time.Since(t0).Round(time.Millisecond), err, p.out)
			}
			time.Sleep(200 * time.Microsecond)
		}
		out = append(out, time.Since(t0))
		p.stop(false)
	}
	return out, nil
}

// loadResult is one closed-loop run.
type loadResult struct {
	Latencies []time.Duration // ascending
	Elapsed   time.Duration
}

// load sends n requests from conc workers, each sending its next request as
// soon as the previous one answered (closed loop). Worker i starts after
// i×stagger/conc: with an upstream that always takes the same time, workers
// started together would stay in lockstep and send their requests in waves
// of conc, a burst no real traffic looks like. Any status but want stops
// the run with an error: figures of failing requests would mean nothing.
func load(client *http.Client, url string, rq request, want, conc, n int, stagger time.Duration) (loadResult, error) {
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for w := range conc {
		wg.Go(func() {
			time.Sleep(stagger * time.Duration(w) / time.Duration(conc))
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				t0 := time.Now()
				status, answer, err := rq.send(client, url)
				lat[i] = time.Since(t0)
				if err == nil && status != want {
					err = fmt.Errorf("HTTP %d, want %d: %.300s", status, want, answer)
				}
				if err != nil {
					once.Do(func() { firstErr = err })
					next.Store(int64(n)) // stop the other workers
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return loadResult{}, firstErr
	}
	slices.Sort(lat)
	return loadResult{Latencies: lat, Elapsed: time.Since(start)}, nil
}

// request is what every measured call sends: method ("" is POST), the
// path and query under the target's URL, and a JSON body (POST only).
type request struct {
	method string
	path   string
	body   []byte
}

// send makes the request to base (the target's URL, ending in /) and reads
// the whole answer.
func (rq request) send(client *http.Client, base string) (int, []byte, error) {
	method, body := cmp.Or(rq.method, http.MethodPost), io.Reader(http.NoBody)
	if method == http.MethodPost {
		body = bytes.NewReader(rq.body)
	}
	req, err := http.NewRequest(method, strings.TrimSuffix(base, "/")+cmp.Or(rq.path, "/"), body)
	if err != nil {
		return 0, nil, err
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	return resp.StatusCode, answer, err
}

// loadClient keeps up to 256 idle connections, so that a run at
// concurrency 100 reuses its connections to the function as FC's front end
// does.
func loadClient() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second,
	}}
}

// measurement is what one target measured for one spec.
type measurement struct {
	ColdStart     time.Duration // median
	ColdStarts    int
	SeqRequests   int
	NewConns      int64            // new upstream connections over SeqRequests sequential requests
	NewConns50    int64            // and over the CPU run at concurrency 50
	Requests50    int              // the CPU run's requests
	CPUPerRequest time.Duration    // user+sys at concurrency 50, the upstream answering at once
	Throughput    float64          // requests per second in that run
	Added1        [2]time.Duration // p50, p99 added latency at concurrency 1
	Added50       [2]time.Duration // p50, p99 added latency at concurrency 50, the upstream answering in UpstreamDelay
	Emulator1     time.Duration    // the emulator's median handling time, concurrency 1
	Emulator50    time.Duration    // and at concurrency 50 (UpstreamDelay included)
	UpstreamDelay time.Duration    // the emulator's answer delay in the runs at 50 (latency) and 100
	PeakRSS       int64            // bytes, VmHWM after the run at concurrency 100
}

// plan says how much load each measurement sends.
type plan struct {
	Starts      int // cold starts
	Sequential  int // requests of the connection-reuse run (concurrency 1)
	Latency1    int // requests at concurrency 1
	CPU50       int // requests at concurrency 50, upstream at once (CPU per request)
	Latency50   int // requests at concurrency 50, upstream delayed (added latency)
	Requests100 int // requests at concurrency 100, upstream delayed (peak RSS)
	// UpstreamDelay is how long the emulator takes to answer in the runs
	// at 50 (latency) and 100: a real upstream is tens of milliseconds away,
	// which is why 50 requests are in flight at once. Without it a closed
	// loop at 50 saturates the machine's cores and its latency is queueing
	// (Little's law), not the function's own work.
	UpstreamDelay time.Duration
}

// measure runs every measurement of t with s's request against emu.
//
// Order, on one process after the cold starts: the connection-reuse run
// first (a fresh process, so its first upstream connection counts), then
// concurrency 1, 50 with the upstream answering at once (CPU), 50 and 100
// with the upstream answering in plan.UpstreamDelay. Peak RSS is the
// process's high-water mark (VmHWM) after the run at 100, where 100
// requests are in flight at once.
func measure(t target, s spec, emu *emulator.Remote, pl plan) (measurement, error) {
	var m measurement
	rq := request{method: s.Method, path: "/", body: []byte(s.Body)}
	if s.Prepare != nil {
		if err := s.Prepare(emu); err != nil {
			return m, fmt.Errorf("preparing the emulator: %w", err)
		}
	}
	if s.Path != nil {
		var err error
		if rq.path, err = s.Path(emu); err != nil {
			return m, err
		}
	}
	cold, err := coldStarts(t, rq, s.Want, pl.Starts)
	if err != nil {
		return m, fmt.Errorf("cold start: %w", err)
	}
	m.ColdStart, m.ColdStarts = median(cold), len(cold)

	port, err := freePort()
	if err != nil {
		return m, err
	}
	p, err := t.start(port)
	if err != nil {
		return m, err
	}
	defer p.stop(true)
	if err := p.waitListening(20 * time.Second); err != nil {
		return m, err
	}
	client := loadClient()
	defer client.CloseIdleConnections()

	before, err := emu.Stats()
	if err != nil {
		return m, err
	}
	if _, err := load(client, p.url, rq, s.Want, 1, pl.Sequential, 0); err != nil {
		return m, fmt.Errorf("sequential run: %w", err)
	}
	after, err := emu.Stats()
	if err != nil {
		return m, err
	}
	m.SeqRequests, m.NewConns = pl.Sequential, after.Connections-before.Connections

	var delay time.Duration // the upstream's answer time, set below for the runs that want one
	run := func(conc, n int) (loadResult, emulator.HandlingTimes, error) {
		if err := emu.ResetHandlingTimes(); err != nil {
			return loadResult{}, emulator.HandlingTimes{}, err
		}
		r, err := load(client, p.url, rq, s.Want, conc, n, delay)
		if err != nil {
			return r, emulator.HandlingTimes{}, fmt.Errorf("concurrency %d: %w", conc, err)
		}
		h, err := emu.HandlingTimes()
		return r, h, err
	}
	added := func(r loadResult, h emulator.HandlingTimes) [2]time.Duration {
		return [2]time.Duration{emulator.Percentile(r.Latencies, 50) - h.P50, emulator.Percentile(r.Latencies, 99) - h.P50}
	}
	r1, h1, err := run(1, pl.Latency1)
	if err != nil {
		return m, err
	}
	m.Emulator1, m.Added1 = h1.P50, added(r1, h1)

	before, err = emu.Stats()
	if err != nil {
		return m, err
	}
	cpu0, err := cpuTime(p.pid())
	if err != nil {
		return m, err
	}
	rCPU, _, err := run(50, pl.CPU50)
	if err != nil {
		return m, err
	}
	cpu1, err := cpuTime(p.pid())
	if err != nil {
		return m, err
	}
	if after, err = emu.Stats(); err != nil {
		return m, err
	}
	m.Requests50, m.NewConns50 = pl.CPU50, after.Connections-before.Connections
	m.CPUPerRequest = (cpu1 - cpu0) / time.Duration(pl.CPU50)
	m.Throughput = float64(pl.CPU50) / rCPU.Elapsed.Seconds()

	delay = pl.UpstreamDelay
	if s.UpstreamDelay > 0 {
		delay = s.UpstreamDelay
	}
	upstream := s.upstream()
	if upstream == "" {
		delay = 0
	}
	if delay > 0 {
		if err := emu.InjectFault(upstream, "", emulator.Fault{Kind: emulator.FaultSlow, Delay: delay}); err != nil {
			return m, fmt.Errorf("slowing the upstream: %w", err)
		}
		defer func() { _ = emu.ClearFaults() }()
		m.UpstreamDelay = delay
	}
	r50, h50, err := run(50, pl.Latency50)
	if err != nil {
		return m, err
	}
	m.Emulator50, m.Added50 = h50.P50, added(r50, h50)

	if _, _, err := run(100, pl.Requests100); err != nil {
		return m, err
	}
	if m.PeakRSS, err = peakRSS(p.pid()); err != nil {
		return m, err
	}
	return m, nil
}

// userHZ is the unit of /proc/<pid>/stat times: USER_HZ, 100 on every Linux
// architecture the functions run on (the kernel's ABI, whatever CONFIG_HZ is).
const userHZ = 100

// cpuTime is the user+sys CPU time of process pid, all threads, from
// /proc/<pid>/stat (fields 14 and 15, in ticks of 1/USER_HZ s).
func cpuTime(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(raw))
}

// parseStatCPU reads utime+stime from a /proc/<pid>/stat line. The command
// name (field 2) may hold spaces and parentheses, so fields are counted
// after its last ')'.
func parseStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("unreadable /proc stat line")
	}
	f := strings.Fields(stat[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, errors.New("short /proc stat line")
	}
	utime, err1 := strconv.ParseInt(f[14-3], 10, 64)
	stime, err2 := strconv.ParseInt(f[15-3], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("unreadable /proc stat times: %w", err)
	}
	return time.Duration(utime+stime) * time.Second / userHZ, nil
}

// peakRSS is VmHWM of process pid in bytes.
func peakRSS(pid int) (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseVmHWM(string(raw))
}

func parseVmHWM(status string) (int64, error) {
	for line := range strings.Lines(status) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmHWM in /proc status")
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port), nil
}

// median of unsorted durations (not empty).
func median(d []time.Duration) time.Duration {
	s := slices.Sorted(slices.Values(d))
	return emulator.Percentile(s, 50)
}

// tailBuffer keeps the last 4 KiB written to it.
type tailBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > 4096 {
		t.b = append(t.b[:0], t.b[len(t.b)-4096:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
