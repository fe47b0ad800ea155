# The project's commands. `make run` brings the local stack up; `make test`
# is the test command CI runs.

GO        ?= go
BIN       := bin
DIST      := dist
FUNCTIONS := ekyc-init bank-verify callback zhima-init otp-init result
TOOLS     := emulator devstack
ARCHES    := amd64 arm64
# lambda.norpc drops aws-lambda-go's legacy net/rpc entry point (and with
# it ~8 MB of net/rpc and html/template); provided.al2023 never uses it.
# nethttpomithttp2 drops net/http's HTTP/2 (0.55 MB): FC, the Lambda
# Runtime API and cloudauth-intl are all spoken to in HTTP/1.1.
TAGS      := lambda.norpc,nethttpomithttp2

.PHONY: build test fuzz fuzz-short load run bench package check-deploy deploy deploy-env lint clean

## build: local binaries of every function and tool, into bin/
build:
	@mkdir -p $(BIN)
	@for f in $(FUNCTIONS); do CGO_ENABLED=0 $(GO) build -trimpath -tags $(TAGS) -o $(BIN)/$$f ./functions/$$f || exit 1; done
	@for t in $(TOOLS); do CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/$$t ./cmd/$$t || exit 1; done

## test: every test, with the race detector, after the offline check of the deployment files;
## then the load test at 2000 requests per function without it (see load). The fuzz targets'
## seed corpora run as ordinary tests; timed fuzzing is `make fuzz`.
test: check-deploy
	$(GO) test -race -count=1 ./...
	LOAD_REQUESTS=2000 $(GO) test -count=1 -run '^TestLoad$$' ./internal/loadtest

# The fuzz targets, as package:FuzzName. A crasher a run finds is written to
# the package's testdata/fuzz/FuzzName/ and is from then on a test case.
FUZZ_TARGETS := ./pkg/fcrt:FuzzUnwrap ./pkg/fcrt:FuzzOperation ./pkg/validate:FuzzValidators \
	./pkg/callbacktoken:FuzzVerify ./pkg/callbacktoken:FuzzTokenRoundTrip \
	./pkg/webhook:FuzzVerify ./pkg/webhook:FuzzSignRoundTrip \
	./pkg/alipay:FuzzParseAnswer ./pkg/alipay:FuzzRead ./pkg/antom:FuzzVerifyAnswer ./pkg/antom:FuzzVerifySignature \
	./functions/ekyc-init:FuzzRequestCheck ./functions/bank-verify:FuzzRequestCheck \
	./functions/zhima-init:FuzzRequestCheck ./functions/otp-init:FuzzRequestCheck ./functions/callback:FuzzParams \
	./functions/result:FuzzRequestCheck
FUZZTIME       ?= 2m
FUZZTIME_SHORT ?= 7s
# Minimising is capped by executions: on a time budget it can stall a
# worker for the whole run on one large input. Go 1.26's fuzz coordinator
# can end a clean run with a bare "context deadline exceeded" at the time
# limit (golang/go#75804, fixed in Go 1.27): that, with no new crasher file
# written, is reported and not counted as a failure.
define run-fuzz
@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; name=$${t##*:}; dir=$$pkg/testdata/fuzz/$$name; \
	before=$$(ls $$dir 2>/dev/null | wc -l); \
	if out=$$($(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(1) -fuzzminimizetime 100x $$pkg 2>&1); then note=; \
	elif [ "$$(ls $$dir 2>/dev/null | wc -l)" = "$$before" ] && echo "$$out" | grep -q '^    context deadline exceeded$$'; then \
		note=" (stopped by golang/go#75804, no crasher)"; \
	else echo "$$out"; echo "fuzz $$pkg $$name FAILED (a crasher found is written to $$dir)"; exit 1; fi; \
	echo "fuzz $$pkg $$name: $$(echo "$$out" | grep '^fuzz: elapsed' | tail -1 | sed 's/^fuzz: //')$$note"; \
done
endef

## fuzz: every fuzz target for FUZZTIME (2m) each
fuzz:
	$(call run-fuzz,$(FUZZTIME))

## fuzz-short: every fuzz target for FUZZTIME_SHORT (7s) each
fuzz-short:
	$(call run-fuzz,$(FUZZTIME_SHORT))

## load: LOAD_REQUESTS (20000) requests at LOAD_CONCURRENCY (200) to one instance of each function
## against the emulator, a tenth invalid, a twentieth meeting faults; logs answers, peak RSS, goroutines
## (`make test` runs the same test with 2000, after the race run, which skips it)
LOAD_REQUESTS    ?= 20000
LOAD_CONCURRENCY ?= 200
load:
	LOAD_REQUESTS=$(LOAD_REQUESTS) LOAD_CONCURRENCY=$(LOAD_CONCURRENCY) $(GO) test -count=1 -timeout 30m -v -run '^TestLoad$$' ./internal/loadtest

## run: the emulator and every function on loopback; prints a curl to try
run: build
	@$(BIN)/devstack

## bench: benchmark figures (ns/op, allocs/op) of the functions' request paths, then one table per
## function (cold start, CPU, latency, memory, size, connections) beside the Node peer in bench/peer.
## Other packages' benchmarks: go test -run NONE -bench . ./pkg/...
bench:
	@mkdir -p $(BIN)
	@if command -v npm >/dev/null; then cd bench/peer && npm ci --no-audit --no-fund --loglevel=error; \
		else echo "npm not found: the tables will have no Node peer column"; fi
	@$(GO) test -run '^$$' -bench . -benchmem -count 3 ./functions/... > $(BIN)/bench.txt; status=$$?; \
		cat $(BIN)/bench.txt; exit $$status
	$(GO) run ./cmd/benchtable -gobench $(BIN)/bench.txt | tee $(BIN)/bench-table.md

## package: static linux binaries named bootstrap, zipped per function and architecture, into dist/
package:
	@rm -rf $(DIST) && mkdir -p $(DIST)
	@for f in $(FUNCTIONS); do for a in $(ARCHES); do \
		mkdir -p $(DIST)/$$f/$$a && \
		CGO_ENABLED=0 GOOS=linux GOARCH=$$a $(GO) build -trimpath -tags $(TAGS) -ldflags='-s -w' -o $(DIST)/$$f/$$a/bootstrap ./functions/$$f && \
		(cd $(DIST)/$$f/$$a && python3 -m zipfile -c ../../$$f-linux-$$a.zip bootstrap) || exit 1; \
	done; done
	@ls -l $(DIST)/*/*/bootstrap $(DIST)/*.zip

## check-deploy: s.yaml rendered offline by Serverless Devs (`s preview`), validated against
## deploy/fc3-props.schema.json and the project's stricter rules; the SAM template; their tests
check-deploy:
	@command -v npm >/dev/null || { echo "check-deploy needs Node.js 18+ and npm (Debian: apt-get install nodejs npm)"; exit 1; }
	@cd deploy && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@cd deploy && node check.mjs && node --test --test-reporter=dot check.test.mjs

# What s.yaml cannot do without; secrets and per-function settings are in docs/deploy.md and docs/configuration.md.
# CALLBACK_SECRET: the callback refuses to start without it. AUTH_MODE (s.yaml: apikey by default)
# adds BANK_CARD_LIMIT_SECRET (bank-verify's per-card limit) unless none, and AUTH_SUBJECT_SECRET with jwt.
DEPLOY_NEEDS := FC_ROLE_ARN FC_VPC_ID FC_VSWITCH_ID FC_SECURITY_GROUP_ID STORE_URL CALLBACK_SECRET \
	$(if $(filter none,$(AUTH_MODE)),,BANK_CARD_LIMIT_SECRET) $(if $(filter jwt,$(AUTH_MODE)),AUTH_SUBJECT_SECRET)

## deploy: package, check, then `s deploy` every function to FC 3.0 (credentials: `s config add`, alias S_ACCESS or default)
deploy: deploy-env package check-deploy
	deploy/node_modules/.bin/s deploy -y -t s.yaml $(if $(S_ACCESS),-a $(S_ACCESS))

# deploy-env stops `make deploy` before any build when a value it needs is unset.
deploy-env:
	@missing=; for v in $(DEPLOY_NEEDS); do [ -n "$$(printenv $$v)" ] || missing="$$missing $$v"; done; \
	if [ -n "$$missing" ]; then \
		echo "make deploy: set$$missing first:"; \
		echo "  FC_ROLE_ARN           acs:ram::<uid>:role/<name>, the role FC passes to the functions (AliyunAntCloudAuthFullAccess)"; \
		echo "  FC_VPC_ID, FC_VSWITCH_ID, FC_SECURITY_GROUP_ID   the VPC that reaches cloudauth-intl-vpc.<region>.aliyuncs.com and Redis"; \
		echo "  STORE_URL             redis://[:password@]host:6379/0 of the transaction store in that VPC"; \
		echo "  CALLBACK_SECRET, BANK_CARD_LIMIT_SECRET, AUTH_SUBJECT_SECRET   keys of at least 32 random characters (docs/configuration.md)"; \
		echo "and the secrets of the functions you use (docs/deploy.md). Credentials: \`s config add\` (alias default, or S_ACCESS=<alias>)."; \
		exit 1; fi

STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

## lint: formatting, vet and staticcheck (fetched through the module proxy on first use)
lint:
	@test -z "$$(gofmt -l .)" || { echo "gofmt would change:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

clean:
	rm -rf $(BIN) $(DIST)
