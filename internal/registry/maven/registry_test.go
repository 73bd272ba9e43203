package maven

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

// fixture is the registry over a real service: alice owns the private
// repository alice/libs and the public alice/open; bob is a stranger,
// carol a read collaborator of alice/libs.
type fixture struct {
	t     *testing.T
	env   *testenv.Env
	front *testenv.Front
	alice string // every scope
	bob   string
	carol string
	read  string // alice, read:packages and repo only
}

func newFixture(t *testing.T, env *testenv.Env, opts Options) *fixture {
	t.Helper()
	env.User("alice")
	env.User("bob")
	env.User("carol")
	env.Repo("alice/libs", packages.Private)
	env.Repo("alice/open", packages.Public)
	if err := env.Service.AddCollaborator(context.Background(), "alice/libs", "carol", packages.RoleRead); err != nil {
		t.Fatal(err)
	}
	front := testenv.Serve(t, func(string) http.Handler { return New(env.Service, opts) })
	// Downloads are counted in the background: write them before the
	// store closes.
	t.Cleanup(func() { env.Service.Close() })
	return &fixture{t: t, env: env, front: front,
		alice: env.Token("alice", testenv.AllScopes), bob: env.Token("bob", testenv.AllScopes),
		carol: env.Token("carol", testenv.AllScopes), read: env.Token("alice", testenv.ReadScopes)}
}

type resp struct {
	status int
	header http.Header
	body   string
}

// do sends a request with the token as Basic password, as mvn does.
func (f *fixture) do(method, path, token string, body []byte) resp {
	f.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	return f.doStream(method, path, token, rd)
}

// doStream sends a body of unknown length (chunked) unless it is a
// *bytes.Reader.
func (f *fixture) doStream(method, path, token string, rd io.Reader) resp {
	f.t.Helper()
	req := testenv.Request{Method: method, Path: path, Body: rd}
	if token != "" {
		req.Auth = testenv.Basic("maven", token)
	}
	r := f.front.Do(req)
	return resp{status: r.Status, header: r.Header, body: string(r.Body)}
}

func (f *fixture) want(r resp, status int, contains string) {
	f.t.Helper()
	if r.status != status || !strings.Contains(r.body, contains) {
		f.t.Fatalf("status %d, want %d with %q: %s", r.status, status, contains, r.body)
	}
}

func (f *fixture) put(path, token string, body []byte, status int) {
	f.t.Helper()
	f.want(f.do("PUT", path, token, body), status, "")
}

func pomOf(group, artifact, version string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>` + group + `</groupId><artifactId>` + artifact + `</artifactId><version>` + version + `</version></project>
`)
}

func sha1Hex(b []byte) string { s := sha1.Sum(b); return hex.EncodeToString(s[:]) }

// deploy PUTs a file with its .sha1 and .md5, as mvn does.
func (f *fixture) deploy(dir, name string, body []byte) {
	f.t.Helper()
	f.put(dir+name, f.alice, body, http.StatusCreated)
	f.put(dir+name+".sha1", f.alice, []byte(sha1Hex(body)), http.StatusCreated)
	m := md5.Sum(body)
	f.put(dir+name+".md5", f.alice, []byte(hex.EncodeToString(m[:])+"  "+name), http.StatusCreated)
}

const libDir = "/maven/alice/libs/com/example/lib/"

// deployRelease deploys com.example:lib:VERSION's jar and pom.
func (f *fixture) deployRelease(version string) []byte {
	f.t.Helper()
	jar := []byte("jar of " + version)
	f.deploy(libDir+version+"/", "lib-"+version+".jar", jar)
	f.deploy(libDir+version+"/", "lib-"+version+".pom", pomOf("com.example", "lib", version))
	return jar
}

func TestDeployAndResolve(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		f := newFixture(t, env, Options{})
		jar := f.deployRelease("1.0")
		f.deployRelease("1.2")
		f.deployRelease("1.10")
		f.deploy(libDir+"1.0/", "lib-1.0-sources.jar", []byte("sources"))
		f.deploy(libDir+"1.0/", "lib-1.0.module", []byte(`{"formatVersion":"1.1"}`))

		r := f.do("GET", libDir+"1.0/lib-1.0.jar", f.alice, nil)
		f.want(r, 200, string(jar))
		if ct := r.header.Get("Content-Type"); ct != "application/java-archive" {
			t.Fatalf("content type %q", ct)
		}
		if r := f.do("HEAD", libDir+"1.0/lib-1.0.jar", f.alice, nil); r.status != 200 || r.header.Get("Content-Length") != fmt.Sprint(len(jar)) || r.body != "" {
			t.Fatalf("HEAD: %d %v %q", r.status, r.header, r.body)
		}
		s1, s5, s256, s512 := sha1.Sum(jar), md5.Sum(jar), sha256.Sum256(jar), sha512.Sum512(jar)
		for ext, want := range map[string][]byte{".sha1": s1[:], ".md5": s5[:], ".sha256": s256[:], ".sha512": s512[:]} {
			f.want(f.do("GET", libDir+"1.0/lib-1.0.jar"+ext, f.alice, nil), 200, hex.EncodeToString(want))
		}
		f.want(f.do("GET", libDir+"1.0/lib-1.0.module", f.alice, nil), 200, "formatVersion")

		// The artifact's metadata, in Maven's order, and its checksums.
		r = f.do("GET", libDir+"maven-metadata.xml", f.alice, nil)
		f.want(r, 200, "<versions>\n      <version>1.0</version>\n      <version>1.2</version>\n      <version>1.10</version>\n    </versions>")
		f.want(r, 200, "<latest>1.10</latest>")
		f.want(r, 200, "<release>1.10</release>")
		f.want(r, 200, "<groupId>com.example</groupId>")
		s := sha1.Sum([]byte(r.body))
		f.want(f.do("GET", libDir+"maven-metadata.xml.sha1", f.alice, nil), 200, hex.EncodeToString(s[:]))

		// The REST API sees the package, linked to its repository.
		pi, vs, err := env.Service.ListAllVersions(context.Background(), env.Actor(f.alice),
			packages.PackageRef{Owner: "alice", Type: packages.TypeMaven, Name: "com.example.lib"})
		if err != nil || len(vs) != 3 || pi.Repository == nil || pi.Repository.Name != "libs" {
			t.Fatalf("service view: %v %+v %d", err, pi, len(vs))
		}

		// Listings.
		f.want(f.do("GET", libDir, f.alice, nil), 200, `<a href="1.10/">1.10/</a>`)
		f.want(f.do("GET", libDir+"1.0/", f.alice, nil), 200, `<a href="lib-1.0-sources.jar.sha256">`)
		f.want(f.do("GET", "/maven/alice/libs/com/", f.alice, nil), 404, "")
	})
}

func TestReleasesAreImmutable(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		f := newFixture(t, env, Options{})
		f.deployRelease("1.0")
		// The same bytes again are fine: a deploy that is run twice.
		f.put(libDir+"1.0/lib-1.0.jar", f.alice, []byte("jar of 1.0"), http.StatusOK)
		f.want(f.do("PUT", libDir+"1.0/lib-1.0.jar", f.alice, []byte("other")), 409, "cannot be redeployed")
		f.want(f.do("GET", libDir+"1.0/lib-1.0.jar", f.alice, nil), 200, "jar of 1.0")
		// New files may join a release.
		f.put(libDir+"1.0/lib-1.0-javadoc.jar", f.alice, []byte("docs"), http.StatusCreated)

		g := newFixture(t, testenv.New(t, "sqlite"), Options{AllowRedeploy: true})
		g.deployRelease("1.0")
		g.put(libDir+"1.0/lib-1.0.jar", g.alice, []byte("other"), http.StatusOK)
		g.want(g.do("GET", libDir+"1.0/lib-1.0.jar", g.alice, nil), 200, "other")
	})
}

func TestSnapshots(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		f := newFixture(t, env, Options{SnapshotRetention: 2})
		dir := libDir + "2.0-SNAPSHOT/"
		// Nothing yet: mvn asks first, to number its build.
		f.want(f.do("GET", dir+"maven-metadata.xml", f.alice, nil), 404, "")
		for n := 1; n <= 3; n++ {
			v := fmt.Sprintf("2.0-20240102.03040%d-%d", n, n)
			f.deploy(dir, "lib-"+v+".jar", []byte("build "+fmt.Sprint(n)))
			f.deploy(dir, "lib-"+v+".pom", pomOf("com.example", "lib", "2.0-SNAPSHOT"))
			f.deploy(dir, "lib-"+v+"-sources.jar", []byte("sources "+fmt.Sprint(n)))
			f.put(dir+"maven-metadata.xml", f.alice, renderVersionMetadata("com.example", "lib", "2.0-SNAPSHOT",
				snapshotState{latest: &build{timestamp: "20240102.03040" + fmt.Sprint(n), number: n}}), http.StatusCreated)
			env.Clock.Advance(time.Second)
		}
		r := f.do("GET", dir+"maven-metadata.xml", f.alice, nil)
		f.want(r, 200, "<timestamp>20240102.030403</timestamp>\n      <buildNumber>3</buildNumber>")
		f.want(r, 200, "<classifier>sources</classifier>\n        <extension>jar</extension>\n        <value>2.0-20240102.030403-3</value>")
		f.want(r, 200, "<extension>pom</extension>\n        <value>2.0-20240102.030403-3</value>")
		// X-SNAPSHOT resolves to the newest build, also its checksums.
		f.want(f.do("GET", dir+"lib-2.0-SNAPSHOT.jar", f.alice, nil), 200, "build 3")
		f.want(f.do("GET", dir+"lib-2.0-SNAPSHOT-sources.jar", f.alice, nil), 200, "sources 3")
		f.want(f.do("GET", dir+"lib-2.0-SNAPSHOT.jar.sha1", f.alice, nil), 200, sha1Hex([]byte("build 3")))
		// Retention kept builds 2 and 3.
		f.want(f.do("GET", dir+"lib-2.0-20240102.030401-1.jar", f.alice, nil), 404, "")
		f.want(f.do("GET", dir+"lib-2.0-20240102.030401-1.pom", f.alice, nil), 404, "")
		f.want(f.do("GET", dir+"lib-2.0-20240102.030402-2.jar", f.alice, nil), 200, "build 2")
		// One package version holds every build.
		r = f.do("GET", libDir+"maven-metadata.xml", f.alice, nil)
		f.want(r, 200, "<versions>\n      <version>2.0-SNAPSHOT</version>\n    </versions>")
		f.want(r, 200, "<latest>2.0-SNAPSHOT</latest>")
		if strings.Contains(r.body, "<release>") {
			t.Fatalf("a SNAPSHOT is not a release: %s", r.body)
		}
		// A SNAPSHOT's file may be replaced.
		f.put(dir+"lib-2.0-20240102.030403-3.jar", f.alice, []byte("rebuilt"), http.StatusOK)
		f.want(f.do("GET", dir+"lib-2.0-SNAPSHOT.jar", f.alice, nil), 200, "rebuilt")
	})
}

// Retention off keeps every build.
func TestSnapshotsKeptWithoutRetention(t *testing.T) {
	env := testenv.New(t, "sqlite")
	f := newFixture(t, env, Options{})
	dir := libDir + "2.0-SNAPSHOT/"
	for n := 1; n <= 4; n++ {
		f.deploy(dir, fmt.Sprintf("lib-2.0-20240102.030400-%d.jar", n), []byte(fmt.Sprint(n)))
	}
	for n := 1; n <= 4; n++ {
		f.want(f.do("GET", dir+fmt.Sprintf("lib-2.0-20240102.030400-%d.jar", n), f.alice, nil), 200, fmt.Sprint(n))
	}
}

// A delete through the service vanishes from maven-metadata.xml at once,
// and a restore brings the version back.
func TestDeleteAndRestoreShowInMetadata(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		f := newFixture(t, env, Options{})
		f.deployRelease("1.0")
		f.deployRelease("1.1")
		f.want(f.do("GET", libDir+"maven-metadata.xml", f.alice, nil), 200, "<version>1.1</version>")
		ctx := context.Background()
		a := env.Actor(f.alice)
		ref := packages.PackageRef{Owner: "alice", Scope: packages.UserPath, Type: packages.TypeMaven, Name: "com.example.lib"}
		_, v, err := env.Service.GetVersionByName(ctx, a, ref, "1.1", packages.ViaREST)
		if err != nil {
			t.Fatal(err)
		}
		if err := env.Service.DeleteVersion(ctx, a, ref, v.ID, packages.ViaREST); err != nil {
			t.Fatal(err)
		}
		r := f.do("GET", libDir+"maven-metadata.xml", f.alice, nil)
		if r.status != 200 || strings.Contains(r.body, "1.1") {
			t.Fatalf("metadata after delete: %d %s", r.status, r.body)
		}
		f.want(f.do("GET", libDir+"1.1/lib-1.1.jar", f.alice, nil), 404, "")
		if err := env.Service.RestoreVersion(ctx, a, ref, v.ID, packages.ViaREST); err != nil {
			t.Fatal(err)
		}
		f.want(f.do("GET", libDir+"maven-metadata.xml", f.alice, nil), 200, "<latest>1.1</latest>")
		f.want(f.do("GET", libDir+"1.1/lib-1.1.jar", f.alice, nil), 200, "jar of 1.1")
	})
}

// Two deploys of different versions at once both end up listed, whatever
// the metadata each client uploads.
func TestConcurrentDeploys(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		f := newFixture(t, env, Options{})
		var wg sync.WaitGroup
		// The first deploys of a package: both create it.
		for _, v := range []string{"0.9", "1.0", "2.0"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				jar := []byte("jar " + v)
				for _, p := range []struct {
					path string
					body []byte
				}{
					{libDir + v + "/lib-" + v + ".jar", jar},
					{libDir + v + "/lib-" + v + ".pom", pomOf("com.example", "lib", v)},
					// Each client lists only what it knew and its own version.
					{libDir + "maven-metadata.xml", renderArtifactMetadata("com.example", "lib", []string{v}, time.Now())},
				} {
					r := f.do("PUT", p.path, f.alice, p.body)
					if r.status != http.StatusCreated {
						t.Errorf("PUT %s: %d %s", p.path, r.status, r.body)
					}
				}
			}()
		}
		wg.Wait()
		f.want(f.do("GET", libDir+"maven-metadata.xml", f.alice, nil), 200,
			"<version>0.9</version>\n      <version>1.0</version>\n      <version>2.0</version>")
	})
}

func TestBadInput(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		f := newFixture(t, env, Options{MaxFileSize: 1000})
		f.deployRelease("1.0")
		tests := []struct {
			name, method, path string
			body               []byte
			status             int
			contains           string
		}{
			{"checksum mismatch", "PUT", libDir + "1.0/lib-1.0.jar.sha1", []byte(strings.Repeat("0", 40)), 400, "does not match"},
			{"checksum not hex", "PUT", libDir + "1.0/lib-1.0.pom.md5", []byte("xyz"), 400, "hexadecimal"},
			{"checksum of a missing file", "PUT", libDir + "1.0/lib-1.0-tests.jar.sha1", []byte(strings.Repeat("0", 40)), 404, "has not been deployed"},
			{"encoded dot segment", "PUT", "/maven/alice/libs/com/%2e%2e/lib/1.0/lib-1.0.jar", []byte("x"), 400, ". or .."},
			{"dot segment", "PUT", "/maven/alice/libs/com/../../etc/1.0/passwd", []byte("x"), 400, ". or .."},
			{"encoded slash", "GET", "/maven/alice/libs/com/example/lib/1.0/..%2f..%2fx.jar", nil, 400, "slash"},
			{"encoded backslash", "GET", "/maven/alice/libs/com/example/lib/1.0/..%5cx.jar", nil, 400, "backslash"},
			{"file of another version", "PUT", libDir + "1.0/lib-1.1.jar", []byte("x"), 400, "does not belong"},
			{"file of another artifact", "PUT", libDir + "1.0/core-1.0.jar", []byte("x"), 400, "does not belong"},
			{"pom of another version", "PUT", libDir + "1.1/lib-1.1.pom", pomOf("com.example", "lib", "1.2"), 400, `version is "1.2"`},
			{"pom of another artifact", "PUT", libDir + "1.1/lib-1.1.pom", pomOf("com.example", "core", "1.1"), 400, `artifactId is "core"`},
			{"malformed pom", "PUT", libDir + "1.1/lib-1.1.pom", []byte("<project><artifactId>lib</project>"), 400, "not valid XML"},
			{"missing repository", "PUT", "/maven/alice/nope/com/example/other/1.0/other-1.0.jar", []byte("x"), 404, "not found"},
			{"another owner's repository", "PUT", "/maven/bob/libs/com/example/lib/1.0/lib-1.0.jar", []byte("x"), 404, ""},
			{"too large", "PUT", libDir + "1.1/lib-1.1.jar", bytes.Repeat([]byte("x"), 1001), 413, "larger"},
			{"too large, chunked", "PUT", libDir + "1.1/lib-1.1.jar", nil, 413, "larger"},
			{"malformed metadata", "PUT", libDir + "maven-metadata.xml", []byte("<metadata><versioning>"), 400, "not valid XML"},
			{"metadata of another artifact", "PUT", libDir + "maven-metadata.xml", []byte("<metadata><artifactId>core</artifactId></metadata>"), 400, "artifactId"},
			{"metadata with a bad version", "PUT", libDir + "maven-metadata.xml", []byte("<metadata><artifactId>lib</artifactId><versioning><versions><version>a b</version></versions></versioning></metadata>"), 400, "not a Maven version"},
			{"deploy to every repository", "PUT", "/maven/alice/*/com/example/lib/1.1/lib-1.1.jar", []byte("x"), 405, "for reading"},
			{"delete", "DELETE", libDir + "1.0/lib-1.0.jar", nil, 405, "REST API"},
			{"bad version", "PUT", libDir + "1..0%20/lib-1..0%20.jar", []byte("x"), 400, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f.t = t
				if strings.HasSuffix(tt.name, "chunked") {
					f.want(f.doStream(tt.method, tt.path, f.alice, io.MultiReader(bytes.NewReader(make([]byte, 600)), bytes.NewReader(make([]byte, 600)))), tt.status, tt.contains)
					return
				}
				f.want(f.do(tt.method, tt.path, f.alice, tt.body), tt.status, tt.contains)
			})
		}
		f.t = t
		// A mismatching checksum removed the file it named; nothing else of
		// the bad requests was stored.
		f.want(f.do("GET", libDir+"1.0/lib-1.0.jar", f.alice, nil), 404, "")
		f.want(f.do("GET", libDir+"1.0/lib-1.0.pom", f.alice, nil), 200, "<artifactId>lib</artifactId>")
		r := f.do("GET", libDir+"maven-metadata.xml", f.alice, nil)
		if r.status != 200 || strings.Contains(r.body, "1.1") {
			t.Fatalf("metadata after bad input: %d %s", r.status, r.body)
		}
		f.want(f.do("GET", libDir+"1.1/", f.alice, nil), 404, "")
		// Once verified, a file outlives a later wrong checksum.
		f.deploy(libDir+"1.0/", "lib-1.0.jar", []byte("jar of 1.0"))
		env.Clock.Advance(time.Hour)
		f.want(f.do("PUT", libDir+"1.0/lib-1.0.jar.sha1", f.alice, []byte(strings.Repeat("0", 40))), 400, "does not match")
		f.want(f.do("GET", libDir+"1.0/lib-1.0.jar", f.alice, nil), 200, "jar of 1.0")
	})
}

func TestAccess(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		f := newFixture(t, env, Options{})
		f.deployRelease("1.0")
		open := "/maven/alice/open/com/example/pub/"
		f.put(open+"1.0/pub-1.0.jar", f.alice, []byte("public jar"), http.StatusCreated)

		challenge := func(r resp) {
			t.Helper()
			if r.status != 401 || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Basic realm=") {
				t.Fatalf("want a Basic challenge, got %d %v %s", r.status, r.header, r.body)
			}
		}
		// Anonymous: a public repository's package is read; a private
		// one's and a missing one's alike ask for credentials.
		f.want(f.do("GET", open+"1.0/pub-1.0.jar", "", nil), 200, "public jar")
		f.want(f.do("GET", open+"maven-metadata.xml", "", nil), 200, "<release>1.0</release>")
		f.want(f.do("GET", open+"1.0/pub-1.0.jar.sha1", "", nil), 200, sha1Hex([]byte("public jar")))
		f.want(f.do("GET", open+"2.0/pub-2.0.jar", "", nil), 404, "")
		challenge(f.do("GET", libDir+"1.0/lib-1.0.jar", "", nil))
		challenge(f.do("GET", libDir+"1.0/lib-1.0.jar.sha1", "", nil))
		challenge(f.do("GET", libDir+"maven-metadata.xml", "", nil))
		challenge(f.do("GET", "/maven/alice/libs/com/example/none/1.0/none-1.0.jar", "", nil))
		challenge(f.do("GET", "/maven/alice/nope/com/example/lib/1.0/lib-1.0.jar", "", nil))
		challenge(f.do("GET", "/maven/alice/*/com/example/lib/1.0/lib-1.0.jar", "", nil))
		challenge(f.do("PUT", libDir+"1.1/lib-1.1.jar", "", []byte("x")))
		challenge(f.do("GET", libDir+"1.0/lib-1.0.jar", "not-a-token", nil))

		// Tokens: a stranger does not see the private package; a reader
		// reads it and cannot deploy; so does a read-only token.
		f.want(f.do("GET", libDir+"1.0/lib-1.0.jar", f.bob, nil), 404, "")
		f.want(f.do("PUT", libDir+"1.1/lib-1.1.jar", f.bob, []byte("x")), 404, "")
		f.want(f.do("GET", libDir+"1.0/lib-1.0.jar", f.carol, nil), 200, "jar of 1.0")
		f.want(f.do("PUT", libDir+"1.1/lib-1.1.jar", f.carol, []byte("x")), 403, "")
		f.want(f.do("PUT", libDir+"1.1/lib-1.1.jar", f.read, []byte("x")), 403, "write:packages")
		f.want(f.do("PUT", libDir+"1.0/lib-1.0.jar.sha1", f.read, []byte(sha1Hex([]byte("jar of 1.0")))), 403, "")

		// OWNER/* reads every repository; another repository's URL does
		// not serve the package.
		f.want(f.do("GET", "/maven/alice/*/com/example/lib/1.0/lib-1.0.jar", f.alice, nil), 200, "jar of 1.0")
		f.want(f.do("GET", "/maven/alice/*/com/example/lib/maven-metadata.xml", f.carol, nil), 200, "<version>1.0</version>")
		f.want(f.do("GET", "/maven/alice/*/com/example/pub/1.0/pub-1.0.jar", "", nil), 200, "public jar")
		f.want(f.do("GET", "/maven/alice/open/com/example/lib/1.0/lib-1.0.jar", f.alice, nil), 404, "")
		f.want(f.do("GET", "/maven/alice/open/com/example/lib/maven-metadata.xml", f.alice, nil), 404, "")
		// A package is deployed only through its own repository.
		f.want(f.do("PUT", "/maven/alice/open/com/example/lib/1.1/lib-1.1.jar", f.alice, []byte("x")), 403, "another repository")
	})
}

// A client's metadata listing versions the server does not hold changes
// nothing.
func TestUploadedMetadataIsReconciled(t *testing.T) {
	env := testenv.New(t, "sqlite")
	f := newFixture(t, env, Options{})
	f.deployRelease("1.0")
	before := f.do("GET", libDir+"maven-metadata.xml", f.alice, nil)
	f.put(libDir+"maven-metadata.xml", f.alice, renderArtifactMetadata("com.example", "lib", []string{"1.0", "3.0", "9.9"}, time.Now()), http.StatusCreated)
	f.put(libDir+"maven-metadata.xml.sha1", f.alice, []byte(strings.Repeat("a", 40)), http.StatusCreated)
	after := f.do("GET", libDir+"maven-metadata.xml", f.alice, nil)
	if after.status != 200 || after.body != before.body {
		t.Fatalf("metadata changed by an upload:\n%s\n%s", before.body, after.body)
	}
	// A group's plugin metadata is taken and ignored.
	f.put("/maven/alice/libs/com/example/maven-metadata.xml", f.alice,
		[]byte(`<metadata><plugins><plugin><name>X</name><prefix>x</prefix><artifactId>x-maven-plugin</artifactId></plugin></plugins></metadata>`), http.StatusCreated)
}

// An unchanged package's metadata is rendered once; a deploy, also of a
// SNAPSHOT build, renders it anew.
func TestMetadataCache(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		f := newFixture(t, env, Options{})
		h := New(env.Service, Options{}).(*handler)
		ctx := context.Background()
		a := env.Actor(f.alice)
		f.deployRelease("1.0")
		art, err := parsePath(libDir + "maven-metadata.xml")
		if err != nil {
			t.Fatal(err)
		}
		d1, err := h.artifactMetadata(ctx, a, art)
		if err != nil {
			t.Fatal(err)
		}
		if d2, err := h.artifactMetadata(ctx, a, art); err != nil || d2 != d1 {
			t.Fatalf("second read rendered again (%v)", err)
		}
		f.deployRelease("1.1")
		d3, err := h.artifactMetadata(ctx, a, art)
		if err != nil || d3 == d1 || !strings.Contains(string(d3.body), "<version>1.1</version>") {
			t.Fatalf("after a deploy: %v %s", err, d3.body)
		}

		dir := libDir + "2.0-SNAPSHOT/"
		f.deploy(dir, "lib-2.0-20240102.030401-1.jar", []byte("1"))
		ver, err := parsePath(dir + "maven-metadata.xml")
		if err != nil {
			t.Fatal(err)
		}
		v1, err := h.versionMetadata(ctx, a, ver)
		if err != nil {
			t.Fatal(err)
		}
		if v2, err := h.versionMetadata(ctx, a, ver); err != nil || v2 != v1 {
			t.Fatalf("second read of the SNAPSHOT rendered again (%v)", err)
		}
		f.deploy(dir, "lib-2.0-20240102.030402-2.jar", []byte("2"))
		if v3, err := h.versionMetadata(ctx, a, ver); err != nil || !strings.Contains(string(v3.body), "<buildNumber>2</buildNumber>") {
			t.Fatalf("after a new build: %v %s", err, v3.body)
		}
	})
}

// Maven sends every PUT with Expect: 100-continue and its credentials
// preemptively: the body is asked for only once the request is accepted,
// and a refused one is answered at once.
func TestExpectContinue(t *testing.T) {
	env := testenv.New(t, "sqlite")
	f := newFixture(t, env, Options{})
	send := func(auth string) (string, *bufio.Reader, net.Conn) {
		t.Helper()
		conn, err := net.Dial("tcp", strings.TrimPrefix(f.front.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(conn, "PUT %s1.0/lib-1.0.jar HTTP/1.1\r\nHost: x\r\n%sContent-Length: 3\r\nExpect: 100-continue\r\n\r\n", libDir, auth)
		br := bufio.NewReader(conn)
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		return line, br, conn
	}
	basic := "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("maven:"+f.alice)) + "\r\n"
	line, br, conn := send(basic)
	if !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("first answer %q, want 100 Continue", line)
	}
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if l == "\r\n" {
			break
		}
	}
	io.WriteString(conn, "jar")
	res, err := http.ReadResponse(br, nil)
	if err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("after the body: %v %v", res, err)
	}
	line, _, _ = send("")
	if !strings.HasPrefix(line, "HTTP/1.1 401") {
		t.Fatalf("without credentials: %q, want 401 before the body", line)
	}
}
