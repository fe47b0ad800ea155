package devstack

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
)

// lineWriter prints whole lines, each with the name of the part that
// printed it, one at a time.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineWriter) printf(name, format string, args ...any) {
	l.line(name, []byte(fmt.Sprintf(format, args...)))
}

func (l *lineWriter) line(name string, b []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "%-11s| %s\n", name, b)
}

// prefixed returns a function that prints one line as name's.
func (l *lineWriter) prefixed(name string) func([]byte) {
	return func(b []byte) { l.line(name, b) }
}

// tailLines is how many of a process's last lines an error quotes.
const tailLines = 8

// tailWriter splits a process's output into lines, passes each on, and
// keeps the last few for an error message.
type tailWriter struct {
	next   func([]byte)
	onLine func([]byte)

	mu      sync.Mutex
	partial []byte
	lines   []string
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.partial = append(t.partial, p...)
	for {
		i := bytes.IndexByte(t.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := t.partial[:i]
		t.next(line)
		t.onLine(line)
		t.lines = append(t.lines, string(line))
		if len(t.lines) > tailLines {
			t.lines = t.lines[1:]
		}
		t.partial = t.partial[i+1:]
	}
}

func (t *tailWriter) last() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}
