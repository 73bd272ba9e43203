package oci

import (
	"regexp"

	"github.com/packhub/packhub/internal/blob"
)

// digestGrammar is the distribution spec's grammar for a digest.
var digestGrammar = regexp.MustCompile(`^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$`)

var hexPattern = map[string]*regexp.Regexp{
	"sha256": regexp.MustCompile(`^[a-f0-9]{64}$`),
	"sha512": regexp.MustCompile(`^[a-f0-9]{128}$`),
}

// digestKind classifies a string as a digest.
type digestKind int

const (
	digestMalformed   digestKind = iota // not a digest at all, or a bad sha256/sha512 one
	digestUnsupported                   // well formed, but an algorithm blobs are not stored under
	digestSupported                     // sha256, the algorithm of the blob store
)

func classifyDigest(s string) digestKind {
	if len(s) > 256 || !digestGrammar.MatchString(s) {
		return digestMalformed
	}
	if blob.ValidDigest(s) {
		return digestSupported
	}
	for algo, re := range hexPattern {
		if len(s) > len(algo) && s[:len(algo)+1] == algo+":" {
			if algo == "sha256" || !re.MatchString(s[len(algo)+1:]) {
				return digestMalformed
			}
			return digestUnsupported
		}
	}
	return digestUnsupported
}

// looksLikeDigest reports whether a manifest reference is meant as a
// digest rather than a tag (tags cannot contain ':').
func looksLikeDigest(ref string) bool {
	for i := 0; i < len(ref); i++ {
		if ref[i] == ':' {
			return true
		}
	}
	return false
}
