package packages_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

type observed struct {
	mu        sync.Mutex
	published map[packages.Type]int
	downloads map[packages.Type]int64
}

func (o *observed) Published(t packages.Type) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.published[t]++
}

func (o *observed) Downloaded(t packages.Type, n int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.downloads[t] += n
}

// TestObserver: the service tells its observer of every version created
// and of every download once written.
func TestObserver(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		o := &observed{published: map[packages.Type]int{}, downloads: map[packages.Type]int64{}}
		svc := packages.NewService(env.Store, env.Blobs, packages.Options{Specs: packages.BuiltinSpecs(), Observer: o})
		env.User("alice")
		env.Repo("alice/repo", packages.Private)
		a := env.Actor(env.Token("alice", allScopes))
		put := func(s string) string {
			d, _, err := env.Blobs.Put(ctx, strings.NewReader(s), "")
			must(t, err)
			return d
		}
		r := ref("alice", packages.TypeNpm, "lib")
		for _, v := range []string{"1.0.0", "1.0.0", "1.1.0"} { // the second is a conflict
			_, _ = svc.Publish(ctx, a, packages.PublishRequest{Package: r, Version: v, Files: []packages.File{{Name: "f", Digest: put(v), Size: 5}}})
		}
		m := ref("alice", packages.TypeMaven, "com.example.lib")
		for _, name := range []string{"lib-1.0.jar", "lib-1.0.pom"} { // one version, two files
			_, err := svc.PutFile(ctx, a, packages.PutFileRequest{Package: m, Version: "1.0", CreateVersion: true, Repository: "alice/repo",
				File: packages.File{Name: name, Digest: put(name)}})
			must(t, err)
		}
		_, vs, _, err := svc.ListVersions(ctx, a, r, packages.Active, packages.Page{}, packages.ViaREST)
		must(t, err)
		svc.CountDownload(vs[0].PackageID, vs[0].ID)
		svc.CountDownload(vs[0].PackageID, vs[1].ID)
		svc.CountDownload(vs[0].PackageID, 0)
		must(t, svc.FlushDownloads(ctx))
		must(t, svc.Close())
		svc.CountDownload(vs[0].PackageID, vs[0].ID) // after Close: written at once
		o.mu.Lock()
		defer o.mu.Unlock()
		if o.published[packages.TypeNpm] != 2 || o.published[packages.TypeMaven] != 1 || o.downloads[packages.TypeNpm] != 4 {
			t.Errorf("published %v, downloads %v", o.published, o.downloads)
		}
	})
}
