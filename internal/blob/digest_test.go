package blob_test

import (
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/packhub/packhub/internal/blob"
	"github.com/packhub/packhub/internal/packages"
)

const emptyHex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

func TestParseDigest(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"sha256:" + emptyHex, true},
		{"sha256:" + strings.Repeat("0", 64), true},
		{"sha256:" + strings.Repeat("f", 64), true},
		{"", false},
		{"sha256", false},
		{"sha256:", false},
		{":" + emptyHex, false},
		{emptyHex, false},
		{"sha256:" + strings.ToUpper(emptyHex), false},
		{"SHA256:" + emptyHex, false},
		{"sha256:" + emptyHex[:63], false},
		{"sha256:" + emptyHex + "0", false},
		{"sha256:" + emptyHex[:63] + "g", false},
		{"sha256:" + emptyHex[:63] + " ", false},
		{" sha256:" + emptyHex, false},
		{"sha256:" + emptyHex + "\n", false},
		{"sha256::" + emptyHex[:63], false},
		{"sha512:" + strings.Repeat("a", 128), false},
		{"sha384:" + strings.Repeat("a", 96), false},
		{"sha256+b64:" + emptyHex, false},
		{"sha256:../" + emptyHex[:61], false},
		{"sha256:" + emptyHex[:62] + "é", false},
	} {
		algo, hex, err := blob.ParseDigest(tc.in)
		if tc.ok {
			if err != nil || algo != "sha256" || "sha256:"+hex != tc.in {
				t.Errorf("ParseDigest(%q) = %q, %q, %v", tc.in, algo, hex, err)
			}
			if !blob.ValidDigest(tc.in) {
				t.Errorf("ValidDigest(%q) = false", tc.in)
			}
			continue
		}
		if err == nil {
			t.Errorf("ParseDigest(%q) = %q, %q; want an error", tc.in, algo, hex)
			continue
		}
		if k := packages.KindOf(err); k != packages.KindInvalid {
			t.Errorf("ParseDigest(%q) error of kind %v, want invalid", tc.in, k)
		}
		if algo != "" || hex != "" {
			t.Errorf("ParseDigest(%q) returned parts %q, %q with its error", tc.in, algo, hex)
		}
		if blob.ValidDigest(tc.in) {
			t.Errorf("ValidDigest(%q) = true", tc.in)
		}
	}
}

func TestDigestHelpers(t *testing.T) {
	want := "sha256:" + emptyHex
	if got := blob.FromBytes(nil); got != want {
		t.Errorf("FromBytes(nil) = %s", got)
	}
	if got := blob.FromSum(sha256.Sum256(nil)); got != want {
		t.Errorf("FromSum = %s", got)
	}
	h := blob.NewHash()
	if got := blob.FromHash(h); got != want {
		t.Errorf("FromHash(new) = %s", got)
	}
	h.Write([]byte("abc"))
	if got, again := blob.FromHash(h), blob.FromHash(h); got != blob.FromBytes([]byte("abc")) || again != got {
		t.Errorf("FromHash = %s, then %s", got, again)
	}
	d, n, err := blob.FromReader(strings.NewReader("abc"))
	if err != nil || n != 3 || d != blob.FromBytes([]byte("abc")) {
		t.Errorf("FromReader = %s, %d, %v", d, n, err)
	}
}

func FuzzParseDigest(f *testing.F) {
	for _, s := range []string{
		"sha256:" + emptyHex,
		"sha256:" + strings.ToUpper(emptyHex),
		"sha512:" + strings.Repeat("a", 128),
		"sha256:",
		"",
		":",
		"sha256:" + emptyHex + "00",
		"sha256:../../etc/passwd",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		algo, hex, err := blob.ParseDigest(s)
		if err != nil {
			if packages.KindOf(err) != packages.KindInvalid {
				t.Fatalf("ParseDigest(%q): error of kind %v", s, packages.KindOf(err))
			}
			if algo != "" || hex != "" {
				t.Fatalf("ParseDigest(%q): parts %q, %q with an error", s, algo, hex)
			}
			if blob.ValidDigest(s) {
				t.Fatalf("ValidDigest(%q) disagrees with ParseDigest", s)
			}
			return
		}
		if algo != "sha256" || algo+":"+hex != s || len(hex) != 64 {
			t.Fatalf("ParseDigest(%q) = %q, %q", s, algo, hex)
		}
		for _, c := range hex {
			if !strings.ContainsRune("0123456789abcdef", c) {
				t.Fatalf("ParseDigest(%q) accepted %q", s, c)
			}
		}
		if strings.ContainsAny(hex, "/\\.") {
			t.Fatalf("ParseDigest(%q) accepted a path", s)
		}
	})
}
