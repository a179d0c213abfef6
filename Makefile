# Entry points: make demo, make test, make dev, make build, make synth,
# make bootstrap, make deploy, make bench.
# The npm tools come from two lock files, installed on demand: dynalite
# (local mode and the tests) from scripts/package-lock.json, asl-validator
# and the AWS CDK CLI (the CDK app) from scripts/cdk/package-lock.json, so
# make demo and make dev install only dynalite.

SHELL := /bin/bash
FUNCTIONS := $(notdir $(wildcard functions/*))
BUILD_DIR := build/functions
MAX_FUNCTION_BYTES := 15728640
NODE_BIN := scripts/cdk/node_modules/.bin
LOCAL_TOOLS_STAMP := scripts/node_modules/.installed
CDK_TOOLS_STAMP := scripts/cdk/node_modules/.installed
GO_LAMBDA_FLAGS := -tags lambda.norpc -trimpath -ldflags "-s -w"
FUZZTIME ?= 5s
SIGNALS_FUZZTIME ?= 3s
MAX_COMPLEXITY := 20

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: all demo dev test lint test-go fuzz build synth bootstrap deploy bench tools local-tools cdk-tools local-mode clean

all: test

## tools: install the npm tools from the lock files (needs Node.js and npm)
tools: local-tools cdk-tools

## local-tools: dynalite only, what local mode needs
local-tools: $(LOCAL_TOOLS_STAMP)

## cdk-tools: the AWS CDK CLI and asl-validator
cdk-tools: $(CDK_TOOLS_STAMP)

# npm packages ship Go files (the CDK CLI's templates); a go.mod in each
# node_modules keeps them out of this module's ./... patterns.
%/node_modules/.installed: %/package.json %/package-lock.json
	@command -v node >/dev/null || { echo "Node.js is required (dynalite, asl-validator, the CDK CLI): install Node.js 20 or later" >&2; exit 1; }
	cd $* && npm ci --no-audit --no-fund --loglevel=error
	@printf 'module example.invalid/node_modules\n' > $*/node_modules/go.mod
	@touch $@

# local-mode installs dynalite while the devstack binary builds: npm waits
# on the network, go build on the CPU.
local-mode:
	@$(MAKE) --no-print-directory -j2 local-tools build/devstack

## demo: play the night-time P0 outage through the whole local pipeline
demo: local-mode
	build/devstack demo

## dev: the API on http://127.0.0.1:8080 against dynalite, escalations on the
## real clock, EventBridge events at POST /events; DEV_FLAGS passes flags,
## e.g. DEV_FLAGS=--pagerduty-url=https://events.pagerduty.com/v2/enqueue
dev: local-mode
	build/devstack dev $(DEV_FLAGS)

build/devstack: $(shell find scripts/devstack shared -name '*.go' -o -name '*.json' -o -name '*.yaml') go.mod go.sum
	go build -o $@ ./scripts/devstack

## test: lint, every Go test (dynalite-backed storage and ingest, the CDK template, asl-validator), a short fuzz run
test: tools lint test-go fuzz

## lint: gofmt, go vet, staticcheck (with staticcheck.conf), a go mod tidy
## check and the cyclomatic-complexity gate: no function over MAX_COMPLEXITY
## outside tests; staticcheck and gocyclo are Go tools of go.mod
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path '*/node_modules/*')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	go vet ./...
	go tool staticcheck ./...
	@go mod tidy -diff >/dev/null 2>&1 || { echo "go mod tidy would change go.mod or go.sum:"; go mod tidy -diff; exit 1; }
	@out=$$(go tool gocyclo -over $(MAX_COMPLEXITY) -ignore '_test\.go$$|(^|/)node_modules/' .); \
	if [ -n "$$out" ]; then echo "cyclomatic complexity over $(MAX_COMPLEXITY) (split these functions):"; echo "$$out"; exit 1; fi

test-go:
	go test -count=1 ./...

fuzz:
	go test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./shared/cloudwatch/
	@# The API's request bodies and the PagerDuty webhook; minimizing a new
	@# input is bounded too, so a run ends near FUZZTIME.
	go test -run '^$$' -fuzz '^FuzzDecodeRequestBodies$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./shared/api/
	go test -run '^$$' -fuzz '^FuzzDecodeWebhook$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./shared/api/
	go test -run '^$$' -fuzz '^FuzzPagerDutyWebhook$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./shared/api/
	@# The signal sources' decoders: every EventBridge event the ingest rules
	@# route, Sentry's webhooks (signature, timestamp and body) and the
	@# health checks' conditions on what endpoints answer; a few seconds
	@# each keeps make test near its budget.
	go test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(SIGNALS_FUZZTIME) -fuzzminimizetime 5s ./shared/eventbridge/
	go test -run '^$$' -fuzz '^FuzzWebhook$$' -fuzztime $(SIGNALS_FUZZTIME) -fuzzminimizetime 5s ./shared/sentry/
	go test -run '^$$' -fuzz '^FuzzCondition$$' -fuzztime $(SIGNALS_FUZZTIME) -fuzzminimizetime 5s ./shared/health/
	@# Slack's requests: the signature check, the verified form and the
	@# /incident command's text.
	go test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime $(SIGNALS_FUZZTIME) -fuzzminimizetime 5s ./shared/slack/
	go test -run '^$$' -fuzz '^FuzzParseVerified$$' -fuzztime $(SIGNALS_FUZZTIME) -fuzzminimizetime 5s ./shared/slack/
	go test -run '^$$' -fuzz '^FuzzReportText$$' -fuzztime $(SIGNALS_FUZZTIME) -fuzzminimizetime 5s ./shared/slack/

## build: every function for Lambda (provided.al2023, arm64), stripped
build: $(addprefix build-,$(FUNCTIONS))

build-%:
	@mkdir -p $(BUILD_DIR)/$*
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build $(GO_LAMBDA_FLAGS) -o $(BUILD_DIR)/$*/bootstrap ./functions/$*
	@size=$$(stat -c %s $(BUILD_DIR)/$*/bootstrap); \
	awk -v n="$*" -v s="$$size" -v f="$(BUILD_DIR)/$*/bootstrap" 'BEGIN { printf "%-20s %5.1f MB (%d bytes)  %s\n", n, s / 1048576, s, f }'; \
	if [ "$$size" -gt $(MAX_FUNCTION_BYTES) ]; then echo "$* is larger than 15 MB" >&2; exit 1; fi

## synth: the CloudFormation template in cdk.out/, offline, no AWS credentials
## needed; CDK_DEPLOY_FLAGS passes the same settings as deploy
synth: cdk-tools build
	$(NODE_BIN)/cdk synth --quiet -o cdk.out $(CDK_DEPLOY_FLAGS)
	@ls cdk.out/*.template.json

## bootstrap: prepare the AWS account and region for CDK deployments (once)
bootstrap: cdk-tools build
	$(NODE_BIN)/cdk bootstrap

## deploy: build, synthesize and deploy to the AWS account of your current
## credentials; CDK_DEPLOY_FLAGS passes more CLI flags, e.g. -c key=value
deploy: cdk-tools build
	$(NODE_BIN)/cdk deploy -o cdk.out $(CDK_DEPLOY_FLAGS)

## bench: the local stack measured end to end (alarm-to-page latency, a
## storm, DynamoDB calls, state transitions, allocations, AWS cost), printed
## and written to build/bench.json; then the go test benchmarks.
## BENCH_FLAGS passes flags, e.g. BENCH_FLAGS=--redeliveries=false
bench: local-mode
	build/devstack bench $(BENCH_FLAGS)
	@# The handlers log to stderr in the benchmarks; only the results show.
	set -o pipefail; go test -run '^$$' -bench . -benchmem ./shared/... ./scripts/... 2>&1 | grep -Ev '^[0-9/]+ [0-9:.]+ (DEBUG|INFO|WARN) '

clean:
	rm -rf build cdk.out .devstack
