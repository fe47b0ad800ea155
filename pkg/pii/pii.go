// Package pii masks card numbers for log lines and error messages: the one
// value the functions log at all (bank-verify, masked). It keeps only as much
// of a number as lets a person match a log line to a support ticket, and
// never so much that the value can be recovered.
//
// Masks are computed on characters (runes). An empty value masks to "".
package pii

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// md5Card is a bank card in the BankMetaVerifyIntl md5 form: the digits up to
// the last 6, then md5 of those 6 as 32 lowercase hex characters.
var md5Card = regexp.MustCompile(`^([0-9]*)[0-9a-f]{32}$`)

// Card shows at most the first 6 and the last 4 digits of a card number
// (622202******1234), and always hides at least 6 digits: a 12-digit card
// shows its first 2 and last 4, an 8-digit one only its last 2, and 6 or
// fewer digits show nothing. A card in the md5 form shows at most the first 6
// digits of its plaintext part; the hash is never shown, since a few of its
// characters would narrow the 10^6 possible last digits to a handful.
func Card(s string) string {
	if s == "" {
		return ""
	}
	if m := md5Card.FindStringSubmatch(s); m != nil && len(s) > 32 {
		prefix := m[1]
		head := min(6, len(prefix))
		return prefix[:head] + strings.Repeat("*", len(prefix)-head) + "(md5)"
	}
	n := utf8.RuneCountInString(s)
	tail := min(4, max(0, n-6))
	head := min(6, max(0, n-6-tail))
	return keep(s, head, tail)
}

// keep shows the first head and the last tail runes of s and replaces every
// other rune with "*".
func keep(s string, head, tail int) string {
	r := []rune(s)
	if head+tail >= len(r) {
		return strings.Repeat("*", len(r))
	}
	var b strings.Builder
	b.WriteString(string(r[:head]))
	b.WriteString(strings.Repeat("*", len(r)-head-tail))
	b.WriteString(string(r[len(r)-tail:]))
	return b.String()
}
