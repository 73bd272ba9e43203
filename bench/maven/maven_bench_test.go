package main

// In-process benchmarks of the Maven registry's reads over HTTP, with a
// token on every request (SQLite store, file blobs):
//
//	go test ./bench/maven -run '^$' -bench . -benchtime 5s

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/packhub/packhub/internal/blob/fileblob"
	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/registry/maven"
	"github.com/packhub/packhub/internal/store/storetest"
)

func newBenchRegistry(b *testing.B) *registry {
	b.Helper()
	blobs, err := fileblob.New(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	svc := packages.NewService(storetest.NewSQLite(b), blobs, packages.Options{Specs: packages.BuiltinSpecs()})
	b.Cleanup(func() { svc.Close() })
	ctx := context.Background()
	if _, err := svc.CreateUser(ctx, "bench", false); err != nil {
		b.Fatal(err)
	}
	if _, err := svc.CreateRepository(ctx, "bench/bench", packages.Private); err != nil {
		b.Fatal(err)
	}
	tok, _, err := svc.CreateToken(ctx, "bench", []string{"read:packages", "write:packages", "repo"}, "bench", 0)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(maven.New(svc, maven.Options{}))
	b.Cleanup(srv.Close)
	r := &registry{name: "Packhub", url: srv.URL + "/maven/bench/bench", user: "bench", token: tok}
	c := &http.Client{}
	var known []string
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0", "2.0.0"} {
		known = append(known, v)
		if err := deployVersion(c, r, "lib", v, 64<<10, known); err != nil {
			b.Fatal(err)
		}
	}
	return r
}

func benchGET(b *testing.B, r *registry, path string) {
	url := r.url + path
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := &http.Client{}
		for pb.Next() {
			req, _ := http.NewRequest("GET", url, nil)
			req.SetBasicAuth(r.user, r.token)
			res, err := c.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				b.Errorf("GET %s: %d", url, res.StatusCode)
				return
			}
		}
	})
}

func BenchmarkJarGET(b *testing.B) {
	benchGET(b, newBenchRegistry(b), "/com/bench/lib/1.0.0/lib-1.0.0.jar")
}

func BenchmarkMetadataGET(b *testing.B) {
	benchGET(b, newBenchRegistry(b), "/com/bench/lib/maven-metadata.xml")
}

func BenchmarkChecksumGET(b *testing.B) {
	benchGET(b, newBenchRegistry(b), "/com/bench/lib/1.0.0/lib-1.0.0.jar.sha1")
}
