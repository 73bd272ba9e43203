package packages_test

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

func checksumsOf(p string) packages.Checksums {
	m, s1, s256, s512 := md5.Sum([]byte(p)), sha1.Sum([]byte(p)), sha256.Sum256([]byte(p)), sha512.Sum512([]byte(p))
	return packages.Checksums{MD5: hex.EncodeToString(m[:]), SHA1: hex.EncodeToString(s1[:]),
		SHA256: hex.EncodeToString(s256[:]), SHA512: hex.EncodeToString(s512[:])}
}

// recorded returns the checksums the metadata store holds for a blob.
func recorded(t *testing.T, env *testenv.Env, digest string) packages.Checksums {
	t.Helper()
	b, err := env.Store.GetBlob(context.Background(), digest)
	if err != nil {
		t.Fatalf("GetBlob(%s): %v", digest, err)
	}
	return b.Checksums
}

// TestBlobChecksums: a published file's blob and a registered blob are
// recorded with the checksums the blob store computed as it stored them;
// a blob recorded before checksums were kept gets them on first read.
func TestBlobChecksums(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		ctx := context.Background()
		env.User("alice")
		tok := env.Token("alice", "read:packages,write:packages")
		ref := packages.PackageRef{Owner: "alice", Type: packages.TypeNpm, Name: "sums"}
		v := env.Publish(tok, ref, "", "1.0.0")[0]
		files, err := env.Service.Files(ctx, v.ID)
		if err != nil || len(files) != 1 {
			t.Fatalf("files %v, %v", files, err)
		}
		want := checksumsOf(ref.String() + "@1.0.0")
		if got := recorded(t, env, files[0].Digest); got != want {
			t.Fatalf("published blob recorded with %+v, want %+v", got, want)
		}

		put := func(content string) string {
			t.Helper()
			d, _, err := env.Blobs.Put(ctx, strings.NewReader(content), "")
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		layer := put("a layer")
		if err := env.Service.RegisterBlob(ctx, layer, 7); err != nil {
			t.Fatal(err)
		}
		if got := recorded(t, env, layer); got != checksumsOf("a layer") {
			t.Fatalf("registered blob recorded with %+v", got)
		}

		// Recorded as before checksums were kept.
		old := put("an old blob")
		if err := env.Store.PutBlob(ctx, &packages.Blob{Digest: old, Size: 11}); err != nil {
			t.Fatal(err)
		}
		if got := recorded(t, env, old); got.Known() {
			t.Fatalf("old blob recorded with %+v", got)
		}

		cases := []struct {
			name   string
			digest string
			want   packages.Checksums
		}{
			{"published", files[0].Digest, want},
			{"registered", layer, checksumsOf("a layer")},
			{"recorded before checksums were kept", old, checksumsOf("an old blob")},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				got, err := env.Service.BlobChecksums(ctx, c.digest)
				if err != nil || got != c.want {
					t.Fatalf("BlobChecksums = %+v, %v; want %+v", got, err, c.want)
				}
				if got := recorded(t, env, c.digest); got != c.want {
					t.Fatalf("recorded %+v, want %+v", got, c.want)
				}
			})
		}

		// Unknown to the registry, even with bytes in the blob store.
		stray := put("bytes nothing recorded")
		for _, d := range []string{stray, "sha256:" + strings.Repeat("0", 64)} {
			if _, err := env.Service.BlobChecksums(ctx, d); !packages.IsNotFound(err) {
				t.Fatalf("BlobChecksums(%s) = %v, want not found", d, err)
			}
		}
	})
}

// TestPurgeFillsChecksums: the purge job gives blobs recorded before
// checksums were kept their checksums; a dry run only counts them, and a
// blob whose bytes are gone is left to garbage collection.
func TestPurgeFillsChecksums(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		ctx := context.Background()
		var old []string
		for _, content := range []string{"old one", "old two", "old three"} {
			d, n, err := env.Blobs.Put(ctx, strings.NewReader(content), "")
			if err != nil {
				t.Fatal(err)
			}
			if err := env.Store.PutBlob(ctx, &packages.Blob{Digest: d, Size: n}); err != nil {
				t.Fatal(err)
			}
			old = append(old, d)
		}
		gone := "sha256:" + strings.Repeat("a", 64)
		if err := env.Store.PutBlob(ctx, &packages.Blob{Digest: gone, Size: 1}); err != nil {
			t.Fatal(err)
		}

		cases := []struct {
			name   string
			dryRun bool
			summed int
			known  bool
		}{
			{"dry run", true, 3, false},
			{"purge", false, 3, true},
			{"nothing left", false, 0, true},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				rep, err := env.Service.Purge(ctx, c.dryRun)
				if err != nil {
					t.Fatal(err)
				}
				if rep.Summed != c.summed {
					t.Fatalf("summed %d, want %d", rep.Summed, c.summed)
				}
				for i, d := range old {
					if got := recorded(t, env, d); got.Known() != c.known {
						t.Fatalf("blob %d: checksums %+v, want known %v", i, got, c.known)
					}
				}
				if got := recorded(t, env, gone); got.Known() {
					t.Fatalf("blob without bytes got checksums %+v", got)
				}
			})
		}
		if got := recorded(t, env, old[1]); got != checksumsOf("old two") {
			t.Fatalf("filled in %+v, want %+v", got, checksumsOf("old two"))
		}
	})
}
