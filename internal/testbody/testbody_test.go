package testbody

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestWith(t *testing.T) {
	base := map[string]any{"a": 1, "b": "two"}
	got := With(base, "a", nil, "c", []any{3}, "b", "deux")
	assert.Equal(t, map[string]any{"b": "deux", "c": []any{3}}, got)
	assert.Equal(t, map[string]any{"a": 1, "b": "two"}, base, "the base is not changed")
	assert.Equal(t, map[string]any{"k": "v"}, With(nil, "k", "v"))
	//lint:ignore SA5012 an odd count of arguments is what this checks
	assert.Panics(t, func() { With(base, "a") })
}

func TestDecode(t *testing.T) {
	type request struct {
		Name string `json:"name"`
		N    int    `json:"n"`
	}
	assert.Equal(t, request{Name: "a", N: 2}, Decode[request](t, map[string]any{"name": "a", "n": 2}))
}

func TestEchoed(t *testing.T) {
	for _, c := range []struct {
		answer, v string
		want      bool
	}{
		{`{"msg":"bad tok\u0001en"}`, "tok\x01en", true},
		{"bad tok\x01en", "tok\x01en", true},
		{`{"msg":"bad token"}`, "tok\x01en", false},
		{`{"msg":"bad token"}`, "token", false}, // no marker: not looked for
		{"a\x01", "a\x01", false},               // too short to tell
	} {
		assert.Equal(t, c.want, Echoed(c.answer, c.v), "%q in %q", c.v, c.answer)
	}
}
