package fcrt

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/idverify/fc-kyc/pkg/apierr"
)

// keysReq has every kind of field checkKeys follows: nested structs, a
// pointer, a map, a slice, an embedded struct, and a type with its own
// UnmarshalJSON, whose inside only duplicates are checked in.
type keysReq struct {
	Name  string              `json:"Name"`
	Inner struct{ Flag bool } `json:"Inner"`
	Ptr   *struct {
		Deep []struct{ Leaf int }
	}
	Meta map[string]struct{ Tag string }
	Doc  docType `json:"DocType"`
	keysEmbedded
}

type keysEmbedded struct {
	MetaInfo map[string]any `json:"MetaInfo"`
}

// FuzzCheckKeys: on any valid JSON object, checkKeys's own scan finds what
// a walk with json.Decoder's tokens finds: the same error, or none.
func FuzzCheckKeys(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"Name":"a","Name":"b"}`, `{"name":"a"}`, `{"Inner":{"flag":true}}`,
		`{"Inner":{"Flag":true,"Flag":false}}`, `{"Ptr":{"Deep":[{"Leaf":1},{"leaf":2}]}}`,
		`{"Meta":{"a":{"Tag":"x"},"a":{}}}`, `{"Meta":{"a":{"tag":"x"}}}`, `{"DocType":{"x":1,"X":2}}`,
		`{"DocType":{"x":1,"x":2}}`, `{"metainfo":{}}`, `{"MetaInfo":{"k":[{"a":1,"a":2}]}}`,
		`{"N\u0061me":"a","Name":"b"}`, `{"\u00e9":1,"é":2}`, "{\"\xff\":1,\"\xfe\":2}",
		`{"a\"b":1,"a\"b":2}`, `{"a\\":1,"a\\\\":2}`, ` { "Name" : "a" , "Count" : -1.5e3 , "x" : [ null , true ] } `,
		`{"Name":"}{\"Name\":"}`, `{"a":[[[[{"b":1,"b":2}]]]]}`,
	} {
		f.Add([]byte(s))
	}
	typ := reflect.TypeFor[keysReq]()
	f.Fuzz(func(t *testing.T, body []byte) {
		if t := bytes.TrimLeft(body, " \t\r\n"); !json.Valid(body) || len(t) == 0 || t[0] != '{' {
			_ = checkKeys(body, typ) // no panic on anything; the decoder refuses it
			return
		}
		got, want := checkKeys(body, typ), checkKeysByTokens(body, typ)
		if errString(got) != errString(want) {
			t.Fatalf("%s:\nscan:   %v\ntokens: %v", body, got, want)
		}
	})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// checkKeysByTokens is checkKeys as it was, walking json.Decoder's tokens
// (but for the depth limit): the reference its own scan is held to.
func checkKeysByTokens(b []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return walkTokens(dec, t, "")
}

func walkTokens(dec *json.Decoder, t reflect.Type, path string) error {
	tok, err := dec.Token()
	if err != nil {
		return nil
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
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
			if err := walkTokens(dec, elem, path); err != nil {
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
			if err := walkTokens(dec, sub, name+"."); err != nil {
				return err
			}
		}
	}
	_, _ = dec.Token() // the closing delimiter
	return nil
}
