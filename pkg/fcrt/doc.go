// Package fcrt runs a function on Function Compute 3.0's custom runtime, and
// locally, as a plain net/http server. On AWS Lambda (AWS_LAMBDA_RUNTIME_API
// set) Main serves the same Function through aws-lambda-go (lambda.go).
//
// FC sends every kind of invocation to the same server: events
// (InvokeFunction, timers, EventBridge) arrive as POST /invoke, lifecycle
// hooks as POST /initialize and GET /pre-stop, and HTTP triggers pass through
// with their own method and path. The x-fc-control-path header tells them
// apart. It is read before the path, so that an API route that happens to be
// called /invoke is never taken for an event, and only where FC is the one
// that can send it (Options.TrustControlPath: on FC, or when a local stack
// says it plays FC's part): elsewhere any client could, and reach the event
// path past the function's caller authentication.
//
// Each invocation gets in its context a logger tagged with the request id,
// the function role's STS credentials from the x-fc-* headers, and a
// deadline a little shorter than the function's timeout: a custom runtime
// gets no deadline from the platform, and a function that FC cuts off cannot
// say why it failed. On Lambda, which does give one, the deadline is
// Lambda's less the same margin, whatever FUNCTION_TIMEOUT_S says. Each
// invocation ends with one JSON log line (kind, method, path, status,
// duration). Request headers, query strings and bodies are never logged: the
// headers carry STS secrets and the bodies carry personal data.
//
// Operation adapts one typed operation to both entry points, so a function
// writes its logic once; Main builds the Function from the environment at
// start and serves it (see the examples).
package fcrt
