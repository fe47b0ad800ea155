// Package config reads a function's settings from its environment, once, at
// start. Every error names the variable, so a deployment that is missing a
// value stops at start with a message that says which one, instead of
// failing at the first request.
//
// Any secret may be given as a file instead: NAME_FILE holds the path of a
// file whose content is the value (trailing newlines dropped). Setting both
// NAME and NAME_FILE is an error, since one of them would be silently ignored.
package config

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Lookup returns the value of name, or of the file named by name_FILE.
func Lookup(name string) (string, bool, error) {
	v, inEnv := os.LookupEnv(name)
	path, inFile := os.LookupEnv(name + "_FILE")
	switch {
	case inEnv && inFile:
		return "", false, fmt.Errorf("%s and %s_FILE are both set; set only one", name, name)
	case inFile:
		b, err := os.ReadFile(path)
		if err != nil {
			return "", false, fmt.Errorf("%s_FILE: cannot read the file it names: %w", name, err)
		}
		return strings.TrimRight(string(b), "\r\n"), true, nil
	case inEnv:
		return v, true, nil
	}
	return "", false, nil
}

// String returns name's value, or def when it is unset or empty.
func String(name, def string) (string, error) {
	v, ok, err := Lookup(name)
	if err != nil {
		return "", err
	}
	if !ok || v == "" {
		return def, nil
	}
	return v, nil
}

// Required returns name's value, or an error naming it when it is unset or
// empty: what stops a function at start when a setting it cannot do
// without is missing.
func Required(name string) (string, error) {
	v, err := String(name, "")
	if err == nil && v == "" {
		err = fmt.Errorf("%s is required (also as a file path in %s_FILE)", name, name)
	}
	return v, err
}

// Duration reads a Go duration ("10m", "90s"); def when unset.
func Duration(name string, def time.Duration) (time.Duration, error) {
	return positive(name, def, time.ParseDuration, "a positive duration such as 90s or 10m")
}

// List splits a comma-separated value, dropping empty items.
func List(name string) ([]string, error) {
	v, err := String(name, "")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// Int reads a positive integer; def when unset.
func Int(name string, def int) (int, error) {
	return positive(name, def, strconv.Atoi, "a positive integer")
}

// positive reads name with parse, which must give a value above zero (what
// names the expected form in the error); def when name is unset or empty.
func positive[T int | time.Duration](name string, def T, parse func(string) (T, error), what string) (T, error) {
	v, err := String(name, "")
	if err != nil || v == "" {
		return def, err
	}
	n, err := parse(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s=%q is not %s", name, v, what)
	}
	return n, nil
}

// IsLoopback reports whether host (without port) is localhost or a loopback
// address. Plain http is allowed only to such hosts: the local emulator and
// the local callback, never a real network.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// SecureURL parses an absolute URL that must be https, or http to a loopback
// host. name is the variable it came from, for the error.
func SecureURL(name, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("%s=%q is not an absolute URL", name, raw)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && IsLoopback(u.Hostname()):
	case u.Scheme == "http":
		return nil, fmt.Errorf("%s: plain http is allowed only to a loopback host (a local emulator); use https", name)
	default:
		return nil, fmt.Errorf("%s=%q: the scheme must be https", name, raw)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%s must not carry user information", name)
	}
	return u, nil
}
