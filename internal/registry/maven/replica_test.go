package maven

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

// TestReplicaMetadata checks that the maven-metadata.xml documents (and
// their checksums) a replica serves from its cache follow each change
// another replica makes, on the very next read. The clock stands still, so
// nothing but the package's revision tells the documents apart.
func TestReplicaMetadata(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		a := newFixture(t, env, Options{})
		replica := env.Replica()
		b := &fixture{t: t, env: replica, alice: a.alice,
			front: testenv.Serve(t, func(string) http.Handler { return New(replica.Service, Options{}) })}
		// metadata reads a maven-metadata.xml from b and checks that its
		// .sha1 is of the body served.
		metadata := func(path string) string {
			t.Helper()
			r := b.do("GET", path, a.alice, nil)
			b.want(r, http.StatusOK, "<metadata")
			b.want(b.do("GET", path+".sha1", a.alice, nil), http.StatusOK, sha1Hex([]byte(r.body)))
			return r.body
		}
		has := func(doc string, want, notWant []string) {
			t.Helper()
			for _, w := range want {
				if !strings.Contains(doc, w) {
					t.Fatalf("metadata lacks %s:\n%s", w, doc)
				}
			}
			for _, w := range notWant {
				if strings.Contains(doc, w) {
					t.Fatalf("metadata still has %s:\n%s", w, doc)
				}
			}
		}
		art := libDir + "maven-metadata.xml"

		a.deployRelease("1.0")
		has(metadata(art), []string{"<version>1.0</version>"}, nil)
		has(metadata(art), []string{"<version>1.0</version>"}, nil) // from the cache
		a.deployRelease("1.1")
		has(metadata(art), []string{"<version>1.0</version>", "<version>1.1</version>", "<release>1.1</release>"}, nil)

		snap := libDir + "2.0-SNAPSHOT/"
		a.deploy(snap, "lib-2.0-20240102.030401-1.jar", []byte("build 1"))
		has(metadata(snap+"maven-metadata.xml"), []string{"<buildNumber>1</buildNumber>"}, nil)
		a.deploy(snap, "lib-2.0-20240102.030402-2.jar", []byte("build 2"))
		has(metadata(snap+"maven-metadata.xml"), []string{"<buildNumber>2</buildNumber>"}, []string{"<buildNumber>1</buildNumber>"})
		b.want(b.do("GET", snap+"lib-2.0-SNAPSHOT.jar", a.alice, nil), http.StatusOK, "build 2")

		// A file of a build deleted on a: the newest build left is 1.
		ctx := context.Background()
		actor := a.env.Actor(a.alice)
		ref := packages.PackageRef{Owner: "alice", Type: packages.TypeMaven, Name: "com.example.lib"}
		for _, name := range []string{"lib-2.0-20240102.030402-2.jar"} {
			if err := a.env.Service.DeleteFile(ctx, actor, packages.DeleteFileRequest{Package: ref, Version: "2.0-SNAPSHOT", Name: name, Repository: "alice/libs"}); err != nil {
				t.Fatalf("delete %s: %v", name, err)
			}
		}
		has(metadata(snap+"maven-metadata.xml"), []string{"<buildNumber>1</buildNumber>"}, []string{"<buildNumber>2</buildNumber>"})
		b.want(b.do("GET", snap+"lib-2.0-SNAPSHOT.jar", a.alice, nil), http.StatusOK, "build 1")

		// A release deleted on a.
		_, v, err := a.env.Service.GetVersionByName(ctx, actor, ref, "1.0", packages.ViaREST)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.env.Service.DeleteVersion(ctx, actor, ref, v.ID, packages.ViaREST); err != nil {
			t.Fatal(err)
		}
		has(metadata(art), []string{"<version>1.1</version>"}, []string{"<version>1.0</version>"})
		b.want(b.do("GET", libDir+"1.0/lib-1.0.jar", a.alice, nil), http.StatusNotFound, "")
		if err := a.env.Service.RestoreVersion(ctx, actor, ref, v.ID, packages.ViaREST); err != nil {
			t.Fatal(err)
		}
		has(metadata(art), []string{"<version>1.0</version>", "<version>1.1</version>"}, nil)
	})
}
