package oci_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/registry/oci"
	"github.com/packhub/packhub/internal/testenv"
)

// tool finds a client binary on PATH or in $HOME/go/bin, and skips the
// test without it: these tests drive the clients against the handler alone;
// test/e2e drives them against the packhub binary and requires them in CI.
func tool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if p := filepath.Join(os.Getenv("HOME"), "go", "bin", name); fileExists(p) {
		return p
	}
	testenv.Missing(t, "%s is not installed; scripts/install-test-deps.sh installs it", name)
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// clientReg is a registry on a real listener for real clients.
type clientReg struct {
	env   *testenv.Env
	host  string // 127.0.0.1:PORT
	token string // alice's
	bob   string // bob's read-only token
	home  string // HOME and DOCKER_CONFIG of the clients
}

func startClientReg(t *testing.T, typ packages.Type) *clientReg {
	env := testenv.New(t, "sqlite")
	env.User("alice")
	env.User("bob")
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	srv.Config.Handler = oci.New(env.Service, oci.Options{Type: typ, BaseURL: base, TokenKey: testKey, TokenTTL: time.Minute})
	srv.Start()
	t.Cleanup(srv.Close)
	c := &clientReg{env: env, host: strings.TrimPrefix(base, "http://"),
		token: env.Token("alice", testenv.AllScopes),
		bob:   env.Token("bob", "read:packages,repo"),
		home:  t.TempDir()}
	return c
}

func (c *clientReg) run(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := c.try(bin, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
	}
	return out
}

func (c *clientReg) try(bin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+c.home, "DOCKER_CONFIG="+filepath.Join(c.home, ".docker"), "XDG_RUNTIME_DIR="+c.home, "REGCTL_CONFIG="+filepath.Join(c.home, "regctl.json"))
	cmd.Dir = c.home
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String() + stderr.String(), err
	}
	return stdout.String(), nil
}

// layerTar writes a one-file tar to dir.
func layerTar(t *testing.T, dir, name, content string) string {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), ModTime: time.Unix(0, 0)})
	tw.Write([]byte(content))
	tw.Close()
	p := filepath.Join(dir, name+".tar")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCrane(t *testing.T) {
	crane := tool(t, "crane")
	c := startClientReg(t, packages.TypeContainer)
	ref := c.host + "/alice/crane/app"
	c.run(t, crane, "auth", "login", c.host, "-u", "alice", "-p", c.token)
	layer := layerTar(t, c.home, "hello", "hello from crane\n")
	c.run(t, crane, "append", "--insecure", "-f", layer, "-t", ref+":v1")
	digest := strings.TrimSpace(c.run(t, crane, "digest", "--insecure", ref+":v1"))
	if !strings.HasPrefix(digest, "sha256:") {
		t.Fatalf("digest %q", digest)
	}
	c.run(t, crane, "tag", "--insecure", ref+":v1", "latest")
	if got := c.run(t, crane, "ls", "--insecure", ref); strings.Fields(got)[0] != "latest" || !strings.Contains(got, "v1") {
		t.Fatalf("ls: %q", got)
	}
	// Copy to another repository (cross-repository mount) and pull.
	c.run(t, crane, "copy", "--insecure", ref+":v1", c.host+"/alice/crane/copy:v1")
	out := filepath.Join(c.home, "pulled.tar")
	c.run(t, crane, "pull", "--insecure", c.host+"/alice/crane/copy:v1", out)
	if !fileExists(out) {
		t.Fatal("crane pull wrote nothing")
	}
	if got := c.run(t, crane, "catalog", "--insecure", c.host); !strings.Contains(got, "alice/crane/app") || !strings.Contains(got, "alice/crane/copy") {
		t.Fatalf("catalog %q", got)
	}
	// Bob (read only, no rights) cannot pull alice's private image.
	if out, err := c.try(crane, "manifest", "--insecure", ref+":v1", "--platform", "all"); err != nil {
		t.Fatalf("alice manifest: %v %s", err, out)
	}
	c.run(t, crane, "auth", "login", c.host, "-u", "bob", "-p", c.bob)
	if out, err := c.try(crane, "manifest", "--insecure", ref+":v1"); err == nil {
		t.Fatalf("bob read alice's private image: %s", out)
	}
	c.run(t, crane, "auth", "login", c.host, "-u", "alice", "-p", c.token)
	// Delete the version by digest: the tags go with it.
	c.run(t, crane, "delete", "--insecure", ref+"@"+digest)
	if out, err := c.try(crane, "manifest", "--insecure", ref+":v1"); err == nil {
		t.Fatalf("manifest after delete: %s", out)
	}
}

func TestOras(t *testing.T) {
	oras := tool(t, "oras")
	c := startClientReg(t, packages.TypeContainer)
	ref := c.host + "/alice/artifacts"
	creds := []string{"--plain-http", "-u", "alice", "-p", c.token}
	if err := os.WriteFile(filepath.Join(c.home, "notes.txt"), []byte("release notes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c.home, "sbom.json"), []byte(`{"sbom":true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	c.run(t, oras, append([]string{"push", ref + ":v1", "--artifact-type", "application/vnd.example.notes", "notes.txt:text/plain"}, creds...)...)
	c.run(t, oras, append([]string{"attach", ref + ":v1", "--artifact-type", "application/vnd.example.sbom", "sbom.json:application/json"}, creds...)...)
	var disc struct {
		Manifests []struct {
			ArtifactType string `json:"artifactType"`
		} `json:"manifests"`
	}
	out := c.run(t, oras, append([]string{"discover", ref + ":v1", "--format", "json"}, creds...)...)
	if err := json.Unmarshal([]byte(out), &disc); err != nil || len(disc.Manifests) != 1 || disc.Manifests[0].ArtifactType != "application/vnd.example.sbom" {
		t.Fatalf("discover: %v %s", err, out)
	}
	dir := filepath.Join(c.home, "pulled")
	c.run(t, oras, append([]string{"pull", ref + ":v1", "-o", dir}, creds...)...)
	if b, err := os.ReadFile(filepath.Join(dir, "notes.txt")); err != nil || string(b) != "release notes\n" {
		t.Fatalf("pulled %q %v", b, err)
	}
	if got := c.run(t, oras, append([]string{"repo", "tags", ref}, creds...)...); strings.TrimSpace(got) != "v1" {
		t.Fatalf("tags %q", got)
	}
}

func TestSkopeo(t *testing.T) {
	skopeo := tool(t, "skopeo")
	crane := tool(t, "crane")
	for _, typ := range []packages.Type{packages.TypeContainer, packages.TypeDocker} {
		t.Run(string(typ), func(t *testing.T) {
			c := startClientReg(t, typ)
			name := "alice/sk"
			if typ == packages.TypeDocker {
				c.env.Repo("alice/project", packages.Private)
				name = "alice/project/sk"
			}
			ref := c.host + "/" + name
			c.run(t, crane, "auth", "login", c.host, "-u", "alice", "-p", c.token)
			layer := layerTar(t, c.home, "a", "skopeo layer\n")
			c.run(t, crane, "append", "--insecure", "-f", layer, "-t", ref+":src")
			creds := "alice:" + c.token
			// Convert to Docker schema 2 and to OCI while copying.
			c.run(t, skopeo, "copy", "--src-tls-verify=false", "--dest-tls-verify=false", "--src-creds", creds, "--dest-creds", creds,
				"--format", "v2s2", "docker://"+ref+":src", "docker://"+ref+":v2s2")
			c.run(t, skopeo, "copy", "--src-tls-verify=false", "--dest-tls-verify=false", "--src-creds", creds, "--dest-creds", creds,
				"--format", "oci", "docker://"+ref+":src", "docker://"+ref+":oci")
			var insp struct {
				Digest string
				Tags   []string `json:"RepoTags"`
			}
			out := c.run(t, skopeo, "inspect", "--tls-verify=false", "--creds", creds, "docker://"+ref+":v2s2")
			if err := json.Unmarshal([]byte(out), &insp); err != nil || len(insp.Tags) != 3 {
				t.Fatalf("inspect: %v %s", err, out)
			}
			raw := c.run(t, skopeo, "inspect", "--raw", "--tls-verify=false", "--creds", creds, "docker://"+ref+":v2s2")
			if !strings.Contains(raw, "application/vnd.docker.distribution.manifest.v2+json") {
				t.Fatalf("v2s2 manifest: %s", raw)
			}
			c.run(t, skopeo, "copy", "--src-tls-verify=false", "--src-creds", creds, "docker://"+ref+":oci", "dir:"+filepath.Join(c.home, "out"))
			c.run(t, skopeo, "delete", "--tls-verify=false", "--creds", creds, "docker://"+ref+"@"+insp.Digest)
			if out, err := c.try(skopeo, "inspect", "--tls-verify=false", "--creds", creds, "docker://"+ref+":v2s2"); err == nil {
				t.Fatalf("inspect after delete: %s", out)
			}
		})
	}
}

func TestRegctl(t *testing.T) {
	regctl := tool(t, "regctl")
	crane := tool(t, "crane")
	c := startClientReg(t, packages.TypeContainer)
	ref := c.host + "/alice/reg/app"
	c.run(t, regctl, "registry", "set", "--tls", "disabled", c.host)
	c.run(t, regctl, "registry", "login", c.host, "-u", "alice", "-p", c.token)
	c.run(t, crane, "auth", "login", c.host, "-u", "alice", "-p", c.token)
	c.run(t, crane, "append", "--insecure", "-f", layerTar(t, c.home, "r", "regctl\n"), "-t", ref+":v1")
	c.run(t, regctl, "image", "copy", ref+":v1", c.host+"/alice/reg/copy:v1")
	if got := c.run(t, regctl, "tag", "ls", c.host+"/alice/reg/copy"); strings.TrimSpace(got) != "v1" {
		t.Fatalf("tag ls %q", got)
	}
	cmd := exec.Command(regctl, "artifact", "put", "--subject", ref+":v1", "--artifact-type", "application/vnd.example.sig", "--file-media-type", "text/plain")
	cmd.Env = append(os.Environ(), "HOME="+c.home, "REGCTL_CONFIG="+filepath.Join(c.home, "regctl.json"))
	cmd.Stdin = strings.NewReader("signature")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("artifact put: %v %s", err, out)
	}
	if got := c.run(t, regctl, "artifact", "list", ref+":v1", "--format", "{{len .Descriptors}}"); strings.TrimSpace(got) != "1" {
		t.Fatalf("artifact list %q", got)
	}
	c.run(t, regctl, "tag", "rm", ref+":v1")
	if got := c.run(t, regctl, "tag", "ls", ref); strings.TrimSpace(got) != "" {
		t.Fatalf("tags after rm %q", got)
	}
}
