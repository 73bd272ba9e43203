package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/blob/fileblob"
	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/restapi"
	"github.com/packhub/packhub/internal/store/storetest"
	"github.com/packhub/packhub/internal/web"
)

// benchVersions is how many versions the benchmark's package has.
const benchVersions = 100_000

// BenchmarkPackagePages measures the server time of the pages of a
// package with 100,000 versions, each with a file (the newest with a
// README of 8 KiB), rendered in full as a browser asks for them: the
// package's first and a middle page of versions, a version's page, its
// settings, the owner's list. The REST API's first page of the same
// versions is measured beside them as the peer.
func BenchmarkPackagePages(b *testing.B) {
	for _, d := range storetest.Dialects {
		b.Run(d.Name, func(b *testing.B) {
			st := d.Open(b)
			blobs, err := fileblob.New(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			svc := packages.NewService(st, blobs, packages.Options{Specs: packages.BuiltinSpecs()})
			ctx := b.Context()
			start := time.Now()
			if _, err := svc.CreateUser(ctx, "bench", false); err != nil {
				b.Fatal(err)
			}
			tok, _, err := svc.CreateToken(ctx, "bench", []string{packages.ScopeReadPackages, packages.ScopeWritePackages, packages.ScopeDeletePackages}, "", 0)
			if err != nil {
				b.Fatal(err)
			}
			a, err := svc.Authenticate(ctx, tok)
			if err != nil {
				b.Fatal(err)
			}
			lastID := seedVersions(b, svc, st, a)
			if an, ok := st.(interface{ Analyze(context.Context) error }); ok {
				if err := an.Analyze(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.Logf("%s: seeded %d versions in %v", d.Name, benchVersions, time.Since(start).Round(time.Millisecond))

			pages := web.New(svc, web.Options{BaseURL: "http://packhub.test", Key: []byte("bench")})
			rest := restapi.New(svc, restapi.Options{BaseURL: "http://packhub.test"})
			secret, _, _, err := svc.SignIn(ctx, tok)
			if err != nil {
				b.Fatal(err)
			}
			pkg := "/users/bench/packages/npm/package/big"
			for _, c := range []struct {
				name, path string
				h          http.Handler
				want       string
			}{
				{"package/first", pkg, pages, "1.0.99999"},
				{"package/middle", pkg + fmt.Sprintf("?page=%d", benchVersions/30/2), pages, "Page 1666 of 3334"},
				{"version", fmt.Sprintf("/users/bench/packages/npm/big/%d", lastID), pages, "SHA-256"},
				{"settings", pkg + "/settings", pages, "Delete this package"},
				{"owner", "/bench", pages, "big"},
				{"peer/rest-versions", "/users/bench/packages/npm/big/versions", nil, ""},
			} {
				b.Run(c.name, func(b *testing.B) {
					h, path := c.h, c.path
					if h == nil {
						h, path = rest, "/user/packages/npm/big/versions?per_page=30"
					}
					for b.Loop() {
						req := httptest.NewRequest(http.MethodGet, path, nil)
						if c.h != nil {
							req.Header.Set("Accept", "text/html")
							req.AddCookie(&http.Cookie{Name: "packhub_session", Value: secret})
						} else {
							req.Header.Set("Authorization", "Bearer "+tok)
						}
						rec := httptest.NewRecorder()
						h.ServeHTTP(rec, req)
						if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), c.want) {
							b.Fatalf("GET %s: %d\n%.2000s", path, rec.Code, rec.Body.String())
						}
					}
				})
			}
		})
	}
}

// seedVersions makes the package bench/big with benchVersions versions
// 1.0.0 to 1.0.99999 of one file each, through the store in batches (the
// service's publish would take minutes); the newest keeps a README.
func seedVersions(b *testing.B, svc *packages.Service, st packages.Store, a *packages.Actor) (lastID int64) {
	b.Helper()
	ctx := b.Context()
	ref := packages.PackageRef{Owner: "bench", Scope: packages.AnyOwner, Type: packages.TypeNpm, Name: "big"}
	d, n, err := svc.Upload(ctx, a, packages.UploadRequest{Package: ref, Body: strings.NewReader("tarball")})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.Publish(ctx, a, packages.PublishRequest{Package: ref, Version: "1.0.0",
		Files: []packages.File{{Name: "big-1.0.0.tgz", Digest: d, Size: n}}}); err != nil {
		b.Fatal(err)
	}
	pi, err := svc.GetPackage(ctx, a, ref, packages.OpRead, packages.ViaRegistry)
	if err != nil {
		b.Fatal(err)
	}
	readme := "# big\n\n" + strings.Repeat("Some *text* with [a link](https://example.com) and `code`.\n\n", 140)
	meta, _ := json.Marshal(map[string]string{"readme": readme, "description": "A package with many versions"})
	const batch = 5000
	for from := 1; from < benchVersions; from += batch {
		err := st.WithTx(ctx, func(tx packages.Store) error {
			for i := from; i < min(from+batch, benchVersions); i++ {
				v := &packages.Version{PackageID: pi.ID, Name: fmt.Sprintf("1.0.%d", i), Description: "A package with many versions"}
				if i == benchVersions-1 {
					v.Metadata = meta
				}
				if err := tx.CreateVersion(ctx, v); err != nil {
					return err
				}
				if err := tx.AddFile(ctx, &packages.File{VersionID: v.ID, Name: fmt.Sprintf("big-%s.tgz", v.Name), Digest: d, Size: n}); err != nil {
					return err
				}
				lastID = v.ID
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return lastID
}
