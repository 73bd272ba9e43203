package fileblob_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/packhub/packhub/internal/blob/fileblob"
)

// BenchmarkPut measures Put end to end: hashing, writing, fsync and rename.
// Each iteration stores different content so that none is deduplicated.
func BenchmarkPut(b *testing.B) {
	chunk := make([]byte, 1<<20)
	rand.NewChaCha8([32]byte{1}).Read(chunk)
	for _, size := range []int64{1 << 20, 64 << 20} {
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			s, err := fileblob.New(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			ctx := b.Context()
			b.SetBytes(size)
			var i uint64
			for b.Loop() {
				i++
				var prefix [8]byte
				binary.LittleEndian.PutUint64(prefix[:], i)
				r := io.MultiReader(
					bytes.NewReader(prefix[:]),
					io.LimitReader(&cycleReader{p: chunk}, size-int64(len(prefix))),
				)
				d, _, err := s.Put(ctx, r, "")
				if err != nil {
					b.Fatal(err)
				}
				if err := s.Delete(ctx, d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// cycleReader repeats p forever.
type cycleReader struct {
	p   []byte
	off int
}

func (r *cycleReader) Read(p []byte) (int, error) {
	n := copy(p, r.p[r.off:])
	r.off = (r.off + n) % len(r.p)
	return n, nil
}
