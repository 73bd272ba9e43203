package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// ociClients runs registry clients with their own HOME and Docker config.
type ociClients struct {
	t    *testing.T
	home string
}

func newOCIClients(t *testing.T) *ociClients {
	return &ociClients{t: t, home: t.TempDir()}
}

func (c *ociClients) try(bin string, stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+c.home, "DOCKER_CONFIG="+filepath.Join(c.home, ".docker"),
		"XDG_RUNTIME_DIR="+c.home, "REGCTL_CONFIG="+filepath.Join(c.home, "regctl.json"))
	cmd.Dir = c.home
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String() + stderr.String(), err
	}
	return stdout.String(), nil
}

func (c *ociClients) run(bin string, args ...string) string {
	c.t.Helper()
	out, err := c.try(bin, "", args...)
	if err != nil {
		c.t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
	}
	return out
}

func (c *ociClients) fails(bin string, args ...string) {
	c.t.Helper()
	if out, err := c.try(bin, "", args...); err == nil {
		c.t.Fatalf("%s %s succeeded:\n%s", filepath.Base(bin), strings.Join(args, " "), out)
	}
}

// layerTar writes a one-file tar layer.
func (c *ociClients) layerTar(name, content string) string {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), ModTime: time.Unix(0, 0)})
	tw.Write([]byte(content))
	tw.Close()
	p := filepath.Join(c.home, name+".tar")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		c.t.Fatal(err)
	}
	return p
}

func (c *ociClients) write(name, content string) {
	if err := os.WriteFile(filepath.Join(c.home, name), []byte(content), 0o644); err != nil {
		c.t.Fatal(err)
	}
}

func hostOf(u string) string {
	p, _ := url.Parse(u)
	return p.Host
}

// restJSON calls the REST API with a token.
func restJSON(t *testing.T, s *Server, method, path, token string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/vnd.github+json")
	res, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if out != nil {
		_ = json.NewDecoder(res.Body).Decode(out)
	}
	return res.StatusCode
}

// TestOCIClients pushes and pulls with crane, oras, skopeo and regctl
// against the container registry of a real server.
func TestOCIClients(t *testing.T) {
	t.Parallel()
	eachDatabase(t, testOCIClients)
}

func testOCIClients(t *testing.T, db Database) {
	requireTool(t, "crane")
	requireTool(t, "oras")
	requireTool(t, "skopeo")
	ociClientFlows(t, StartServer(t, db))
}

// ociClientFlows pushes, pulls, tags, copies, lists and deletes with
// crane, oras, skopeo and regctl through s.URL, on a fresh installation.
func ociClientFlows(t *testing.T, s *Server) {
	crane := requireTool(t, "crane")
	oras := requireTool(t, "oras")
	skopeo := requireTool(t, "skopeo")
	s.Admin("user", "create", "alice")
	s.Admin("user", "create", "bob")
	tok := s.Token("alice", "read:packages,write:packages,delete:packages")
	bobTok := s.Token("bob", "read:packages")
	host := hostOf(s.URL)
	c := newOCIClients(t)

	t.Run("crane", func(t *testing.T) {
		c.t = t
		ref := host + "/alice/crane/app"
		c.run(crane, "auth", "login", host, "-u", "alice", "-p", tok)
		c.run(crane, "append", "--insecure", "-f", c.layerTar("hello", "hello\n"), "-t", ref+":v1")
		digest := strings.TrimSpace(c.run(crane, "digest", "--insecure", ref+":v1"))
		c.run(crane, "tag", "--insecure", ref+":v1", "latest")
		if got := strings.Fields(c.run(crane, "ls", "--insecure", ref)); strings.Join(got, ",") != "latest,v1" {
			t.Fatalf("ls %v", got)
		}
		c.run(crane, "copy", "--insecure", ref+":v1", host+"/alice/crane/copy:v1")
		c.run(crane, "pull", "--insecure", host+"/alice/crane/copy:v1", filepath.Join(c.home, "img.tar"))
		if got := c.run(crane, "catalog", "--insecure", host); !strings.Contains(got, "alice/crane/app") {
			t.Fatalf("catalog %q", got)
		}
		// Private by default: bob cannot pull, anonymous neither.
		c.run(crane, "auth", "login", host, "-u", "bob", "-p", bobTok)
		c.fails(crane, "manifest", "--insecure", ref+":v1")
		c.run(crane, "auth", "logout", host)
		c.fails(crane, "manifest", "--insecure", ref+":v1")
		c.run(crane, "auth", "login", host, "-u", "alice", "-p", tok)
		c.run(crane, "delete", "--insecure", ref+"@"+digest)
		c.fails(crane, "manifest", "--insecure", ref+":latest")
	})

	t.Run("oras", func(t *testing.T) {
		c.t = t
		ref := host + "/alice/artifacts"
		creds := []string{"--plain-http", "-u", "alice", "-p", tok}
		c.write("notes.txt", "release notes\n")
		c.write("sbom.json", `{"sbom":true}`)
		c.run(oras, append([]string{"push", ref + ":v1", "--artifact-type", "application/vnd.example.notes", "notes.txt:text/plain"}, creds...)...)
		c.run(oras, append([]string{"attach", ref + ":v1", "--artifact-type", "application/vnd.example.sbom", "sbom.json:application/json"}, creds...)...)
		out := c.run(oras, append([]string{"discover", ref + ":v1", "--format", "json"}, creds...)...)
		if !strings.Contains(out, "application/vnd.example.sbom") {
			t.Fatalf("discover %s", out)
		}
		c.run(oras, append([]string{"pull", ref + ":v1", "-o", filepath.Join(c.home, "pulled")}, creds...)...)
		if b, err := os.ReadFile(filepath.Join(c.home, "pulled", "notes.txt")); err != nil || string(b) != "release notes\n" {
			t.Fatalf("pulled %q %v", b, err)
		}
	})

	t.Run("skopeo", func(t *testing.T) {
		c.t = t
		ref := host + "/alice/sk"
		c.run(crane, "append", "--insecure", "-f", c.layerTar("sk", "skopeo\n"), "-t", ref+":src")
		creds := "alice:" + tok
		c.run(skopeo, "copy", "--src-tls-verify=false", "--dest-tls-verify=false", "--src-creds", creds, "--dest-creds", creds,
			"--format", "v2s2", "docker://"+ref+":src", "docker://"+ref+":v2s2")
		raw := c.run(skopeo, "inspect", "--raw", "--tls-verify=false", "--creds", creds, "docker://"+ref+":v2s2")
		if !strings.Contains(raw, "application/vnd.docker.distribution.manifest.v2+json") {
			t.Fatalf("v2s2: %s", raw)
		}
		if got := c.run(skopeo, "list-tags", "--tls-verify=false", "--creds", creds, "docker://"+ref); !strings.Contains(got, "v2s2") {
			t.Fatalf("list-tags %s", got)
		}
		c.run(skopeo, "copy", "--src-tls-verify=false", "--src-creds", creds, "docker://"+ref+":v2s2", "dir:"+filepath.Join(c.home, "skout"))
	})

	t.Run("regctl", func(t *testing.T) {
		regctl := requireTool(t, "regctl")
		c.t = t
		ref := host + "/alice/reg"
		c.run(regctl, "registry", "set", "--tls", "disabled", host)
		c.run(regctl, "registry", "login", host, "-u", "alice", "-p", tok)
		c.run(regctl, "image", "copy", host+"/alice/crane/copy:v1", ref+":v1")
		sig := "signature" // the artifact's content, on stdin
		if _, err := c.try(regctl, sig, "artifact", "put", "--subject", ref+":v1", "--artifact-type", "application/vnd.example.sig", "--file-media-type", "text/plain"); err != nil {
			t.Fatalf("artifact put: %v", err)
		}
		if got := strings.TrimSpace(c.run(regctl, "artifact", "list", ref+":v1", "--format", "{{len .Descriptors}}")); got != "1" {
			t.Fatalf("referrers %q", got)
		}
	})
}

// TestOCIRestDeleteRestore deletes and restores a container version and
// package through the REST API and watches the registry follow.
func TestOCIRestDeleteRestore(t *testing.T) {
	t.Parallel()
	eachDatabase(t, testOCIRestDeleteRestore)
}

func testOCIRestDeleteRestore(t *testing.T, db Database) {
	crane := requireTool(t, "crane")
	s := StartServer(t, db)
	s.Admin("user", "create", "alice")
	tok := s.Token("alice", "read:packages,write:packages,delete:packages")
	host := hostOf(s.URL)
	c := newOCIClients(t)
	ref := host + "/alice/life"
	c.run(crane, "auth", "login", host, "-u", "alice", "-p", tok)
	c.run(crane, "append", "--insecure", "-f", c.layerTar("one", "one\n"), "-t", ref+":one")
	c.run(crane, "append", "--insecure", "-f", c.layerTar("two", "two\n"), "-t", ref+":two")
	before := c.run(crane, "manifest", "--insecure", ref+":one")
	digest := strings.TrimSpace(c.run(crane, "digest", "--insecure", ref+":one"))

	var versions []struct {
		ID       int64  `json:"id"`
		Name     string `json:"name"`
		Metadata struct {
			Container struct {
				Tags []string `json:"tags"`
			} `json:"container"`
		} `json:"metadata"`
	}
	if code := restJSON(t, s, "GET", "/user/packages/container/life/versions", tok, &versions); code != 200 {
		t.Fatalf("list versions: %d", code)
	}
	var id int64
	for _, v := range versions {
		if v.Name == digest {
			id = v.ID
			if strings.Join(v.Metadata.Container.Tags, ",") != "one" {
				t.Errorf("tags in REST: %v", v.Metadata.Container.Tags)
			}
		}
	}
	if id == 0 {
		t.Fatalf("version %s not listed: %+v", digest, versions)
	}
	if code := restJSON(t, s, "DELETE", fmt.Sprintf("/user/packages/container/life/versions/%d", id), tok, nil); code != 204 {
		t.Fatalf("delete version: %d", code)
	}
	c.fails(crane, "manifest", "--insecure", ref+"@"+digest)
	if code := restJSON(t, s, "POST", fmt.Sprintf("/user/packages/container/life/versions/%d/restore", id), tok, nil); code != 204 {
		t.Fatalf("restore version: %d", code)
	}
	if after := c.run(crane, "manifest", "--insecure", ref+":one"); after != before {
		t.Fatalf("restored manifest differs")
	}
	if code := restJSON(t, s, "DELETE", "/user/packages/container/life", tok, nil); code != 204 {
		t.Fatalf("delete package: %d", code)
	}
	c.fails(crane, "manifest", "--insecure", ref+":two")
	if code := restJSON(t, s, "POST", "/user/packages/container/life/restore", tok, nil); code != 204 {
		t.Fatalf("restore package: %d", code)
	}
	c.run(crane, "manifest", "--insecure", ref+":two")
}

// TestOCIDockerListener pushes OWNER/REPO/IMAGE to the docker listener.
func TestOCIDockerListener(t *testing.T) {
	t.Parallel()
	eachDatabase(t, testOCIDockerListener)
}

func testOCIDockerListener(t *testing.T, db Database) {
	crane := requireTool(t, "crane")
	skopeo := requireTool(t, "skopeo")
	dockerAddr := freeAddr(t)
	s := StartServer(t, db, WithArgs("--docker-addr", dockerAddr))
	s.Admin("user", "create", "alice")
	s.Admin("repo", "create", "alice/project", "--visibility", "private")
	tok := s.Token("alice", "read:packages,write:packages,delete:packages,repo")
	c := newOCIClients(t)
	ref := dockerAddr + "/alice/project/server"
	c.run(crane, "auth", "login", dockerAddr, "-u", "alice", "-p", tok)
	c.run(crane, "append", "--insecure", "-f", c.layerTar("d", "docker\n"), "-t", ref+":1.0")
	creds := "alice:" + tok
	c.run(skopeo, "copy", "--src-tls-verify=false", "--dest-tls-verify=false", "--src-creds", creds, "--dest-creds", creds,
		"--format", "v2s2", "docker://"+ref+":1.0", "docker://"+ref+":1.0-v2s2")
	if got := strings.Fields(c.run(crane, "ls", "--insecure", ref)); strings.Join(got, ",") != "1.0,1.0-v2s2" {
		t.Fatalf("tags %v", got)
	}
	// Two-part names are not docker names.
	c.fails(crane, "append", "--insecure", "-f", c.layerTar("x", "x\n"), "-t", dockerAddr+"/alice/server:1")

	// The REST API shows the docker package, linked to its repository,
	// with its tags under metadata.docker.
	var pkg struct {
		Name       string `json:"name"`
		Repository struct {
			FullName string `json:"full_name"`
		} `json:"repository"`
	}
	if code := restJSON(t, s, "GET", "/user/packages/docker/server", tok, &pkg); code != 200 || pkg.Repository.FullName != "alice/project" {
		t.Fatalf("docker package: %d %+v", code, pkg)
	}
	var versions []struct {
		Metadata struct {
			PackageType string `json:"package_type"`
			Docker      struct {
				Tags []string `json:"tags"`
			} `json:"docker"`
		} `json:"metadata"`
	}
	if code := restJSON(t, s, "GET", "/user/packages/docker/server/versions", tok, &versions); code != 200 {
		t.Fatalf("docker versions: %d", code)
	}
	var tags []string
	for _, v := range versions {
		if v.Metadata.PackageType != "docker" {
			t.Errorf("package_type %q", v.Metadata.PackageType)
		}
		tags = append(tags, v.Metadata.Docker.Tags...)
	}
	slices.Sort(tags)
	if strings.Join(tags, ",") != "1.0,1.0-v2s2" {
		t.Fatalf("docker tags in REST: %v", tags)
	}
	// Without the repo scope the token may not see repository-scoped
	// packages through the REST API.
	noRepo := s.Token("alice", "read:packages")
	if code := restJSON(t, s, "GET", "/user/packages/docker/server", noRepo, nil); code != 403 {
		t.Fatalf("docker package without repo scope: %d", code)
	}
}

// TestOCIBlobsBeforeManifest: a push of blobs alone (oras blob push)
// shows no package in the REST API; the first manifest makes the package,
// whose blobs include the ones pushed before. Anonymous clients are asked
// to sign in alike for a private image and a missing one.
func TestOCIBlobsBeforeManifest(t *testing.T) {
	t.Parallel()
	eachDatabase(t, testOCIBlobsBeforeManifest)
}

func testOCIBlobsBeforeManifest(t *testing.T, db Database) {
	oras := requireTool(t, "oras")
	crane := requireTool(t, "crane")
	s := StartServer(t, db)
	s.Admin("user", "create", "alice")
	tok := s.Token("alice", "read:packages,write:packages,delete:packages")
	host := hostOf(s.URL)
	c := newOCIClients(t)
	ref := host + "/alice/staged"
	creds := []string{"--plain-http", "-u", "alice", "-p", tok}
	c.write("notes.txt", "staged notes\n")
	c.run(oras, append([]string{"blob", "push", ref, "notes.txt"}, creds...)...)

	var pkgs []struct {
		Name         string `json:"name"`
		VersionCount int    `json:"version_count"`
	}
	if code := restJSON(t, s, "GET", "/user/packages?package_type=container", tok, &pkgs); code != 200 || len(pkgs) != 0 {
		t.Fatalf("packages after a blob push: %d %+v", code, pkgs)
	}
	if code := restJSON(t, s, "GET", "/user/packages/container/staged", tok, nil); code != 404 {
		t.Fatalf("package after a blob push: %d", code)
	}

	c.run(oras, append([]string{"push", ref + ":v1", "--artifact-type", "application/vnd.example.notes", "notes.txt:text/plain"}, creds...)...)
	if code := restJSON(t, s, "GET", "/user/packages?package_type=container", tok, &pkgs); code != 200 || len(pkgs) != 1 ||
		pkgs[0].Name != "staged" || pkgs[0].VersionCount != 1 {
		t.Fatalf("packages after the manifest: %d %+v", code, pkgs)
	}
	c.run(oras, append([]string{"pull", ref + ":v1", "-o", filepath.Join(c.home, "pulled")}, creds...)...)
	if b, err := os.ReadFile(filepath.Join(c.home, "pulled", "notes.txt")); err != nil || string(b) != "staged notes\n" {
		t.Fatalf("pulled %q %v", b, err)
	}

	// Without credentials, the private image and a missing one fail alike.
	private, err1 := c.try(crane, "", "manifest", "--insecure", ref+":v1")
	missing, err2 := c.try(crane, "", "manifest", "--insecure", host+"/alice/nothing:v1")
	if err1 == nil || err2 == nil || strings.ReplaceAll(private, "alice/staged", "alice/nothing") != missing {
		t.Fatalf("anonymous: private %v %q; missing %v %q", err1, private, err2, missing)
	}
	if !strings.Contains(private, "UNAUTHORIZED") {
		t.Fatalf("anonymous pull of a private image: %q", private)
	}
}
