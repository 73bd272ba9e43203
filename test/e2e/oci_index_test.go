package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/packhub/packhub/internal/packages"
)

// TestOCIMultiArchIndexAndPublicPull pushes two platform images and an
// index over them with crane, deletes the index through the REST API
// (its children stay), and pulls a public image anonymously.
func TestOCIMultiArchIndexAndPublicPull(t *testing.T) {
	t.Parallel()
	eachDatabase(t, testOCIMultiArchIndexAndPublicPull)
}

func testOCIMultiArchIndexAndPublicPull(t *testing.T, db Database) {
	crane := requireTool(t, "crane")
	s := StartServer(t, db)
	s.Admin("user", "create", "alice")
	s.Admin("user", "create", "bob")
	tok := s.Token("alice", "read:packages,write:packages,delete:packages")
	host := hostOf(s.URL)
	c := newOCIClients(t)
	ref := host + "/alice/multi"
	c.run(crane, "auth", "login", host, "-u", "alice", "-p", tok)

	var children []string
	for _, arch := range []string{"amd64", "arm64"} {
		c.run(crane, "append", "--insecure", "-f", c.layerTar(arch, arch+"\n"), "-t", ref+":"+arch)
		c.run(crane, "mutate", "--insecure", "--set-platform", "linux/"+arch, ref+":"+arch, "-t", ref+":"+arch)
		children = append(children, strings.TrimSpace(c.run(crane, "digest", "--insecure", ref+":"+arch)))
	}
	c.run(crane, "index", "append", "--insecure", "-m", ref+":amd64", "-m", ref+":arm64", "-t", ref+":latest")
	var index struct {
		MediaType string `json:"mediaType"`
		Manifests []struct {
			Digest   string `json:"digest"`
			Platform struct {
				Architecture string `json:"architecture"`
			} `json:"platform"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal([]byte(c.run(crane, "manifest", "--insecure", ref+":latest")), &index); err != nil {
		t.Fatal(err)
	}
	if len(index.Manifests) != 2 || !strings.Contains(index.MediaType, "index") && !strings.Contains(index.MediaType, "list") {
		t.Fatalf("index = %+v", index)
	}
	arm := c.run(crane, "manifest", "--insecure", "--platform", "linux/arm64", ref+":latest")
	if !strings.Contains(arm, "layers") {
		t.Fatalf("platform manifest = %s", arm)
	}
	indexDigest := strings.TrimSpace(c.run(crane, "digest", "--insecure", ref+":latest"))

	// Delete the index through the REST API: its children stay.
	var versions []struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	// The two platform images before and after their platform was set, and
	// the index.
	if code := restJSON(t, s, "GET", "/user/packages/container/multi/versions", tok, &versions); code != 200 || len(versions) != 5 {
		t.Fatalf("versions: %d %+v", code, versions)
	}
	for _, v := range versions {
		if v.Name != indexDigest {
			continue
		}
		if code := restJSON(t, s, "DELETE", fmt.Sprintf("/user/packages/container/multi/versions/%d", v.ID), tok, nil); code != 204 {
			t.Fatalf("delete index: %d", code)
		}
	}
	c.fails(crane, "manifest", "--insecure", ref+":latest")
	for _, d := range children {
		c.run(crane, "manifest", "--insecure", ref+"@"+d)
	}

	// Private: anonymous and other users are refused.
	c.run(crane, "auth", "logout", host)
	c.fails(crane, "manifest", "--insecure", ref+":amd64")
	resp, err := http.Get(s.URL + "/v2/alice/multi/manifests/amd64")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer realm=") {
		t.Fatalf("anonymous manifest GET: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}

	// Made public (a package setting, here through the service), anyone
	// pulls it without credentials.
	svc := s.Service()
	alice, err := svc.Authenticate(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.SetPackageVisibility(context.Background(), alice, packages.PackageRef{Owner: "alice", Type: packages.TypeContainer, Name: "multi"}, packages.Public); err != nil {
		t.Fatal(err)
	}
	c.run(crane, "manifest", "--insecure", ref+":amd64")
	c.run(crane, "pull", "--insecure", ref+":arm64", t.TempDir()+"/arm.tar")
	// Anonymous pushes are still refused.
	c.fails(crane, "tag", "--insecure", ref+":amd64", "anonymous")
}
