package pii

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestMasks(t *testing.T) {
	hash := "e10adc3949ba59abbe56e057f20f883e" // md5("123456")
	tests := []struct {
		name string
		mask func(string) string
		in   string
		want string
	}{
		{"card 16", Card, "6222021234561234", "622202******1234"},
		{"card 19", Card, "6222021234567891234", "622202*********1234"},
		{"card 13", Card, "4111111111111", "411******1111"},
		{"card 12", Card, "123456789012", "12******9012"},
		{"card 10", Card, "1234567890", "******7890"},
		{"card 8", Card, "12345678", "******78"},
		{"card 6", Card, "123456", "******"},
		{"card empty", Card, "", ""},
		{"card md5 form", Card, "6222021234" + hash, "622202****(md5)"},
		{"card md5 form short prefix", Card, "1234" + hash, "1234(md5)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.mask(tt.in))
		})
	}
}

// TestCardNeverShowsTooMuch checks the rule for every plausible length: at
// most 6 leading and 4 trailing digits shown, at least 6 hidden.
func TestCardNeverShowsTooMuch(t *testing.T) {
	digits := "1234567890123456789012"
	for n := 1; n <= len(digits); n++ {
		got := Card(digits[:n])
		assert.Len(t, got, n)
		hidden := strings.Count(got, "*")
		assert.GreaterOrEqual(t, hidden, min(n, 6), "length %d: %s", n, got)
		lead := len(got) - len(strings.TrimLeft(got, "0123456789"))
		trail := len(got) - len(strings.TrimRight(got, "0123456789"))
		assert.LessOrEqual(t, lead, 6, "length %d", n)
		assert.LessOrEqual(t, trail, 4, "length %d", n)
	}
}
