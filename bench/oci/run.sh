#!/bin/sh
# Runs the OCI benchmark: Packhub (built from ./cmd/packhub) and CNCF
# Distribution v3.1.2, each as its own process, through the same workload.
# Install Distribution first:
#   go install github.com/distribution/distribution/v3/cmd/registry@v3.1.2
set -eu
cd "$(dirname "$0")/../.."
exec go run ./bench/oci "$@"
