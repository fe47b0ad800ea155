// Package api holds the HTTP contract of every function, api/openapi.yaml
// (OpenAPI 3.1), embedded so that the local stack can serve it and the
// tests can validate against it without finding the file on disk.
package api

import _ "embed"

// OpenAPI is api/openapi.yaml as it is in the repository.
//
//go:embed openapi.yaml
var OpenAPI []byte
