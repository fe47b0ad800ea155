package fcrt_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/idverify/fc-kyc/pkg/apierr"
	"github.com/idverify/fc-kyc/pkg/fcrt"
)

type greetRequest struct {
	Name string `json:"Name"`
}

type greetResponse struct {
	Greeting string `json:"Greeting"`
}

func greet(_ context.Context, r greetRequest) (greetResponse, error) {
	if r.Name == "" {
		return greetResponse{}, apierr.Missing("Name")
	}
	return greetResponse{Greeting: "hello, " + r.Name}, nil
}

// A function's main reads its configuration and returns its Function;
// fcrt.Main serves it on FC's port (or through the Lambda Runtime API).
func ExampleMain() {
	build := func() (fcrt.Function, error) {
		api, event := fcrt.Operation(greet, fcrt.WithMaxBody(4<<10))
		return fcrt.Function{Name: "greet", HTTP: api, Event: event}, nil
	}
	_ = build // in package main: func main() { fcrt.Main(build) }
}

// Operation serves one typed operation over HTTP (and as an event), with
// strict decoding and errors in the upstream's vocabulary.
func ExampleOperation() {
	api, _ := fcrt.Operation(greet, fcrt.WithMaxBody(4<<10))
	for _, body := range []string{`{"Name":"Ada"}`, `{}`, `{"name":"Ada"}`} {
		w := httptest.NewRecorder()
		api.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body)))
		b, _ := io.ReadAll(w.Body)
		fmt.Print(w.Code, " ", string(b))
	}
	// Output:
	// 200 {"Greeting":"hello, Ada"}
	// 400 {"Code":"MissingParameter","Message":"The input parameter \"Name\" that is mandatory for processing this request is not supplied."}
	// 400 {"Code":"InvalidParameter","Message":"The parameter \"name\" is invalid: is not a parameter: parameter names are case-sensitive; the parameter is Name"}
}

// Routes serves several operations of one deployment, by path over HTTP and
// by a field in events; a body that names the other operation is told which
// path to use.
func ExampleRoutes() {
	send, sendEvent := fcrt.Operation(greet)
	check, checkEvent := fcrt.Operation(func(_ context.Context, r struct {
		Operation string `json:"operation"`
	}) (string, error) {
		return "checked", nil
	})
	api, _ := fcrt.Routes{Field: "operation", Default: "send", ByName: map[string]fcrt.Route{
		"send": {HTTP: send, Event: sendEvent}, "check": {HTTP: check, Event: checkEvent},
	}}.Handlers()
	for _, c := range []struct{ path, body string }{{"/check", `{}`}, {"/", `{"operation":"check"}`}} {
		w := httptest.NewRecorder()
		api.ServeHTTP(w, httptest.NewRequest(http.MethodPost, c.path, strings.NewReader(c.body)))
		fmt.Print(w.Code, " ", w.Body.String())
	}
	// Output:
	// 200 "checked"
	// 400 {"Code":"InvalidParameter","Message":"The parameter \"operation\" is invalid: is \"check\" but this path runs send: post check requests to a path ending in /check"}
}
