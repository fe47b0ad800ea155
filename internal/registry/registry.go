// Package registry is the one list of the project's functions. The local
// stack (cmd/devstack) and the cross-function tests loop over it, and its
// test fails when functions/, this list, s.yaml and the SAM template
// disagree, so that a new function cannot be half added. docs/design.md
// ("Adding a function") names the places that still list functions by hand.
package registry

// Upstream is the service a function calls.
type Upstream string

const (
	Cloudauth Upstream = "cloudauth" // Alibaba Cloud ID Verification (cloudauth-intl), ACS3 signatures
	Alipay    Upstream = "alipay"    // Alipay open platform gateway (Zhima), RSA2
	Antom     Upstream = "antom"     // Antom (AMS) user authentication, RSA256 header signatures
	None      Upstream = ""          // the result function reads the store only
)

// Function is one deployable function.
type Function struct {
	// Name is the directory under functions/, the binary's name, and the
	// function's name in s.yaml (after the service prefix) and the SAM template.
	Name string
	// Upstream is what it calls; the callback calls cloudauth and, when
	// Zhima is configured, the Alipay gateway.
	Upstream Upstream
	// PortOffset is its port in the local stack, added to the stack's base port.
	PortOffset int
	// FrontDoor says whether callers reach it directly (CORS, AUTH_MODE and
	// per-caller limits, pkg/frontdoor). The callback is called by the
	// upstream and the user's browser instead, and checks its own tokens.
	FrontDoor bool
}

// Package is the function's import path.
func (f Function) Package() string { return Module + "/functions/" + f.Name }

// Module is the project's module path.
const Module = "github.com/idverify/fc-kyc"

// Functions are every function, in the order the local stack lists them.
var Functions = []Function{
	{Name: "ekyc-init", Upstream: Cloudauth, PortOffset: 1, FrontDoor: true},
	{Name: "bank-verify", Upstream: Cloudauth, PortOffset: 2, FrontDoor: true},
	{Name: "zhima-init", Upstream: Alipay, PortOffset: 3, FrontDoor: true},
	{Name: "otp-init", Upstream: Antom, PortOffset: 4, FrontDoor: true},
	{Name: "callback", Upstream: Cloudauth, PortOffset: 5, FrontDoor: false},
	{Name: "result", Upstream: None, PortOffset: 6, FrontDoor: true},
}

// Lookup returns the function called name.
func Lookup(name string) (Function, bool) {
	for _, f := range Functions {
		if f.Name == name {
			return f, true
		}
	}
	return Function{}, false
}

// Names are the functions' names, in order.
func Names() []string {
	out := make([]string, len(Functions))
	for i, f := range Functions {
		out[i] = f.Name
	}
	return out
}
