package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/fc-kyc/pkg/emulator"
)

var spin atomic.Int64

func TestParseStatCPU(t *testing.T) {
	// A real line's shape, with a command name holding ") (" to trip a naive split.
	line := "4242 (we ird) (name) S 1 4242 4242 0 -1 4194560 1200 0 0 0 250 37 0 0 20 0 9 0 123456 1048576 2048 18446744073709551615"
	d, err := parseStatCPU(line)
	require.NoError(t, err)
	assert.Equal(t, 2870*time.Millisecond, d, "utime 250 + stime 37 ticks of 10 ms")

	_, err = parseStatCPU("4242 (x) S 1 2")
	assert.Error(t, err)
	_, err = parseStatCPU("no paren at all")
	assert.Error(t, err)

	// And the harness's own process, once it has used a clock tick of CPU
	// (a test may run before it has).
	self, err := cpuTime(os.Getpid())
	for deadline := time.Now().Add(5 * time.Second); err == nil && self == 0 && time.Now().Before(deadline); {
		for i := 0; i < 1e6; i++ {
			spin.Add(1)
		}
		self, err = cpuTime(os.Getpid())
	}
	require.NoError(t, err)
	assert.Positive(t, self)
}

func TestParseVmHWM(t *testing.T) {
	n, err := parseVmHWM("Name:\tx\nVmPeak:\t  99999 kB\nVmHWM:\t    12345 kB\nVmRSS:\t 100 kB\n")
	require.NoError(t, err)
	assert.Equal(t, int64(12345*1024), n)
	_, err = parseVmHWM("Name:\tx\n")
	assert.Error(t, err)

	self, err := peakRSS(os.Getpid())
	require.NoError(t, err)
	assert.Greater(t, self, int64(1<<20))
}

func TestParseGoBench(t *testing.T) {
	out := `goos: linux
goarch: amd64
pkg: github.com/idverify/fc-kyc/functions/ekyc-init
cpu: AMD EPYC
BenchmarkRequestAgainstEmulator-2   	    2000	    500000 ns/op	   30000 B/op	     300 allocs/op
BenchmarkRequestAgainstEmulator-2   	    2000	    700000 ns/op	   30000 B/op	     310 allocs/op
BenchmarkRequestAgainstEmulator-2   	    2000	    600000 ns/op	   30000 B/op	     305 allocs/op
BenchmarkInvalidRequest-2           	  100000	     10000 ns/op
PASS
ok  	github.com/idverify/fc-kyc/functions/ekyc-init	12.3s
pkg: github.com/idverify/fc-kyc/functions/bank-verify
BenchmarkRequestWithoutUpstream-2   	  100000	     20000 ns/op	    5000 B/op	      60 allocs/op
`
	all, err := parseGoBench(strings.NewReader(out))
	require.NoError(t, err)
	assert.Equal(t, []goBench{
		{Name: "RequestAgainstEmulator", NsPerOp: 600000, AllocsPerOp: 305, Runs: 3},
		{Name: "InvalidRequest", NsPerOp: 10000, AllocsPerOp: -1, Runs: 1},
	}, benchesOf(all, "ekyc-init"))
	assert.Equal(t, []goBench{{Name: "RequestWithoutUpstream", NsPerOp: 20000, AllocsPerOp: 60, Runs: 1}}, benchesOf(all, "bank-verify"))
	assert.Nil(t, benchesOf(all, "zhima-init"))
}

func TestMedian(t *testing.T) {
	assert.Equal(t, time.Duration(3), median([]time.Duration{5, 1, 3}))
	assert.Equal(t, time.Duration(2), median([]time.Duration{4, 1, 3, 2}), "the lower middle, as nearest rank")
}

func TestLoadStopsOnAWrongStatus(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if n.Add(1) == 3 {
			http.Error(w, "boom", http.StatusBadGateway)
		}
	}))
	defer srv.Close()
	_, err := load(loadClient(), srv.URL, request{body: []byte(`{}`)}, 200, 1, 10, 0)
	require.ErrorContains(t, err, "HTTP 502, want 200: boom")
	assert.Equal(t, int64(3), n.Load(), "the run stops at the first wrong answer")

	n.Store(-1000)
	r, err := load(loadClient(), srv.URL, request{body: []byte(`{}`)}, 200, 4, 40, 10*time.Millisecond)
	require.NoError(t, err)
	assert.Len(t, r.Latencies, 40)
	assert.LessOrEqual(t, r.Latencies[0], r.Latencies[39], "sorted")
}

// A spec's request may be a GET to a path with a query (the callback's
// notification); the default is a JSON POST to /.
func TestRequestMethodAndPath(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("Content-Type")+" "+string(b))
	}))
	defer srv.Close()
	_, _, err := request{method: http.MethodGet, path: "/?merchantBizId=b&callbackToken=t"}.send(loadClient(), srv.URL+"/")
	require.NoError(t, err)
	_, _, err = request{body: []byte(`{"a":1}`)}.send(loadClient(), srv.URL+"/")
	require.NoError(t, err)
	assert.Equal(t, []string{"GET /?merchantBizId=b&callbackToken=t  ", `POST / application/json {"a":1}`}, got)
}

// The goal checks: within the goal is "yes", a miss says by how much, and a
// ratio against a peer that did not run is not held against Go.
func TestRowsAgainstGoals(t *testing.T) {
	good := measurement{ColdStart: 5 * time.Millisecond, ColdStarts: 20, SeqRequests: 200, NewConns: 1,
		CPUPerRequest: 150 * time.Microsecond, Added50: [2]time.Duration{time.Millisecond / 2, time.Millisecond},
		PeakRSS: 20 << 20}
	node := measurement{ColdStart: 100 * time.Millisecond, SeqRequests: 200, NewConns: 200,
		CPUPerRequest: 300 * time.Microsecond, PeakRSS: 80 << 20}
	byMeasure := func(rs []row) map[string]row {
		m := map[string]row{}
		for _, r := range rs {
			m[strings.SplitN(r.measure, ",", 2)[0]] = r
		}
		return m
	}

	rs := byMeasure(rows(result{Spec: specs[0], Go: good, Node: &node, Binary: 9 << 20}))
	assert.Equal(t, "yes", rs["cold start"].verdict)
	assert.Equal(t, "20.0×", rs["cold start"].ratio)
	assert.Equal(t, "**no**: 2.0× Node, short of 3× Node", rs["CPU per request (user+sys)"].verdict)
	assert.Equal(t, "yes", rs["added latency p99"].verdict)
	assert.Equal(t, "yes", rs["peak RSS (VmHWM)"].verdict)
	assert.Equal(t, "yes", rs["binary size"].verdict)
	assert.Equal(t, "200", rs["new upstream connections over 200 sequential requests"].nodeV)

	bad := good
	bad.ColdStart, bad.NewConns, bad.PeakRSS = 30*time.Millisecond, 10, 45<<20
	rs = byMeasure(rows(result{Spec: specs[0], Go: bad, NodeWhy: "node is not installed", Binary: 13 << 20}))
	assert.Equal(t, "**no**: 15 ms over (2.00× the goal)", rs["cold start"].verdict, "no Node ratio checked without a peer")
	assert.Equal(t, "—", rs["cold start"].nodeV)
	assert.Contains(t, rs["new upstream connections over 200 sequential requests"].verdict, "**no**: 4 per 100 over")
	assert.Contains(t, rs["peak RSS (VmHWM)"].verdict, "**no**: 15 MB over")
	assert.Contains(t, rs["binary size"].verdict, "**no**")

	rsa := spec{Name: "zhima-init", RSA: true}
	rs = byMeasure(rows(result{Spec: rsa, Go: good, Sign: 100 * time.Microsecond}))
	assert.Equal(t, "1.50", rs["CPU per request ÷ one sign"].goV)
	assert.Contains(t, rs["CPU per request ÷ one sign"].verdict, "**no**")
	assert.Equal(t, "≤ 3 ms", rs["added latency p99"].goal)
}

// The whole harness on a small plan: real binaries, the emulator in its own
// process, and (when node and the peer's packages are installed) the peer.
func TestRunEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end: builds and runs binaries")
	}
	repo, err := filepath.Abs("../..")
	require.NoError(t, err)
	var out, progress bytes.Buffer
	// The go benchmarks' figures are read from a file here (TestParseGoBench
	// covers the reading): running them is `make bench`'s job, and would
	// take most of this test's time.
	gobench := filepath.Join(t.TempDir(), "bench.txt")
	require.NoError(t, os.WriteFile(gobench, []byte("pkg: github.com/idverify/fc-kyc/functions/ekyc-init\n"+
		"BenchmarkRequestAgainstEmulator-2   \t    2000\t    450000 ns/op\t   48000 B/op\t     556 allocs/op\n"), 0o600))
	cfg := config{Repo: repo, Only: []string{"ekyc-init"}, PeerDir: "bench/peer", GoBench: gobench,
		Plan: plan{Starts: 3, Sequential: 100, Latency1: 50, CPU50: 200, Latency50: 100, Requests100: 200, UpstreamDelay: 20 * time.Millisecond}}
	err = run(cfg, &out, &progress)
	require.NoError(t, err, "output:\n%s\nprogress:\n%s", out.String(), progress.String())
	table := out.String()
	t.Log("\n" + table)

	assert.Contains(t, table, "### ekyc-init")
	assert.NotContains(t, table, "### bank-verify", "-only")
	assert.Contains(t, table, "Machine: ")
	// Every measured figure is a number; the cold start row has 3 starts.
	assert.Regexp(t, regexp.MustCompile(`\| cold start, exec → first 200, median of 3 \(ms\) \| \d+\.\d \|`), table)
	assert.Regexp(t, regexp.MustCompile(`\| CPU per request \(user\+sys\), c=50 \(µs\) \| \d+ \|`), table)
	assert.Regexp(t, regexp.MustCompile(`\| peak RSS \(VmHWM\), c=100 \(MB\) \| \d+\.\d \|`), table)
	assert.Regexp(t, regexp.MustCompile(`\| added latency p99, c=50, upstream answering in 20ms \(ms\) \| -?\d+\.\d\d \|`), table)
	// The delayed runs' emulator handling time holds the 20 ms delay, subtracted from the answer times.
	assert.Regexp(t, regexp.MustCompile(`\| {3}emulator's own handling p50, c=50, upstream answering in 20ms \(ms, subtracted\) \| [2-9]\d\.\d\d \|`), table)
	assert.Regexp(t, regexp.MustCompile(`\| new upstream connections over 100 sequential requests \| 1 \|`), table, "keep-alive: one connection for all")
	// At concurrency 50 the function keeps its upstream connections: about
	// one per worker, never one per request. A few more can be dialed when a
	// request starts in the instant its worker's connection is being handed
	// back to the pool (seen on a loaded machine: 54), so the bound is loose;
	// churn would show as a number near the 200 requests.
	m := regexp.MustCompile(`\| new upstream connections over 200 requests at c=50 \| (\d+) \|`).FindStringSubmatch(table)
	require.Len(t, m, 2, "row of connections at c=50")
	conns, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	assert.LessOrEqual(t, conns, 60)
	assert.Regexp(t, regexp.MustCompile(`\| go test -bench RequestAgainstEmulator \| \d+\.\d µs/op, \d+ allocs/op \|`), table)

	if _, err := os.Stat(filepath.Join(repo, "bench/peer/node_modules")); err == nil {
		assert.NotContains(t, table, "Node peer not run")
		assert.Regexp(t, regexp.MustCompile(`\| cold start, exec → first 200, median of 3 \(ms\) \| \d+\.\d \| \d+\.\d \| \d+\.\d× \|`), table)
	} else {
		assert.Contains(t, table, "Node peer not run")
	}
}

// A sign is timed in CPU time of the thread, which must have moved.
func TestSignCost(t *testing.T) {
	d, err := signCost()
	require.NoError(t, err)
	assert.Positive(t, d)
}

// Every measured function runs with AUTH_MODE=none and its registry
// upstream's client pointed at the emulator; its own settings come last.
func TestSpecEnv(t *testing.T) {
	const emu = "http://127.0.0.1:1"
	for _, s := range specs {
		env := s.env(emu)
		assert.Equal(t, "AUTH_MODE=none", env[0], s.Name)
		assert.Subset(t, env, emulator.ClientEnv(s.upstream(), emu), s.Name)
		assert.True(t, slices.Equal(s.Env, env[len(env)-len(s.Env):]), "%s: its own settings last", s.Name)
	}
	cb := specs[slices.IndexFunc(specs, func(s spec) bool { return s.Name == "callback" })]
	assert.Equal(t, emulator.Cloudauth, cb.upstream())
	assert.Contains(t, cb.env(emu), "CALLBACK_SECRET="+benchCallbackSecret)
	assert.Contains(t, spec{Name: "zhima-init"}.env(emu), "ALIPAY_GATEWAY="+emu+"/gateway.do")
	assert.Equal(t, []string{"AUTH_MODE=none"}, spec{Name: "result"}.env(emu), "no upstream, no client")
	assert.Panics(t, func() { spec{Name: "no-such-function"}.env(emu) })
}
