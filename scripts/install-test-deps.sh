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

# JavaScript tools: GitHub's OpenAPI description and octokit.
if [ ! -f test/tools/node_modules/.package-lock.json ] || [ test/tools/package.json -nt test/tools/node_modules/.package-lock.json ]; then
  (cd test/tools && npm install --no-audit --no-fund --loglevel=error)
fi
