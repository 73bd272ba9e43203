package npm

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/blob/fileblob"
	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/store"
	"github.com/packhub/packhub/internal/store/storetest"
	"github.com/packhub/packhub/internal/testenv"
)

// replica is one Packhub process: its own store connection, service and
// npm handler (with its own document cache) on a database another replica
// shares.
type replica struct {
	svc *packages.Service
	f   *fixture
}

func newReplica(t *testing.T, dsn, blobDir string, now func() time.Time) *replica {
	t.Helper()
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	blobs, err := fileblob.New(blobDir)
	if err != nil {
		t.Fatal(err)
	}
	svc := packages.NewService(st, blobs, packages.Options{Specs: packages.BuiltinSpecs(), Now: now})
	env := &testenv.Env{T: t, Store: st, Blobs: blobs, Service: svc}
	return &replica{svc: svc, f: newFixture(t, env, Options{})}
}

// TestReplicaPackument checks that a replica's cached packument follows
// every change another replica makes at once, with a clock that stands
// still (so no timestamp changes).
func TestReplicaPackument(t *testing.T) {
	for _, dialect := range testenv.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			var dsn string
			if dialect == "postgres" {
				dsn = storetest.PostgresDSN(t)
			} else {
				dsn = storetest.SQLiteDSN(t)
			}
			at := time.Now().UTC().Truncate(time.Second)
			now := func() time.Time { return at }
			blobDir := t.TempDir()
			a, b := newReplica(t, dsn, blobDir, now), newReplica(t, dsn, blobDir, now)
			ctx := context.Background()
			if _, err := a.svc.CreateUser(ctx, "octo", false); err != nil {
				t.Fatal(err)
			}
			tok, _, err := a.svc.CreateToken(ctx, "octo", []string{"read:packages", "write:packages", "delete:packages"}, "", 0)
			if err != nil {
				t.Fatal(err)
			}
			actor, err := a.svc.Authenticate(ctx, tok)
			if err != nil {
				t.Fatal(err)
			}
			ref := packages.PackageRef{Owner: "octo", Type: packages.TypeNpm, Name: "hello"}
			a.f.publish(tok, "@octo/hello", "1.0.0", nil, "")
			a.f.publish(tok, "@octo/hello", "1.1.0", nil, "")

			// read returns b's full and abbreviated packuments, gzipped or
			// not, checking that both encodings say the same.
			read := func(what string) (fullPackument, map[string]json.RawMessage) {
				t.Helper()
				var full fullPackument
				var abbrev struct {
					Versions map[string]json.RawMessage `json:"versions"`
				}
				for _, gz := range []bool{false, true} {
					for _, accept := range []string{"application/json", mediaAbbreviated} {
						req, _ := http.NewRequest("GET", b.f.srv.URL+"/npm/@octo%2fhello", nil)
						req.Header.Set("Authorization", "Bearer "+tok)
						req.Header.Set("Accept", accept)
						if gz {
							req.Header.Set("Accept-Encoding", "gzip")
						}
						res, err := b.f.srv.Client().Do(req)
						if err != nil {
							t.Fatal(err)
						}
						body, _ := io.ReadAll(res.Body)
						res.Body.Close()
						if res.StatusCode != 200 {
							t.Fatalf("%s: status %d: %s", what, res.StatusCode, body)
						}
						if gz != (res.Header.Get("Content-Encoding") == "gzip") {
							t.Fatalf("%s: gzip %v, Content-Encoding %q", what, gz, res.Header.Get("Content-Encoding"))
						}
						if gz {
							zr, err := gzip.NewReader(bytes.NewReader(body))
							if err != nil {
								t.Fatal(err)
							}
							if body, err = io.ReadAll(zr); err != nil {
								t.Fatal(err)
							}
						}
						if accept == mediaAbbreviated {
							json.Unmarshal(body, &abbrev)
						} else {
							full = fullPackument{}
							json.Unmarshal(body, &full)
						}
					}
				}
				if len(full.Versions) != len(abbrev.Versions) {
					t.Fatalf("%s: full has %d versions, abbreviated %d", what, len(full.Versions), len(abbrev.Versions))
				}
				return full, abbrev.Versions
			}
			p, _ := read("first read")
			if len(p.Versions) != 2 || p.DistTags["latest"] != "1.1.0" {
				t.Fatalf("first read: %v %v", sortedKeys(p.Versions), p.DistTags)
			}
			rev := p.Rev
			changed := func(what string) fullPackument {
				t.Helper()
				p, _ := read(what)
				if p.Rev == rev {
					t.Fatalf("%s: _rev stayed %s", what, rev)
				}
				rev = p.Rev
				return p
			}

			a.f.publish(tok, "@octo/hello", "1.2.0", nil, "next")
			if p := changed("publish"); len(p.Versions) != 3 || p.DistTags["next"] != "1.2.0" {
				t.Fatalf("after publish: %v %v", sortedKeys(p.Versions), p.DistTags)
			}
			if err := a.svc.SetTag(ctx, actor, ref, "beta", "1.0.0"); err != nil {
				t.Fatal(err)
			}
			if p := changed("set tag"); p.DistTags["beta"] != "1.0.0" {
				t.Fatalf("after set tag: %v", p.DistTags)
			}
			if err := a.svc.DeleteTag(ctx, actor, ref, "beta"); err != nil {
				t.Fatal(err)
			}
			if p := changed("delete tag"); p.DistTags["beta"] != "" {
				t.Fatalf("after delete tag: %v", p.DistTags)
			}
			meta, _ := json.Marshal(map[string]any{"name": "@octo/hello", "version": "1.0.0", "deprecated": "use 1.1"})
			if err := a.svc.UpdateVersionMetadata(ctx, actor, ref, "1.0.0", meta); err != nil {
				t.Fatal(err)
			}
			if p := changed("deprecate"); p.version(t, "1.0.0").Deprecated != "use 1.1" {
				t.Fatalf("after deprecate: %s", p.Versions["1.0.0"])
			}
			_, v, err := a.svc.GetVersionByName(ctx, actor, ref, "1.1.0", packages.ViaREST)
			if err != nil {
				t.Fatal(err)
			}
			if err := a.svc.DeleteVersion(ctx, actor, ref, v.ID, packages.ViaREST); err != nil {
				t.Fatal(err)
			}
			if p := changed("delete version"); len(p.Versions) != 2 || p.DistTags["latest"] != "1.2.0" {
				t.Fatalf("after delete version: %v %v", sortedKeys(p.Versions), p.DistTags)
			}
			if err := a.svc.RestoreVersion(ctx, actor, ref, v.ID, packages.ViaREST); err != nil {
				t.Fatal(err)
			}
			if p := changed("restore version"); len(p.Versions) != 3 || p.DistTags["latest"] != "1.1.0" {
				t.Fatalf("after restore version: %v %v", sortedKeys(p.Versions), p.DistTags)
			}
			if err := a.svc.DeletePackage(ctx, actor, ref, packages.ViaREST); err != nil {
				t.Fatal(err)
			}
			wantError(t, b.f.do("GET", "/npm/@octo%2fhello", tok, nil), 404, "not found")
			if err := a.svc.RestorePackage(ctx, actor, ref, packages.ViaREST); err != nil {
				t.Fatal(err)
			}
			if p, _ := read("restore package"); len(p.Versions) != 3 {
				t.Fatalf("after restore package: %v", sortedKeys(p.Versions))
			}
		})
	}
}

// TestDocCacheConcurrentMiss checks that concurrent readers of a changed
// package all get the new document.
func TestDocCacheConcurrentMiss(t *testing.T) {
	env := testenv.New(t, "sqlite")
	env.User("octo")
	tok := env.Token("octo", testenv.AllScopes)
	f := newFixture(t, env, Options{})
	f.publish(tok, "@octo/hello", "1.0.0", nil, "")
	f.do("GET", "/npm/@octo%2fhello", tok, nil)
	f.publish(tok, "@octo/hello", "1.1.0", nil, "")
	srv := httptest.NewServer(f.srv.Config.Handler)
	defer srv.Close()
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			req, _ := http.NewRequest("GET", srv.URL+"/npm/@octo%2fhello", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				errs <- err
				return
			}
			defer res.Body.Close()
			var p fullPackument
			if err := json.NewDecoder(res.Body).Decode(&p); err != nil {
				errs <- err
				return
			}
			if len(p.Versions) != 2 {
				errs <- fmt.Errorf("stale packument: versions %v", sortedKeys(p.Versions))
				return
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
