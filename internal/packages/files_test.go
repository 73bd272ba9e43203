package packages_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

// fileDigests returns a version's files as name -> digest.
func fileDigests(t *testing.T, env *testenv.Env, versionID int64) map[string]string {
	t.Helper()
	fs, err := env.Service.Files(ctx, versionID)
	must(t, err)
	out := map[string]string{}
	for _, f := range fs {
		out[f.Name] = f.Digest
	}
	return out
}

// revision returns a package's revision, which caches of rendered
// documents compare.
func revision(t *testing.T, env *testenv.Env, packageID int64) int64 {
	t.Helper()
	p, err := env.Store.GetPackageByID(ctx, packageID)
	must(t, err)
	return p.Revision
}

// lastEvent returns a package's latest event.
func lastEvent(t *testing.T, env *testenv.Env, packageID int64) packages.Event {
	t.Helper()
	evs, err := env.Service.Events(ctx, packageID)
	must(t, err)
	if len(evs) == 0 {
		t.Fatal("no events")
	}
	return evs[len(evs)-1]
}

// TestPublishReplaceChangedFile is the regression test for a Maven
// snapshot deployed again with new content: Publish with ExistsReplace
// used to insert the file a second time and fail on the unique name.
func TestPublishReplaceChangedFile(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		env.User("alice")
		env.Repo("alice/lib", packages.Private)
		a := env.Actor(env.Token("alice", allScopes))
		r := ref("alice", packages.TypeMaven, "com.example:snap")
		jar1, pom := putBlob(t, env, "snap.jar", "jar one"), putBlob(t, env, "snap.pom", "pom")
		req := packages.PublishRequest{Package: r, Version: "1.0-SNAPSHOT", Repository: "alice/lib", IfExists: packages.ExistsReplace,
			Metadata: json.RawMessage(`{"build":1}`), Files: []packages.File{jar1, pom}}
		first := publishReq(t, env, a, req)
		rev := revision(t, env, first.Package.ID)

		jar2 := putBlob(t, env, "snap.jar", "jar two")
		req.Metadata, req.Files = json.RawMessage(`{"build":2}`), []packages.File{jar2}
		second, err := env.Service.Publish(ctx, a, req)
		must(t, err)
		if second.VersionCreated || second.Version.ID != first.Version.ID {
			t.Fatalf("second publish: version %d created %v, want %d reused", second.Version.ID, second.VersionCreated, first.Version.ID)
		}
		want := map[string]string{"snap.jar": jar2.Digest, "snap.pom": pom.Digest}
		if got := fileDigests(t, env, first.Version.ID); !jsonEqual(got, want) {
			t.Fatalf("files %v, want %v", got, want)
		}
		if got := revision(t, env, first.Package.ID); got == rev {
			t.Errorf("revision stayed %d", got)
		}
		wantActions := []string{packages.ActionPublish, packages.ActionFilePut}
		if got := actions(t, env, first.Package.ID); !slices.Equal(got, wantActions) {
			t.Fatalf("events %v, want %v", got, wantActions)
		}
		ev := lastEvent(t, env, first.Package.ID)
		var detail struct{ Name, Digest, Previous string }
		must(t, json.Unmarshal([]byte(ev.Detail), &detail))
		if detail.Name != "snap.jar" || detail.Digest != jar2.Digest || detail.Previous != jar1.Digest {
			t.Errorf("file event detail %s", ev.Detail)
		}

		// The replaced jar's blob is referenced no more: garbage
		// collection frees it after the grace period, and nothing else.
		env.Clock.Advance(2 * time.Hour)
		rep, err := env.Service.Purge(ctx, false)
		must(t, err)
		if got := blobDigests(rep.Blobs); !slices.Equal(got, []string{jar1.Digest}) {
			t.Fatalf("freed %v, want only the replaced jar %s", got, jar1.Digest)
		}
		if blobExists(t, env, jar1.Digest) || !blobExists(t, env, jar2.Digest) || !blobExists(t, env, pom.Digest) {
			t.Fatal("garbage collection freed the wrong blobs")
		}
		if got := readBlob(t, env, jar2.Digest); got != "jar two" {
			t.Fatalf("new jar reads %q", got)
		}
	})
}

func TestPutFile(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		env.User("alice")
		env.Repo("alice/lib", packages.Private)
		env.Repo("alice/other", packages.Private)
		a := env.Actor(env.Token("alice", allScopes))
		r := ref("alice", packages.TypeMaven, "com.example:lib")
		put := func(version, name, content string, create bool, policy packages.FilePolicy) (*packages.PutFileResult, error) {
			t.Helper()
			return env.Service.PutFile(ctx, a, packages.PutFileRequest{Package: r, Version: version, CreateVersion: create,
				File: putBlob(t, env, name, content), IfExists: policy, Repository: "alice/lib"})
		}

		// The first file of a new package and version creates both.
		res, err := put("1.0", "lib-1.0.jar", "jar", true, packages.FileConflict)
		must(t, err)
		if !res.PackageCreated || !res.VersionCreated || res.Replaced || res.Unchanged {
			t.Fatalf("first put: %+v", res)
		}
		pid, vid := res.Package.ID, res.Version.ID
		if res.File.Size != 3 || res.File.VersionID != vid || res.File.ID == 0 || !res.File.CreatedAt.Equal(env.Clock.Now()) {
			t.Fatalf("stored file %+v", res.File)
		}
		wantActions := []string{packages.ActionPublish, packages.ActionFilePut}
		if got := actions(t, env, pid); !slices.Equal(got, wantActions) {
			t.Fatalf("events %v, want %v", got, wantActions)
		}

		steps := []struct {
			name      string
			version   string
			file      string
			content   string
			create    bool
			policy    packages.FilePolicy
			want      packages.Kind
			replaced  bool
			unchanged bool
			event     bool // a file.put event recorded, the version touched
		}{
			{"another file of the version", "1.0", "lib-1.0.pom", "pom", false, packages.FileConflict, ok, false, false, true},
			{"create asked of an existing version", "1.0", "lib-1.0.jar.sha1", "sha1", true, packages.FileConflict, ok, false, false, true},
			{"conflict: same content", "1.0", "lib-1.0.jar", "jar", false, packages.FileConflict, packages.KindConflict, false, false, false},
			{"conflict: other content", "1.0", "lib-1.0.jar", "jar2", false, packages.FileConflict, packages.KindConflict, false, false, false},
			{"keep if same: same content", "1.0", "lib-1.0.jar", "jar", false, packages.FileKeepIfSame, ok, false, true, false},
			{"keep if same: other content", "1.0", "lib-1.0.jar", "jar2", false, packages.FileKeepIfSame, packages.KindConflict, false, false, false},
			{"replace: same content", "1.0", "lib-1.0.jar", "jar", false, packages.FileReplace, ok, false, true, false},
			{"replace: other content", "1.0", "lib-1.0.jar", "jar2", false, packages.FileReplace, ok, true, false, true},
			{"missing version", "2.0", "lib-2.0.jar", "jar", false, packages.FileReplace, packages.KindNotFound, false, false, false},
		}
		for _, s := range steps {
			t.Run(s.name, func(t *testing.T) {
				env.Clock.Advance(time.Minute)
				before := fileDigests(t, env, vid)
				rev, events := revision(t, env, pid), len(actions(t, env, pid))
				res, err := put(s.version, s.file, s.content, s.create, s.policy)
				wantKind(t, err, s.want)
				after := fileDigests(t, env, vid)
				if err != nil {
					if !jsonEqual(after, before) {
						t.Fatalf("a refused put changed the files: %v, was %v", after, before)
					}
					if s.want == packages.KindNotFound && packages.PublicMessage(err, "") != "Version not found." {
						t.Errorf("message %q", packages.PublicMessage(err, ""))
					}
				} else {
					if res.PackageCreated || res.VersionCreated || res.Replaced != s.replaced || res.Unchanged != s.unchanged {
						t.Fatalf("result %+v", res)
					}
					if after[s.file] != res.File.Digest || res.File.Name != s.file {
						t.Fatalf("file %s is %s, result says %+v", s.file, after[s.file], res.File)
					}
				}
				gotEvents := len(actions(t, env, pid)) - events
				if s.event != (gotEvents == 1) || gotEvents > 1 {
					t.Fatalf("%d new events, want event %v", gotEvents, s.event)
				}
				if s.event {
					ev := lastEvent(t, env, pid)
					if ev.Action != packages.ActionFilePut || ev.VersionID != vid || !ev.CreatedAt.Equal(env.Clock.Now()) {
						t.Fatalf("event %+v", ev)
					}
				}
				if changed := revision(t, env, pid) != rev; changed != s.event {
					t.Fatalf("revision changed %v, want %v", changed, s.event)
				}
			})
		}
		if _, v, err := env.Service.GetVersionByName(ctx, a, r, "1.0", packages.ViaREST); err != nil || !v.UpdatedAt.Equal(env.Clock.Now().Add(-time.Minute)) {
			t.Fatalf("version updated at %v (%v), want the last change's time", v, err)
		}

		t.Run("the blob store decides the size", func(t *testing.T) {
			f := putBlob(t, env, "sized.txt", "12345")
			f.Size = 99
			res, err := env.Service.PutFile(ctx, a, packages.PutFileRequest{Package: r, Version: "1.0", File: f, Repository: "alice/lib"})
			must(t, err)
			if res.File.Size != 5 {
				t.Fatalf("size %d, want 5", res.File.Size)
			}
		})

		t.Run("a blob never uploaded", func(t *testing.T) {
			f := packages.File{Name: "ghost.jar", Digest: fakeDigest("never uploaded")}
			_, err := env.Service.PutFile(ctx, a, packages.PutFileRequest{Package: r, Version: "3.0", CreateVersion: true, File: f, Repository: "alice/lib"})
			wantKind(t, err, packages.KindInvalid)
			_, _, err = env.Service.GetVersionByName(ctx, a, r, "3.0", packages.ViaREST)
			wantKind(t, err, packages.KindNotFound) // nothing was created
			f.Digest = "sha256:nothex"
			_, err = env.Service.PutFile(ctx, a, packages.PutFileRequest{Package: r, Version: "1.0", File: f, Repository: "alice/lib"})
			wantKind(t, err, packages.KindInvalid)
		})

		t.Run("invalid requests", func(t *testing.T) {
			for _, c := range []struct{ version, file string }{
				{"", "a.jar"}, {"  ", "a.jar"}, {"1.0", ""}, {"1.0", "."}, {"1.0", ".."}, {"1.0", "a/b.jar"},
				{"1.0", `a\b.jar`}, {"1.0", "a\x00.jar"}, {"1.0", "a\n.jar"},
			} {
				f := putBlob(t, env, c.file, "x")
				_, err := env.Service.PutFile(ctx, a, packages.PutFileRequest{Package: r, Version: c.version, CreateVersion: true, File: f, Repository: "alice/lib"})
				wantKind(t, err, packages.KindInvalid)
			}
		})

		t.Run("missing package", func(t *testing.T) {
			f := putBlob(t, env, "x.jar", "x")
			_, err := env.Service.PutFile(ctx, a, packages.PutFileRequest{Package: ref("alice", packages.TypeMaven, "com.example:none"),
				Version: "1.0", File: f, Repository: "alice/lib"})
			wantMessage(t, err, packages.KindNotFound, packages.MsgPackageNotFound)
		})

		t.Run("through another repository", func(t *testing.T) {
			for _, create := range []bool{false, true} {
				f := putBlob(t, env, "x.jar", "x")
				_, err := env.Service.PutFile(ctx, a, packages.PutFileRequest{Package: r, Version: "1.0", CreateVersion: create, File: f, Repository: "alice/other"})
				wantKind(t, err, packages.KindForbidden)
			}
		})

		t.Run("a new maven package needs its repository", func(t *testing.T) {
			f := putBlob(t, env, "x.jar", "x")
			_, err := env.Service.PutFile(ctx, a, packages.PutFileRequest{Package: ref("alice", packages.TypeMaven, "com.example:norepo"),
				Version: "1.0", CreateVersion: true, File: f})
			wantKind(t, err, packages.KindNotFound)
		})
	})
}

func TestDeleteFile(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		env.User("alice")
		env.Repo("alice/lib", packages.Public)
		env.Repo("alice/other", packages.Public)
		a := env.Actor(env.Token("alice", allScopes))
		r := ref("alice", packages.TypeNuGet, "Lib")
		pub := publishReq(t, env, a, packages.PublishRequest{Package: r, Version: "1.0.0", Repository: "alice/lib",
			Files: []packages.File{putBlob(t, env, "lib.1.0.0.nupkg", "nupkg")}})
		pid, vid := pub.Package.ID, pub.Version.ID
		snupkg := putBlob(t, env, "lib.1.0.0.snupkg", "symbols")
		_, err := env.Service.PutFile(ctx, a, packages.PutFileRequest{Package: r, Version: "1.0.0", File: snupkg})
		must(t, err)

		env.Clock.Advance(time.Minute)
		rev := revision(t, env, pid)
		del := func(version, name string) error {
			return env.Service.DeleteFile(ctx, a, packages.DeleteFileRequest{Package: r, Version: version, Name: name})
		}
		must(t, del("1.0.0", "lib.1.0.0.snupkg"))
		if got := fileDigests(t, env, vid); len(got) != 1 || got["lib.1.0.0.nupkg"] == "" {
			t.Fatalf("files %v, want only the nupkg", got)
		}
		_, err = env.Service.VersionFile(ctx, a, r, "1.0.0", "lib.1.0.0.snupkg")
		wantMessage(t, err, packages.KindNotFound, "File not found.")
		if got := revision(t, env, pid); got == rev {
			t.Errorf("revision stayed %d", got)
		}
		ev := lastEvent(t, env, pid)
		if ev.Action != packages.ActionFileDelete || ev.VersionID != vid || !ev.CreatedAt.Equal(env.Clock.Now()) {
			t.Fatalf("event %+v", ev)
		}
		var detail struct{ Name, Digest string }
		must(t, json.Unmarshal([]byte(ev.Detail), &detail))
		if detail.Name != "lib.1.0.0.snupkg" || detail.Digest != snupkg.Digest {
			t.Errorf("event detail %s", ev.Detail)
		}
		// The deleted file's blob is freed after the grace period.
		env.Clock.Advance(2 * time.Hour)
		rep, err := env.Service.Purge(ctx, false)
		must(t, err)
		if got := blobDigests(rep.Blobs); !slices.Equal(got, []string{snupkg.Digest}) {
			t.Fatalf("freed %v, want %s", got, snupkg.Digest)
		}

		wantMessage(t, del("1.0.0", "lib.1.0.0.snupkg"), packages.KindNotFound, "File not found.")
		wantMessage(t, del("9.9.9", "lib.1.0.0.nupkg"), packages.KindNotFound, "Version not found.")
		wantKind(t, env.Service.DeleteFile(ctx, a, packages.DeleteFileRequest{Package: ref("alice", packages.TypeNuGet, "none"),
			Version: "1.0.0", Name: "lib.1.0.0.nupkg"}), packages.KindNotFound)

		// The last file may go; the version stays.
		must(t, del("1.0.0", "lib.1.0.0.nupkg"))
		if _, _, err := env.Service.GetVersionByName(ctx, a, r, "1.0.0", packages.ViaREST); err != nil {
			t.Fatalf("version gone with its files: %v", err)
		}
		if got := fileDigests(t, env, vid); len(got) != 0 {
			t.Fatalf("files %v", got)
		}

		t.Run("through another repository", func(t *testing.T) {
			mr := ref("alice", packages.TypeMaven, "com.example:lib")
			p := publishReq(t, env, a, packages.PublishRequest{Package: mr, Version: "1.0", Repository: "alice/lib",
				Files: []packages.File{putBlob(t, env, "lib.jar", "jar")}})
			wantKind(t, env.Service.DeleteFile(ctx, a, packages.DeleteFileRequest{Package: mr, Version: "1.0", Name: "lib.jar", Repository: "alice/other"}),
				packages.KindForbidden)
			must(t, env.Service.DeleteFile(ctx, a, packages.DeleteFileRequest{Package: mr, Version: "1.0", Name: "lib.jar", Repository: "alice/lib"}))
			if got := fileDigests(t, env, p.Version.ID); len(got) != 0 {
				t.Fatalf("files %v", got)
			}
		})

		t.Run("download limit", func(t *testing.T) {
			// A public version over the limit keeps its files, as it
			// cannot be deleted; replacing one is still a publish.
			svc := packages.NewService(env.Store, env.Blobs, packages.Options{Specs: packages.BuiltinSpecs(), DownloadLimit: 10, Now: env.Clock.Now})
			pr := ref("alice", packages.TypeNuGet, "Popular")
			p := publishReq(t, env, a, packages.PublishRequest{Package: pr, Version: "1.0.0", Repository: "alice/lib",
				Files: []packages.File{putBlob(t, env, "p.nupkg", "popular"), putBlob(t, env, "p.snupkg", "symbols")}})
			must(t, svc.DeleteFile(ctx, a, packages.DeleteFileRequest{Package: pr, Version: "1.0.0", Name: "p.snupkg"}))
			bumpDownloads(t, env, p.Package.ID, p.Version.ID, 11)
			wantMessage(t, svc.DeleteFile(ctx, a, packages.DeleteFileRequest{Package: pr, Version: "1.0.0", Name: "p.nupkg"}),
				packages.KindInvalid, packages.MsgTooManyDownloads)
			_, err := svc.PutFile(ctx, a, packages.PutFileRequest{Package: pr, Version: "1.0.0", File: putBlob(t, env, "p.nupkg", "v2"), IfExists: packages.FileReplace})
			must(t, err)
			if got := fileDigests(t, env, p.Version.ID); len(got) != 1 {
				t.Fatalf("files %v", got)
			}
		})
	})
}

// TestFileOperationPermissions applies the permission matrix to the file
// operations: each is a write (write:packages, plus repo for the
// repository-scoped types; delete:packages neither needed nor enough),
// with 401 for anonymous callers, 404 for what the caller may not see and
// 403 for what it sees but may not change.
// createRefused lists the package/caller pairs of TestFileOperationPermissions
// where the caller, who may not see the package, may not create packages
// in its owner's namespace either.
var createRefused = map[string]bool{"priv/bob": true, "org-internal/bob": true}

func TestFileOperationPermissions(t *testing.T) {
	t.Parallel()
	const (
		rd  = "read:packages"
		wr  = "write:packages"
		del = "delete:packages"
	)
	npm, maven := packages.TypeNpm, packages.TypeMaven
	const (
		opPut     = "put"     // a new file into an existing version
		opCreate  = "create"  // a file into a new version
		opReplace = "replace" // another content for an existing file
		opDelete  = "delete"  // an existing file
	)
	fileOps := []string{opPut, opCreate, opReplace, opDelete}
	// The packages of the world, with the owner (or org admin) who sets
	// them up, their existing version and their repository.
	type target struct {
		ref           packages.PackageRef
		admin         string
		version, repo string
	}
	targets := map[string]target{
		"priv":           {ref("alice", npm, "priv"), "alice", "1.0.0", ""},
		"pub":            {ref("alice", npm, "pub"), "alice", "1.0.0", ""},
		"org-priv":       {ref("acme", npm, "org-priv"), "oadmin", "1.0.0", ""},
		"org-internal":   {ref("acme", npm, "org-internal"), "oadmin", "1.0.0", ""},
		"com.x:lib":      {ref("alice", maven, "com.x:lib"), "alice", "1.0", "alice/lib"},
		"com.x:open":     {ref("alice", maven, "com.x:open"), "alice", "1.0", "alice/pub"},
		"com.acme:inner": {ref("acme", maven, "com.acme:inner"), "oadmin", "1.0", "acme/inner"},
	}
	cases := []struct {
		pkg    string
		user   string // "" is anonymous
		scopes string
		repo   string // the repository the request names, when not the package's
		want   packages.Kind
	}{
		// Scopes: write:packages, not delete:packages.
		{"priv", "alice", wr, "", ok},
		{"priv", "alice", rd, "", packages.KindForbidden},
		{"priv", "alice", rd + "," + del, "", packages.KindForbidden},
		{"priv", "alice", "", "", packages.KindForbidden},
		{"priv", "", "", "", packages.KindUnauthenticated},
		{"pub", "", "", "", packages.KindUnauthenticated},
		// Strangers: 404 for the private, 403 for the public.
		{"priv", "bob", allScopes, "", packages.KindNotFound},
		{"pub", "bob", allScopes, "", packages.KindForbidden},
		// Package grants: write or admin.
		{"priv", "carol", allScopes, "", packages.KindForbidden},
		{"priv", "carolw", allScopes, "", ok},
		{"priv", "carola", allScopes, "", ok},
		// Organizations.
		{"org-priv", "oadmin", allScopes, "", ok},
		{"org-priv", "mem", allScopes, "", packages.KindNotFound},
		{"org-internal", "mem", allScopes, "", packages.KindForbidden},
		{"org-internal", "bob", allScopes, "", packages.KindNotFound},
		// Repository-scoped: the repo scope and the repository's roles.
		{"com.x:lib", "alice", allScopes, "", ok},
		{"com.x:lib", "alice", wr, "", packages.KindForbidden},
		{"com.x:lib", "alice", rd + ",repo", "", packages.KindForbidden},
		{"com.x:lib", "writer", allScopes, "", ok},
		{"com.x:lib", "reader", allScopes, "", packages.KindForbidden},
		{"com.x:lib", "bob", allScopes, "", packages.KindNotFound},
		{"com.x:lib", "", "", "", packages.KindUnauthenticated},
		{"com.x:lib", "alice", allScopes, "alice/pub", packages.KindForbidden},
		{"com.x:open", "bob", allScopes, "", packages.KindForbidden},
		{"com.acme:inner", "mem", allScopes, "", packages.KindForbidden},
		{"com.acme:inner", "bob", allScopes, "", packages.KindNotFound},
		{"com.acme:inner", "oadmin", allScopes, "", ok},
	}
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		w := newWorld(t, env)
		for i, c := range cases {
			tg := targets[c.pkg]
			repo := tg.repo
			if c.repo != "" {
				repo = c.repo
			}
			admin := w.actor(tg.admin, allScopes)
			for _, op := range fileOps {
				user := c.user
				if user == "" {
					user = "anonymous"
				}
				t.Run(fmt.Sprintf("%02d/%s/%s/%s[%s]", i, user, op, c.pkg, c.scopes), func(t *testing.T) {
					// The file the operation finds, put by the package's
					// admin.
					name := fmt.Sprintf("file-%d-%s", i, op)
					orig := putBlob(t, env, name, "original "+name)
					_, err := env.Service.PutFile(ctx, admin, packages.PutFileRequest{Package: tg.ref, Version: tg.version, File: orig, Repository: tg.repo})
					must(t, err)

					a := w.actor(c.user, c.scopes)
					version, wantDigest := tg.version, orig.Digest
					switch op {
					case opPut, opCreate, opReplace:
						f := putBlob(t, env, name, "new "+name)
						policy := packages.FileReplace
						if op == opPut {
							f.Name = name + ".sha1"
							policy = packages.FileConflict
						}
						if op == opCreate {
							version = fmt.Sprintf("9.%d", i)
						}
						_, err = env.Service.PutFile(ctx, a, packages.PutFileRequest{Package: tg.ref, Version: version, CreateVersion: op == opCreate,
							File: f, IfExists: policy, Repository: repo})
						name = f.Name
						if c.want == ok {
							wantDigest = f.Digest
						} else if op != opReplace {
							wantDigest = ""
						}
					case opDelete:
						err = env.Service.DeleteFile(ctx, a, packages.DeleteFileRequest{Package: tg.ref, Version: version, Name: name, Repository: repo})
						if c.want == ok {
							wantDigest = ""
						}
					}
					want := c.want
					if op == opCreate && want == packages.KindNotFound && createRefused[tg.ref.Name+"/"+c.user] {
						// A package the caller may not see answers as a
						// free name: one it may not create in that
						// namespace.
						want = packages.KindForbidden
					}
					wantKind(t, err, want)

					// What the package's admin reads back.
					got, err := env.Service.VersionFile(ctx, admin, tg.ref, version, name)
					gotDigest := ""
					if err == nil {
						gotDigest = got.Digest
					} else if !packages.IsNotFound(err) {
						t.Fatal(err)
					}
					if gotDigest != wantDigest {
						t.Fatalf("file %s@%s is %q after the operation, want %q", name, version, gotDigest, wantDigest)
					}
				})
			}
		}
	})
}

func TestVersionFile(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		w := newWorld(t, env)
		for _, c := range []struct {
			user          string
			pkg           packages.PackageRef
			version, file string
			want          packages.Kind
		}{
			{"", ref("alice", packages.TypeNpm, "pub"), "1.0.0", "file", ok},
			{"bob", ref("alice", packages.TypeNpm, "pub"), "1.0.0", "file", ok},
			{"", ref("alice", packages.TypeNpm, "priv"), "1.0.0", "file", packages.KindNotFound}, // as missing
			{"bob", ref("alice", packages.TypeNpm, "priv"), "1.0.0", "file", packages.KindNotFound},
			{"carol", ref("alice", packages.TypeNpm, "priv"), "1.0.0", "file", ok},
			{"reader", ref("alice", packages.TypeMaven, "com.x:lib"), "1.0", "file", ok},
			{"alice", ref("alice", packages.TypeNpm, "priv"), "2.0.0", "file", packages.KindNotFound},
			{"alice", ref("alice", packages.TypeNpm, "priv"), "1.0.0", "nope", packages.KindNotFound},
		} {
			t.Run(fmt.Sprintf("%s/%s@%s/%s", c.user, c.pkg.Name, c.version, c.file), func(t *testing.T) {
				f, err := env.Service.VersionFile(ctx, w.actor(c.user, allScopes), c.pkg, c.version, c.file)
				wantKind(t, err, c.want)
				if err == nil && (f.Name != c.file || readBlob(t, env, f.Digest) != c.pkg.String()+"@"+c.version) {
					t.Fatalf("file %+v", f)
				}
			})
		}
	})
}
