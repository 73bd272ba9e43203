# Packhub: build, run and test.
GO ?= go

.PHONY: build run test test-deps lint

# VERSION is what packhub --version prints.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o bin/packhub ./cmd/packhub

run:
	$(GO) run ./cmd/packhub serve

# test checks the prerequisites, installs what the tests drive (real
# clients, linters, PostgreSQL), checks the code, then runs every test
# with the race detector, on SQLite and on PostgreSQL: the database named
# by PACKHUB_TEST_DATABASE_URL, or else a throwaway cluster it starts and
# removes. The steps run in order, also under make -j.
test:
	./scripts/install-test-deps.sh
	./scripts/lint.sh
	CGO_ENABLED=1 ./scripts/with-postgres.sh $(GO) test -race -count=1 -timeout 45m ./...

test-deps:
	./scripts/install-test-deps.sh

lint:
	./scripts/lint.sh
