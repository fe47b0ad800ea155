package fcrt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"sort"
	"strings"

	"github.com/idverify/fc-kyc/pkg/apierr"
)

// Route is one operation of a function that serves several: the two sides
// Operation returns.
type Route struct {
	HTTP  http.Handler
	Event EventFunc
}

// Routes serves several operations from one deployment (otp-init's send and
// verify), chosen the same way on both entry points:
//
//   - HTTP: the last segment of the path names the operation (/verify, or
//     /otp/verify behind a custom domain); any other path runs Default.
//   - Events: the request's Field names it; absent means Default.
//
// An HTTP body may carry Field too, but it must then agree with the path:
// a request posted to the wrong path is told so, rather than refused for
// the other operation's parameters. MaxBody bounds the body read for that
// check (the operations' own limit; ≤ 0 means 1 MiB).
type Routes struct {
	Field   string
	Default string
	MaxBody int64
	ByName  map[string]Route
}

// Handlers returns the two entry points. It panics when Default names no
// route: a wiring mistake, found at start.
func (rt Routes) Handlers() (http.Handler, EventFunc) {
	if _, ok := rt.ByName[rt.Default]; !ok {
		panic("fcrt.Routes: no route for the default " + rt.Default)
	}
	if rt.MaxBody <= 0 {
		rt.MaxBody = defaultMaxBytes
	}
	return http.HandlerFunc(rt.serveHTTP), rt.event
}

func (rt Routes) names() string {
	var n []string
	for k := range rt.ByName {
		n = append(n, k)
	}
	sort.Strings(n)
	return strings.Join(n, " or ")
}

func (rt Routes) serveHTTP(w http.ResponseWriter, r *http.Request) {
	name := rt.Default
	if _, ok := rt.ByName[path.Base(r.URL.Path)]; ok {
		name = path.Base(r.URL.Path)
	}
	if r.Method == http.MethodPost {
		body, err := readBody(w, r, rt.MaxBody)
		if err != nil {
			noteFailure(r.Context(), err)
			apierr.Write(w, r, err)
			return
		}
		if named := rt.named(body); named != "" && named != name {
			err := apierr.Invalid(rt.Field, fmt.Sprintf("is %q but this path runs %s: post %s requests to a path ending in /%s", named, name, named, named))
			noteFailure(r.Context(), err)
			apierr.Write(w, r, err)
			return
		}
		r.Body = http.NoBody
		if len(body) > 0 {
			r.Body = readCloser{bytes.NewReader(body)}
		}
	}
	rt.ByName[name].HTTP.ServeHTTP(w, r)
}

func (rt Routes) event(ctx context.Context, ev Event) (any, error) {
	name := rt.named(ev.Request)
	if name == "" {
		name = rt.Default
	}
	route, ok := rt.ByName[name]
	if !ok {
		return nil, apierr.Invalid(rt.Field, "must be "+rt.names())
	}
	return route.Event(ctx, ev)
}

// named is the operation a body names in Field, or "" (none, or a body the
// operation's own decoding will refuse).
func (rt Routes) named(body []byte) string {
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return ""
	}
	var s string
	_ = json.Unmarshal(fields[rt.Field], &s)
	return s
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }
