//go:build tools

// Package conformance pins the OCI distribution-spec conformance suite, which
// Packhub's registry tests build into a binary:
//
//	go test -c -o conformance.test github.com/opencontainers/distribution-spec/conformance
package conformance

import _ "github.com/opencontainers/distribution-spec/conformance"
