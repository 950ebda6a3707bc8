# shmpool: the targets CI runs (.ci/run) and developers run by hand.
# `make` alone lists them.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

GO ?= go
# staticcheck 2026.2.2; built with `go run` through the module proxy, nothing
# to install. It needs Go 1.26 or later to build (the module itself needs 1.24).
STATICCHECK_VERSION ?= v0.8.2
# CPU=1,2,4 runs every test and benchmark with each GOMAXPROCS (go test -cpu).
CPU ?=
# Time per fuzz target for `make fuzz`.
FUZZTIME ?= 30s
# Benchmark pattern and repetitions for `make bench`.
BENCH ?= .
COUNT ?= 10
# Messages for `make soak`.
SOAK ?= 100000000

cpuflag = $(if $(CPU),-cpu=$(CPU))
# Go files gofmt checks: skips testdata, vendor and dot/underscore dirs, as go does.
gofiles = find . \( -name .git -o -name testdata -o -name vendor -o -name '_*' -o -name '.?*' \) -prune -o -type f -name '*.go' -print

.PHONY: help
help: ## list the targets
	@echo 'usage: make TARGET [CPU=1,2,4] [FUZZTIME=30s]'
	@echo
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

.PHONY: build
build: ## compile every package
	$(GO) build ./...

.PHONY: test
test: ## go vet, then every test with -race (CPU=1,2,4 for a GOMAXPROCS matrix)
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout=20m $(cpuflag) ./...

.PHONY: test-short
test-short: ## the tests with -short and -race: small stress sizes, quick
	$(GO) test -race -short -count=1 -timeout=10m $(cpuflag) ./...

.PHONY: chaos
chaos: ## the full reliability suite (internal/chaos -chaos.full): kill storms, hostile workers, leaks; about an hour
	$(GO) test -count=1 -timeout=180m -v $(cpuflag) ./internal/chaos -chaos.full

.PHONY: soak
soak: ## the soak test alone (SOAK=messages, default 1e8): sequence checks, RSS and throughput over time
	$(GO) test -count=1 -timeout=0 -v -run='^TestSoak$$' ./internal/chaos -chaos.full -chaos.soak=$(SOAK)

.PHONY: lint
lint: ## gofmt check, go vet, staticcheck, import rules (scripts/check-imports.sh)
	@unformatted=$$($(gofiles) | xargs -r gofmt -l); \
	if [[ -n $$unformatted ]]; then \
		echo 'gofmt: these files are not formatted (run gofmt -w on them):' >&2; \
		echo "$$unformatted" | sed 's/^/  /' >&2; \
		exit 1; \
	fi; \
	echo 'gofmt: ok'
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...
	./scripts/check-imports.sh

.PHONY: bench
bench: ## every benchmark -count=10 with -benchmem (BENCH=regexp, COUNT=n); make bench > new.txt for benchstat
	@$(GO) test -run='^$$' -bench='$(BENCH)' -benchmem -count=$(COUNT) -timeout=120m $(cpuflag) ./...

.PHONY: bench-smoke
bench-smoke: ## every benchmark once (-benchtime=1x): they still build and run
	$(GO) test -run='^$$' -bench=. -benchmem -benchtime=1x -timeout=20m $(cpuflag) ./...

.PHONY: bench-report
bench-report: ## run cmd/shmbench (about 30 s): docs/bench.txt (the table), docs/bench.json, docs/bench.svg
	mkdir -p docs
	$(GO) run ./cmd/shmbench -json docs/bench.json -plot docs/bench.svg | tee docs/bench.txt

.PHONY: fuzz
fuzz: ## every fuzz target for FUZZTIME each, in sequence (scripts/fuzz.sh)
	FUZZTIME='$(FUZZTIME)' ./scripts/fuzz.sh

.PHONY: tidy-check
tidy-check: ## go mod tidy leaves go.mod and go.sum unchanged
	$(GO) mod tidy
	git diff --exit-code -- go.mod go.sum
