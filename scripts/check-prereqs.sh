#!/usr/bin/env bash
# Checks the tools the test command needs and cannot install itself: Go,
# Node.js with npm, git and make. Each missing or too old tool is reported
# in one line naming the fix; any of them makes the check fail.
set -uo pipefail
cd "$(dirname "$0")/.."

fail=0
missing() {
  echo "prerequisite: $1" >&2
  fail=1
}

# at_least HAVE WANT: whether dotted version HAVE is WANT or newer.
at_least() {
  [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]
}

if ! command -v go >/dev/null; then
  missing "go not found; install Go 1.26 or newer from https://go.dev/dl/ and put it on PATH"
else
  # In the module, so that a newer toolchain go.mod asks for is used.
  if ! v=$(go env GOVERSION 2>&1); then
    missing "go does not run here ($(echo "$v" | tail -n1)); install Go 1.26 or newer from https://go.dev/dl/"
  elif ! at_least "${v#go}" 1.26; then
    missing "go ${v#go} is too old; install Go 1.26 or newer from https://go.dev/dl/"
  fi
fi

if ! command -v node >/dev/null; then
  missing "node not found; install Node.js 20 or newer (https://nodejs.org/, or apt-get install nodejs npm)"
else
  v=$(node --version 2>/dev/null); v=${v#v}
  at_least "$v" 20 || missing "node $v is too old; install Node.js 20 or newer (https://nodejs.org/)"
fi
command -v npm >/dev/null || missing "npm not found; install it with Node.js (https://nodejs.org/, or apt-get install npm)"
command -v git >/dev/null || missing "git not found; install it (apt-get install git)"
command -v make >/dev/null || missing "make not found; install it (apt-get install make)"

exit $fail
