package fsck_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/blob/fileblob"
	"github.com/packhub/packhub/internal/fsck"
	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/registry/oci"
	_ "github.com/packhub/packhub/internal/store" // the database drivers
	"github.com/packhub/packhub/internal/testenv"
)

// fixture is a registry with an npm package of two versions and a
// container image (a manifest naming a config and a layer).
type fixture struct {
	env      *testenv.Env
	npm      *packages.Version // 1.0.0, with one file
	npmFile  packages.File
	image    *packages.Version
	manifest string // the manifest's digest
	config   string
	layer    string
}

func newFixture(t *testing.T, env *testenv.Env) *fixture {
	t.Helper()
	ctx := context.Background()
	env.User("alice")
	tok := env.Token("alice", testenv.AllScopes)
	fx := &fixture{env: env}
	npmRef := packages.PackageRef{Owner: "alice", Type: packages.TypeNpm, Name: "left-pad"}
	vs := env.Publish(tok, npmRef, "", "1.0.0", "1.1.0")
	fx.npm = vs[0]
	files, err := env.Service.Files(ctx, fx.npm.ID)
	if err != nil || len(files) != 1 {
		t.Fatalf("files: %v, %v", files, err)
	}
	fx.npmFile = files[0]
	for range 3 {
		env.Service.CountDownload(fx.npm.PackageID, fx.npm.ID)
	}
	if err := env.Service.FlushDownloads(ctx); err != nil {
		t.Fatal(err)
	}

	put := func(content string) string {
		d, n, err := env.Blobs.Put(ctx, strings.NewReader(content), "")
		if err != nil {
			t.Fatal(err)
		}
		if err := env.Service.RegisterBlob(ctx, d, n); err != nil {
			t.Fatal(err)
		}
		return d
	}
	fx.config = put(`{"architecture":"amd64","os":"linux"}`)
	fx.layer = put("layer bytes")
	manifest := fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":37},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":%q,"size":11}]}`,
		oci.MediaTypeOCIManifest, fx.config, fx.layer)
	fx.manifest = put(manifest)
	pub, err := env.Service.Publish(ctx, env.Actor(tok), packages.PublishRequest{
		Package: packages.PackageRef{Owner: "alice", Type: packages.TypeContainer, Name: "app"},
		Version: fx.manifest,
		Files:   []packages.File{{Name: "manifest.json", Digest: fx.manifest, Size: int64(len(manifest)), MediaType: oci.MediaTypeOCIManifest}},
		Blobs:   []string{fx.config, fx.layer},
		Tags:    []string{"latest"},
	})
	if err != nil {
		t.Fatal(err)
	}
	fx.image = pub.Version
	return fx
}

func checker(t *testing.T, env *testenv.Env, now func() time.Time) *fsck.Checker {
	t.Helper()
	c, err := fsck.New(env.Store, env.Blobs, fsck.Options{References: oci.FileReferences, Now: now, Batch: 2})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func run(t *testing.T, c *fsck.Checker, repair bool) *fsck.Report {
	t.Helper()
	rep, err := c.Run(context.Background(), repair)
	if err != nil {
		t.Fatalf("fsck: %v", err)
	}
	return rep
}

func kinds(rep *fsck.Report, problems bool) []fsck.Kind {
	var out []fsck.Kind
	for _, f := range rep.Findings {
		if f.Problem() == problems {
			out = append(out, f.Kind)
		}
	}
	slices.Sort(out)
	return out
}

func text(t *testing.T, rep *fsck.Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := rep.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// database opens the env's database as another process would, to damage
// it as a crash, a bad restore or a hand edit might.
func database(t *testing.T, env *testenv.Env) *sql.DB {
	t.Helper()
	driver := "sqlite"
	if env.Dialect == "postgres" {
		driver = "pgx"
	}
	db, err := sql.Open(driver, env.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func exec(t *testing.T, env *testenv.Env, query string, args ...any) {
	t.Helper()
	if env.Dialect == "postgres" {
		n := 0
		query = replaceEach(query, "?", func() string { n++; return fmt.Sprintf("$%d", n) })
	}
	if _, err := database(t, env).Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func replaceEach(s, old string, repl func() string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, old)
		if i < 0 {
			return b.String() + s
		}
		b.WriteString(s[:i] + repl())
		s = s[i+len(old):]
	}
}

// blobPath is where the file blob store keeps a digest's bytes.
func blobPath(env *testenv.Env, digest string) string {
	h := strings.TrimPrefix(digest, "sha256:")
	return filepath.Join(env.Blobs.(*fileblob.Store).Root(), "sha256", h[:2], h)
}

func TestCleanRegistry(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		fx := newFixture(t, env)
		rep := run(t, checker(t, env, nil), false)
		if !rep.Clean() || len(rep.Findings) != 0 {
			t.Fatalf("a clean registry:\n%s", text(t, rep))
		}
		c := rep.Counts
		if c.Blobs != 5 || c.Stored != 5 || c.Files != 3 || c.Manifests != 1 || c.Links != 2 || c.Packages != 2 {
			t.Errorf("counts %+v", c)
		}
		if c.Bytes <= int64(len("layer bytes")) {
			t.Errorf("read %d bytes", c.Bytes)
		}
		_ = fx
	})
}

// TestDamage damages a registry in one way per case, checks that the
// check finds it, has a repair mend it, and that a second check is clean.
func TestDamage(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		damage func(t *testing.T, fx *fixture)
		want   []fsck.Kind // the problems found, sorted
		after  func(t *testing.T, fx *fixture)
	}{
		{
			name: "flipped byte",
			damage: func(t *testing.T, fx *fixture) {
				p := blobPath(fx.env, fx.npmFile.Digest)
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				b[0] ^= 0x01
				if err := os.WriteFile(p, b, 0o600); err != nil {
					t.Fatal(err)
				}
			},
			want: []fsck.Kind{fsck.BlobCorrupt, fsck.FileLost},
			after: func(t *testing.T, fx *fixture) {
				// The file is gone from its version, with an event saying why.
				files, err := fx.env.Service.Files(context.Background(), fx.npm.ID)
				if err != nil || len(files) != 0 {
					t.Errorf("files after the repair: %v, %v", files, err)
				}
				if _, err := os.Stat(blobPath(fx.env, fx.npmFile.Digest)); !os.IsNotExist(err) {
					t.Errorf("the corrupt bytes stay: %v", err)
				}
				events, err := fx.env.Service.Events(context.Background(), fx.npm.PackageID)
				if err != nil {
					t.Fatal(err)
				}
				last := events[len(events)-1]
				if last.Action != packages.ActionFileDelete || !strings.Contains(last.Detail, "fsck") {
					t.Errorf("last event %+v", last)
				}
			},
		},
		{
			name: "missing layer",
			damage: func(t *testing.T, fx *fixture) {
				if err := os.Remove(blobPath(fx.env, fx.layer)); err != nil {
					t.Fatal(err)
				}
			},
			want: []fsck.Kind{fsck.BlobMissing, fsck.FileLost},
			after: func(t *testing.T, fx *fixture) {
				files, err := fx.env.Service.Files(context.Background(), fx.image.ID)
				if err != nil || len(files) != 0 {
					t.Errorf("the manifest that needs the lost layer stays: %v, %v", files, err)
				}
				if _, err := fx.env.Store.GetBlob(context.Background(), fx.layer); !packages.IsNotFound(err) {
					t.Errorf("the lost layer stays recorded: %v", err)
				}
			},
		},
		{
			name: "dangling file row",
			damage: func(t *testing.T, fx *fixture) {
				f := &packages.File{VersionID: fx.npm.ID, Name: "extra.tgz", Digest: "sha256:" + strings.Repeat("0", 64), Size: 3}
				if err := fx.env.Store.AddFile(context.Background(), f); err != nil {
					t.Fatal(err)
				}
			},
			want: []fsck.Kind{fsck.FileLost},
			after: func(t *testing.T, fx *fixture) {
				files, err := fx.env.Service.Files(context.Background(), fx.npm.ID)
				if err != nil || len(files) != 1 || files[0].Name != fx.npmFile.Name {
					t.Errorf("files after the repair: %v, %v", files, err)
				}
			},
		},
		{
			name: "unrecorded blob",
			damage: func(t *testing.T, fx *fixture) {
				ctx := context.Background()
				d, n, err := fx.env.Blobs.Put(ctx, strings.NewReader("found elsewhere"), "")
				if err != nil {
					t.Fatal(err)
				}
				if err := fx.env.Store.AddFile(ctx, &packages.File{VersionID: fx.npm.ID, Name: "extra.tgz", Digest: d, Size: n}); err != nil {
					t.Fatal(err)
				}
			},
			want: []fsck.Kind{fsck.BlobUnrecorded},
			after: func(t *testing.T, fx *fixture) {
				files, err := fx.env.Service.Files(context.Background(), fx.npm.ID)
				if err != nil || len(files) != 2 {
					t.Fatalf("the recovered file is gone: %v, %v", files, err)
				}
				for _, f := range files {
					b, err := fx.env.Store.GetBlob(context.Background(), f.Digest)
					if err != nil || !b.Checksums.Known() {
						t.Errorf("blob of %s: %+v, %v", f.Name, b, err)
					}
				}
			},
		},
		{
			name: "wrong counters",
			damage: func(t *testing.T, fx *fixture) {
				exec(t, fx.env, `UPDATE packages SET version_count = 9, download_count = 1 WHERE id = ?`, fx.npm.PackageID)
			},
			want: []fsck.Kind{fsck.CounterDownloads, fsck.CounterVersions},
			after: func(t *testing.T, fx *fixture) {
				p, err := fx.env.Store.GetPackageByID(context.Background(), fx.npm.PackageID)
				if err != nil || p.VersionCount != 2 || p.DownloadCount != 3 {
					t.Errorf("package after the repair: %+v, %v", p, err)
				}
			},
		},
		{
			name: "wrong file size",
			damage: func(t *testing.T, fx *fixture) {
				exec(t, fx.env, `UPDATE files SET size = 1 WHERE id = ?`, fx.npmFile.ID)
			},
			want: []fsck.Kind{fsck.FileSize},
		},
		{
			name: "wrong blob size and checksums",
			damage: func(t *testing.T, fx *fixture) {
				exec(t, fx.env, `UPDATE blobs SET size = 1 WHERE digest = ?`, fx.config)
				exec(t, fx.env, `UPDATE blobs SET md5 = ? WHERE digest = ?`, strings.Repeat("0", 32), fx.layer)
			},
			want: []fsck.Kind{fsck.BlobChecksums, fsck.BlobSize},
		},
		{
			name: "unlinked layer",
			damage: func(t *testing.T, fx *fixture) {
				exec(t, fx.env, `DELETE FROM package_blobs WHERE digest = ?`, fx.layer)
			},
			want: []fsck.Kind{fsck.ReferenceUnlinked},
			after: func(t *testing.T, fx *fixture) {
				linked, err := fx.env.Store.BlobLinked(context.Background(), fx.image.PackageID, fx.layer)
				if err != nil || !linked {
					t.Errorf("layer linked: %v, %v", linked, err)
				}
			},
		},
		{
			name: "dangling link",
			damage: func(t *testing.T, fx *fixture) {
				if err := fx.env.Store.LinkBlob(context.Background(), fx.image.PackageID, "sha256:"+strings.Repeat("1", 64)); err != nil {
					t.Fatal(err)
				}
			},
			want: []fsck.Kind{fsck.LinkDangling},
		},
		{
			name: "orphan file row",
			damage: func(t *testing.T, fx *fixture) {
				orphanFile(t, fx.env, fx.npmFile.Digest)
			},
			want: []fsck.Kind{fsck.FileOrphan},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testenv.Each(t, func(t *testing.T, env *testenv.Env) {
				fx := newFixture(t, env)
				tc.damage(t, fx)
				c := checker(t, env, nil)
				rep := run(t, c, false)
				if got := kinds(rep, true); !slices.Equal(got, tc.want) {
					t.Fatalf("problems %v, want %v:\n%s", got, tc.want, text(t, rep))
				}
				rep = run(t, c, true)
				if got := kinds(rep, true); !slices.Equal(got, tc.want) || rep.Unrepaired() != 0 {
					t.Fatalf("repair: problems %v, want %v, %d unrepaired:\n%s", got, tc.want, rep.Unrepaired(), text(t, rep))
				}
				if !strings.Contains(text(t, rep), "repaired") {
					t.Errorf("the report does not say what was repaired:\n%s", text(t, rep))
				}
				rep = run(t, c, false)
				if !rep.Clean() {
					t.Fatalf("after the repair:\n%s", text(t, rep))
				}
				if tc.after != nil {
					tc.after(t, fx)
				}
			})
		})
	}
}

// orphanFile inserts a file row whose version does not exist, as a
// database restored in part might hold, with the foreign keys off for the
// one statement.
func orphanFile(t *testing.T, env *testenv.Env, digest string) {
	t.Helper()
	ctx := context.Background()
	conn, err := database(t, env).Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	insert := `INSERT INTO files (version_id, name, digest, size, media_type, created_at) VALUES (999999, 'orphan.tgz', ?, 1, '', '2024-01-01T00:00:00.000000Z')`
	switch env.Dialect {
	case "postgres":
		insert = strings.Replace(strings.Replace(insert, "?", "$1", 1), "'2024-01-01T00:00:00.000000Z'", "now()", 1)
		if _, err := conn.ExecContext(ctx, `SET session_replication_role = replica`); err != nil {
			t.Fatal(err)
		}
	default:
		if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.ExecContext(ctx, insert, digest); err != nil {
		t.Fatal(err)
	}
}

// TestGarbage checks that what nothing refers to is reported but is no
// problem, and that a repair removes it only once it is older than the
// grace period.
func TestGarbage(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		ctx := context.Background()
		newFixture(t, env)
		unrecorded, _, err := env.Blobs.Put(ctx, strings.NewReader("left by a crash"), "")
		if err != nil {
			t.Fatal(err)
		}
		d, n, err := env.Blobs.Put(ctx, strings.NewReader("recorded, then unreferenced"), "")
		if err != nil {
			t.Fatal(err)
		}
		if err := env.Service.RegisterBlob(ctx, d, n); err != nil {
			t.Fatal(err)
		}
		now := env.Clock.Now()
		rep := run(t, checker(t, env, func() time.Time { return now }), true)
		if !rep.Clean() || !slices.Equal(kinds(rep, false), []fsck.Kind{fsck.UnrecordedBytes, fsck.Unreferenced}) {
			t.Fatalf("garbage:\n%s", text(t, rep))
		}
		for _, digest := range []string{unrecorded, d} {
			if _, err := env.Blobs.Stat(ctx, digest); err != nil {
				t.Errorf("young garbage %s was removed: %v", digest, err)
			}
		}
		later := now.Add(2 * time.Hour)
		rep = run(t, checker(t, env, func() time.Time { return later }), true)
		if !rep.Clean() || len(rep.Findings) != 2 {
			t.Fatalf("old garbage:\n%s", text(t, rep))
		}
		for _, digest := range []string{unrecorded, d} {
			if _, err := env.Blobs.Stat(ctx, digest); !packages.IsNotFound(err) {
				t.Errorf("old garbage %s stays: %v", digest, err)
			}
		}
		rep = run(t, checker(t, env, func() time.Time { return later }), false)
		if len(rep.Findings) != 0 {
			t.Fatalf("after the repair:\n%s", text(t, rep))
		}
	})
}

// TestWhileServing runs checks while publishes, deletes and garbage
// collection change the registry: none of it is reported as damage.
func TestWhileServing(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		ctx := context.Background()
		newFixture(t, env)
		tok := env.Token("alice", testenv.AllScopes)
		a := env.Actor(tok)
		ref := packages.PackageRef{Owner: "alice", Type: packages.TypeNpm, Name: "busy"}
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				content := fmt.Sprintf("busy %d", i)
				d, n, err := env.Blobs.Put(ctx, strings.NewReader(content), "")
				if err != nil {
					t.Error(err)
					return
				}
				pub, err := env.Service.Publish(ctx, a, packages.PublishRequest{Package: ref, Version: fmt.Sprintf("1.0.%d", i),
					Files: []packages.File{{Name: "busy.tgz", Digest: d, Size: n}}})
				if err != nil {
					t.Error(err)
					return
				}
				env.Service.CountDownload(pub.Package.ID, pub.Version.ID)
				if i%2 == 1 {
					if err := env.Service.DeleteVersion(ctx, a, ref, pub.Version.ID, packages.ViaREST); err != nil {
						t.Error(err)
						return
					}
				}
				if i%5 == 4 {
					env.Clock.Advance(31 * 24 * time.Hour)
					if _, err := env.Service.Purge(ctx, false); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
		c := checker(t, env, nil)
		for range 5 {
			rep := run(t, c, false)
			if !rep.Clean() {
				t.Errorf("damage reported while serving:\n%s", text(t, rep))
			}
		}
		close(done)
		wg.Wait()
		if err := env.Service.FlushDownloads(ctx); err != nil {
			t.Fatal(err)
		}
		if rep := run(t, c, false); !rep.Clean() {
			t.Errorf("after serving:\n%s", text(t, rep))
		}
	})
}

func TestNeedsAuditor(t *testing.T) {
	if _, err := fsck.New(struct{ packages.Store }{}, nil, fsck.Options{}); err == nil {
		t.Fatal("a store without the audit power was accepted")
	}
}
