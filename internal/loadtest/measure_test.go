package loadtest

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/idverify/fc-kyc/pkg/testproc"
)

// peakRSS is the process's high-water resident set (VmHWM), in KiB.
func peakRSS(t *testing.T, p *testproc.Proc) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Pid()))
	if err != nil {
		t.Fatalf("reading the function's memory: %v (the load test runs on Linux)", err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", v, err)
			}
			return kb
		}
	}
	t.Fatal("no VmHWM in /proc/<pid>/status")
	return 0
}

// goroutines ends the process with SIGQUIT, which makes the Go runtime
// print every goroutine (GOTRACEBACK=all), and counts them.
func goroutines(t *testing.T, p *testproc.Proc) int {
	t.Helper()
	if err := p.Signal(syscall.SIGQUIT); err != nil {
		t.Fatal(err)
	}
	if !p.Wait(20 * time.Second) {
		t.Fatal("no goroutine dump within 20s of SIGQUIT")
	}
	n := 0
	for line := range strings.Lines(p.Output()) {
		if strings.HasPrefix(line, "goroutine ") && strings.Contains(line, "[") {
			n++
		}
	}
	if n == 0 {
		t.Fatalf("no goroutine dump in the output:\n%s", tail(p.Output(), 2000))
	}
	return n
}

// connections counts the TCP connections p has open, its listening
// sockets aside: its socket descriptors whose inode /proc/<pid>/net/tcp{,6}
// does not list as listening (state 0A).
func connections(t *testing.T, p *testproc.Proc) int {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d", p.Pid())
	listening := map[string]bool{}
	for _, table := range []string{"net/tcp", "net/tcp6"} {
		b, _ := os.ReadFile(dir + "/" + table)
		for line := range strings.Lines(string(b)) {
			if f := strings.Fields(line); len(f) > 9 && f[3] == "0A" {
				listening[f[9]] = true
			}
		}
	}
	fds, err := os.ReadDir(dir + "/fd")
	if err != nil {
		t.Fatalf("reading the function's descriptors: %v (the load test runs on Linux)", err)
	}
	n := 0
	for _, fd := range fds {
		link, _ := os.Readlink(dir + "/fd/" + fd.Name())
		if inode, ok := strings.CutPrefix(link, "socket:["); ok && !listening[strings.TrimSuffix(inode, "]")] {
			n++
		}
	}
	return n
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
