package digest

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding"
	"encoding/hex"
	"fmt"
	"hash"
	"sync"

	"github.com/packhub/packhub/internal/packages"
)

// Hashes computes the md5, sha1, sha256 and sha512 of a stream in the one
// pass that stores it: the sha256 names the blob, the others are the
// checksums package formats ask for.
type Hashes struct {
	md5, sha1, sha256, sha512 hash.Hash
}

// NewHashes returns Hashes of nothing.
func NewHashes() *Hashes {
	return &Hashes{md5: md5.New(), sha1: sha1.New(), sha256: sha256.New(), sha512: sha512.New()}
}

func (h *Hashes) all() [4]hash.Hash { return [4]hash.Hash{h.md5, h.sha1, h.sha256, h.sha512} }

// parallelMin is the size from which Write runs the hashes side by side:
// below it, starting goroutines costs more than it saves.
const parallelMin = 64 << 10

// Write adds p to every hash. It never fails.
func (h *Hashes) Write(p []byte) (int, error) {
	if len(p) < parallelMin {
		for _, x := range h.all() {
			x.Write(p)
		}
		return len(p), nil
	}
	var wg sync.WaitGroup
	for _, x := range []hash.Hash{h.md5, h.sha1, h.sha512} {
		wg.Go(func() { x.Write(p) })
	}
	h.sha256.Write(p)
	wg.Wait()
	return len(p), nil
}

// Reset returns the hashes to their state of nothing.
func (h *Hashes) Reset() {
	for _, x := range h.all() {
		x.Reset()
	}
}

// Clone returns an independent copy.
func (h *Hashes) Clone() (*Hashes, error) {
	var out [4]hash.Hash
	for i, x := range h.all() {
		c, ok := x.(hash.Cloner)
		if !ok {
			return nil, fmt.Errorf("digest: hash %T cannot be copied", x)
		}
		var err error
		if out[i], err = c.Clone(); err != nil {
			return nil, fmt.Errorf("digest: copy hash: %w", err)
		}
	}
	return &Hashes{md5: out[0], sha1: out[1], sha256: out[2], sha512: out[3]}, nil
}

// HashState is the saved state of Hashes, for a resumable upload.
type HashState struct {
	MD5    []byte `json:"md5"`
	SHA1   []byte `json:"sha1"`
	SHA256 []byte `json:"sha256"`
	SHA512 []byte `json:"sha512"`
}

// State returns the hashes' state.
func (h *Hashes) State() (HashState, error) {
	var out [4][]byte
	for i, x := range h.all() {
		m, ok := x.(encoding.BinaryMarshaler)
		if !ok {
			return HashState{}, fmt.Errorf("digest: hash %T cannot be saved", x)
		}
		var err error
		if out[i], err = m.MarshalBinary(); err != nil {
			return HashState{}, fmt.Errorf("digest: save hash: %w", err)
		}
	}
	return HashState{MD5: out[0], SHA1: out[1], SHA256: out[2], SHA512: out[3]}, nil
}

// RestoreHashes returns Hashes in a saved state.
func RestoreHashes(st HashState) (*Hashes, error) {
	h := NewHashes()
	for i, b := range [4][]byte{st.MD5, st.SHA1, st.SHA256, st.SHA512} {
		u, ok := h.all()[i].(encoding.BinaryUnmarshaler)
		if !ok {
			return nil, fmt.Errorf("digest: hash %T cannot be restored", h.all()[i])
		}
		if err := u.UnmarshalBinary(b); err != nil {
			return nil, fmt.Errorf("digest: restore hash: %w", err)
		}
	}
	return h, nil
}

// Digest returns the sha256 digest of what was written so far.
func (h *Hashes) Digest() string { return FromHash(h.sha256) }

// Checksums returns the four sums of what was written so far.
func (h *Hashes) Checksums() packages.Checksums {
	sum := func(x hash.Hash) string { return hex.EncodeToString(x.Sum(nil)) }
	return packages.Checksums{MD5: sum(h.md5), SHA1: sum(h.sha1), SHA256: sum(h.sha256), SHA512: sum(h.sha512)}
}

// ValidChecksums reports whether c has the four sums, in lower-case hex
// of the right lengths, and its sha256 is that of digest d.
func ValidChecksums(c packages.Checksums, d string) bool {
	_, h, err := Parse(d)
	if err != nil || c.SHA256 != h {
		return false
	}
	for _, s := range []struct {
		v string
		n int
	}{{c.MD5, md5.Size}, {c.SHA1, sha1.Size}, {c.SHA512, sha512.Size}} {
		if len(s.v) != 2*s.n || !isLowerHex(s.v) {
			return false
		}
	}
	return true
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
