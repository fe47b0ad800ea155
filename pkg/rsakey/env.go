package rsakey

import (
	"fmt"

	"github.com/idverify/fc-kyc/pkg/config"
)

// FromEnv reads the key in the required variable name (or the file that
// NAME_FILE names, config.Required) with parse, once, at start. A key that
// does not parse is an error that names the variable, then says what is
// wanted (want), and never holds the key.
func FromEnv[K any](name string, parse func(string) (K, error), want string) (K, error) {
	var k K
	s, err := config.Required(name)
	if err != nil {
		return k, err
	}
	if k, err = parse(s); err != nil {
		return k, fmt.Errorf("%s: %w (%s)", name, err, want)
	}
	return k, nil
}
