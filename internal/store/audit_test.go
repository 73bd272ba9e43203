package store_test

import (
	"testing"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/store"
	"github.com/packhub/packhub/internal/store/storetest"
)

// TestRecountDamagedCounters damages a package's counters, which the
// triggers and the store keep right, and has RecountPackage set them from
// the rows again.
func TestRecountDamagedCounters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s packages.Store) {
		ctx := t.Context()
		a := s.(packages.Auditor)
		o := &packages.Owner{Login: "o", Type: packages.UserOwner}
		check(t, s.CreateOwner(ctx, o))
		p := &packages.Package{OwnerID: o.ID, Type: packages.TypeNpm, Name: "p", Visibility: packages.Public}
		check(t, s.CreatePackage(ctx, p))
		v := &packages.Version{PackageID: p.ID, Name: "1.0.0"}
		check(t, s.CreateVersion(ctx, v))
		check(t, s.CreateVersion(ctx, &packages.Version{PackageID: p.ID, Name: "1.1.0"}))
		check(t, s.IncrementDownloads(ctx, p.ID, v.ID))
		check(t, s.IncrementDownloads(ctx, p.ID, v.ID))
		check(t, store.BreakCounters(ctx, s, p.ID, 7, 0))

		cs, err := a.AuditCounters(ctx, 0, 10)
		check(t, err)
		want := packages.PackageCounters{PackageID: p.ID, VersionCount: 7, ActiveVersions: 2, DownloadCount: 0, VersionDownloads: 2}
		if len(cs) != 1 || cs[0] != want {
			t.Fatalf("damaged counters: got %+v, want %+v", cs, want)
		}
		check(t, a.RecountPackage(ctx, p.ID))
		cs, err = a.AuditCounters(ctx, 0, 10)
		check(t, err)
		want = packages.PackageCounters{PackageID: p.ID, VersionCount: 2, ActiveVersions: 2, DownloadCount: 2, VersionDownloads: 2}
		if len(cs) != 1 || cs[0] != want {
			t.Fatalf("recounted: got %+v, want %+v", cs, want)
		}
		got, err := s.GetPackageByID(ctx, p.ID)
		check(t, err)
		if got.VersionCount != 2 || got.DownloadCount != 2 {
			t.Fatalf("package after the recount: %d versions, %d downloads", got.VersionCount, got.DownloadCount)
		}
	})
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
