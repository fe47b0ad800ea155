// Package lambdatest runs every function on the AWS Lambda target as it is
// deployed there: its bootstrap (the binary `make package` builds, with
// -tags lambda.norpc,nethttpomithttp2) under AWS's own Lambda Runtime Interface Emulator
// (aws-lambda-rie, testproc.RIE), against the upstream emulator's process.
// Each function gets the events its front doors send (API Gateway HTTP API
// payload 2.0, REST API payload 1.0, Function URL, direct Invoke; the
// callback its schedule), valid and invalid, and an upstream that hangs
// past a 3 s Lambda timeout.
//
// The package has no code of its own; the tests are in lambda_test.go.
package lambdatest
