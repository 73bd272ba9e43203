# Packhub: build, run and test.
GO ?= go

.PHONY: build run test test-deps lint

# VERSION is what packhub --version prints.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o bin/packhub ./cmd/packhub

run:
	$(GO) run ./cmd/packhub serve

# test installs what the tests drive (real clients, linters), checks the
# code, then runs every test. Set PACKHUB_TEST_DATABASE_URL to a PostgreSQL
# database to run the store and API suites on PostgreSQL too.
test: test-deps lint
	$(GO) test -count=1 -timeout 20m ./...

test-deps:
	./scripts/install-test-deps.sh

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$$($(GO) env GOPATH)/bin/staticcheck ./...
