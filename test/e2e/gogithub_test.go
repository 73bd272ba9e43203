package e2e

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-github/v92/github"

	"github.com/packhub/packhub/internal/packages"
)

// fixture is what the API client tests share: alice owns a container
// package, and the acme organization (alice admin, bob member) an npm one.
type fixture struct {
	srv        *Server
	aliceToken string
	bobToken   string
	container  packages.PackageRef
	npm        packages.PackageRef
	digests    []string // container versions, oldest first
}

func newFixture(t *testing.T, db Database, opts ...ServerOption) *fixture {
	t.Helper()
	return newFixtureOn(t, StartServer(t, db, opts...))
}

// newFixtureOn sets the fixture up on a running, fresh installation.
func newFixtureOn(t *testing.T, srv *Server) *fixture {
	t.Helper()
	srv.Admin("user", "create", "alice")
	srv.Admin("user", "create", "bob")
	srv.Admin("org", "create", "acme", "--admin", "alice")
	srv.Admin("org", "add-member", "acme", "bob", "--role", "member")
	f := &fixture{
		srv:        srv,
		aliceToken: srv.Token("alice", "read:packages,write:packages,delete:packages"),
		bobToken:   srv.Token("bob", "read:packages"),
		container:  packages.PackageRef{Owner: "alice", Type: packages.TypeContainer, Name: "hello/world"},
		npm:        packages.PackageRef{Owner: "acme", Type: packages.TypeNpm, Name: "tool"},
	}
	svc := srv.Service()
	ctx := context.Background()
	alice, err := svc.Authenticate(ctx, f.aliceToken)
	if err != nil {
		t.Fatal(err)
	}
	publish := func(ref packages.PackageRef, version string, tags ...string) {
		t.Helper()
		d, n, err := svc.Upload(ctx, alice, packages.UploadRequest{Package: ref, Body: strings.NewReader(ref.String() + "@" + version)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Publish(ctx, alice, packages.PublishRequest{
			Package: ref, Version: version, Tags: tags,
			Files: []packages.File{{Name: "content", Digest: d, Size: n, MediaType: "application/octet-stream"}},
		}); err != nil {
			t.Fatalf("publish %s@%s: %v", ref, version, err)
		}
	}
	for i, tag := range []string{"v1", "v2", "latest"} {
		d := fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(fmt.Sprint("manifest", i))))
		f.digests = append(f.digests, d)
		publish(f.container, d, tag)
	}
	for _, v := range []string{"1.0.0", "1.1.0"} {
		publish(f.npm, v)
	}
	return f
}

func (f *fixture) github(t *testing.T, token string) *github.Client {
	t.Helper()
	c, err := github.NewClient(
		github.WithHTTPClient(f.srv.Client()),
		github.WithAuthToken(token),
		github.WithEnterpriseURLs(f.srv.URL+"/", f.srv.URL+"/"),
	)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantStatus(t *testing.T, what string, resp *github.Response, err error, want int) {
	t.Helper()
	if want < 300 && err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if resp == nil {
		t.Fatalf("%s: no response (err %v)", what, err)
	}
	if resp.StatusCode != want {
		t.Fatalf("%s: status %d, want %d (err %v)", what, resp.StatusCode, want, err)
	}
}

// TestGoGitHubUserPackages drives every UsersService package method.
func TestGoGitHubUserPackages(t *testing.T) {
	t.Parallel()
	eachDatabase(t, testGoGitHubUserPackages)
}

func testGoGitHubUserPackages(t *testing.T, db Database) { goGitHubUserPackages(t, newFixture(t, db)) }

func goGitHubUserPackages(t *testing.T, f *fixture) {
	gh := f.github(t, f.aliceToken)
	ctx := context.Background()
	name := f.container.Name

	for _, user := range []string{"", "alice"} {
		pkgs, resp, err := gh.Users.ListPackages(ctx, user, &github.PackageListOptions{PackageType: new("container")})
		wantStatus(t, "list packages", resp, err, http.StatusOK)
		if len(pkgs) != 1 || pkgs[0].GetName() != name || pkgs[0].GetVersionCount() != 3 || pkgs[0].GetOwner().GetLogin() != "alice" {
			t.Fatalf("user %q: list packages = %+v", user, pkgs)
		}
		p, resp, err := gh.Users.GetPackage(ctx, user, "container", name)
		wantStatus(t, "get package", resp, err, http.StatusOK)
		if p.GetPackageType() != "container" || p.GetVisibility() != "private" || p.GetURL() != f.srv.URL+"/api/v3/users/alice/packages/container/hello%2Fworld" && p.GetURL() != f.srv.URL+"/api/v3/users/alice/packages/container/hello/world" {
			t.Fatalf("get package = %+v (url %s)", p, p.GetURL())
		}
	}

	// Paging through versions, by hand and with the iterator.
	var pages [][]*github.PackageVersion
	opts := &github.ListPackageVersionsOptions{ListOptions: github.ListOptions{PerPage: 2}}
	for {
		vs, resp, err := gh.Users.ListPackageVersions(ctx, "container", name, opts)
		wantStatus(t, "list versions", resp, err, http.StatusOK)
		pages = append(pages, vs)
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	if len(pages) != 2 || len(pages[0]) != 2 || len(pages[1]) != 1 {
		t.Fatalf("pages of 2: got %d pages", len(pages))
	}
	var all []*github.PackageVersion
	for v, err := range gh.Users.ListPackageVersionsIter(ctx, "container", name, &github.ListPackageVersionsOptions{ListOptions: github.ListOptions{PerPage: 1}}) {
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, v)
	}
	if len(all) != 3 {
		t.Fatalf("iterator: %d versions, want 3", len(all))
	}
	byName := map[string]*github.PackageVersion{}
	for _, v := range all {
		byName[v.GetName()] = v
	}
	latest := byName[f.digests[2]]
	if latest == nil {
		t.Fatalf("versions %v lack %s", all, f.digests[2])
	}
	md, ok := latest.GetMetadata()
	if !ok || md.GetPackageType() != "container" || md.GetContainer() == nil || fmt.Sprint(md.GetContainer().Tags) != "[latest]" {
		t.Fatalf("metadata of latest = %s", latest.Metadata)
	}

	others, resp, err := gh.Users.ListUserPackageVersions(ctx, "alice", "container", name)
	wantStatus(t, "list user versions", resp, err, http.StatusOK)
	if len(others) != 3 {
		t.Fatalf("list user versions: %d", len(others))
	}

	id := byName[f.digests[0]].GetID()
	for _, user := range []string{"", "alice"} {
		v, resp, err := gh.Users.PackageGetVersion(ctx, user, "container", name, id)
		wantStatus(t, "get version", resp, err, http.StatusOK)
		if v.GetName() != f.digests[0] {
			t.Fatalf("get version = %s", v.GetName())
		}
		resp, err = gh.Users.PackageDeleteVersion(ctx, user, "container", name, id)
		wantStatus(t, "delete version", resp, err, http.StatusNoContent)
		deleted, resp, err := gh.Users.ListPackageVersions(ctx, "container", name, &github.ListPackageVersionsOptions{State: "deleted"})
		wantStatus(t, "list deleted", resp, err, http.StatusOK)
		if len(deleted) != 1 || deleted[0].GetID() != id || deleted[0].DeletedAt == nil {
			t.Fatalf("deleted versions = %v", deleted)
		}
		resp, err = gh.Users.PackageRestoreVersion(ctx, user, "container", name, id)
		wantStatus(t, "restore version", resp, err, http.StatusNoContent)
	}
	restored, _, err := gh.Users.PackageGetVersion(ctx, "", "container", name, id)
	if err != nil {
		t.Fatal(err)
	}
	if md, _ := restored.GetMetadata(); fmt.Sprint(md.GetContainer().Tags) != "[v1]" {
		t.Fatalf("restored version tags = %s", restored.Metadata)
	}

	for _, user := range []string{"", "alice"} {
		resp, err := gh.Users.DeletePackage(ctx, user, "container", name)
		wantStatus(t, "delete package", resp, err, http.StatusNoContent)
		_, resp, err = gh.Users.GetPackage(ctx, user, "container", name)
		wantStatus(t, "get deleted package", resp, err, http.StatusNotFound)
		var er *github.ErrorResponse
		if !errors.As(err, &er) || er.Message != "Package not found." {
			t.Fatalf("get deleted package: %v", err)
		}
		resp, err = gh.Users.RestorePackage(ctx, user, "container", name)
		wantStatus(t, "restore package", resp, err, http.StatusNoContent)
		if _, _, err := gh.Users.GetPackage(ctx, user, "container", name); err != nil {
			t.Fatalf("get restored package: %v", err)
		}
	}

	var iterNames []string
	for p, err := range gh.Users.ListPackagesIter(ctx, "", &github.PackageListOptions{PackageType: new("container")}) {
		if err != nil {
			t.Fatal(err)
		}
		iterNames = append(iterNames, p.GetName())
	}
	if fmt.Sprint(iterNames) != "[hello/world]" {
		t.Fatalf("ListPackagesIter = %v", iterNames)
	}
}

// TestGoGitHubOrgPackages drives every OrganizationsService package method.
func TestGoGitHubOrgPackages(t *testing.T) {
	t.Parallel()
	eachDatabase(t, testGoGitHubOrgPackages)
}

func testGoGitHubOrgPackages(t *testing.T, db Database) { goGitHubOrgPackages(t, newFixture(t, db)) }

func goGitHubOrgPackages(t *testing.T, f *fixture) {
	admin := f.github(t, f.aliceToken)
	member := f.github(t, f.bobToken)
	ctx := context.Background()
	name := f.npm.Name

	pkgs, resp, err := admin.Organizations.ListPackages(ctx, "acme", &github.PackageListOptions{PackageType: new("npm")})
	wantStatus(t, "org list packages", resp, err, http.StatusOK)
	if len(pkgs) != 1 || pkgs[0].GetName() != name || pkgs[0].GetOwner().GetType() != "Organization" {
		t.Fatalf("org packages = %v", pkgs)
	}
	var iterNames []string
	for p, err := range admin.Organizations.ListPackagesIter(ctx, "acme", &github.PackageListOptions{PackageType: new("npm"), ListOptions: github.ListOptions{PerPage: 1}}) {
		if err != nil {
			t.Fatal(err)
		}
		iterNames = append(iterNames, p.GetName())
	}
	if fmt.Sprint(iterNames) != "[tool]" {
		t.Fatalf("org ListPackagesIter = %v", iterNames)
	}
	// A member does not see the private package of the organization.
	pkgs, resp, err = member.Organizations.ListPackages(ctx, "acme", &github.PackageListOptions{PackageType: new("npm")})
	wantStatus(t, "member list packages", resp, err, http.StatusOK)
	if len(pkgs) != 0 {
		t.Fatalf("member sees %v", pkgs)
	}

	p, resp, err := admin.Organizations.GetPackage(ctx, "acme", "npm", name)
	wantStatus(t, "org get package", resp, err, http.StatusOK)
	if p.GetVersionCount() != 2 {
		t.Fatalf("version_count = %d", p.GetVersionCount())
	}
	vs, resp, err := admin.Organizations.PackageGetAllVersions(ctx, "acme", "npm", name, &github.PackageListOptions{})
	wantStatus(t, "org list versions", resp, err, http.StatusOK)
	var names []string
	for _, v := range vs {
		names = append(names, v.GetName())
	}
	sort.Strings(names)
	if fmt.Sprint(names) != "[1.0.0 1.1.0]" {
		t.Fatalf("org versions = %v", names)
	}
	id := vs[0].GetID()
	v, resp, err := admin.Organizations.PackageGetVersion(ctx, "acme", "npm", name, id)
	wantStatus(t, "org get version", resp, err, http.StatusOK)
	if md, ok := v.GetMetadata(); !ok || md.GetPackageType() != "npm" {
		t.Fatalf("npm version metadata = %s", v.Metadata)
	}

	// The member's token lacks delete:packages.
	resp, err = member.Organizations.PackageDeleteVersion(ctx, "acme", "npm", name, id)
	wantStatus(t, "member delete version", resp, err, http.StatusForbidden)

	resp, err = admin.Organizations.PackageDeleteVersion(ctx, "acme", "npm", name, id)
	wantStatus(t, "org delete version", resp, err, http.StatusNoContent)
	resp, err = admin.Organizations.PackageDeleteVersion(ctx, "acme", "npm", name, vs[1].GetID())
	wantStatus(t, "org delete last version", resp, err, http.StatusBadRequest)
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Message != packages.MsgLastVersion {
		t.Fatalf("delete last version: %v", err)
	}
	resp, err = admin.Organizations.PackageRestoreVersion(ctx, "acme", "npm", name, id)
	wantStatus(t, "org restore version", resp, err, http.StatusNoContent)

	resp, err = admin.Organizations.DeletePackage(ctx, "acme", "npm", name)
	wantStatus(t, "org delete package", resp, err, http.StatusNoContent)
	_, resp, err = admin.Organizations.GetPackage(ctx, "acme", "npm", name)
	wantStatus(t, "org get deleted", resp, err, http.StatusNotFound)
	resp, err = admin.Organizations.RestorePackage(ctx, "acme", "npm", name)
	wantStatus(t, "org restore package", resp, err, http.StatusNoContent)
	resp, err = admin.Organizations.RestorePackage(ctx, "acme", "npm", name)
	wantStatus(t, "org restore twice", resp, err, http.StatusNotFound)
}
