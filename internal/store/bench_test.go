package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/store"
	"github.com/packhub/packhub/internal/store/storetest"
)

const (
	benchVersions = 100_000 // versions of one package
	benchPackages = 1_000   // packages of one owner
)

// BenchmarkListPages measures list pages as the REST API asks for them: 30
// and 100 per page, the first, middle and last pages, over a package with
// 100,000 versions and an organization with 1,000 packages. "middle" is the
// worst case for versions: the page is as far from either end as it gets.
func BenchmarkListPages(b *testing.B) {
	for _, d := range storetest.Dialects {
		b.Run(d.Name, func(b *testing.B) {
			s := d.Open(b)
			ctx := b.Context()
			start := time.Now()
			org := &packages.Owner{Login: "bench-org", Type: packages.OrgOwner}
			must(b, s.CreateOwner(ctx, org))
			user := &packages.Owner{Login: "bench-user", Type: packages.UserOwner}
			must(b, s.CreateOwner(ctx, user))
			must(b, s.SetOrgMember(ctx, org.ID, user.ID, packages.OrgMember))
			ids, err := store.SeedPackages(ctx, s, org.ID, packages.TypeNpm, "pkg", benchPackages, packages.Private)
			must(b, err)
			_, err = store.SeedPackages(ctx, s, org.ID, packages.TypeContainer, "img", 50, packages.Public)
			must(b, err)
			big := ids[0]
			must(b, store.SeedVersions(ctx, s, big, benchVersions))
			for _, id := range ids[1:] {
				must(b, store.SeedVersions(ctx, s, id, 1))
			}
			must(b, store.Analyze(ctx, s))
			b.Logf("%s: seeded %d versions, %d packages in %v", d.Name, benchVersions+benchPackages-1, benchPackages+50, time.Since(start).Round(time.Millisecond))

			for _, per := range []int{30, 100} {
				pages := []struct {
					name           string
					vOffset, pOffs int
				}{
					{"first", 0, 0},
					{"middle", benchVersions / per / 2 * per, benchPackages / per / 2 * per},
					{"last", (benchVersions/per - 1) * per, (benchPackages/per - 1) * per},
				}
				for _, pg := range pages {
					b.Run(fmt.Sprintf("ListVersions/per_page=%d/%s", per, pg.name), func(b *testing.B) {
						f := packages.VersionFilter{PackageID: big, State: packages.Active, Limit: per, Offset: pg.vOffset}
						for b.Loop() {
							vs, total, err := s.ListVersions(ctx, f)
							if err != nil || len(vs) != per || total != benchVersions {
								b.Fatalf("got %d of %d, %v", len(vs), total, err)
							}
						}
					})
					b.Run(fmt.Sprintf("ListPackages/per_page=%d/%s", per, pg.name), func(b *testing.B) {
						f := packages.PackageFilter{OwnerID: org.ID, Type: packages.TypeNpm, State: packages.Active, Limit: per, Offset: pg.pOffs}
						for b.Loop() {
							ps, total, err := s.ListPackages(ctx, f)
							if err != nil || len(ps) != per || total != benchPackages {
								b.Fatalf("got %d of %d, %v", len(ps), total, err)
							}
						}
					})
					b.Run(fmt.Sprintf("ListPackagesReadable/per_page=%d/%s", per, pg.name), func(b *testing.B) {
						f := packages.PackageFilter{OwnerID: org.ID, Type: packages.TypeNpm, State: packages.Active, Limit: per, Offset: pg.pOffs,
							Readable: &packages.ReadableBy{UserID: user.ID, OrgMemberOf: []int64{org.ID}, OrgAdminOf: []int64{org.ID}}}
						for b.Loop() {
							ps, total, err := s.ListPackages(ctx, f)
							if err != nil || len(ps) != per || total != benchPackages {
								b.Fatalf("got %d of %d, %v", len(ps), total, err)
							}
						}
					})
				}
			}
		})
	}
}

func must(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}
