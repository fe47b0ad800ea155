package fcrt

import "context"

// OperationFunction is the Function called name whose two entry points are
// op (Operation, with opts): a function of one operation.
func OperationFunction[Req, Resp any](name string, op func(context.Context, Req) (Resp, error), opts ...OperationOption) Function {
	api, event := Operation(op, opts...)
	return Function{Name: name, HTTP: api, Event: event}
}
