#!/bin/sh
# Runs the OCI benchmark against Packhub (in-process) and, when the
# registry binary of CNCF distribution v3.1.2 is installed, against it:
#   go install github.com/distribution/distribution/v3/cmd/registry@v3.1.2
set -eu
cd "$(dirname "$0")/../.."
ARGS="$*"
echo "== Packhub"
go run ./bench/oci $ARGS
REG=$(command -v registry || echo "$(go env GOPATH)/bin/registry")
if [ -x "$REG" ]; then
  rm -rf /tmp/ocibench-distribution
  "$REG" serve bench/oci/distribution.yml &
  PID=$!
  trap 'kill $PID' EXIT
  sleep 1
  echo
  echo "== CNCF distribution v3.1.2"
  go run ./bench/oci -url http://127.0.0.1:5055 $ARGS
else
  echo "distribution's registry binary not found; skipping the comparison"
fi
