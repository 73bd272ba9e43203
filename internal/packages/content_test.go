package packages_test

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

func TestOpenFile(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		env.User("alice")
		env.User("mallory")
		tok := env.Token("alice", allScopes)
		r := ref("alice", packages.TypeNpm, "secret")
		vs := env.Publish(tok, r, "", "1.0.0")
		req := packages.OpenFileRequest{Package: r, Version: "1.0.0", Name: "file", CountDownload: true}

		for name, a := range map[string]*packages.Actor{
			"anonymous": (*packages.Actor)(nil),
			"stranger":  env.Actor(env.Token("mallory", allScopes)),
		} {
			if _, err := env.Service.OpenFile(ctx, a, req); packages.KindOf(err) != packages.KindNotFound && packages.KindOf(err) != packages.KindUnauthenticated {
				t.Fatalf("%s opened a private file: %v", name, err)
			}
		}
		c, err := env.Service.OpenFile(ctx, env.Actor(tok), req)
		must(t, err)
		b, err := io.ReadAll(c.Reader)
		must(t, err)
		must(t, c.Close())
		if string(b) != r.String()+"@1.0.0" || c.File.Name != "file" || c.Version.ID != vs[0].ID {
			t.Fatalf("opened %q (%+v)", b, c.File)
		}
		must(t, env.Service.FlushDownloads(ctx))
		_, v, err := env.Service.GetVersion(ctx, env.Actor(tok), r, vs[0].ID, packages.ViaREST)
		must(t, err)
		if v.DownloadCount != 1 {
			t.Fatalf("download count %d, want 1", v.DownloadCount)
		}

		for _, tc := range []struct {
			version, name string
			want          error
		}{
			{"2.0.0", "file", packages.ErrVersionNotFound},
			{"1.0.0", "other", packages.ErrFileNotFound},
		} {
			_, err := env.Service.OpenFile(ctx, env.Actor(tok), packages.OpenFileRequest{Package: r, Version: tc.version, Name: tc.name})
			if !errors.Is(err, tc.want) {
				t.Fatalf("open %s/%s: %v, want %v", tc.version, tc.name, err, tc.want)
			}
		}
	})
}

func TestUpload(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		env.User("alice")
		r := ref("alice", packages.TypeNpm, "fresh")
		body := "the bytes"
		_, _, err := env.Service.Upload(ctx, env.Actor(env.Token("alice", "read:packages")), packages.UploadRequest{Package: r, Body: strings.NewReader(body)})
		wantKind(t, err, packages.KindForbidden)
		_, _, err = env.Service.Upload(ctx, (*packages.Actor)(nil), packages.UploadRequest{Package: r, Body: strings.NewReader(body)})
		wantKind(t, err, packages.KindUnauthenticated)

		a := env.Actor(env.Token("alice", allScopes))
		_, _, err = env.Service.Upload(ctx, a, packages.UploadRequest{Package: r, Body: strings.NewReader(body), Expected: fakeDigest("other")})
		wantKind(t, err, packages.KindInvalid)

		d, n, err := env.Service.Upload(ctx, a, packages.UploadRequest{Package: r, Body: strings.NewReader(body)})
		must(t, err)
		if n != int64(len(body)) || readBlob(t, env, d) != body {
			t.Fatalf("uploaded %d bytes as %s", n, d)
		}
		if _, err := env.Store.GetBlob(ctx, d); err != nil {
			t.Fatalf("uploaded blob not recorded for garbage collection: %v", err)
		}
		// The bytes join the package with a file that names them.
		_, err = env.Service.PutFile(ctx, a, packages.PutFileRequest{Package: r, Version: "1.0.0", CreateVersion: true,
			File: packages.File{Name: "fresh-1.0.0.tgz", Digest: d}})
		must(t, err)
		c, err := env.Service.OpenFile(ctx, a, packages.OpenFileRequest{Package: r, Version: "1.0.0", Name: "fresh-1.0.0.tgz"})
		must(t, err)
		must(t, c.Close())
	})
}

func TestFileChecksums(t *testing.T) {
	env := testenv.New(t, "sqlite")
	env.User("alice")
	tok := env.Token("alice", allScopes)
	r := ref("alice", packages.TypeNpm, "sums")
	env.Publish(tok, r, "", "1.0.0") // the file holds "alice/npm/sums@1.0.0"
	f, sums, err := env.Service.FileChecksums(ctx, env.Actor(tok), packages.OpenFileRequest{Package: r, Version: "1.0.0", Name: "file"})
	must(t, err)
	if "sha256:"+sums.SHA256 != f.Digest {
		t.Fatalf("sha256 %s, digest %s", sums.SHA256, f.Digest)
	}
	// printf 'alice/npm/sums@1.0.0' | md5sum; sha1sum; sha512sum
	want := packages.Checksums{MD5: md5hex("alice/npm/sums@1.0.0"), SHA1: sha1hex("alice/npm/sums@1.0.0"), SHA256: sums.SHA256, SHA512: sha512hex("alice/npm/sums@1.0.0")}
	if sums != want {
		t.Fatalf("checksums %+v, want %+v", sums, want)
	}
}

func md5hex(s string) string    { h := md5.Sum([]byte(s)); return hex.EncodeToString(h[:]) }
func sha1hex(s string) string   { h := sha1.Sum([]byte(s)); return hex.EncodeToString(h[:]) }
func sha512hex(s string) string { h := sha512.Sum512([]byte(s)); return hex.EncodeToString(h[:]) }
