package migratestorage_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for DDL of extra tables
	_ "modernc.org/sqlite"             // the "sqlite" driver, likewise

	"github.com/packhub/packhub/internal/blob/fileblob"
	"github.com/packhub/packhub/internal/migratestorage"
	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/store"
	"github.com/packhub/packhub/internal/store/storetest"
)

// side is one installation's storage: a database opened both as a
// packages.Store and as Tables, and a file blob store.
type side struct {
	dialect string
	dsn     string
	st      packages.Store
	tables  *store.Tables
	blobs   *fileblob.Store
}

func newSide(t *testing.T, dialect string) *side {
	t.Helper()
	var dsn string
	if dialect == "postgres" {
		dsn = storetest.PostgresDSN(t)
	} else {
		dsn = storetest.SQLiteDSN(t)
	}
	ctx := t.Context()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tables, err := store.OpenTables(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tables.Close() })
	blobs, err := fileblob.New(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	return &side{dialect: dialect, dsn: dsn, st: st, tables: tables, blobs: blobs}
}

// exec runs SQL on the side's database directly, as a migration would.
func (s *side) exec(t *testing.T, query string) {
	t.Helper()
	driver, dsn := "sqlite", s.dsn
	if s.dialect == "postgres" {
		driver = "pgx"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(t.Context(), query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func options(src, tgt *side, out io.Writer) migratestorage.Options {
	return migratestorage.Options{
		Source: src.tables, Target: tgt.tables,
		SourceBlobs: src.blobs, TargetBlobs: tgt.blobs,
		Out:   out,
		Batch: 3, // small, so that every table takes several batches
		Jobs:  3,
	}
}

// fixture is what populate made.
type fixture struct {
	user, org       *packages.Owner
	token           string // hash of a live token
	deletedPkg      *packages.Package
	deletedVersion  *packages.Version
	purgedPackageID int64 // hard-deleted: its id must not come back
	files           map[string][]byte
	npm             *packages.Package
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// populate fills every table of the source: owners, members, repositories,
// collaborators, tokens (one revoked, one used), packages (one deleted,
// one purged), grants, versions (one deleted), files, tags, blobs with
// checksums, blob links, pending blobs, events and downloads.
func populate(t *testing.T, s *side) *fixture {
	t.Helper()
	ctx := t.Context()
	st := s.st
	f := &fixture{files: map[string][]byte{}}
	f.user = &packages.Owner{Login: "Alice", Type: packages.UserOwner, Name: "Alice A.", Email: "a@example.com", SiteAdmin: true}
	must(t, st.CreateOwner(ctx, f.user))
	bob := &packages.Owner{Login: "bob", Type: packages.UserOwner}
	must(t, st.CreateOwner(ctx, bob))
	f.org = &packages.Owner{Login: "acme", Type: packages.OrgOwner}
	must(t, st.CreateOwner(ctx, f.org))
	must(t, st.SetOrgMember(ctx, f.org.ID, f.user.ID, packages.OrgAdmin))
	must(t, st.SetOrgMember(ctx, f.org.ID, bob.ID, packages.OrgMember))
	repo := &packages.Repository{OwnerID: f.org.ID, Name: "Widgets", Description: "the widgets", Visibility: packages.Private}
	must(t, st.CreateRepository(ctx, repo))
	must(t, st.SetCollaborator(ctx, repo.ID, bob.ID, packages.RoleWrite))

	exp := time.Now().Add(24 * time.Hour)
	tok := &packages.Token{UserID: f.user.ID, Hash: "aa11", Scopes: []string{"read:packages", "write:packages"}, Note: "ci \"runner\"", ExpiresAt: &exp}
	must(t, st.CreateToken(ctx, tok))
	must(t, st.TouchToken(ctx, tok.ID, time.Now()))
	f.token = tok.Hash
	old := &packages.Token{UserID: bob.ID, Hash: "bb22", Scopes: []string{"read:packages"}}
	must(t, st.CreateToken(ctx, old))
	must(t, st.RevokeToken(ctx, old.ID, time.Now()))

	blob := func(content string) packages.File {
		d, n, err := s.blobs.Put(ctx, strings.NewReader(content), "")
		must(t, err)
		c, err := s.blobs.Checksums(ctx, d)
		must(t, err)
		must(t, st.PutBlob(ctx, &packages.Blob{Digest: d, Size: n, CreatedAt: time.Now(), Checksums: c}))
		f.files[d] = []byte(content)
		return packages.File{Digest: d, Size: n, MediaType: "application/octet-stream"}
	}
	pkg := func(owner *packages.Owner, typ packages.Type, name string, repoID int64) *packages.Package {
		p := &packages.Package{OwnerID: owner.ID, Type: typ, Name: name, Visibility: packages.Public, RepositoryID: repoID}
		must(t, st.CreatePackage(ctx, p))
		must(t, st.AddEvent(ctx, &packages.Event{ActorID: f.user.ID, Action: "publish", PackageID: p.ID, Detail: name}))
		return p
	}
	version := func(p *packages.Package, name, meta string, files ...packages.File) *packages.Version {
		v := &packages.Version{PackageID: p.ID, Name: name, Metadata: json.RawMessage(meta), Description: "v " + name, License: "MIT"}
		must(t, st.CreateVersion(ctx, v))
		for i, fl := range files {
			fl.VersionID = v.ID
			fl.Name = fmt.Sprintf("file-%d", i)
			must(t, st.AddFile(ctx, &fl))
			must(t, st.LinkBlob(ctx, p.ID, fl.Digest))
		}
		return v
	}

	// A large blob, so that copying streams more than one buffer.
	big := make([]byte, 3<<20+17)
	_, _ = rand.Read(big)

	f.npm = pkg(f.user, packages.TypeNpm, "@alice/left-pad", 0)
	v1 := version(f.npm, "1.0.0", `{"dist": {"tarball": "a.tgz"}, "b": [1, 2.50]}`, blob("npm 1.0.0"))
	v2 := version(f.npm, "1.1.0", `{"dist":{"tarball":"b.tgz"}}`, blob("npm 1.1.0"), blob(string(big)))
	must(t, st.SetTag(ctx, f.npm.ID, "latest", v2.ID))
	must(t, st.SetTag(ctx, f.npm.ID, "Beta", v1.ID))
	must(t, st.SetTag(ctx, f.npm.ID, "alpha", v1.ID))
	must(t, st.IncrementDownloads(ctx, f.npm.ID, v1.ID))
	must(t, st.IncrementDownloads(ctx, f.npm.ID, v2.ID))
	must(t, st.IncrementDownloads(ctx, f.npm.ID, v2.ID))
	// A deleted version, restorable.
	f.deletedVersion = version(f.npm, "0.9.0", `{}`, blob("npm 0.9.0"))
	del := time.Now().Add(-time.Hour).UTC().Truncate(time.Microsecond)
	f.deletedVersion.DeletedAt, f.deletedVersion.DeletedBy = &del, f.user.ID
	must(t, st.UpdateVersion(ctx, f.deletedVersion))

	mvn := pkg(f.org, packages.TypeMaven, "com.acme:widget", repo.ID)
	version(mvn, "1.0", "", blob("jar"), blob("pom"))
	must(t, st.SetPackageAccess(ctx, mvn.ID, bob.ID, packages.RoleAdmin))

	// A deleted package, restorable.
	f.deletedPkg = pkg(f.user, packages.TypeContainer, "gone", 0)
	version(f.deletedPkg, "sha256:"+strings.Repeat("ab", 32), `{"container":{}}`, blob("manifest"))
	f.deletedPkg.DeletedAt, f.deletedPkg.DeletedBy = &del, f.user.ID
	must(t, st.UpdatePackage(ctx, f.deletedPkg))

	// A purged package: its id is used up.
	purged := pkg(f.user, packages.TypeNuGet, "purged", 0)
	version(purged, "1.0.0", "")
	must(t, st.HardDeletePackage(ctx, purged.ID))
	f.purgedPackageID = purged.ID

	// A webhook of the organization, with a delivery in flight.
	hook := &packages.Hook{OwnerID: f.org.ID, Name: "web", Events: []string{"package"}, Active: true,
		URL: "http://hooks.example/x", ContentType: "json", Secret: "s3cret", InsecureSSL: "0"}
	must(t, st.CreateHook(ctx, hook))
	lease := time.Now().Add(time.Minute)
	must(t, st.AddDelivery(ctx, &packages.Delivery{HookID: hook.ID, SenderID: f.user.ID, GUID: "guid-1", Event: "package",
		Action: "published", Payload: []byte(`{"action":"published"}`), State: packages.DeliveryPending,
		NextAttemptAt: time.Now(), LeaseUntil: &lease, RequestHeaders: map[string]string{"X-GitHub-Event": "package"}}))

	// A signed-in web session and a retention policy.
	now := time.Now()
	must(t, st.CreateSession(ctx, &packages.Session{Hash: "cc33", UserID: f.user.ID, TokenID: tok.ID,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}))
	must(t, st.CreateRetentionPolicy(ctx, &packages.RetentionPolicy{OwnerID: f.org.ID, Type: packages.TypeContainer,
		Name: "app*", KeepNewest: 5, OlderThan: 30 * 24 * time.Hour, Untagged: true, CreatedBy: f.user.ID}))

	// Layers pushed to a name with no package yet.
	layer := blob("pending layer")
	must(t, st.LinkPendingBlob(ctx, packages.PendingKey{OwnerID: f.user.ID, Type: packages.TypeContainer, Name: "next", UserID: f.user.ID}, layer.Digest, time.Now()))
	return f
}

// tableRows reads every row of every table of db in the kinds shared with
// other, rendered as text that says exactly what each value is.
func tableRows(t *testing.T, db, other *store.Tables) map[string][]string {
	t.Helper()
	ctx := t.Context()
	sc, err := db.Schema(ctx)
	must(t, err)
	oc, err := other.Schema(ctx)
	must(t, err)
	out := map[string][]string{}
	for _, tb := range sc.Tables {
		ot, ok := oc.Table(tb.Name)
		if !ok {
			t.Fatalf("table %s is missing from the other database", tb.Name)
		}
		for i, c := range tb.Columns {
			oc, ok := ot.Column(c.Name)
			if !ok {
				t.Fatalf("column %s.%s is missing from the other database", tb.Name, c.Name)
			}
			k, ok := store.MatchKinds(c.Kind, oc.Kind)
			if !ok {
				t.Fatalf("column %s.%s: kinds %s and %s", tb.Name, c.Name, c.Kind, oc.Kind)
			}
			tb.Columns[i].Kind = k
		}
		rows, err := db.Rows(ctx, tb, nil, 0)
		must(t, err)
		lines := []string{}
		for _, r := range rows {
			var b strings.Builder
			for i, v := range r {
				fmt.Fprintf(&b, "%s=%s ", tb.Columns[i].Name, render(tb.Columns[i].Kind, v))
			}
			lines = append(lines, b.String())
		}
		out[tb.Name] = lines
	}
	return out
}

func render(k store.Kind, v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case []byte:
		return fmt.Sprintf("%x", x)
	case string:
		if k == store.KindJSON {
			var j any
			if json.Unmarshal([]byte(x), &j) == nil {
				b, _ := json.Marshal(j) // sorted keys, no spaces
				return string(b)
			}
		}
		return fmt.Sprintf("%q", x)
	}
	return fmt.Sprintf("%T(%v)", v, v)
}

// wantSame fails unless every table of tgt holds exactly the rows of src,
// and every table of src has rows (so that the copy of each is tested: a
// table a new migration adds must get rows in populate).
func wantSame(t *testing.T, src, tgt *side) {
	t.Helper()
	a, b := tableRows(t, src.tables, tgt.tables), tableRows(t, tgt.tables, src.tables)
	if len(a) != len(b) {
		t.Errorf("source has %d tables, target %d", len(a), len(b))
	}
	for name, rows := range a {
		if len(rows) == 0 {
			t.Errorf("table %s is empty in the source: give it rows in populate, so that its copy is tested", name)
		}
		if !slices.Equal(rows, b[name]) {
			t.Errorf("table %s differs:\nsource:\n  %s\ntarget:\n  %s", name, strings.Join(rows, "\n  "), strings.Join(b[name], "\n  "))
		}
	}
}

func wantBlobs(t *testing.T, f *fixture, tgt *side) {
	t.Helper()
	for d, content := range f.files {
		r, err := tgt.blobs.Open(t.Context(), d)
		if err != nil {
			t.Fatalf("blob %s in the target: %v", d, err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		must(t, err)
		if !bytes.Equal(got, content) {
			t.Errorf("blob %s: target holds other bytes", d)
		}
	}
}

var pairs = []struct{ src, tgt string }{
	{"sqlite", "postgres"},
	{"sqlite", "sqlite"},
	{"postgres", "postgres"},
	{"postgres", "sqlite"},
}

// TestCopy copies a populated installation between every pair of
// databases, then checks the target table by table, blob by blob and
// through the store, and that a second run copies nothing and verifies
// everything.
func TestCopy(t *testing.T) {
	for _, p := range pairs {
		t.Run(p.src+"-to-"+p.tgt, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			src, tgt := newSide(t, p.src), newSide(t, p.tgt)
			f := populate(t, src)
			var out bytes.Buffer
			rep, err := migratestorage.Run(ctx, options(src, tgt, &out))
			if err != nil {
				t.Fatalf("run: %v\n%s", err, out.String())
			}
			wantSame(t, src, tgt)
			wantBlobs(t, f, tgt)
			if rep.Blobs.Listed != len(f.files) || rep.Blobs.Copied != len(f.files) || rep.Blobs.Verified != len(f.files) || rep.Blobs.Failed != 0 {
				t.Errorf("blobs: %+v, want %d copied and verified", rep.Blobs, len(f.files))
			}
			if rep.NothingCopied() || !strings.Contains(out.String(), "done: the target holds the installation; all verified") {
				t.Errorf("first run report:\n%s", out.String())
			}

			// Through the target's store: deleted rows stay deleted and
			// restorable, tokens keep their hashes, counts their values.
			gone, err := tgt.st.GetPackage(ctx, f.user.ID, packages.TypeContainer, "gone", packages.Deleted)
			if err != nil || gone.ID != f.deletedPkg.ID || gone.DeletedBy != f.user.ID {
				t.Errorf("deleted package in the target: %+v, %v", gone, err)
			}
			dv, err := tgt.st.GetVersion(ctx, f.npm.ID, f.deletedVersion.ID)
			if err != nil || dv.DeletedAt == nil || !dv.DeletedAt.Equal(*f.deletedVersion.DeletedAt) {
				t.Errorf("deleted version in the target: %+v, %v", dv, err)
			}
			tok, err := tgt.st.GetTokenByHash(ctx, f.token)
			if err != nil || tok.UserID != f.user.ID || tok.LastUsedAt == nil || !slices.Equal(tok.Scopes, []string{"read:packages", "write:packages"}) {
				t.Errorf("token in the target: %+v, %v", tok, err)
			}
			npm, err := tgt.st.GetPackageByID(ctx, f.npm.ID)
			if err != nil || npm.DownloadCount != 3 || npm.VersionCount != 2 {
				t.Errorf("npm package in the target: %+v, %v", npm, err)
			}
			owner, err := tgt.st.GetOwnerByLogin(ctx, "alice")
			if err != nil || !owner.SiteAdmin || owner.ID != f.user.ID {
				t.Errorf("owner in the target: %+v, %v", owner, err)
			}
			// A second run finds nothing to do and verifies every blob.
			out.Reset()
			rep, err = migratestorage.Run(ctx, options(src, tgt, &out))
			if err != nil {
				t.Fatalf("second run: %v\n%s", err, out.String())
			}
			if !rep.NothingCopied() || rep.Passes != 1 || rep.Blobs.Skipped != len(f.files) || rep.Blobs.Verified != len(f.files) {
				t.Errorf("second run: %d rows, %d passes, blobs %+v", rep.RowsCopied(), rep.Passes, rep.Blobs)
			}
			if !strings.Contains(out.String(), "nothing to copy") {
				t.Errorf("second run report:\n%s", out.String())
			}
			wantSame(t, src, tgt)

			// New ids continue after the source's, purged ones included.
			np := &packages.Package{OwnerID: f.user.ID, Type: packages.TypeNuGet, Name: "new", Visibility: packages.Public}
			must(t, tgt.st.CreatePackage(ctx, np))
			if np.ID <= f.purgedPackageID {
				t.Errorf("new package in the target got id %d, not above the purged package's %d", np.ID, f.purgedPackageID)
			}
			// The target has now been written to: a run would undo that, and
			// is refused before it writes anything.
			_, err = migratestorage.Run(ctx, options(src, tgt, io.Discard))
			if !errors.Is(err, migratestorage.ErrTargetWritten) || !strings.Contains(err.Error(), "table packages") {
				t.Fatalf("run into a target written to since: %v", err)
			}
			if _, err := tgt.st.GetPackageByID(ctx, np.ID); err != nil {
				t.Errorf("the refused run touched the target: %v", err)
			}
		})
	}
}

// TestCatchUp: a run after the source changed (the server ran on after the
// first copy) brings the target up to date: new rows, changed rows and
// rows gone from the source.
func TestCatchUp(t *testing.T) {
	for _, tgtDialect := range []string{"postgres", "sqlite"} {
		t.Run(tgtDialect, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			src, tgt := newSide(t, "sqlite"), newSide(t, tgtDialect)
			f := populate(t, src)
			if _, err := migratestorage.Run(ctx, options(src, tgt, io.Discard)); err != nil {
				t.Fatal(err)
			}

			st := src.st
			// Changed: downloads, a restore, a tag moved.
			must(t, st.IncrementDownloads(ctx, f.npm.ID, 0))
			f.deletedPkg.DeletedAt, f.deletedPkg.DeletedBy = nil, 0
			must(t, st.UpdatePackage(ctx, f.deletedPkg))
			latest, err := st.GetTag(ctx, f.npm.ID, "Beta")
			must(t, err)
			must(t, st.SetTag(ctx, f.npm.ID, "latest", latest.VersionID))
			// Gone: a tag, a version (purged), an owner's membership.
			must(t, st.DeleteTag(ctx, f.npm.ID, "alpha"))
			must(t, st.HardDeleteVersion(ctx, f.deletedVersion.ID))
			must(t, st.SetOrgMember(ctx, f.org.ID, f.user.ID, packages.NoOrgRole))
			// New: a package with a version and a new blob.
			d, n, err := src.blobs.Put(ctx, strings.NewReader("later"), "")
			must(t, err)
			must(t, st.PutBlob(ctx, &packages.Blob{Digest: d, Size: n, CreatedAt: time.Now()}))
			p := &packages.Package{OwnerID: f.org.ID, Type: packages.TypeRubyGems, Name: "later", Visibility: packages.Internal}
			must(t, st.CreatePackage(ctx, p))
			v := &packages.Version{PackageID: p.ID, Name: "0.1.0"}
			must(t, st.CreateVersion(ctx, v))
			must(t, st.AddFile(ctx, &packages.File{VersionID: v.ID, Name: "later-0.1.0.gem", Digest: d, Size: n}))
			f.files[d] = []byte("later")

			var out bytes.Buffer
			rep, err := migratestorage.Run(ctx, options(src, tgt, &out))
			if err != nil {
				t.Fatalf("run: %v\n%s", err, out.String())
			}
			wantSame(t, src, tgt)
			wantBlobs(t, f, tgt)
			counts := map[string]migratestorage.TableReport{}
			for _, tr := range rep.Tables {
				counts[tr.Name] = tr
			}
			if counts["tags"].Deleted != 1 || counts["versions"].Deleted != 1 || counts["org_members"].Deleted != 1 ||
				counts["packages"].Inserted != 1 || counts["blobs"].Inserted != 1 || rep.Blobs.Copied != 1 {
				t.Errorf("catch-up report:\n%s", out.String())
			}
		})
	}
}

// failingTarget fails every Apply after the first ok ones, as a run
// killed midway stops writing.
type failingTarget struct {
	migratestorage.Target
	ok atomic.Int64
}

var errCut = errors.New("cut short")

func (f *failingTarget) Apply(ctx context.Context, t store.Table, c store.Changes) error {
	if f.ok.Add(-1) < 0 {
		return errCut
	}
	return f.Target.Apply(ctx, t, c)
}

// failingBlobs fails the Put of some blobs.
type failingBlobs struct {
	migratestorage.TargetBlobs
	left atomic.Int64
}

func (f *failingBlobs) Put(ctx context.Context, r io.Reader, expected string) (string, int64, error) {
	if f.left.Add(-1) < 0 {
		return "", 0, errCut
	}
	return f.TargetBlobs.Put(ctx, r, expected)
}

// TestInterrupted: a run cut short in the tables, then one cut short in
// the blobs, are each finished by running again.
func TestInterrupted(t *testing.T) {
	for _, tgtDialect := range []string{"postgres", "sqlite"} {
		t.Run(tgtDialect, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			src, tgt := newSide(t, "sqlite"), newSide(t, tgtDialect)
			f := populate(t, src)

			o := options(src, tgt, io.Discard)
			ft := &failingTarget{Target: tgt.tables}
			ft.ok.Store(5)
			o.Target = ft
			if _, err := migratestorage.Run(ctx, o); !errors.Is(err, errCut) {
				t.Fatalf("run cut short in the tables: %v", err)
			}

			o = options(src, tgt, io.Discard)
			fb := &failingBlobs{TargetBlobs: tgt.blobs}
			fb.left.Store(2)
			o.TargetBlobs = fb
			rep, err := migratestorage.Run(ctx, o)
			if !errors.Is(err, migratestorage.ErrBlobs) || rep.Blobs.Failed != len(f.files)-2 || rep.Blobs.Copied != 2 {
				t.Fatalf("run cut short in the blobs: %v, %+v", err, rep)
			}

			var out bytes.Buffer
			rep, err = migratestorage.Run(ctx, options(src, tgt, &out))
			if err != nil {
				t.Fatalf("last run: %v\n%s", err, out.String())
			}
			if rep.RowsCopied() != 0 || rep.Blobs.Copied != len(f.files)-2 || rep.Blobs.Skipped != 2 || rep.Blobs.Verified != len(f.files) {
				t.Errorf("last run: %d rows, blobs %+v", rep.RowsCopied(), rep.Blobs)
			}
			wantSame(t, src, tgt)
			wantBlobs(t, f, tgt)
		})
	}
}

// TestOtherInstallation: a target that holds another installation is
// refused, and left as it was.
func TestOtherInstallation(t *testing.T) {
	for _, tgtDialect := range []string{"postgres", "sqlite"} {
		t.Run(tgtDialect, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			src, tgt := newSide(t, "sqlite"), newSide(t, tgtDialect)
			populate(t, src)
			must(t, tgt.st.CreateOwner(ctx, &packages.Owner{Login: "mallory", Type: packages.UserOwner}))
			_, err := migratestorage.Run(ctx, options(src, tgt, io.Discard))
			if !errors.Is(err, migratestorage.ErrOtherInstallation) || !strings.Contains(err.Error(), `"mallory"`) {
				t.Fatalf("run into another installation: %v", err)
			}
			if _, err := tgt.st.GetOwnerByLogin(ctx, "alice"); !errors.Is(err, packages.ErrNotFound) {
				t.Errorf("the refused target got the source's owner: %v", err)
			}
			if _, err := tgt.st.GetOwnerByLogin(ctx, "mallory"); err != nil {
				t.Errorf("the refused target lost its owner: %v", err)
			}
		})
	}
}

// TestBrokenSourceBlob: a blob missing from the source store, and one whose
// bytes do not match its digest, fail and are reported; the rest is
// copied.
func TestBrokenSourceBlob(t *testing.T) {
	ctx := t.Context()
	src, tgt := newSide(t, "sqlite"), newSide(t, "sqlite")
	f := populate(t, src)
	var missing string
	for d := range f.files {
		missing = d
		break
	}
	must(t, src.blobs.Delete(ctx, missing))
	var out bytes.Buffer
	rep, err := migratestorage.Run(ctx, options(src, tgt, &out))
	if !errors.Is(err, migratestorage.ErrBlobs) || rep.Blobs.Failed != 1 || rep.Blobs.Copied != len(f.files)-1 {
		t.Fatalf("run: %v, %+v", err, rep)
	}
	if !strings.Contains(out.String(), "blob "+missing+" failed: recorded in the metadata but missing from the source blob store") ||
		!strings.Contains(out.String(), "the copy is not complete") {
		t.Errorf("report:\n%s", out.String())
	}
	wantSame(t, src, tgt)
}

// TestNewTables: tables a later migration adds are copied with the rest,
// whatever their column types, and a schema the copy cannot handle is
// refused before anything is written.
func TestNewTables(t *testing.T) {
	ddl := map[string]string{
		"sqlite": `CREATE TABLE zz_settings (
			owner_id INTEGER NOT NULL REFERENCES owners (id) ON DELETE CASCADE,
			day TEXT NOT NULL, flag INTEGER NOT NULL, at TEXT, doc TEXT, raw BLOB, ratio REAL,
			PRIMARY KEY (owner_id, day));
			CREATE TABLE aa_hooks (
			id INTEGER PRIMARY KEY AUTOINCREMENT,
			owner_id INTEGER NOT NULL REFERENCES owners (id),
			url TEXT NOT NULL);`,
		"postgres": `CREATE TABLE zz_settings (
			owner_id BIGINT NOT NULL REFERENCES owners (id) ON DELETE CASCADE,
			day DATE NOT NULL, flag BOOLEAN NOT NULL, at TIMESTAMPTZ, doc JSONB, raw BYTEA, ratio DOUBLE PRECISION,
			PRIMARY KEY (owner_id, day));
			CREATE TABLE aa_hooks (
			id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
			owner_id BIGINT NOT NULL REFERENCES owners (id),
			url TEXT NOT NULL);`,
	}
	rows := map[string]string{
		"sqlite": `INSERT INTO zz_settings VALUES
			(1, '2026-01-05', 1, '2026-01-05T10:11:12.123456Z', '{"b": 1, "a": [true, null]}', x'00ff10', 0.25),
			(1, '2026-01-06', 0, NULL, NULL, NULL, NULL);
			INSERT INTO aa_hooks (owner_id, url) VALUES (1, 'http://a'), (1, 'http://b'), (1, 'http://c');
			DELETE FROM aa_hooks WHERE id = 3;`,
		"postgres": `INSERT INTO zz_settings VALUES
			(1, '2026-01-05', TRUE, '2026-01-05T10:11:12.123456Z', '{"b": 1, "a": [true, null]}', '\x00ff10', 0.25),
			(1, '2026-01-06', FALSE, NULL, NULL, NULL, NULL);
			INSERT INTO aa_hooks (owner_id, url) VALUES (1, 'http://a'), (1, 'http://b'), (1, 'http://c');
			DELETE FROM aa_hooks WHERE id = 3;`,
	}
	for _, p := range pairs {
		t.Run(p.src+"-to-"+p.tgt, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			src, tgt := newSide(t, p.src), newSide(t, p.tgt)
			f := populate(t, src)
			src.exec(t, ddl[p.src])
			src.exec(t, rows[p.src])

			// Only the source has the tables: refused, nothing written.
			_, err := migratestorage.Run(ctx, options(src, tgt, io.Discard))
			if !errors.Is(err, migratestorage.ErrSchema) || !strings.Contains(err.Error(), "aa_hooks") {
				t.Fatalf("run to a target without the new tables: %v", err)
			}
			if _, err := tgt.st.GetOwnerByID(ctx, f.user.ID); !errors.Is(err, packages.ErrNotFound) {
				t.Errorf("a refused run wrote to the target: %v", err)
			}

			tgt.exec(t, ddl[p.tgt])
			if _, err := migratestorage.Run(ctx, options(src, tgt, io.Discard)); err != nil {
				t.Fatal(err)
			}
			wantSame(t, src, tgt)
			// The new table's sequence goes on after the id deleted in the
			// source.
			tgt.exec(t, `INSERT INTO aa_hooks (owner_id, url) VALUES (1, 'http://d')`)
			sc, err := tgt.tables.Schema(ctx)
			must(t, err)
			hooks, _ := sc.Table("aa_hooks")
			hooks.Columns = hooks.Columns[:1]
			ids, err := tgt.tables.Rows(ctx, hooks, []any{int64(2)}, 0)
			must(t, err)
			if len(ids) != 1 || ids[0][0] != int64(4) {
				t.Errorf("new row in aa_hooks got %v, want id 4", ids)
			}
		})
	}
}

// TestNoPrimaryKey: a table without a primary key is refused by name.
func TestNoPrimaryKey(t *testing.T) {
	src, tgt := newSide(t, "sqlite"), newSide(t, "sqlite")
	for _, s := range []*side{src, tgt} {
		s.exec(t, `CREATE TABLE loose (a TEXT)`)
	}
	_, err := migratestorage.Run(t.Context(), options(src, tgt, io.Discard))
	if !errors.Is(err, migratestorage.ErrSchema) || !strings.Contains(err.Error(), "table loose has no primary key") {
		t.Fatalf("run: %v", err)
	}
}
