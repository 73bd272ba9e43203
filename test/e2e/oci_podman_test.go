package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOCIPodman builds an image FROM scratch with podman, pushes it in
// Docker schema 2 and OCI formats, and pulls it back.
func TestOCIPodman(t *testing.T) {
	t.Parallel()
	eachDatabase(t, testOCIPodman)
}

func testOCIPodman(t *testing.T, db Database) {
	podman := requireTool(t, "podman")
	s := StartServer(t, db)
	s.Admin("user", "create", "alice")
	tok := s.Token("alice", "read:packages,write:packages")
	host := hostOf(s.URL)
	c := newOCIClients(t)
	dir := t.TempDir()
	store := []string{"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run"), "--storage-driver", "vfs"}
	pm := func(args ...string) string { return c.run(podman, append(append([]string{}, store...), args...)...) }
	t.Cleanup(func() {
		_, _ = c.try(podman, "", append(append([]string{}, store...), "system", "reset", "--force")...)
	})

	ctx := filepath.Join(dir, "ctx")
	if err := os.MkdirAll(ctx, 0o755); err != nil {
		t.Fatal(err)
	}
	// podman reads (and wants to find) the Docker config of its HOME.
	if err := os.MkdirAll(filepath.Join(c.home, ".docker"), 0o700); err != nil {
		t.Fatal(err)
	}
	c.write(".docker/config.json", "{}")
	for name, content := range map[string]string{
		"hello.txt":     "hello from podman\n",
		"Containerfile": "FROM scratch\nCOPY hello.txt /hello.txt\n",
	} {
		if err := os.WriteFile(filepath.Join(ctx, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pm("build", "-t", "localhost/hello:1", ctx)
	creds := "alice:" + tok
	for _, format := range []string{"v2s2", "oci"} {
		pm("push", "--tls-verify=false", "--creds", creds, "--format", format, "localhost/hello:1", "docker://"+host+"/alice/hello:"+format)
	}
	pm("rmi", "localhost/hello:1")
	pm("pull", "--tls-verify=false", "--creds", creds, host+"/alice/hello:v2s2")
	if out := pm("images", "--format", "{{.Repository}}:{{.Tag}}"); !strings.Contains(out, host+"/alice/hello:v2s2") {
		t.Fatalf("pulled images: %s", out)
	}
	// Without credentials the private image is refused.
	if _, err := c.try(podman, "", append(append([]string{}, store...), "pull", "--tls-verify=false", host+"/alice/hello:oci")...); err == nil {
		t.Fatal("anonymous pull of a private image succeeded")
	}
}
