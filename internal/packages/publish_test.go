package packages_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

func TestPublishExistingVersion(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name         string
		typ          packages.Type
		version      string
		policy       packages.ExistsPolicy
		want         packages.Kind
		wantMetadata string // metadata after the second publish
	}{
		{"conflict", packages.TypeNpm, "1.0.0", packages.ExistsConflict, packages.KindConflict, `{"n":1}`},
		{"reuse", packages.TypeContainer, fakeDigest("m"), packages.ExistsReuse, ok, `{"n":1}`},
		{"replace", packages.TypeMaven, "1.0-SNAPSHOT", packages.ExistsReplace, ok, `{"n":2}`},
	}
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		env.User("alice")
		env.Repo("alice/lib", packages.Private)
		a := env.Actor(env.Token("alice", allScopes))
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := ref("alice", c.typ, "exists-"+c.name)
				file := putBlob(t, env, "file", c.name)
				req := packages.PublishRequest{Package: r, Version: c.version, Repository: "alice/lib",
					Metadata: json.RawMessage(`{"n":1}`), Files: []packages.File{file}, Tags: []string{"first"}, IfExists: c.policy}
				first := publishReq(t, env, a, req)
				if !first.PackageCreated || !first.VersionCreated {
					t.Fatalf("first publish created package %v, version %v", first.PackageCreated, first.VersionCreated)
				}
				req.Metadata, req.Tags = json.RawMessage(`{"n":2}`), []string{"second"}
				second, publishErr := env.Service.Publish(ctx, a, req)
				wantKind(t, publishErr, c.want)
				if publishErr == nil {
					if second.PackageCreated || second.VersionCreated {
						t.Fatalf("second publish created package %v, version %v", second.PackageCreated, second.VersionCreated)
					}
					if second.Version.ID != first.Version.ID {
						t.Fatalf("second publish gave version %d, want %d", second.Version.ID, first.Version.ID)
					}
				}
				_, vs, err := env.Service.ListAllVersions(ctx, a, r)
				must(t, err)
				if len(vs) != 1 || vs[0].ID != first.Version.ID {
					t.Fatalf("versions = %+v, want only %d", vs, first.Version.ID)
				}
				var got, want any
				must(t, json.Unmarshal(vs[0].Metadata, &got))
				must(t, json.Unmarshal([]byte(c.wantMetadata), &want))
				if !jsonEqual(got, want) {
					t.Errorf("metadata %s, want %s", vs[0].Metadata, c.wantMetadata)
				}
				wantTags := []string{"first", "second"}
				if publishErr != nil {
					wantTags = []string{"first"}
				}
				if !slices.Equal(vs[0].Tags, wantTags) {
					t.Errorf("tags %v, want %v", vs[0].Tags, wantTags)
				}
				files, err := env.Service.Files(ctx, first.Version.ID)
				must(t, err)
				if len(files) != 1 || files[0].Digest != file.Digest {
					t.Errorf("files %+v, want one of %s", files, file.Digest)
				}
				// Only the first publish is an event.
				if got := actions(t, env, first.Package.ID); !slices.Equal(got, []string{packages.ActionPublish}) {
					t.Errorf("events %v, want one publish", got)
				}
			})
		}

		t.Run("conflicting file of a reused version", func(t *testing.T) {
			r := ref("alice", packages.TypeContainer, "file-conflict")
			req := packages.PublishRequest{Package: r, Version: fakeDigest("fc"), IfExists: packages.ExistsReuse,
				Files: []packages.File{putBlob(t, env, "manifest", "one")}}
			publishReq(t, env, a, req)
			req.Files = []packages.File{putBlob(t, env, "manifest", "two")}
			_, err := env.Service.Publish(ctx, a, req)
			wantKind(t, err, packages.KindConflict)
		})

		t.Run("invalid version", func(t *testing.T) {
			for _, v := range []string{"", "  "} {
				_, err := env.Service.Publish(ctx, a, packages.PublishRequest{Package: ref("alice", packages.TypeNpm, "bad"), Version: v})
				wantKind(t, err, packages.KindInvalid)
			}
		})
	})
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestEvents(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		alice := env.User("alice")
		tok := env.Token("alice", allScopes)
		a := env.Actor(tok)
		r := ref("alice", packages.TypeNpm, "audited")
		vs := env.Publish(tok, r, "", "1.0.0", "2.0.0")
		pid := vs[0].PackageID
		steps := []struct {
			name string
			do   func() error
			want packages.Event
		}{
			{"delete version", func() error { return env.Service.DeleteVersion(ctx, a, r, vs[0].ID, packages.ViaREST) },
				packages.Event{Action: packages.ActionDeleteVersion, VersionID: vs[0].ID}},
			{"restore version", func() error { return env.Service.RestoreVersion(ctx, a, r, vs[0].ID, packages.ViaREST) },
				packages.Event{Action: packages.ActionRestoreVersion, VersionID: vs[0].ID}},
			{"delete package", func() error { return env.Service.DeletePackage(ctx, a, r, packages.ViaREST) },
				packages.Event{Action: packages.ActionDeletePackage}},
			{"restore package", func() error { return env.Service.RestorePackage(ctx, a, r, packages.ViaREST) },
				packages.Event{Action: packages.ActionRestorePackage}},
			{"refused delete", func() error {
				err := env.Service.DeleteVersion(ctx, env.Actor(env.Token("alice", "read:packages")), r, vs[1].ID, packages.ViaREST)
				wantKind(t, err, packages.KindForbidden)
				return nil
			}, packages.Event{}},
		}
		for _, s := range steps {
			env.Clock.Advance(time.Minute)
			must(t, s.do())
			evs, err := env.Service.Events(ctx, pid)
			must(t, err)
			last := evs[len(evs)-1]
			if s.want.Action == "" {
				if last.Action != packages.ActionRestorePackage {
					t.Fatalf("%s: recorded %+v", s.name, last)
				}
				continue
			}
			if last.Action != s.want.Action || last.VersionID != s.want.VersionID || last.PackageID != pid || last.ActorID != alice.ID {
				t.Fatalf("%s: last event %+v, want %+v by %d on package %d", s.name, last, s.want, alice.ID, pid)
			}
			if !last.CreatedAt.Equal(env.Clock.Now()) {
				t.Errorf("%s: event at %v, want the service clock %v", s.name, last.CreatedAt, env.Clock.Now())
			}
		}
		want := []string{packages.ActionPublish, packages.ActionPublish, packages.ActionDeleteVersion,
			packages.ActionRestoreVersion, packages.ActionDeletePackage, packages.ActionRestorePackage}
		if got := actions(t, env, pid); !slices.Equal(got, want) {
			t.Fatalf("events %v, want %v", got, want)
		}
		evs, err := env.Service.Events(ctx, pid)
		must(t, err)
		if evs[0].VersionID != vs[0].ID || evs[1].VersionID != vs[1].ID || evs[0].Detail != "1.0.0" {
			t.Fatalf("publish events %+v", evs[:2])
		}
	})
}

func TestRecordDownload(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		env.User("alice")
		tok := env.Token("alice", allScopes)
		a := env.Actor(tok)
		r := ref("alice", packages.TypeNpm, "counted")
		vs := env.Publish(tok, r, "", "1.0.0", "2.0.0")
		other := env.Publish(tok, ref("alice", packages.TypeNpm, "other"), "", "1.0.0")[0]
		pid := vs[0].PackageID
		downloads := []struct {
			version int64
			want    packages.Kind
		}{
			{vs[0].ID, ok},
			{vs[0].ID, ok},
			{vs[1].ID, ok},
			{0, ok}, // a package-level download, such as a metadata fetch counted by a front
			{other.ID, packages.KindNotFound},
		}
		for _, d := range downloads {
			wantKind(t, env.Service.RecordDownload(ctx, pid, d.version), d.want)
		}
		pi, err := env.Service.GetPackage(ctx, a, r, packages.OpRead, packages.ViaREST)
		must(t, err)
		if pi.DownloadCount != 4 {
			t.Errorf("package downloads %d, want 4", pi.DownloadCount)
		}
		for i, want := range []int64{2, 1} {
			_, v, err := env.Service.GetVersion(ctx, a, r, vs[i].ID, packages.ViaREST)
			must(t, err)
			if v.DownloadCount != want {
				t.Errorf("version %s downloads %d, want %d", v.Name, v.DownloadCount, want)
			}
		}
		_, v, err := env.Service.GetVersion(ctx, a, ref("alice", packages.TypeNpm, "other"), other.ID, packages.ViaREST)
		must(t, err)
		if v.DownloadCount != 0 {
			t.Errorf("other package's version counted %d downloads", v.DownloadCount)
		}
	})
}
