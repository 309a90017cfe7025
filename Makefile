# Relais developer tasks. `make help` lists them.
GO      ?= go
PKGS    ?= ./...
BIN     ?= bin/relais
BENCH   ?= .
BENCHTIME ?= 1x

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the tasks
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## build bin/relais
	$(GO) build -o $(BIN) ./cmd/relais

.PHONY: run
run: ## run the server with the demo knowledge base and the web chat (http://localhost:8080/)
	$(GO) run ./cmd/relais serve --demo

.PHONY: deps
deps: ## install PostgreSQL and pgvector for the tests (Debian, as root), unless TEST_DATABASE_URL is set
	@if [ -z "$$TEST_DATABASE_URL" ]; then bash scripts/install-postgres.sh; fi
	@bash scripts/install-chromium.sh

.PHONY: test
test: deps lint ## run the whole test suite, PostgreSQL tests included (they fail, not skip, without a database)
	$(GO) test -count=1 -timeout 20m $(PKGS)

.PHONY: bench
bench: deps ## run the benchmarks (search latency, ingest throughput, vector recall); BENCH=regexp BENCHTIME=1x
	$(GO) test -count=1 -run '^$$' -bench '$(BENCH)' -benchtime $(BENCHTIME) -timeout 60m $(PKGS)

.PHONY: bench-scale
bench-scale: deps ## one table of Relais at 1k, 10k and 100k chunks on both stores (RELAIS_BENCH_CHUNKS, RELAIS_BENCH_STORES narrow it)
	$(GO) test -count=1 -run '^$$' -bench '^BenchmarkScale$$' -benchtime 1x -timeout 90m ./cmd/relais/

DATA ?= ../shared/data

.PHONY: eval
eval: ## run every eval set in $(DATA) with 5 folds, print one table, compare with evals/baseline.json
	@if [ ! -d "$(DATA)" ]; then echo "eval: $(DATA) not found; nothing to evaluate"; exit 0; fi; \
	$(GO) run ./cmd/relais eval --suite $(DATA) --folds 5 --json evals/out --baseline evals/baseline.json

.PHONY: eval-baseline
eval-baseline: ## record the current eval results as evals/baseline.json (after a change that improves them)
	$(GO) run ./cmd/relais eval --suite $(DATA) --folds 5 --write-baseline evals/baseline.json

.PHONY: lint
lint: ## go vet and a gofmt check
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

.PHONY: fuzz
fuzz: ## run each fuzz target (ingest, channel/whatsapp) for FUZZTIME (default 30s)
	@for p in ./ingest/ ./channel/whatsapp/; do \
		for f in $$($(GO) test -list 'Fuzz.*' $$p | grep ^Fuzz); do \
		$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $${FUZZTIME:-30s} $$p || exit 1; done; done

.PHONY: clean
clean: ## remove build outputs
	rm -rf bin
