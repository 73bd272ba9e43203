#!/usr/bin/env bash
# Installs what the test suite drives: real package clients, the GitHub API
# clients, the OCI conformance suite, the linters, a C compiler for the race
# detector, and the PostgreSQL server when no PACKHUB_TEST_DATABASE_URL
# names one. Idempotent: whatever is already present is kept. Go, Node.js
# with npm, git and make must be there already (scripts/check-prereqs.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/check-prereqs.sh

gobin="$(go env GOPATH)/bin"
export PATH="$gobin:$PATH"

apt_pkgs=()
command -v gh >/dev/null || apt_pkgs+=(gh)
command -v skopeo >/dev/null || apt_pkgs+=(skopeo)
command -v podman >/dev/null || apt_pkgs+=(podman)
# The documentation's commands (TestDocs) use curl and openssl too.
command -v curl >/dev/null || apt_pkgs+=(curl)
command -v openssl >/dev/null || apt_pkgs+=(openssl)
# The race detector needs cgo, so a C compiler and the C library headers.
command -v "$(go env CC)" >/dev/null || apt_pkgs+=(gcc libc6-dev)
# scripts/with-postgres.sh starts a throwaway cluster with the server's
# programs, unless a database is given.
if [ -z "${PACKHUB_TEST_DATABASE_URL:-}" ] && ! command -v initdb >/dev/null &&
  ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt_pkgs+=(postgresql)
fi
# Maven and the plugins the Maven tests pin, from Debian's repository
# (/usr/share/maven-repo), the only one they resolve plugins from.
command -v javac >/dev/null || apt_pkgs+=(default-jdk-headless)
command -v mvn >/dev/null || apt_pkgs+=(maven)
for p in libmaven-deploy-plugin-java libmaven-dependency-plugin-java libmaven-install-plugin-java \
  libmaven-resources-plugin-java libmaven-compiler-plugin-java libsurefire-java libmaven-jar-plugin-java; do
  dpkg -s "$p" >/dev/null 2>&1 || apt_pkgs+=("$p")
done
# RubyGems clients: gem 3.3 (ruby 3.1) and bundler 2.3.
command -v gem >/dev/null || apt_pkgs+=(ruby-full)
command -v bundle >/dev/null || apt_pkgs+=(bundler)
# NuGet.exe (from test/tools, below) runs on mono.
command -v mono >/dev/null || apt_pkgs+=(mono-complete)
# The scale-out test puts three servers behind nginx (/usr/sbin, not always on PATH).
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || apt_pkgs+=(nginx)
if [ ${#apt_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt_pkgs[@]}"
  else
    echo "missing: ${apt_pkgs[*]}; install them as root (apt-get install ${apt_pkgs[*]}) or run this as root" >&2
    exit 1
  fi
fi

[ -x "$gobin/staticcheck" ] || go install honnef.co/go/tools/cmd/staticcheck@v0.6.1

# OCI clients.
[ -x "$gobin/crane" ] || go install github.com/google/go-containerregistry/cmd/crane@v0.20.2
[ -x "$gobin/regctl" ] || go install github.com/regclient/regclient/cmd/regctl@v0.11.7
if [ ! -x "$gobin/oras" ]; then
  go mod download oras.land/oras@v1.2.3
  (cd "$(go env GOMODCACHE)/oras.land/oras@v1.2.3" && GOFLAGS=-mod=mod go build -o "$gobin/oras" ./cmd/oras)
fi
# A real S3 server for the S3 blob store's tests: versitygw serves a
# directory as S3.
[ -x "$gobin/versitygw" ] || go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
# The OCI distribution-spec conformance suite, pinned in its own module.
if [ ! -x test/conformance/conformance.test ] || [ test/conformance/go.mod -nt test/conformance/conformance.test ]; then
  (cd test/conformance && go test -c -o conformance.test github.com/opencontainers/distribution-spec/conformance)
fi

# JavaScript tools: GitHub's OpenAPI description, octokit, and NuGet.exe
# (npm package nuget-exe).
if [ ! -f test/tools/node_modules/.package-lock.json ] || [ test/tools/package.json -nt test/tools/node_modules/.package-lock.json ]; then
  (cd test/tools && npm install --no-audit --no-fund --loglevel=error)
fi
