# Bazaar's build. Every tool is pinned in go.mod (`tool` directives) and run
# with `go tool`, so the Go toolchain is the only prerequisite.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

GO        ?= go
BUF       := $(GO) tool buf
LINT      := $(GO) tool golangci-lint
# buf breaking compares the protos with this git ref (CI: the previous
# commit on main).
BREAKING_AGAINST ?= HEAD~1
TEST_FLAGS ?= -race -count=1 -timeout 15m
BENCH     ?= .

.PHONY: help
help: ## Show this help.
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-16s %s\n", $$1, $$2}'

.PHONY: generate
generate: ## Regenerate gen/ from proto/ (buf + local plugins).
	$(BUF) generate

.PHONY: check-generate
check-generate: generate ## Fail if gen/ is not what the protos generate.
	@if [ -n "$$(git status --porcelain -- gen)" ]; then \
		echo "gen/ is stale: run 'make generate' and commit the result:"; \
		git status --porcelain -- gen; git --no-pager diff --stat -- gen; exit 1; \
	fi

.PHONY: buf-lint
buf-lint: ## Lint the protos (buf STANDARD).
	$(BUF) lint

.PHONY: breaking
breaking: ## Check proto/ for breaking changes against $(BREAKING_AGAINST).
	@if git cat-file -e "$(BREAKING_AGAINST):buf.yaml" 2>/dev/null; then \
		$(BUF) breaking --against ".git#ref=$(BREAKING_AGAINST)" && \
		echo "breaking: no breaking change against $(BREAKING_AGAINST)"; \
	else \
		echo "breaking: $(BREAKING_AGAINST) has no buf.yaml; nothing to compare with"; \
	fi

.PHONY: lint
lint: buf-lint ## Lint protos and Go (buf, go vet, golangci-lint).
	$(GO) vet ./...
	$(LINT) run ./...

.PHONY: test
test: ## Run every test with the race detector (Postgres via BAZAAR_TEST_POSTGRES_URL).
	$(GO) test $(TEST_FLAGS) ./...

.PHONY: bench
bench: ## Run the benchmarks (BENCH=regexp to choose).
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem ./...

.PHONY: up
up: ## Run every service in one process.
	$(GO) run ./cmd/bazaar up
