package packages_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strings"
	"testing"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

// allScopes is what a token that may do everything carries.
const allScopes = testenv.AllScopes

var ctx = context.Background()

// wantKind fails the test unless err is of kind want.
func wantKind(t *testing.T, err error, want packages.Kind) {
	t.Helper()
	if want == packages.KindInternal {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("got no error, want %v", want)
	}
	if got := packages.KindOf(err); got != want {
		t.Fatalf("got error %q of kind %v, want %v", err, got, want)
	}
}

// ok in a table of expected kinds means "no error".
const ok = packages.KindInternal

// wantMessage fails the test unless err carries the public message msg.
func wantMessage(t *testing.T, err error, kind packages.Kind, msg string) {
	t.Helper()
	wantKind(t, err, kind)
	if got := packages.PublicMessage(err, ""); got != msg {
		t.Fatalf("got message %q, want %q", got, msg)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func ref(owner string, typ packages.Type, name string) packages.PackageRef {
	return packages.PackageRef{Owner: owner, Scope: packages.AnyOwner, Type: typ, Name: name}
}

func userRef(owner string, typ packages.Type, name string) packages.PackageRef {
	return packages.PackageRef{Owner: owner, Scope: packages.UserPath, Type: typ, Name: name}
}

func orgRef(owner string, typ packages.Type, name string) packages.PackageRef {
	return packages.PackageRef{Owner: owner, Scope: packages.OrgPath, Type: typ, Name: name}
}

// fakeDigest is a well-formed digest derived from s, used as an OCI
// version name.
func fakeDigest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// putBlob stores content in the blob store and returns a file entry for it.
func putBlob(t *testing.T, env *testenv.Env, name, content string) packages.File {
	t.Helper()
	d, n, err := env.Blobs.Put(ctx, strings.NewReader(content), "")
	if err != nil {
		t.Fatalf("put blob: %v", err)
	}
	return packages.File{Name: name, Digest: d, Size: n, MediaType: "application/octet-stream"}
}

// publishReq publishes with a fresh file whose content names the version,
// unless req already lists files.
func publishReq(t *testing.T, env *testenv.Env, a *packages.Actor, req packages.PublishRequest) *packages.Published {
	t.Helper()
	if req.Files == nil {
		req.Files = []packages.File{putBlob(t, env, "file", req.Package.String()+"@"+req.Version)}
	}
	p, err := env.Service.Publish(ctx, a, req)
	if err != nil {
		t.Fatalf("publish %s@%s: %v", req.Package, req.Version, err)
	}
	return p
}

// readBlob returns the bytes of a blob.
func readBlob(t *testing.T, env *testenv.Env, digest string) string {
	t.Helper()
	r, err := env.Blobs.Open(ctx, digest)
	if err != nil {
		t.Fatalf("open blob %s: %v", digest, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read blob %s: %v", digest, err)
	}
	return string(b)
}

// blobExists reports whether the blob store still holds digest.
func blobExists(t *testing.T, env *testenv.Env, digest string) bool {
	t.Helper()
	_, err := env.Blobs.Stat(ctx, digest)
	if err != nil && !packages.IsNotFound(err) {
		t.Fatalf("stat blob %s: %v", digest, err)
	}
	return err == nil
}

// tagsOf returns the tags of a package as tag -> version id.
func tagsOf(t *testing.T, env *testenv.Env, packageID int64) map[string]int64 {
	t.Helper()
	tags, err := env.Store.ListTags(ctx, packageID, "", 0)
	if err != nil {
		t.Fatalf("list tags: %v", err)
	}
	out := map[string]int64{}
	for _, tg := range tags {
		out[tg.Name] = tg.VersionID
	}
	return out
}

// bumpDownloads counts n downloads of a version, in one transaction so
// that thousands stay fast.
func bumpDownloads(t *testing.T, env *testenv.Env, packageID, versionID int64, n int) {
	t.Helper()
	err := env.Store.WithTx(ctx, func(tx packages.Store) error {
		for i := 0; i < n; i++ {
			if err := tx.IncrementDownloads(ctx, packageID, versionID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("increment downloads: %v", err)
	}
}

// actions lists the actions of a package's events, oldest first.
func actions(t *testing.T, env *testenv.Env, packageID int64) []string {
	t.Helper()
	evs, err := env.Service.Events(ctx, packageID)
	if err != nil {
		t.Fatalf("events: %v", err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.Action)
	}
	return out
}

// deleteByName deletes versions by name, as a registry protocol does.
func deleteByName(env *testenv.Env, ctx context.Context, a *packages.Actor, r packages.PackageRef, names ...string) error {
	_, err := env.Service.DeleteVersionsByName(ctx, a, r, names...)
	return err
}

func mustDeleteByName(t *testing.T, env *testenv.Env, ctx context.Context, a *packages.Actor, r packages.PackageRef, names ...string) {
	t.Helper()
	must(t, deleteByName(env, ctx, a, r, names...))
}
