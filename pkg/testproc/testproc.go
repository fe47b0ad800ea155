// Package testproc builds the project's binaries and runs them for
// end-to-end tests, so that tests drive what a user deploys: the real
// binary, over HTTP, configured only through its environment.
package testproc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildMu sync.Mutex
	built   = map[string]string{}
)

// Build compiles the main package at pkg (an import path) and returns the
// binary's path. The binaries live in one directory per checkout under the
// system's temporary directory, shared by every test process: go build
// relinks a binary only when its inputs changed, so the many test packages
// that run the same functions link each once, not once each. A file lock
// keeps two test processes from writing the same binary at once.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if bin, ok := built[pkg]; ok {
		return bin
	}
	root := RepoRoot(t)
	sum := sha256.Sum256([]byte(root))
	dir := filepath.Join(os.TempDir(), "fc-kyc-testbin-"+hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, filepath.Base(pkg))
	unlock, err := lockFile(bin + ".lock")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	cmd := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc,nethttpomithttp2", "-o", bin, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	built[pkg] = bin
	return bin
}

// FreePort returns a loopback TCP port nothing listens on right now.
func FreePort(t testing.TB) string {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// Proc is a running binary.
type Proc struct {
	Addr    string // 127.0.0.1:port it serves on
	anyPort bool   // started on port 0: Addr comes from its output
	bin     string
	args    []string
	env     []string
	cmd     *exec.Cmd
	out     *Buffer
	done    chan error
}

// Start runs bin with env (added to a minimal environment) and waits until
// port accepts connections. The process is stopped with SIGTERM when the
// test ends.
//
// Port "0" means the process binds any free port itself (env must say so:
// FC_CUSTOM_LISTEN_PORT=0 with LISTEN_HOST=127.0.0.1 for a function,
// EMULATOR_ADDR=127.0.0.1:0 for the emulator) and Start learns it from the
// line the process prints when it listens: no other process can take the
// port between a check and the bind, as with FreePort. Restart then gets a
// new port (Addr changes).
func Start(t testing.TB, bin string, port string, env ...string) *Proc {
	t.Helper()
	return StartArgs(t, bin, nil, port, env...)
}

// StartArgs is Start for a binary that takes command-line arguments.
func StartArgs(t testing.TB, bin string, args []string, port string, env ...string) *Proc {
	t.Helper()
	p := &Proc{Addr: "127.0.0.1:" + port, bin: bin, args: args, out: &Buffer{},
		env: append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "GOTRACEBACK=all"}, env...)}
	t.Cleanup(func() {
		p.Stop()
		// What the process printed is the first thing to read when a test
		// fails, so every test gets it without asking.
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(bin), p.Output())
		}
	})
	p.run(t)
	return p
}

// run starts the process and waits until it accepts connections.
func (p *Proc) run(t testing.TB) {
	t.Helper()
	p.cmd = exec.Command(p.bin, p.args...)
	p.cmd.Env = p.env
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if strings.HasSuffix(p.Addr, ":0") || p.anyPort {
		p.anyPort = true
		p.Addr = ""
	}
	printed := len(p.out.String()) // the listening line to read is the new process's
	p.done = make(chan error, 1)
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd, done := p.cmd, p.done
	go func() { done <- cmd.Wait() }()

	deadline := time.Now().Add(20 * time.Second)
	for {
		if p.Addr == "" {
			if out := p.out.String(); len(out) >= printed {
				if m := listening.FindStringSubmatch(out[printed:]); m != nil {
					p.Addr = m[1]
				}
			}
		}
		if p.Addr != "" {
			if c, err := net.DialTimeout("tcp", p.Addr, 100*time.Millisecond); err == nil {
				c.Close()
				return
			}
		}
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("%s exited before serving: %v\n%s", filepath.Base(p.bin), err, p.Output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not listen on %s within 20s\n%s", filepath.Base(p.bin), p.Addr, p.Output())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// listening finds the address in the line a process prints when it
// listens: a function's JSON "listening" line, the emulator's "emulator
// listening on http://...".
var listening = regexp.MustCompile(`listening.*?(127\.0\.0\.1:[1-9][0-9]*)`)

// StartEmulator runs the upstream emulator (cmd/emulator) on a port of its
// own choosing, with extra env (EMULATOR_RESULTS_URL, ...).
func StartEmulator(t testing.TB, env ...string) *Proc {
	t.Helper()
	return Start(t, Build(t, "github.com/idverify/fc-kyc/cmd/emulator"), "0", append([]string{"EMULATOR_ADDR=127.0.0.1:0"}, env...)...)
}

// StartFunction runs the built functions/<name> on 127.0.0.1 and a port of
// its own choosing, trusting x-fc-control-path as FC would (the tests play
// FC's part and send events), with env on top (later entries win).
func StartFunction(t testing.TB, name string, env ...string) *Proc {
	t.Helper()
	return Start(t, Build(t, "github.com/idverify/fc-kyc/functions/"+name), "0",
		append([]string{"FC_CUSTOM_LISTEN_PORT=0", "LISTEN_HOST=127.0.0.1", "TRUST_CONTROL_PATH=true"}, env...)...)
}

// URL is the base URL of the process.
func (p *Proc) URL() string { return "http://" + p.Addr }

// Output is what the process printed (its last few MiB).
func (p *Proc) Output() string { return p.out.String() }

// Pid is the running process's id (to read /proc/<pid>/status, say).
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Signal sends sig to the process.
func (p *Proc) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Wait waits up to d for the process to end, and says whether it did.
func (p *Proc) Wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case err := <-p.done:
		p.done <- err
		return true
	case <-t.C:
	}
	// A select picks at random among ready cases: look once more.
	select {
	case err := <-p.done:
		p.done <- err
		return true
	default:
		return false
	}
}

// Kill ends the process at once (SIGKILL), as a reclaimed instance ends:
// no pre-stop, no graceful shutdown. It returns when the process is gone.
func (p *Proc) Kill() {
	if p.Wait(0) { // not cmd.ProcessState: Wait's goroutine writes it
		return
	}
	_ = p.cmd.Process.Kill()
	err := <-p.done
	p.done <- err
}

// Restart runs the binary again, with the same arguments and environment
// on the same port, once the previous process has ended (Kill or Stop it
// first), and waits until it serves.
func (p *Proc) Restart(t testing.TB) {
	t.Helper()
	if !p.Wait(0) {
		t.Fatalf("%s: Restart while the process still runs; Kill or Stop it first", filepath.Base(p.bin))
	}
	p.run(t)
}

// Stop sends SIGTERM and waits up to 10 s, then kills. It returns the exit error.
func (p *Proc) Stop() error {
	if p.Wait(0) {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-ctx.Done():
		_ = p.cmd.Process.Kill()
		return fmt.Errorf("did not stop within 10s after SIGTERM")
	}
}

// runOnceLimit bounds RunOnce: a function that should have refused to start
// but serves instead would otherwise hang the test until the go test timeout.
const runOnceLimit = 20 * time.Second

// RunOnce runs bin to completion with env and returns its exit error and
// output. A process still running after 20 s is killed, and the output then
// ends with a line saying so (so an assertion on the expected message fails).
func RunOnce(bin string, env ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), runOnceLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		out = append(out, "\n(still running after "+runOnceLimit.String()+": killed; it did not refuse to start)"...)
	}
	return strings.TrimSpace(string(out)), err
}

// Buffer is a bytes.Buffer safe for concurrent writers: a process's
// output, or log lines written by concurrent requests. It keeps the last
// 4 to 8 MiB: a function under load logs a line per request.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() > 8<<20 {
		rest := append([]byte(nil), s.b.Bytes()[s.b.Len()-(4<<20):]...)
		s.b.Reset()
		s.b.Write(rest)
	}
	return s.b.Write(p)
}

// String is everything written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
