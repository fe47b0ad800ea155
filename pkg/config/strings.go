package config

// Strings returns the values of names (each as String gives it, "" when
// unset), in order; the first error stops it. For settings read together,
// such as alternative sources of one key.
func Strings(names ...string) ([]string, error) {
	out := make([]string, len(names))
	for i, name := range names {
		v, err := String(name, "")
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}
