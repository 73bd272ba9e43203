// Package blob holds what every blob store implementation and every front
// shares: digest parsing and formatting. The implementations live in
// subpackages; blobstore.Open picks one from a URL.
package blob

import (
	"crypto/sha256"
	"fmt"
	"hash"
	"io"

	"github.com/packhub/packhub/internal/blob/internal/digest"
)

// Algorithm is the only digest algorithm blob stores accept.
const Algorithm = digest.Algorithm

// ParseDigest splits a digest of the form "sha256:<64 lowercase hex>" into
// its algorithm and hex parts. Any other form, including upper-case hex and
// other algorithms, is an error of packages.KindInvalid.
func ParseDigest(s string) (algo, hex string, err error) {
	return digest.Parse(s)
}

// ValidDigest reports whether s is a digest ParseDigest accepts.
func ValidDigest(s string) bool {
	_, _, err := digest.Parse(s)
	return err == nil
}

// NewHash returns a hash for computing digests.
func NewHash() hash.Hash { return sha256.New() }

// FromHash returns the digest of what has been written to h so far. h must
// be a sha256 hash, such as one from NewHash; its state is not changed.
func FromHash(h hash.Hash) string { return digest.FromHash(h) }

// FromSum formats a sha256 sum as a digest.
func FromSum(sum [sha256.Size]byte) string { return digest.FromSum(sum[:]) }

// FromBytes returns the digest of p.
func FromBytes(p []byte) string { return FromSum(sha256.Sum256(p)) }

// FromReader returns the digest and size of everything r yields.
func FromReader(r io.Reader) (string, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return "", n, fmt.Errorf("blob: digest: %w", err)
	}
	return digest.FromHash(h), n, nil
}
