# Packhub: build, run and test.
GO ?= go

.PHONY: build run test test-deps lint

build:
	$(GO) build -o bin/packhub ./cmd/packhub

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
