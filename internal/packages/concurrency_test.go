package packages_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

// TestConcurrentDeletesKeepTheLastVersion: two deletes racing for the two
// versions of a package leave one version; the last-version rule holds
// under concurrency on every database.
func TestConcurrentDeletesKeepTheLastVersion(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		env.User("octo")
		tok := env.Token("octo", "read:packages,write:packages,delete:packages")
		a := env.Actor(tok)
		for round := range 5 {
			ref := packages.PackageRef{Owner: "octo", Type: packages.TypeNpm, Name: "race" + string(rune('a'+round))}
			vs := env.Publish(tok, ref, "", "1.0.0", "2.0.0")
			var wg sync.WaitGroup
			errs := make([]error, len(vs))
			for i, v := range vs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[i] = env.Service.DeleteVersion(context.Background(), a, ref, v.ID, packages.ViaREST)
				}()
			}
			wg.Wait()
			ok := 0
			for _, err := range errs {
				switch {
				case err == nil:
					ok++
				case packages.PublicMessage(err, "") != packages.MsgLastVersion:
					t.Fatalf("round %d: unexpected error %v", round, err)
				}
			}
			if ok != 1 {
				t.Fatalf("round %d: %d deletes succeeded, want 1 (errors %v)", round, ok, errs)
			}
		}
	})
}

// TestPublishDoesNotUndoAConcurrentDelete: a publish racing a package
// delete either lands before it (and is deleted with the package) or
// fails; it never brings the deleted package back.
func TestPublishDoesNotUndoAConcurrentDelete(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		env.User("octo")
		tok := env.Token("octo", "read:packages,write:packages,delete:packages")
		a := env.Actor(tok)
		for round := range 5 {
			ref := packages.PackageRef{Owner: "octo", Type: packages.TypeNpm, Name: "pd" + string(rune('a'+round))}
			first := env.Publish(tok, ref, "", "1.0.0")[0]
			d, n, err := env.Blobs.Put(context.Background(), strings.NewReader(ref.Name), "")
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			var delErr error
			wg.Add(2)
			go func() {
				defer wg.Done()
				_, _ = env.Service.Publish(context.Background(), a, packages.PublishRequest{
					Package: ref, Version: "2.0.0",
					Files: []packages.File{{Name: "f", Digest: d, Size: n}},
				})
			}()
			go func() {
				defer wg.Done()
				delErr = env.Service.DeletePackage(context.Background(), a, ref, packages.ViaREST)
			}()
			wg.Wait()
			if delErr != nil {
				t.Fatalf("round %d: delete: %v", round, delErr)
			}
			// The package the delete removed stays deleted, whatever the
			// publish did; a publish after it made a new package.
			old, err := env.Store.GetPackageByID(context.Background(), first.PackageID)
			if err != nil {
				t.Fatal(err)
			}
			if old.DeletedAt == nil {
				t.Fatalf("round %d: the deleted package is live again", round)
			}
		}
	})
}

// TestDeleteSeesDownloadsHeldInMemory: downloads counted in memory and not
// yet written still count for the 5,000-downloads rule.
func TestDeleteSeesDownloadsHeldInMemory(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		env.User("octo")
		tok := env.Token("octo", "read:packages,write:packages,delete:packages")
		a := env.Actor(tok)
		ref := packages.PackageRef{Owner: "octo", Type: packages.TypeNpm, Name: "popular"}
		vs := env.Publish(tok, ref, "", "1.0.0", "2.0.0")
		if err := env.Service.SetPackageVisibility(context.Background(), a, ref, packages.Public); err != nil {
			t.Fatal(err)
		}
		for range 5001 {
			env.Service.CountDownload(vs[0].PackageID, vs[0].ID)
		}
		err := env.Service.DeleteVersion(context.Background(), a, ref, vs[0].ID, packages.ViaREST)
		if packages.PublicMessage(err, "") != packages.MsgTooManyDownloads {
			t.Fatalf("delete of a version with 5001 downloads in memory: %v", err)
		}
	})
}

// TestConcurrentFirstPublishes: versions published at once to a package
// that does not exist yet (the platforms of a new image) all land in the
// one package the first of them creates.
func TestConcurrentFirstPublishes(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		env.User("octo")
		a := env.Actor(env.Token("octo", "read:packages,write:packages"))
		for round := range 5 {
			ref := packages.PackageRef{Owner: "octo", Type: packages.TypeContainer, Name: "new" + string(rune('a'+round))}
			var wg sync.WaitGroup
			errs := make([]error, 4)
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					v := fakeDigest(ref.Name + string(rune('0'+i)))
					_, errs[i] = env.Service.Publish(context.Background(), a, packages.PublishRequest{
						Package: ref, Version: v, Files: []packages.File{putBlob(t, env, "manifest", v)}})
				}()
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("round %d: publish %d: %v", round, i, err)
				}
			}
			pi, vs, _, err := env.Service.ListVersions(context.Background(), a, ref, packages.Active, packages.Page{}, packages.ViaRegistry)
			if err != nil || len(vs) != len(errs) {
				t.Fatalf("round %d: %d versions in %v, %v", round, len(vs), pi, err)
			}
		}
	})
}
