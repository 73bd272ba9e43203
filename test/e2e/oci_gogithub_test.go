package e2e

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-github/v92/github"
)

// TestOCIGoGitHub pushes a nested image with crane, then drives the REST API
// with go-github: list the package, its versions with tags, delete one,
// restore it, and pull it again.
func TestOCIGoGitHub(t *testing.T) {
	t.Parallel()
	eachDatabase(t, testOCIGoGitHub)
}

func testOCIGoGitHub(t *testing.T, db Database) {
	crane := requireTool(t, "crane")
	s := StartServer(t, db)
	s.Admin("user", "create", "alice")
	tok := s.Token("alice", "read:packages,write:packages,delete:packages")
	host := hostOf(s.URL)
	c := newOCIClients(t)
	ref := host + "/alice/tools/builder"
	c.run(crane, "auth", "login", host, "-u", "alice", "-p", tok)
	c.run(crane, "append", "--insecure", "-f", c.layerTar("a", "a\n"), "-t", ref+":1.0")
	c.run(crane, "tag", "--insecure", ref+":1.0", "stable")
	c.run(crane, "append", "--insecure", "-f", c.layerTar("b", "b\n"), "-t", ref+":2.0")
	digest := strings.TrimSpace(c.run(crane, "digest", "--insecure", ref+":1.0"))
	pulledBefore := c.run(crane, "manifest", "--insecure", ref+"@"+digest)

	gh, err := github.NewClient(github.WithAuthToken(tok), github.WithEnterpriseURLs(s.URL+"/", s.URL+"/"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pkgs, _, err := gh.Users.ListPackages(ctx, "", &github.PackageListOptions{PackageType: new("container")})
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 1 || pkgs[0].GetName() != "tools/builder" || pkgs[0].GetVersionCount() != 2 {
		t.Fatalf("packages = %v", pkgs)
	}
	versions, _, err := gh.Users.ListPackageVersions(ctx, "container", "tools/builder", nil)
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	for _, v := range versions {
		md, _ := v.GetMetadata()
		tags := md.GetContainer().Tags
		slices.Sort(tags)
		switch v.GetName() {
		case digest:
			id = v.GetID()
			if strings.Join(tags, ",") != "1.0,stable" {
				t.Errorf("tags of %s = %v", digest, tags)
			}
		default:
			if strings.Join(tags, ",") != "2.0" {
				t.Errorf("tags of %s = %v", v.GetName(), tags)
			}
		}
	}
	if id == 0 {
		t.Fatalf("%s not among %v", digest, versions)
	}

	resp, err := gh.Users.PackageDeleteVersion(ctx, "", "container", "tools/builder", id)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete version: %v", err)
	}
	c.fails(crane, "manifest", "--insecure", ref+"@"+digest)
	c.fails(crane, "manifest", "--insecure", ref+":stable")
	if tags := strings.Fields(c.run(crane, "ls", "--insecure", ref)); strings.Join(tags, ",") != "2.0" {
		t.Fatalf("tags after delete = %v", tags)
	}

	resp, err = gh.Users.PackageRestoreVersion(ctx, "", "container", "tools/builder", id)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("restore version: %v", err)
	}
	if got := c.run(crane, "manifest", "--insecure", ref+":stable"); got != pulledBefore {
		t.Fatalf("restored manifest differs:\n%s\n%s", got, pulledBefore)
	}
	out := t.TempDir() + "/image.tar"
	c.run(crane, "pull", "--insecure", ref+":1.0", out)
	v, _, err := gh.Users.PackageGetVersion(ctx, "alice", "container", "tools/builder", id)
	if err != nil {
		t.Fatal(err)
	}
	if md, _ := v.GetMetadata(); len(md.GetContainer().Tags) != 2 {
		t.Fatalf("restored tags = %s", v.Metadata)
	}
}
