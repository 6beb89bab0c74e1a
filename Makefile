# Bulkhead's one-command gates. `make check` is what CI runs.
GO ?= go
PKGS := ./...

.PHONY: check fmt vet lint test run build

## check: formatting, vet, lint and every test (what CI runs)
check: fmt vet lint test

## fmt: fail if any Go file is not gofmt-formatted
fmt:
	@out=$$(gofmt -l cmd internal e2e examples bench); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

## lint: staticcheck, pinned in tools/go.mod
lint:
	$(GO) tool -modfile=tools/go.mod staticcheck $(PKGS)

## test: the whole suite, race detector on; privileged tests run as root
test:
	$(GO) test -race -count=1 $(PKGS)

build:
	CGO_ENABLED=0 $(GO) build -o bin/bulkhead ./cmd/bulkhead

# ISOLATION: the Linux sandbox needs root. Elsewhere `make run` falls back to
# plain processes, and the server says so loudly; `make run ISOLATION=linux`
# insists.
ISOLATION ?= $(if $(filter 0,$(shell id -u)),linux,process)

## run: start Bulkhead with its embedded defaults and the examples deployed
run:
	@mkdir -p bin/examples
	@for d in examples/*/; do CGO_ENABLED=0 $(GO) build -o bin/examples/$$(basename $$d) ./$$d || exit 1; done
	CGO_ENABLED=0 $(GO) run ./cmd/bulkhead serve --examples bin/examples --isolation $(ISOLATION)

.PHONY: bench bench-quick

# BENCH_FLAGS: extra flags for the benchmark, e.g. BENCH_FLAGS='--churn-tenants 100000'
# or BENCH_FLAGS='--only cold-start,warm'; `go run ./bench --help` lists them.
BENCH_FLAGS ?=

## bench: the full benchmark (docs/bench.md); report in bench/report/<timestamp>
bench:
	$(GO) run ./bench $(BENCH_FLAGS)

## bench-quick: every benchmark scenario with tiny counts (a smoke run, about a minute; no figure in it means anything)
bench-quick:
	$(GO) run ./bench --quick --out $(or $(BENCH_OUT),bench/report/quick) $(BENCH_FLAGS)
