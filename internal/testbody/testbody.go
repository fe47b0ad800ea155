// Package testbody builds the request bodies the functions' tests send: a
// valid body with a few of its fields changed or removed, so that each case
// of a table says only what it changes.
package testbody

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"
)

// With is a copy of base with kv applied: kv alternates keys and values, a
// nil value removes its key. base is not changed.
func With(base map[string]any, kv ...any) map[string]any {
	if len(kv)%2 != 0 {
		panic(fmt.Sprintf("testbody.With: %d arguments, not key-value pairs", len(kv)))
	}
	out := maps.Clone(base)
	if out == nil {
		out = map[string]any{}
	}
	for i := 0; i < len(kv); i += 2 {
		k := kv[i].(string)
		if kv[i+1] == nil {
			delete(out, k)
		} else {
			out[k] = kv[i+1]
		}
	}
	return out
}

// Decode is body as an operation receives it: encoded as JSON and decoded
// into T, the operation's request type.
func Decode[T any](t testing.TB, body map[string]any) T {
	t.Helper()
	var r T
	b, err := json.Marshal(body)
	if err == nil {
		err = json.Unmarshal(b, &r)
	}
	if err != nil {
		t.Fatalf("testbody.Decode: %v", err)
	}
	return r
}

// Marker marks the values a fuzz test looks for in an answer (Echoed).
const Marker = "\x01"

// Echoed says whether answer repeats v, raw or JSON-escaped. Only values
// holding Marker, as a fuzzer's personal data does, are looked for: short
// common words would match the messages' own text.
func Echoed(answer, v string) bool {
	if !strings.Contains(v, Marker) || len(v) < 3 {
		return false
	}
	esc, _ := json.Marshal(v)
	return strings.Contains(answer, v) || strings.Contains(answer, strings.Trim(string(esc), `"`))
}
