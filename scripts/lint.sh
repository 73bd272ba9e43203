#!/usr/bin/env bash
# Checks the code: gofmt over every Go file the repository tracks, go vet
# and staticcheck. It needs a git checkout, to tell the repository's files
# from anything else in the tree, and fails outside one.
set -euo pipefail
cd "$(dirname "$0")/.."

top=$(git rev-parse --show-toplevel 2>/dev/null) || top=
if [ "$top" != "$(pwd -P)" ]; then
  echo "lint: $(pwd -P) is not a git checkout of Packhub; run it in a clone (git clone) of the repository" >&2
  exit 1
fi
files=()
while IFS= read -r -d '' f; do files+=("$f"); done < <(git ls-files -z -- '*.go')
if [ ${#files[@]} -eq 0 ]; then
  echo "lint: git lists no Go files in $top" >&2
  exit 1
fi
unformatted=$(gofmt -l "${files[@]}")
if [ -n "$unformatted" ]; then
  echo "gofmt needed:" $unformatted >&2
  exit 1
fi
go vet ./...
"$(go env GOPATH)/bin/staticcheck" ./...
