// Package testenv builds a real Packhub service (real SQLite or PostgreSQL
// store, real file blob store in a temporary directory) for tests, with an
// adjustable clock and helpers to create accounts, tokens and packages.
package testenv

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/blob/fileblob"
	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/store/storetest"
)

// Clock is a settable clock for the service under test.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Env is a service under test with its stores.
type Env struct {
	T testing.TB
	// Dialect is "sqlite" or "postgres"; DSN names the database, for
	// tests that reach it as another process would.
	Dialect string
	DSN     string
	Store   packages.Store
	Blobs   packages.BlobStore
	Service *packages.Service
	Clock   *Clock

	specs    *packages.Specs
	blobRoot string
}

// Dialects names the databases tests run on: "sqlite" always, "postgres"
// when PACKHUB_TEST_DATABASE_URL is set (storetest fails in CI without it).
func Dialects() []string { return []string{"sqlite", "postgres"} }

// New builds an Env on the named dialect ("sqlite" or "postgres") for the
// built-in package types.
func New(t *testing.T, dialect string) *Env {
	t.Helper()
	return newEnv(t, dialect, packages.BuiltinSpecs(), t.TempDir())
}

// NewWithSpecs builds an Env whose service knows the package types specs
// describes.
func NewWithSpecs(t *testing.T, dialect string, specs *packages.Specs) *Env {
	t.Helper()
	return newEnv(t, dialect, specs, t.TempDir())
}

// NewWithBlobs builds an Env whose blob store is rooted at blobRoot, such
// as a SmallDisk.
func NewWithBlobs(t *testing.T, dialect, blobRoot string) *Env {
	t.Helper()
	return newEnv(t, dialect, packages.BuiltinSpecs(), blobRoot)
}

func newEnv(t *testing.T, dialect string, specs *packages.Specs, blobRoot string) *Env {
	t.Helper()
	var dsn string
	switch dialect {
	case "postgres":
		dsn = storetest.PostgresDSN(t)
	default:
		dialect, dsn = "sqlite", storetest.SQLiteDSN(t)
	}
	clock := &Clock{now: time.Now().UTC().Truncate(time.Second)}
	return open(t, dialect, dsn, blobRoot, specs, clock)
}

// open builds an Env on an existing database and blob directory.
func open(t testing.TB, dialect, dsn, blobRoot string, specs *packages.Specs, clock *Clock) *Env {
	t.Helper()
	st := storetest.OpenDSN(t, dsn)
	blobs, err := fileblob.New(blobRoot)
	if err != nil {
		t.Fatalf("blob store: %v", err)
	}
	svc := packages.NewService(st, blobs, packages.Options{Specs: specs, Now: clock.Now})
	t.Cleanup(func() {
		if err := svc.Close(); err != nil {
			t.Errorf("close service: %v", err)
		}
	})
	return &Env{T: t, Dialect: dialect, DSN: dsn, Store: st, Blobs: blobs, Service: svc, Clock: clock, specs: specs, blobRoot: blobRoot}
}

// Replica builds a second Env on the same database and blob directory, as
// another replica of one installation would run: its own store
// connections, blob store instance and service (with its own buffered
// download counts), and the same clock. Fronts built on each then keep
// caches of their own, as separate processes do.
func (e *Env) Replica() *Env {
	e.T.Helper()
	return open(e.T, e.Dialect, e.DSN, e.blobRoot, e.specs, e.Clock)
}

// Each runs fn as a subtest on every available dialect.
func Each(t *testing.T, fn func(t *testing.T, env *Env)) {
	for _, d := range Dialects() {
		t.Run(d, func(t *testing.T) {
			fn(t, New(t, d))
		})
	}
}

// User creates a user.
func (e *Env) User(login string) *packages.Owner {
	e.T.Helper()
	o, err := e.Service.CreateUser(context.Background(), login, false)
	if err != nil {
		e.T.Fatalf("create user %s: %v", login, err)
	}
	return o
}

// Org creates an organization administered by admin.
func (e *Env) Org(login, admin string) *packages.Owner {
	e.T.Helper()
	o, err := e.Service.CreateOrg(context.Background(), login, admin)
	if err != nil {
		e.T.Fatalf("create org %s: %v", login, err)
	}
	return o
}

// Member adds a user to an organization.
func (e *Env) Member(org, user string, role packages.OrgRole) {
	e.T.Helper()
	if err := e.Service.AddOrgMember(context.Background(), org, user, role); err != nil {
		e.T.Fatalf("add member %s to %s: %v", user, org, err)
	}
}

// Repo creates a repository "OWNER/NAME".
func (e *Env) Repo(fullName string, vis packages.Visibility) *packages.Repository {
	e.T.Helper()
	r, err := e.Service.CreateRepository(context.Background(), fullName, vis)
	if err != nil {
		e.T.Fatalf("create repo %s: %v", fullName, err)
	}
	return r
}

// Token issues a token for user with the given comma-separated scopes.
func (e *Env) Token(user, scopes string) string {
	e.T.Helper()
	tok, _, err := e.Service.CreateToken(context.Background(), user, strings.Split(scopes, ","), "test", 0)
	if err != nil {
		e.T.Fatalf("create token for %s: %v", user, err)
	}
	return tok
}

// Actor authenticates a token.
func (e *Env) Actor(token string) *packages.Actor {
	e.T.Helper()
	a, err := e.Service.Authenticate(context.Background(), token)
	if err != nil {
		e.T.Fatalf("authenticate: %v", err)
	}
	return a
}

// Publish publishes versions of a package as the token's user, with one
// small file each, and returns the published versions.
func (e *Env) Publish(token string, ref packages.PackageRef, repository string, versions ...string) []*packages.Version {
	e.T.Helper()
	ctx := context.Background()
	a := e.Actor(token)
	var out []*packages.Version
	for _, v := range versions {
		d, n, err := e.Blobs.Put(ctx, strings.NewReader(ref.String()+"@"+v), "")
		if err != nil {
			e.T.Fatalf("put blob: %v", err)
		}
		p, err := e.Service.Publish(ctx, a, packages.PublishRequest{
			Package: ref, Version: v, Repository: repository,
			Files: []packages.File{{Name: "file", Digest: d, Size: n, MediaType: "application/octet-stream"}},
		})
		if err != nil {
			e.T.Fatalf("publish %s@%s: %v", ref, v, err)
		}
		out = append(out, p.Version)
	}
	return out
}

// EachWithSpecs runs fn as a subtest on every available dialect, with a
// service that knows the package types specs describes.
func EachWithSpecs(t *testing.T, specs *packages.Specs, fn func(t *testing.T, env *Env)) {
	for _, d := range Dialects() {
		t.Run(d, func(t *testing.T) {
			fn(t, NewWithSpecs(t, d, specs))
		})
	}
}
