package digest

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/packhub/packhub/internal/packages"
)

func sumsOf(p []byte) packages.Checksums {
	m, s1, s256, s512 := md5.Sum(p), sha1.Sum(p), sha256.Sum256(p), sha512.Sum512(p)
	return packages.Checksums{MD5: hex.EncodeToString(m[:]), SHA1: hex.EncodeToString(s1[:]),
		SHA256: hex.EncodeToString(s256[:]), SHA512: hex.EncodeToString(s512[:])}
}

// TestHashes: one pass gives the four sums, whatever the sizes of the
// writes (small ones hash in turn, large ones side by side), and a saved
// or copied state carries on exactly.
func TestHashes(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 100_000) // 1.6 MB
	cases := []struct {
		name   string
		p      []byte
		writes int
	}{
		{"nothing", nil, 0},
		{"hello", []byte("hello"), 1},
		{"small writes", big[:200_000], 100},
		{"large writes", big, 3},
		{"one large write", big, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := sumsOf(c.p)
			h := NewHashes()
			half := len(c.p) / 2
			step := max(1, len(c.p)/max(1, c.writes))
			write := func(h *Hashes, p []byte) {
				for len(p) > 0 {
					n := min(step, len(p))
					if w, err := h.Write(p[:n]); w != n || err != nil {
						t.Fatalf("Write = %d, %v", w, err)
					}
					p = p[n:]
				}
			}
			write(h, c.p[:half])

			st, err := h.State()
			if err != nil {
				t.Fatal(err)
			}
			restored, err := RestoreHashes(st)
			if err != nil {
				t.Fatal(err)
			}
			clone, err := h.Clone()
			if err != nil {
				t.Fatal(err)
			}
			clone.Write([]byte("diverges")) // a copy is independent
			for name, x := range map[string]*Hashes{"original": h, "restored": restored} {
				write(x, c.p[half:])
				if got := x.Checksums(); got != want {
					t.Fatalf("%s: %+v, want %+v", name, got, want)
				}
				if got := x.Digest(); got != "sha256:"+want.SHA256 {
					t.Fatalf("%s: digest %s", name, got)
				}
			}
			h.Reset()
			if got := h.Checksums(); got != sumsOf(nil) {
				t.Fatalf("after Reset: %+v", got)
			}
		})
	}
	if _, err := RestoreHashes(HashState{}); err == nil {
		t.Fatal("RestoreHashes of an empty state succeeded")
	}
}

func TestValidChecksums(t *testing.T) {
	good := sumsOf([]byte("x"))
	d := "sha256:" + good.SHA256
	with := func(f func(*packages.Checksums)) packages.Checksums { c := good; f(&c); return c }
	cases := []struct {
		name string
		c    packages.Checksums
		d    string
		want bool
	}{
		{"good", good, d, true},
		{"other digest", good, "sha256:" + strings.Repeat("0", 64), false},
		{"malformed digest", good, "sha256:x", false},
		{"empty", packages.Checksums{}, d, false},
		{"short md5", with(func(c *packages.Checksums) { c.MD5 = c.MD5[1:] }), d, false},
		{"upper-case sha1", with(func(c *packages.Checksums) { c.SHA1 = strings.ToUpper(c.SHA1) }), d, false},
		{"no sha512", with(func(c *packages.Checksums) { c.SHA512 = "" }), d, false},
		{"sha512 not hex", with(func(c *packages.Checksums) { c.SHA512 = strings.Repeat("g", 128) }), d, false},
	}
	for _, c := range cases {
		if got := ValidChecksums(c.c, c.d); got != c.want {
			t.Errorf("%s: ValidChecksums = %v, want %v", c.name, got, c.want)
		}
	}
}
