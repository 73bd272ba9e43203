// Package digest parses and formats the content digests of the blob store.
// It sits below both package blob and its implementations so that they
// share one definition of a valid digest.
package digest

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"

	"github.com/packhub/packhub/internal/packages"
)

// Algorithm is the only digest algorithm the blob store accepts.
const Algorithm = "sha256"

// HexLen is the length of the hex part of a sha256 digest.
const HexLen = 2 * sha256.Size

const prefix = Algorithm + ":"

// Parse splits a digest of the form "sha256:<64 lowercase hex>". Any other
// form is an error of packages.KindInvalid.
func Parse(s string) (algo, hexPart string, err error) {
	if len(s) != len(prefix)+HexLen {
		if len(s) < len(prefix) || s[:len(prefix)] != prefix {
			return "", "", invalid("want sha256:<64 lowercase hex>")
		}
		return "", "", invalid("sha256 digest must have 64 hex digits")
	}
	if s[:len(prefix)] != prefix {
		return "", "", invalid("want sha256:<64 lowercase hex>")
	}
	h := s[len(prefix):]
	if !ValidHex(h) {
		return "", "", invalid("sha256 digest must be lowercase hex")
	}
	return Algorithm, h, nil
}

// ValidHex reports whether h is 64 lowercase hex digits.
func ValidHex(h string) bool {
	if len(h) != HexLen {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// FromSum formats a sha256 sum as a digest.
func FromSum(sum []byte) string {
	return prefix + hex.EncodeToString(sum)
}

// FromHash formats the current sum of h, which must be a sha256 hash, as a
// digest. It does not change the state of h.
func FromHash(h hash.Hash) string {
	if h.Size() != sha256.Size {
		panic("digest: FromHash needs a sha256 hash")
	}
	var buf [sha256.Size]byte
	return FromSum(h.Sum(buf[:0]))
}

func invalid(reason string) *packages.Error {
	return packages.Errorf(packages.KindInvalid, "invalid digest: %s", reason)
}
