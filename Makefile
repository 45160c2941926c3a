# xVault — the README's commands.
GO ?= go
export CGO_ENABLED ?= 0

.PHONY: all build install vet test test-short bench fuzz clean

all: build

build:
	$(GO) build ./...

install:
	$(GO) install ./...

vet:
	$(GO) vet ./...
	$(GO) vet -tags xvbench ./internal/bench

# The full suite: real sshd, PostgreSQL when XV_TEST_POSTGRES_URL is set.
# Race detection needs cgo, so it runs as a separate, opt-in target.
test: vet
	$(GO) test -count=1 -timeout 30m ./...

test-race:
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 40m ./...

test-short:
	$(GO) test -short -count=1 ./...

# Side-by-side throughput against the shell baseline (see docs/performance.md).
# The xvbench build tag keeps the bench command out of `go install ./...`.
bench:
	$(GO) run -tags xvbench ./internal/bench $(BENCH_ARGS)

# A short run of every fuzz target.
FUZZTIME ?= 10s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
			echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

clean:
	rm -rf xvault-data
