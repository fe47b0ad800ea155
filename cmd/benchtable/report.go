package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// The performance goals (docs/performance.md), in one place.
const (
	goalColdStart       = 15 * time.Millisecond
	goalCPUCloudauth    = 200 * time.Microsecond
	goalCPUPerSign      = 1.3 // RSA functions: CPU per request ÷ one RSA-2048 sign, per sign a request needs (zhima-init 2: ≤ 2.6)
	goalP99Cloudauth    = 2 * time.Millisecond
	goalP99RSA          = 3 * time.Millisecond
	goalRSS             = 30 << 20
	goalBinary          = 9 << 20
	goalStartVsNode     = 15.0 // Node ÷ Go, at least
	goalCPUVsNode       = 3.0
	goalRSSVsNode       = 3.0
	goalConnsPer100Reqs = 1.0
)

// result is everything measured for one spec.
type result struct {
	Spec    spec
	Go      measurement
	Node    *measurement // nil when the peer was not run
	NodeWhy string       // why not, when Node is nil
	Binary  int64        // stripped size in bytes
	Sign    time.Duration
	Benches []goBench
}

type row struct{ measure, goV, nodeV, ratio, goal, verdict string }

// rows turns a result into the table: one row per measure, with the Node
// peer's figure, Node ÷ Go, the goal and whether Go meets it.
func rows(r result) []row {
	g, n := r.Go, r.Node
	var out []row
	add := func(measure string, goV, nodeV float64, format, goal string, checks ...check) {
		rw := row{measure: measure, goV: fmt.Sprintf(format, goV), nodeV: "—", ratio: "—", goal: goal}
		if n != nil {
			rw.nodeV = fmt.Sprintf(format, nodeV)
			if goV > 0 {
				rw.ratio = fmt.Sprintf("%.1f×", nodeV/goV)
			}
		}
		rw.verdict = verdict(checks)
		out = append(out, rw)
	}
	nodeOr := func(f func(m *measurement) float64) float64 {
		if n == nil {
			return 0
		}
		return f(n)
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	mb := func(b int64) float64 { return float64(b) / (1 << 20) }
	ratio := func(goV, nodeV float64) float64 {
		if n == nil || goV <= 0 {
			return -1 // not measured: ratio checks pass as "not checked"
		}
		return nodeV / goV
	}

	cs, csNode := ms(g.ColdStart), nodeOr(func(m *measurement) float64 { return ms(m.ColdStart) })
	add(fmt.Sprintf("cold start, exec → first 200, median of %d (ms)", g.ColdStarts), cs, csNode, "%.1f",
		fmt.Sprintf("≤ %.0f ms; Node ÷ Go ≥ %.0f", ms(goalColdStart), goalStartVsNode),
		atMost(cs, ms(goalColdStart), "ms"), atLeast(ratio(cs, csNode), goalStartVsNode, "× Node"))

	cpu, cpuNode := us(g.CPUPerRequest), nodeOr(func(m *measurement) float64 { return us(m.CPUPerRequest) })
	if r.Spec.RSA {
		add("CPU per request (user+sys), c=50 (µs)", cpu, cpuNode, "%.0f",
			fmt.Sprintf("≤ %.1f× its signs' cost (below); Node ÷ Go ≥ %.0f", goalCPUPerSign, goalCPUVsNode),
			atLeast(ratio(cpu, cpuNode), goalCPUVsNode, "× Node"))
	} else {
		add("CPU per request (user+sys), c=50 (µs)", cpu, cpuNode, "%.0f",
			fmt.Sprintf("≤ %.0f µs; Node ÷ Go ≥ %.0f", us(goalCPUCloudauth), goalCPUVsNode),
			atMost(cpu, us(goalCPUCloudauth), "µs"), atLeast(ratio(cpu, cpuNode), goalCPUVsNode, "× Node"))
	}
	add("added latency p50, c=1 (ms)", ms(g.Added1[0]), nodeOr(func(m *measurement) float64 { return ms(m.Added1[0]) }), "%.2f", "")
	add("added latency p99, c=1 (ms)", ms(g.Added1[1]), nodeOr(func(m *measurement) float64 { return ms(m.Added1[1]) }), "%.2f", "")
	c50 := fmt.Sprintf("c=50, upstream answering in %s", g.UpstreamDelay)
	if g.UpstreamDelay == 0 {
		c50 = "c=50, closed loop, upstream answering at once"
	}
	add("added latency p50, "+c50+" (ms)", ms(g.Added50[0]), nodeOr(func(m *measurement) float64 { return ms(m.Added50[0]) }), "%.2f", "")
	p99Goal := goalP99Cloudauth
	if r.Spec.RSA {
		p99Goal = goalP99RSA
	}
	p99 := ms(g.Added50[1])
	add("added latency p99, "+c50+" (ms)", p99, nodeOr(func(m *measurement) float64 { return ms(m.Added50[1]) }), "%.2f",
		fmt.Sprintf("≤ %.0f ms", ms(p99Goal)), atMost(p99, ms(p99Goal), "ms"))
	add("  emulator's own handling p50, c=1 (ms, subtracted)", ms(g.Emulator1), nodeOr(func(m *measurement) float64 { return ms(m.Emulator1) }), "%.2f", "")
	add("  emulator's own handling p50, "+c50+" (ms, subtracted)", ms(g.Emulator50), nodeOr(func(m *measurement) float64 { return ms(m.Emulator50) }), "%.2f", "")
	add("throughput, c=50, closed loop, upstream answering at once (requests/s)", g.Throughput, nodeOr(func(m *measurement) float64 { return m.Throughput }), "%.0f", "")

	rss, rssNode := mb(g.PeakRSS), nodeOr(func(m *measurement) float64 { return mb(m.PeakRSS) })
	add("peak RSS (VmHWM), c=100 (MB)", rss, rssNode, "%.1f",
		fmt.Sprintf("≤ %d MB; Node ÷ Go ≥ %.0f", goalRSS>>20, goalRSSVsNode),
		atMost(rss, mb(goalRSS), "MB"), atLeast(ratio(rss, rssNode), goalRSSVsNode, "× Node"))

	per100 := float64(g.NewConns) * 100 / float64(max(g.SeqRequests, 1))
	conns := row{measure: fmt.Sprintf("new upstream connections over %d sequential requests", g.SeqRequests),
		goV: fmt.Sprint(g.NewConns), nodeV: "—", ratio: "—", goal: fmt.Sprintf("≤ %.0f per 100", goalConnsPer100Reqs),
		verdict: verdict([]check{atMost(per100, goalConnsPer100Reqs, "per 100")})}
	if n != nil {
		conns.nodeV = fmt.Sprint(n.NewConns)
	}
	out = append(out, conns)
	conns50 := row{measure: fmt.Sprintf("new upstream connections over %d requests at c=50", g.Requests50),
		goV: fmt.Sprint(g.NewConns50), nodeV: "—", ratio: "—", goal: "(reuse: about 50 at most)"}
	if n != nil {
		conns50.nodeV = fmt.Sprint(n.NewConns50)
	}
	out = append(out, conns50)

	out = append(out, row{measure: "binary size, stripped (MB)", goV: fmt.Sprintf("%.1f", mb(r.Binary)), nodeV: "—", ratio: "—",
		goal: fmt.Sprintf("≤ %d MB", goalBinary>>20), verdict: verdict([]check{atMost(mb(r.Binary), mb(goalBinary), "MB")})})

	if r.Spec.RSA && r.Sign > 0 {
		perSign := float64(g.CPUPerRequest) / float64(r.Sign)
		out = append(out,
			row{measure: "RSA-2048 sign (PKCS#1 v1.5, SHA-256), this run (µs)", goV: fmt.Sprintf("%.0f", us(r.Sign)), nodeV: "—", ratio: "—"},
			row{measure: "CPU per request ÷ one sign", goV: fmt.Sprintf("%.2f", perSign), nodeV: "—", ratio: "—",
				goal:    fmt.Sprintf("≤ %.1f (%.1f× its floor of %d sign(s) per request)", goalCPUPerSign*float64(max(r.Spec.Signs, 1)), goalCPUPerSign, max(r.Spec.Signs, 1)),
				verdict: verdict([]check{atMost(perSign, goalCPUPerSign*float64(max(r.Spec.Signs, 1)), "signs")})})
	}
	for _, b := range r.Benches {
		allocs := "—"
		if b.AllocsPerOp >= 0 {
			allocs = fmt.Sprintf("%.0f allocs/op", b.AllocsPerOp)
		}
		out = append(out, row{measure: "go test -bench " + b.Name, goV: fmt.Sprintf("%.1f µs/op, %s", b.NsPerOp/1e3, allocs),
			nodeV: "—", ratio: "—", goal: fmt.Sprintf("median of %d", b.Runs)})
	}
	return out
}

// check is one goal's outcome: ok, or what the miss is.
type check struct {
	ok   bool
	miss string
}

// atMost checks v ≤ limit; a negative v means not measured, and passes.
func atMost(v, limit float64, unit string) check {
	if v < 0 || v <= limit {
		return check{ok: true}
	}
	return check{miss: fmt.Sprintf("%.3g %s over (%.2f× the goal)", v-limit, unit, v/limit)}
}

// atLeast checks v ≥ limit; a negative v means not measured, and passes.
func atLeast(v, limit float64, unit string) check {
	if v < 0 || v >= limit {
		return check{ok: true}
	}
	return check{miss: fmt.Sprintf("%.1f%s, short of %.0f%s", v, unit, limit, unit)}
}

func verdict(cs []check) string {
	if len(cs) == 0 {
		return ""
	}
	var misses []string
	for _, c := range cs {
		if !c.ok {
			misses = append(misses, c.miss)
		}
	}
	if len(misses) == 0 {
		return "yes"
	}
	return "**no**: " + strings.Join(misses, "; ")
}

// writeTable prints one function's table in Markdown.
func writeTable(w io.Writer, r result) {
	fmt.Fprintf(w, "\n### %s\n\n", r.Spec.Name)
	if r.Node == nil {
		fmt.Fprintf(w, "Node peer not run: %s.\n\n", r.NodeWhy)
	}
	fmt.Fprintln(w, "| measure | Go | Node peer | Node ÷ Go | goal | Go meets it |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---|---|")
	for _, rw := range rows(r) {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", rw.measure, rw.goV, rw.nodeV, rw.ratio, rw.goal, rw.verdict)
	}
}

// method is printed under the tables so that a quoted run says what it measured.
const method = `
How: each function is the stripped static binary (CGO_ENABLED=0, -trimpath -ldflags='-s -w'); the
Node peer is bench/peer/server.js (the official SDKs, no checks). Both call the emulator
(cmd/emulator), and the functions use redis-server as their store, each in its own process so that
its CPU is not counted, on loopback. Cold start: exec → first 200 on a new process, probing every
200 µs. CPU per request: the process's utime+stime (/proc/<pid>/stat) over a closed loop at
concurrency 50 with the emulator answering at once, ÷ its requests. Added latency: each answer time
as the client saw it, minus the emulator's median handling time over the same run (the emulator
times every API request it serves: GET /_emulator/timing); at c=50 the emulator answers after a
delay, as a real upstream does, so that 50 requests are in flight without saturating the cores, and
the load generator's workers start staggered over that delay. Peak RSS: VmHWM after the run at
concurrency 100 (same delay: 100 requests in flight). Connections: the emulator's connection counter
over a fresh process's first sequential requests, and over the CPU run at c=50. The load generator
shares the machine's cores with the function, the emulator and Redis.
`
