package fcrt

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"

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
func checkKeys(b []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := walkValue(dec, t, "", 0); err != errTooDeep {
		return err
	}
	return nil
}

// maxDepth is encoding/json's limit on nesting, past which the decoder
// refuses a body. The walk stops there too: it recurses once per level, and
// the half a million brackets a 1 MiB body holds would otherwise grow its
// stack by hundreds of MiB before the decoder says no.
const maxDepth = 10000

var errTooDeep = errors.New("nested too deep")

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// walkValue reads one value from dec; t is the Go type it decodes into (nil
// when unknown or decoded by its own UnmarshalJSON: then only duplicates are
// checked), path the parameter's name so far, for messages, and depth the
// objects and arrays the value is in.
func walkValue(dec *json.Decoder, t reflect.Type, path string, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return nil
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	if depth++; depth > maxDepth {
		return errTooDeep
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && (t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType)) {
		t = nil
	}
	switch d {
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for dec.More() {
			if err := walkValue(dec, elem, path, depth); err != nil {
				return err
			}
		}
	case '{':
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
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return nil
			}
			key, _ := tok.(string)
			name := path + key
			if seen[key] {
				return apierr.Invalid(name, "is given more than once in the request body; give each parameter once")
			}
			seen[key] = true
			sub := elem
			if fields != nil {
				ft, ok := fields[key]
				if !ok {
					for exact := range fields {
						if strings.EqualFold(exact, key) {
							return apierr.Invalid(name, "is not a parameter: parameter names are case-sensitive; the parameter is "+path+exact)
						}
					}
				}
				sub = ft
			}
			if err := walkValue(dec, sub, name+".", depth); err != nil {
				return err
			}
		}
	}
	_, _ = dec.Token() // the closing delimiter
	return nil
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
