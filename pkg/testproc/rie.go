package testproc

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// The AWS Lambda Runtime Interface Emulator the Lambda end-to-end tests run
// the functions' bootstraps under: AWS's own Runtime API and invoke
// endpoint, run as a plain process. It is built from the module proxy at this
// version only, outside this module (go install pkg@version makes its own
// build list), so that its dependencies never enter ours.
const (
	RIEPackage = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"
	RIEVersion = "v0.0.0-20261030222936-bef5c4ba774d"
)

var (
	rieOnce sync.Once
	rieBin  string
	rieWhy  string
)

// RequireRIE is the variable that turns RIE's skip into a failure: CI sets
// it (.ci/run), so that a build that fails there is never a quiet skip.
const RequireRIE = "REQUIRE_LAMBDA_RIE"

// RIE returns the path of aws-lambda-rie, built once per machine into the
// user cache directory (…/fc-kyc/aws-lambda-rie/<version>/) and reused from
// there. The test is skipped, with the reason, when it cannot be built: not
// on Linux, no Go toolchain, or the module proxy unreachable (it fails
// instead when REQUIRE_LAMBDA_RIE is set).
func RIE(t testing.TB) string {
	t.Helper()
	rieOnce.Do(func() { rieBin, rieWhy = buildRIE() })
	if rieBin == "" {
		msg := fmt.Sprintf("aws-lambda-rie %s could not be built, so the Lambda end-to-end tests cannot run: %s", RIEVersion, rieWhy)
		if os.Getenv(RequireRIE) != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return rieBin
}

func buildRIE() (bin, why string) {
	if runtime.GOOS != "linux" {
		return "", "it runs on Linux only"
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "fc-kyc", "aws-lambda-rie", RIEVersion)
	bin = filepath.Join(dir, "aws-lambda-rie")
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() {
		return bin, ""
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err.Error()
	}
	// Built into a fresh directory, then renamed into place: another test
	// process building at the same time never sees half a binary.
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", err.Error()
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "install", RIEPackage+"@"+RIEVersion)
	cmd.Dir = tmp // outside this module
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "CGO_ENABLED=0", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", "go install " + RIEPackage + "@" + RIEVersion + ": " + err.Error() + "\n" + string(out)
	}
	if err := os.Rename(filepath.Join(tmp, "aws-lambda-rie"), bin); err != nil {
		return "", err.Error()
	}
	return bin, ""
}
