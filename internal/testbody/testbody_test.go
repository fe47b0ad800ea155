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
	assert.Panics(t, func() { With(base, "a") })
}

func TestDecode(t *testing.T) {
	type request struct {
		Name string `json:"name"`
		N    int    `json:"n"`
	}
	assert.Equal(t, request{Name: "a", N: 2}, Decode[request](t, map[string]any{"name": "a", "n": 2}))
}
