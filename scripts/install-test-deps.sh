#!/usr/bin/env bash
# Installs what the test suite drives: real package clients, the GitHub API
# clients, the OCI conformance suite and the linters. Idempotent: whatever
# is already present is kept.
set -euo pipefail
cd "$(dirname "$0")/.."

gobin="$(go env GOPATH)/bin"
export PATH="$gobin:$PATH"

apt_pkgs=()
command -v gh >/dev/null || apt_pkgs+=(gh)
command -v npm >/dev/null || apt_pkgs+=(npm)
command -v skopeo >/dev/null || apt_pkgs+=(skopeo)
command -v podman >/dev/null || apt_pkgs+=(podman)
# NuGet.exe (from test/tools, below) runs on mono.
command -v mono >/dev/null || apt_pkgs+=(mono-complete)
if [ ${#apt_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt_pkgs[@]}"
  else
    echo "missing: ${apt_pkgs[*]} (install them with apt-get)" >&2
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
# The OCI distribution-spec conformance suite, pinned in its own module.
if [ ! -x test/conformance/conformance.test ] || [ test/conformance/go.mod -nt test/conformance/conformance.test ]; then
  (cd test/conformance && go test -c -o conformance.test github.com/opencontainers/distribution-spec/conformance)
fi

# JavaScript tools: GitHub's OpenAPI description, octokit, and NuGet.exe
# (npm package nuget-exe).
if [ ! -f test/tools/node_modules/.package-lock.json ] || [ test/tools/package.json -nt test/tools/node_modules/.package-lock.json ]; then
  (cd test/tools && npm install --no-audit --no-fund --loglevel=error)
fi
