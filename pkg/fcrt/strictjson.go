package fcrt

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/idverify/fc-kyc/pkg/apierr"
)

// checkKeys refuses what encoding/json would quietly accept in a request
// body: a key given twice in one object (json keeps the last, so a proxy or
// a log that reads the first sees another request than the function does),
// and, where the body maps onto a struct, a key that matches a parameter only
// when case is ignored (json matches "metainfo" to MetaInfo; the documented
// names are exact, and unknown names are refused already). Syntax errors are
// left to the decoder, which reports them in its own words, and so is
// nesting deeper than it takes.
//
// It runs before every decode, so it scans the bytes itself: a walk with
// json.Decoder's Token, which allocates for every token, cost three times
// the decode (FuzzCheckKeys holds the scan to that walk).
func checkKeys(b []byte, t reflect.Type) error {
	s := keyScanner{b: b}
	if err := s.value(t, "", 0); err != errStop {
		return err
	}
	return nil
}

// maxDepth is encoding/json's limit on nesting, past which the decoder
// refuses a body. The scan stops there too: it recurses once per level, and
// the half a million brackets a 1 MiB body holds would otherwise grow its
// stack by hundreds of MiB before the decoder says no.
const maxDepth = 10000

// errStop ends a scan that leaves the body to the decoder: not JSON, or
// nested too deep.
var errStop = errors.New("left to the decoder")

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// keyScanner reads JSON text just enough to see every object's keys.
type keyScanner struct {
	b []byte
	i int
}

// next skips white space and returns the byte there, 0 at the end.
func (s *keyScanner) next() byte {
	for ; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; c {
		case ' ', '\t', '\r', '\n':
		default:
			return c
		}
	}
	return 0
}

// value reads one value; t is the Go type it decodes into (nil when
// unknown or decoded by its own UnmarshalJSON: then only duplicates are
// checked), path the parameter's name so far, for messages, and depth the
// objects and arrays the value is in.
func (s *keyScanner) value(t reflect.Type, path string, depth int) error {
	switch s.next() {
	case '{', '[':
	case '"':
		_, err := s.str(false)
		return err
	case 0:
		return errStop
	default: // a number, true, false or null: up to the next delimiter
		for ; s.i < len(s.b); s.i++ {
			switch s.b[s.i] {
			case ',', ']', '}', ' ', '\t', '\r', '\n':
				return nil
			}
		}
		return nil
	}
	if depth++; depth > maxDepth {
		return errStop
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && (t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType)) {
		t = nil
	}
	if s.b[s.i] == '[' {
		s.i++
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		if s.next() == ']' {
			s.i++
			return nil
		}
		for {
			if err := s.value(elem, path, depth); err != nil {
				return err
			}
			if closed, err := s.endOfItem(']'); closed || err != nil {
				return err
			}
		}
	}
	s.i++
	var fields map[string]reflect.Type
	var elem reflect.Type
	if t != nil {
		switch t.Kind() {
		case reflect.Struct:
			fields = jsonFields(t)
		case reflect.Map:
			elem = t.Elem()
		}
	}
	if s.next() == '}' {
		s.i++
		return nil
	}
	seen := map[string]bool{}
	for {
		if s.next() != '"' {
			return errStop
		}
		key, err := s.str(true)
		if err != nil {
			return err
		}
		if s.next() != ':' {
			return errStop
		}
		s.i++
		if seen[key] {
			return apierr.Invalid(path+key, "is given more than once in the request body; give each parameter once")
		}
		seen[key] = true
		sub := elem
		if fields != nil {
			ft, ok := fields[key]
			if !ok {
				for exact := range fields {
					if strings.EqualFold(exact, key) {
						return apierr.Invalid(path+key, "is not a parameter: parameter names are case-sensitive; the parameter is "+path+exact)
					}
				}
			}
			sub = ft
		}
		subPath := "" // only an object or an array names what is inside
		if c := s.next(); c == '{' || c == '[' {
			subPath = path + key + "."
		}
		if err := s.value(sub, subPath, depth); err != nil {
			return err
		}
		if closed, err := s.endOfItem('}'); closed || err != nil {
			return err
		}
	}
}

// endOfItem reads the comma after an item, or the closing delimiter (and
// then says closed).
func (s *keyScanner) endOfItem(closing byte) (closed bool, err error) {
	switch s.next() {
	case ',':
		s.i++
		return false, nil
	case closing:
		s.i++
		return true, nil
	}
	return false, errStop
}

// str reads a string, and decodes it when asked, as encoding/json does.
func (s *keyScanner) str(decode bool) (string, error) {
	start := s.i
	plain := true // no escapes, no bytes json would have to look at
	for s.i++; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			raw := s.b[start:s.i]
			switch {
			case !decode:
				return "", nil
			case plain:
				return string(raw[1 : len(raw)-1]), nil
			}
			var v string
			if json.Unmarshal(raw, &v) != nil {
				return "", errStop
			}
			return v, nil
		case c == '\\':
			plain = false
			s.i++
		case c < 0x20 || c >= utf8.RuneSelf:
			plain = false
		}
	}
	return "", errStop
}

var fieldCache sync.Map // reflect.Type → map[string]reflect.Type

// jsonFields are the exact JSON names of a struct's fields, as
// encoding/json names them (tags, embedded structs promoted).
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" && !strings.HasPrefix(tag, "-,") {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range jsonFields(ft) {
					if _, own := m[k]; !own {
						m[k] = v
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
	fieldCache.Store(t, m)
	return m
}
