package testproc

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// RedisServer is a real redis-server run for one test: loopback only, its
// own temporary directory, no persistence while it runs.
type RedisServer struct {
	// URL is redis://127.0.0.1:port/0, for STORE_URL or store.OpenRedis.
	URL string
	// Addr is 127.0.0.1:port.
	Addr string

	t    testing.TB
	bin  string
	dir  string
	port string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan error
	out  *Buffer
}

// Redis starts redis-server on a free loopback port and waits until it
// answers as itself (servedBy); it is stopped when the test ends. The test
// is skipped when redis-server is not installed (CI installs it: see
// .ci/run).
func Redis(t testing.TB) *RedisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not on PATH: install it (Debian: apt-get install redis-server) to run the Redis tests")
	}
	r := &RedisServer{t: t, bin: bin, dir: t.TempDir()}
	t.Cleanup(func() { r.kill() })
	// FreePort's port is free when it returns, not when redis-server binds
	// it: another test process may take it in between. The server then
	// exits saying so, and gets another port.
	for attempt := 1; ; attempt++ {
		r.port = FreePort(t)
		r.URL, r.Addr = "redis://127.0.0.1:"+r.port+"/0", "127.0.0.1:"+r.port
		err := r.start()
		if err == nil {
			return r
		}
		if !portTaken(err) || attempt == 5 {
			t.Fatal(err)
		}
	}
}

// portTaken says whether err is a redis-server's exit because its port was
// taken before it could bind it.
func portTaken(err error) bool {
	return strings.Contains(err.Error(), "Address already in use")
}

// Start starts the server again after Stop, on the same port, with the data
// it had when stopped.
func (r *RedisServer) Start() {
	r.t.Helper()
	if err := r.start(); err != nil {
		r.t.Fatal(err)
	}
}

func (r *RedisServer) start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		return errors.New("testproc: redis-server is already running")
	}
	cmd := exec.Command(r.bin,
		"--bind", "127.0.0.1", "--port", r.port, "--dir", r.dir,
		"--save", "", "--appendonly", "no", // no persistence while running
		"--daemonize", "no", "--loglevel", "warning",
	)
	r.out = &Buffer{}
	cmd.Stdout, cmd.Stderr = r.out, r.out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("testproc: start redis-server: %w", err)
	}
	r.cmd, r.done = cmd, make(chan error, 1)
	go func() { r.done <- cmd.Wait() }()
	if err := waitFor(func() error { return servedBy(r.Addr, cmd.Process.Pid) }, r.done); err != nil {
		_ = cmd.Process.Kill()
		r.cmd = nil
		return fmt.Errorf("testproc: redis-server on %s: %w\n%s", r.Addr, err, r.out.String())
	}
	return nil
}

// Stop shuts the server down, as an outage would: clients get connection
// errors until Start. It first snapshots the data into its temporary
// directory (SHUTDOWN SAVE), so that Start brings the records back, as a
// real instance that restarts does.
func (r *RedisServer) Stop() {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return
	}
	_, _ = command(r.Addr, "SHUTDOWN SAVE") // the connection closes as the server exits
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
		r.t.Fatalf("testproc: redis-server did not shut down within 10s\n%s", r.out.String())
	}
	r.cmd = nil
}

// Pause freezes the server (SIGSTOP), as a hung or partitioned instance:
// connections open but nothing answers, so clients hit their timeouts
// rather than a refused connection. Resume undoes it; cleanup resumes too.
func (r *RedisServer) Pause() { r.signal(pauseSignal) }

// Resume lets a paused server run again.
func (r *RedisServer) Resume() { r.signal(resumeSignal) }

func (r *RedisServer) signal(sig os.Signal) {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		r.t.Fatal("testproc: redis-server is not running")
	}
	if sig == nil {
		r.t.Skip("testproc: pausing a process needs SIGSTOP, a Unix signal")
	}
	if err := r.cmd.Process.Signal(sig); err != nil {
		r.t.Fatalf("testproc: signal redis-server: %v", err)
	}
}

// kill ends the server at cleanup without saving.
func (r *RedisServer) kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	<-r.done
	r.cmd = nil
}

// ping sends PING.
func ping(addr string) error { return pingVia(addr, nil) }

// pingVia sends PING, over TLS trusting roots when they are given.
func pingVia(addr string, roots *x509.CertPool) error {
	c, _, reply, err := send(addr, roots, "PING")
	if err != nil {
		return err
	}
	c.Close()
	if reply != "+PONG" {
		return fmt.Errorf("PING answered %q", reply)
	}
	return nil
}

// servedBy checks that the redis-server answering at addr is process pid:
// another test's server that took the port between FreePort and this one's
// bind would otherwise answer in its place, while this one exits.
func servedBy(addr string, pid int) error {
	c, rd, head, err := send(addr, nil, "INFO server")
	if err != nil {
		return err
	}
	defer c.Close()
	n, err := strconv.Atoi(strings.TrimPrefix(head, "$"))
	if err != nil || !strings.HasPrefix(head, "$") {
		return fmt.Errorf("INFO server answered %q", head)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(rd, body); err != nil {
		return err
	}
	for _, line := range strings.Split(string(body), "\r\n") {
		if v, ok := strings.CutPrefix(line, "process_id:"); ok {
			if v != strconv.Itoa(pid) {
				return fmt.Errorf("another redis-server (process %s) answers on %s", v, addr)
			}
			return nil
		}
	}
	return errors.New("INFO server names no process_id")
}

// command sends one inline command and returns the first line of the reply.
func command(addr, cmd string) (string, error) {
	c, _, reply, err := send(addr, nil, cmd)
	if c != nil {
		c.Close()
	}
	return reply, err
}

// send dials addr (over TLS trusting roots, when they are given), sends one
// inline command, and returns the connection, its reader for the rest of
// the reply and the reply's first line. The caller closes the connection
// when err is nil.
func send(addr string, roots *x509.CertPool, cmd string) (net.Conn, *bufio.Reader, string, error) {
	d := &net.Dialer{Timeout: time.Second}
	var c net.Conn
	var err error
	if roots != nil {
		c, err = tls.DialWithDialer(d, "tcp", addr, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12})
	} else {
		c, err = d.Dial("tcp", addr)
	}
	if err != nil {
		return nil, nil, "", err
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(cmd + "\r\n")); err != nil {
		c.Close()
		return nil, nil, "", err
	}
	rd := bufio.NewReader(c)
	line, err := rd.ReadString('\n')
	if err != nil {
		c.Close()
		return nil, nil, strings.TrimSpace(line), err
	}
	return c, rd, strings.TrimSpace(line), nil
}

// Monitor starts Redis's MONITOR on a connection of its own and returns a
// function that stops it and returns what it saw: one line per command,
// such as `1733470000.123456 [0 127.0.0.1:40000] "evalsha" "..."`, the
// commands that scripts run marked `[0 lua]`. It speaks the protocol
// itself: a test counts with it how many commands a request sends.
func (r *RedisServer) Monitor() (stop func() []string) {
	r.t.Helper()
	conn, err := net.DialTimeout("tcp", r.Addr, 5*time.Second)
	if err != nil {
		r.t.Fatalf("MONITOR: %v", err)
	}
	rd := bufio.NewReader(conn)
	if _, err := conn.Write([]byte("MONITOR\r\n")); err != nil {
		r.t.Fatalf("MONITOR: %v", err)
	}
	if ok, err := rd.ReadString('\n'); err != nil || ok != "+OK\r\n" {
		r.t.Fatalf("MONITOR: %q %v", ok, err)
	}
	var (
		mu    sync.Mutex
		lines []string
		done  = make(chan struct{})
	)
	go func() {
		defer close(done)
		for {
			l, err := rd.ReadString('\n')
			if err != nil {
				return
			}
			mu.Lock()
			lines = append(lines, strings.TrimSuffix(strings.TrimPrefix(l, "+"), "\r\n"))
			mu.Unlock()
		}
	}()
	return func() []string {
		// A PING on another connection marks the end: once MONITOR shows
		// it, every command sent before it has been shown.
		if c, err := net.DialTimeout("tcp", r.Addr, 5*time.Second); err == nil {
			_, _ = c.Write([]byte("PING\r\n"))
			_, _ = bufio.NewReader(c).ReadString('\n')
			c.Close()
		}
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			n := len(lines)
			seen := n > 0 && strings.HasSuffix(lines[n-1], `"PING"`) || n > 0 && strings.HasSuffix(lines[n-1], `"ping"`)
			mu.Unlock()
			if seen {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		conn.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		if n := len(lines); n > 0 && strings.Contains(strings.ToLower(lines[n-1]), `"ping"`) {
			return lines[:n-1]
		}
		return lines
	}
}

// Commands runs during under MONITOR and returns the commands clients sent
// meanwhile and, apart, those their scripts ran (marked "lua"): what a
// test counts to say how many round trips a request costs.
func (r *RedisServer) Commands(during func()) (sent, scripted []string) {
	r.t.Helper()
	stop := r.Monitor()
	during()
	for _, l := range stop() {
		switch {
		case strings.Contains(l, " lua] "):
			scripted = append(scripted, l)
		case strings.Contains(l, "] \""):
			sent = append(sent, l)
		}
	}
	return sent, scripted
}
