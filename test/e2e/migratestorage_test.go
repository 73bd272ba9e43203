package e2e

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/store"
	"github.com/packhub/packhub/internal/store/storetest"
	"github.com/packhub/packhub/internal/testenv"
	"github.com/packhub/packhub/internal/testenv/s3server"
)

// startServerOn starts packhub serve on addr with the given environment
// and storage flags (an installation that exists already), and waits for
// /healthz. It stops the server when the test ends.
func startServerOn(t *testing.T, addr string, env []string, storage ...string) *Server {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, Bin: bin, Addr: addr, URL: "http://" + addr, logs: &logBuffer{}}
	s.cmd = exec.Command(bin, append([]string{"serve", "--addr", addr, "--purge-interval", "0"}, storage...)...)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	s.cmd.Env = append(os.Environ(), env...)
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start packhub: %v", err)
	}
	t.Cleanup(s.stop)
	s.waitReady()
	return s
}

// stopServer stops a server as an operator does (an interrupt; it exits
// cleanly, writing the download counts it holds), before the test ends.
func stopServer(s *Server) {
	s.stop()
	s.killed = true // nothing left for the cleanup to stop
}

// migrateStorage runs packhub migrate-storage with the given environment
// and returns its standard output; it fails the test unless the command
// succeeds.
func migrateStorage(t *testing.T, env []string, args ...string) string {
	t.Helper()
	stdout, stderr, code := runPackhub(t, env, append([]string{"migrate-storage"}, args...)...)
	if code != 0 {
		t.Fatalf("packhub migrate-storage %s: exit %d\n%s%s", strings.Join(args, " "), code, stdout, stderr)
	}
	return stdout
}

// blobLine is the report's line about blobs.
var blobLine = regexp.MustCompile(`(?m)^blobs: (\d+) recorded, (\d+) copied \(\d+ bytes\), (\d+) already there, (\d+) verified \(\d+ bytes\), (\d+) failed$`)

// blobCounts returns the recorded, copied, already there, verified and
// failed counts of a report.
func blobCounts(t *testing.T, report string) [5]int {
	t.Helper()
	m := blobLine.FindStringSubmatch(report)
	if m == nil {
		t.Fatalf("no blob line in the report:\n%s", report)
	}
	var n [5]int
	for i := range n {
		n[i], _ = strconv.Atoi(m[i+1])
	}
	return n
}

// restSnapshot reads, over the REST API, every package of every type the
// test publishes and their active and deleted versions: the raw answers,
// by path.
func restSnapshot(t *testing.T, s *Server, token string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, typ := range []string{"container", "npm", "maven", "rubygems", "nuget"} {
		path := "/user/packages?package_type=" + typ + "&per_page=100"
		body := restCall(t, s, "GET", path, token)
		out[path] = string(body)
		var pkgs []struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal(body, &pkgs); err != nil || len(pkgs) == 0 {
			t.Fatalf("GET %s: %v %s", path, err, body)
		}
		for _, p := range pkgs {
			for _, state := range []string{"active", "deleted"} {
				vp := "/user/packages/" + typ + "/" + url.PathEscape(p.Name) + "/versions?per_page=100&state=" + state
				out[vp] = string(restCall(t, s, "GET", vp, token))
			}
		}
	}
	return out
}

// downloadCounts reads every package's and version's download count,
// deleted ones included, from a database.
func downloadCounts(t *testing.T, dsn string) (counts map[string]int64, total, maxPackageID int64) {
	t.Helper()
	ctx := t.Context()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pkgs, _, err := st.ListPackages(ctx, packages.PackageFilter{State: packages.AnyState})
	if err != nil {
		t.Fatal(err)
	}
	counts = map[string]int64{}
	for _, p := range pkgs {
		counts[fmt.Sprintf("package %d %s/%s", p.ID, p.Type, p.Name)] = p.DownloadCount
		total += p.DownloadCount
		maxPackageID = max(maxPackageID, p.ID)
		vs, _, err := st.ListVersions(ctx, packages.VersionFilter{PackageID: p.ID, State: packages.AnyState})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vs {
			counts[fmt.Sprintf("version %d %s of %s", v.ID, v.Name, p.Name)] = v.DownloadCount
		}
	}
	return counts, total, maxPackageID
}

// pushManyLayers pushes an image of n random layers of size bytes over the
// OCI API, so that the installation holds many blobs.
func pushManyLayers(t *testing.T, s *Server, token, name string, n, size int) {
	t.Helper()
	r := registry{t: t, s: s}
	auth := r.bearer(token, "repository:"+name+":pull,push")
	config := []byte(`{"architecture":"amd64","os":"linux"}`)
	blobs := [][]byte{config}
	for range n {
		b := make([]byte, size)
		_, _ = rand.Read(b)
		blobs = append(blobs, b)
	}
	var layers []string
	for i, b := range blobs {
		res, body := r.do("POST", "/v2/"+name+"/blobs/uploads/", auth, nil)
		if res.StatusCode != http.StatusAccepted {
			t.Fatalf("start upload: %d %s", res.StatusCode, body)
		}
		if res, body = r.do("PUT", res.Header.Get("Location")+"?digest="+sha256Digest(b), auth, b); res.StatusCode != http.StatusCreated {
			t.Fatalf("put blob: %d %s", res.StatusCode, body)
		}
		if i > 0 {
			layers = append(layers, fmt.Sprintf(`{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":%q,"size":%d}`, sha256Digest(b), len(b)))
		}
	}
	manifest := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":%d},"layers":[%s]}`,
		sha256Digest(config), len(config), strings.Join(layers, ","))
	res, body := r.do("PUT", "/v2/"+name+"/manifests/v1", auth, []byte(manifest), "Content-Type", "application/vnd.oci.image.manifest.v1+json")
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("put manifest: %d %s", res.StatusCode, body)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMigrateStorage moves an installation on SQLite and local disk,
// populated by the real clients of every registry, to PostgreSQL and a new
// blob store (S3) with packhub migrate-storage, starts the server on the
// target, and has the clients and the REST API read everything back,
// deleted packages and versions restored. A second run copies nothing; a
// run killed midway is finished by the next.
func TestMigrateStorage(t *testing.T) {
	t.Parallel()
	pg := storetest.PostgresDSN(t) // fails in CI without PostgreSQL
	crane := requireTool(t, "crane")
	npmBin := requireTool(t, "npm")
	mvn := requireTool(t, "mvn")
	if !fileExists("/usr/share/maven-repo/org/apache/maven/plugins/maven-deploy-plugin/3.0.0") {
		testenv.Missing(t, "Debian's Maven plugins are not installed; scripts/install-test-deps.sh installs them")
	}
	ruby := newRubyEnv(t)
	nuget := newNugetClient(t)
	s3 := s3server.Start(t)
	s3env := s3.Env()

	// The source: the embedded default, SQLite and blob files in the data
	// directory.
	src := StartServer(t, SQLite)
	src.Admin("user", "create", "octo")
	src.Admin("repo", "create", "octo/libs", "--visibility", "private")
	tok := src.Token("octo", "read:packages,write:packages,delete:packages,repo")
	host := hostOf(src.URL)

	// Containers, with crane: two tagged versions, and a package deleted
	// over REST.
	oci := newOCIClients(t)
	app := host + "/octo/app"
	oci.run(crane, "auth", "login", host, "-u", "octo", "-p", tok)
	oci.run(crane, "append", "--insecure", "-f", oci.layerTar("one", "one\n"), "-t", app+":v1")
	oci.run(crane, "append", "--insecure", "-f", oci.layerTar("two", "two\n"), "-t", app+":v2")
	oci.run(crane, "tag", "--insecure", app+":v2", "latest")
	digest := strings.TrimSpace(oci.run(crane, "digest", "--insecure", app+":v1"))
	manifest := oci.run(crane, "manifest", "--insecure", app+":v1")
	oci.run(crane, "pull", "--insecure", app+":v1", filepath.Join(oci.home, "before.tar"))
	oci.run(crane, "append", "--insecure", "-f", oci.layerTar("gone", "gone\n"), "-t", host+"/octo/gone:v1")
	restCall(t, src, "DELETE", "/user/packages/container/gone", tok)
	// And many blobs, for the run killed midway.
	pushManyLayers(t, src, tok, "octo/bulk", 150, 64<<10)

	// npm: two versions with dist-tags, an install, a version deleted over
	// REST.
	registryURL := src.URL + "/npm/"
	octo := newNpmUser(t, npmBin, registryURL, tok, "octo")
	pkgDir := t.TempDir()
	for _, v := range []string{"1.0.0", "1.1.0"} {
		npmProject(t, pkgDir, map[string]any{"name": "@octo/hello", "version": v, "main": "index.js"})
		octo.must(pkgDir, "publish")
	}
	octo.must(pkgDir, "dist-tag", "add", "@octo/hello@1.0.0", "stable")
	octo.must(npmConsumer(t), "install", "@octo/hello")
	var npmVersions []struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	json.Unmarshal(restCall(t, src, "GET", "/user/packages/npm/hello/versions", tok), &npmVersions)
	var deletedID int64
	for _, v := range npmVersions {
		if v.Name == "1.0.0" {
			deletedID = v.ID
		}
	}
	if deletedID == 0 {
		t.Fatalf("npm versions: %+v", npmVersions)
	}
	restCall(t, src, "DELETE", fmt.Sprintf("/user/packages/npm/hello/versions/%d", deletedID), tok)

	// Maven: mvn deploy of a jar project.
	libs := src.URL + "/maven/octo/libs"
	mavenU := newMavenUser(t, mvn, tok)
	greeter := t.TempDir()
	mavenLibrary(t, greeter, "greeter", "1.0", libs, "Greeter",
		"package com.example;\npublic class Greeter { public static String greet(String n) { return \"hello \" + n; } }\n")
	mavenU.must(greeter, "deploy", "-DskipTests")
	jar := readFile(t, filepath.Join(greeter, "target", "greeter-1.0.jar"))

	// RubyGems: gem push of a gem and of one depending on it.
	gemHost := src.URL + "/rubygems/octo"
	gemSource := strings.Replace(gemHost, "://", "://octo:"+tok+"@", 1) + "/"
	pushEnv := []string{"GEM_HOST_API_KEY=" + tok}
	for _, g := range []string{
		ruby.buildGem("hello", "1.0.0", "", nil, nil),
		ruby.buildGem("app", "0.1.0", "", map[string]string{"hello": "~> 1.0"}, nil),
	} {
		ruby.must(t.TempDir(), pushEnv, ruby.gem, "push", g, "--host", gemHost)
	}
	gemInstall := func(args ...string) string {
		t.Helper()
		ruby.must(t.TempDir(), nil, ruby.gem, append([]string{"install", "--clear-sources", "--source", gemSource, "--no-document"}, args...)...)
		return strings.Join(ruby.installed(), ",")
	}
	if got := gemInstall("app"); got != "app-0.1.0,hello-1.0.0" {
		t.Fatalf("gem install app before the move: %s", got)
	}

	// NuGet: NuGet.exe push and install.
	feed := src.URL + "/nuget/octo/index.json"
	nugetCreds := nugetConfig(t, feed, tok)
	nupkg := nuget.pack(nugetPackage{id: "Octo.B", version: "1.0"})
	nuget.must(nupkg, "push", filepath.Join(nupkg, "Octo.B.1.0.0.nupkg"), "-Source", feed, "-ApiKey", tok)
	nugetInstall := func() []string {
		t.Helper()
		dir := t.TempDir()
		nuget.must(dir, "install", "Octo.B", "-Version", "1.0.0", "-OutputDirectory", dir, "-ConfigFile", nugetCreds)
		return installed(t, dir)
	}
	if got := nugetInstall(); !slices.Equal(got, []string{"Octo.B.1.0.0"}) {
		t.Fatalf("nuget install before the move: %v", got)
	}

	before := restSnapshot(t, src, tok)
	// Stop the server: the download counts it holds are written.
	stopServer(src)
	srcDSN := store.DefaultDSN(src.DataDir)
	srcCounts, srcTotal, srcMaxID := downloadCounts(t, srcDSN)
	if srcTotal == 0 {
		t.Fatalf("no downloads counted before the move: %v", srcCounts)
	}

	// The move, to PostgreSQL and S3.
	blobStore := s3.URL(s3.NewBucket(t), "packhub")
	out := migrateStorage(t, s3env, "--data-dir", src.DataDir, "--to-database", pg, "--to-blob-store", blobStore)
	t.Logf("packhub migrate-storage:\n%s", out)
	if !strings.Contains(out, "done: the target holds the installation; all verified") {
		t.Fatalf("first run:\n%s", out)
	}
	n := blobCounts(t, out)
	if n[0] < 150 || n[1] != n[0] || n[3] != n[0] || n[4] != 0 {
		t.Fatalf("first run's blobs %v:\n%s", n, out)
	}
	for _, table := range []string{"owners", "tokens", "packages", "versions", "files", "tags", "blobs", "events"} {
		if !regexp.MustCompile(`(?m)^ *` + table + `  +[1-9]\d*  +[1-9]`).MatchString(out) {
			t.Errorf("the report shows no rows of %s copied:\n%s", table, out)
		}
	}
	if dstCounts, _, _ := downloadCounts(t, pg); !maps.Equal(srcCounts, dstCounts) {
		t.Errorf("download counts differ:\nsource %v\ntarget %v", srcCounts, dstCounts)
	}

	// A second run finds nothing to copy and verifies every blob.
	out = migrateStorage(t, s3env, "--data-dir", src.DataDir, "--to-database", pg, "--to-blob-store", blobStore)
	if !strings.Contains(out, "nothing to copy: the target already held everything; all verified") {
		t.Fatalf("second run:\n%s", out)
	}
	if m := blobCounts(t, out); m[1] != 0 || m[2] != n[0] || m[3] != n[0] {
		t.Fatalf("second run's blobs %v:\n%s", m, out)
	}

	// Another installation is not written into the target.
	other := t.TempDir()
	runPackhub(t, nil, "admin", "user", "create", "mallory", "--data-dir", other)
	stdout, stderr, code := runPackhub(t, s3env, "migrate-storage", "--data-dir", other, "--to-database", pg, "--to-blob-store", blobStore)
	if code != 1 || !strings.Contains(stderr, "the target database holds another installation") {
		t.Fatalf("migrate-storage of another installation: exit %d\n%s%s", code, stdout, stderr)
	}

	// The server on the target, at the same address, with a new data
	// directory: nothing of the old one is needed but its token key, which
	// replicas on S3 must be given.
	tokenKey := strings.TrimSpace(string(readFile(t, filepath.Join(src.DataDir, "token.key"))))
	dst := startServerOn(t, src.Addr, s3env, "--data-dir", t.TempDir(), "--database", pg, "--blob-store", blobStore, "--token-key", tokenKey)
	after := restSnapshot(t, dst, tok)
	for path, body := range before {
		if after[path] != body {
			t.Errorf("GET %s differs after the move:\nbefore %s\nafter  %s", path, body, after[path])
		}
	}

	// The clients read everything back.
	oci.t = t
	if got := strings.TrimSpace(oci.run(crane, "digest", "--insecure", app+":v1")); got != digest {
		t.Errorf("digest of v1 after the move: %s, want %s", got, digest)
	}
	if got := oci.run(crane, "manifest", "--insecure", app+":v1"); got != manifest {
		t.Errorf("manifest of v1 after the move differs")
	}
	oci.run(crane, "pull", "--insecure", app+":v1", filepath.Join(oci.home, "after.tar"))
	if !bytes.Equal(readFile(t, filepath.Join(oci.home, "before.tar")), readFile(t, filepath.Join(oci.home, "after.tar"))) {
		t.Error("crane pull of v1 after the move differs from before")
	}
	if tags := strings.Fields(oci.run(crane, "ls", "--insecure", app)); !slices.Equal(tags, []string{"latest", "v1", "v2"}) {
		t.Errorf("tags after the move: %v", tags)
	}

	proj := npmConsumer(t)
	octo.must(proj, "install", "@octo/hello")
	if v := npmInstalled(proj, "@octo/hello"); v != "1.1.0" {
		t.Errorf("npm install after the move: %q", v)
	}

	mavenU.fresh()
	mavenU.must(t.TempDir(), mavenDependencyPlugin+":get", "-Dartifact=com.example:greeter:1.0", "-Dtransitive=false",
		"-DremoteRepositories=packhub::default::"+libs)
	if got := readFile(t, filepath.Join(mavenU.local, "com/example/greeter/1.0/greeter-1.0.jar")); !bytes.Equal(got, jar) {
		t.Error("the jar mvn resolved after the move differs from the one deployed")
	}
	if code, sha1 := httpGet(t, dst, libs+"/com/example/greeter/1.0/greeter-1.0.jar.sha1", tok); code != 200 || len(strings.TrimSpace(sha1)) != 40 {
		t.Errorf("jar checksum after the move: %d %q", code, sha1)
	}

	if got := gemInstall("app"); got != "app-0.1.0,hello-1.0.0" {
		t.Errorf("gem install app after the move: %s", got)
	}
	bundleDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(bundleDir, "Gemfile"), []byte(fmt.Sprintf("source %q\n\ngem \"app\"\n", gemHost+"/")), 0o644); err != nil {
		t.Fatal(err)
	}
	credVar := "BUNDLE_" + strings.ReplaceAll(strings.Split(dst.Addr, ":")[0], ".", "__")
	if out := ruby.must(bundleDir, []string{credVar + "=octo:" + tok, "BUNDLE_PATH=" + filepath.Join(bundleDir, "vendor")}, ruby.bundle, "install"); !strings.Contains(out, "Installing app 0.1.0") {
		t.Errorf("bundle install after the move:\n%s", out)
	}

	if got := nugetInstall(); !slices.Equal(got, []string{"Octo.B.1.0.0"}) {
		t.Errorf("nuget install after the move: %v", got)
	}

	// The deleted package and version are restored over REST.
	oci.fails(crane, "manifest", "--insecure", host+"/octo/gone:v1")
	restCall(t, dst, "POST", "/user/packages/container/gone/restore", tok)
	oci.run(crane, "pull", "--insecure", host+"/octo/gone:v1", filepath.Join(oci.home, "gone.tar"))
	restCall(t, dst, "POST", fmt.Sprintf("/user/packages/npm/hello/versions/%d/restore", deletedID), tok)
	proj = npmConsumer(t)
	octo.must(proj, "install", "@octo/hello@1.0.0")
	if v := npmInstalled(proj, "@octo/hello"); v != "1.0.0" {
		t.Errorf("npm install of the restored version: %q", v)
	}
	if out := octo.must(pkgDir, "dist-tag", "ls", "@octo/hello"); !strings.Contains(out, "stable: 1.0.0") {
		t.Errorf("dist-tags after the restore: %s", out)
	}
	// New ids follow the source's.
	var pkg struct {
		ID int64 `json:"id"`
	}
	pushManyLayers(t, dst, tok, "octo/new", 1, 16)
	json.Unmarshal(restCall(t, dst, "GET", "/user/packages/container/new", tok), &pkg)
	if pkg.ID <= srcMaxID {
		t.Errorf("a package made after the move got id %d, not above the source's %d", pkg.ID, srcMaxID)
	}
	// Now that the server on the target has written to it, copying again
	// (which would undo that) is refused.
	stdout, stderr, code = runPackhub(t, s3env, "migrate-storage", "--data-dir", src.DataDir, "--to-database", pg, "--to-blob-store", blobStore)
	if code != 1 || !strings.Contains(stderr, "the target has been written to since it was copied") {
		t.Fatalf("migrate-storage into the target in use: exit %d\n%s%s", code, stdout, stderr)
	}

	t.Run("killed midway", func(t *testing.T) {
		pg2 := storetest.PostgresDSN(t)
		blobs2 := s3.URL(s3.NewBucket(t), "moved")
		args := []string{"migrate-storage", "--data-dir", src.DataDir, "--to-database", pg2, "--to-blob-store", blobs2}
		bin, err := binary()
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, append(args, "--jobs", "1", "--progress", "1ms")...)
		cmd.Env = append(os.Environ(), s3env...)
		pipe, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill it once it has copied some of the blobs.
		progress := regexp.MustCompile(`^blobs: \d+ done: (\d+) copied`)
		sc := bufio.NewScanner(pipe)
		var seen strings.Builder
		for sc.Scan() {
			seen.WriteString(sc.Text() + "\n")
			if m := progress.FindStringSubmatch(sc.Text()); m != nil {
				if copied, _ := strconv.Atoi(m[1]); copied >= 10 {
					if err := cmd.Process.Kill(); err != nil {
						t.Fatalf("kill: %v", err)
					}
					break
				}
			}
		}
		go io.Copy(io.Discard, pipe)
		err = cmd.Wait()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != -1 {
			t.Fatalf("migrate-storage was not killed midway: %v\n%s%s", err, seen.String(), stderr.String())
		}

		out := migrateStorage(t, s3env, args[1:]...)
		t.Logf("killed run:\n%s\nthe run after it:\n%s", seen.String(), out)
		m := blobCounts(t, out)
		// Some blobs were copied before the kill, the others after.
		if !strings.Contains(out, "done: the target holds the installation; all verified") || m[0] != n[0] || m[1] == 0 || m[2] < 10 || m[3] != n[0] || m[4] != 0 {
			t.Fatalf("run after the kill: blobs %v\n%s\nkilled run:\n%s", m, out, seen.String())
		}
		out = migrateStorage(t, s3env, args[1:]...)
		if !strings.Contains(out, "nothing to copy") {
			t.Fatalf("run after the completing one:\n%s", out)
		}
		if got, _, _ := downloadCounts(t, pg2); !maps.Equal(srcCounts, got) {
			t.Errorf("download counts differ after the killed run:\nsource %v\ntarget %v", srcCounts, got)
		}
	})
}
