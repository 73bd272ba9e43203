package storetest

import (
	"testing"
	"time"

	"github.com/packhub/packhub/internal/packages"
)

func auditor(t *testing.T, s packages.Store) packages.Auditor {
	t.Helper()
	a, isAuditor := s.(packages.Auditor)
	if !isAuditor {
		t.Fatal("the store must be a packages.Auditor")
	}
	return a
}

func mkFile(t *testing.T, s packages.Store, v *packages.Version, name, digest string, size int64) *packages.File {
	t.Helper()
	f := &packages.File{VersionID: v.ID, Name: name, Digest: digest, Size: size, MediaType: "application/octet-stream"}
	ok(t, s.AddFile(ctx(t), f))
	return f
}

func testAuditReads(t *testing.T, s packages.Store) {
	a := auditor(t, s)
	o := mkUser(t, s, "o")
	p := mkPkg(t, s, o, packages.TypeNpm, "p", packages.Public)
	q := mkPkg(t, s, o, packages.TypeContainer, "q", packages.Public)
	v1, v2 := mkVersion(t, s, p, "1.0.0"), mkVersion(t, s, p, "2.0.0")
	softDeleteVersion(t, s, v2, o.ID, time.Now())
	sums := packages.Checksums{MD5: "m", SHA1: "s1", SHA256: "s2", SHA512: "s5"}
	ok(t, s.PutBlob(ctx(t), &packages.Blob{Digest: "sha256:a", Size: 3, Checksums: sums}))
	ok(t, s.PutBlob(ctx(t), &packages.Blob{Digest: "sha256:b", Size: 5}))
	ok(t, s.PutBlob(ctx(t), &packages.Blob{Digest: "sha256:c", Size: 7}))
	f1 := mkFile(t, s, v1, "a.tgz", "sha256:a", 3)
	f2 := mkFile(t, s, v2, "b.tgz", "sha256:b", 5)
	ok(t, s.LinkBlob(ctx(t), q.ID, "sha256:c"))
	ok(t, s.LinkBlob(ctx(t), q.ID, "sha256:b"))
	ok(t, s.LinkBlob(ctx(t), p.ID, "sha256:a"))
	ok(t, s.LinkPendingBlob(ctx(t), packages.PendingKey{OwnerID: o.ID, Type: packages.TypeContainer, Name: "r", UserID: o.ID}, "sha256:c", time.Now()))

	tot, err := a.AuditTotals(ctx(t))
	ok(t, err)
	eq(t, "totals", tot, packages.AuditTotals{Blobs: 3, BlobBytes: 15, Files: 2, Links: 3, Packages: 2})

	// Blobs, in pages.
	page, err := a.AuditBlobs(ctx(t), "", 2)
	ok(t, err)
	eq(t, "first blobs", []string{page[0].Digest, page[1].Digest}, []string{"sha256:a", "sha256:b"})
	eq(t, "checksums", page[0].Checksums, sums)
	eq(t, "no checksums", page[1].Checksums, packages.Checksums{})
	page, err = a.AuditBlobs(ctx(t), "sha256:b", 2)
	ok(t, err)
	eq(t, "next blobs", len(page), 1)
	eq(t, "last blob", page[0].Size, int64(7))

	// Files, in pages, with where they belong.
	files, err := a.AuditFiles(ctx(t), 0, 1)
	ok(t, err)
	eq(t, "first file", files[0].ID, f1.ID)
	eq(t, "first file's package", files[0].PackageID, p.ID)
	eq(t, "first file's version active", files[0].VersionDeleted, false)
	files, err = a.AuditFiles(ctx(t), f1.ID, 10)
	ok(t, err)
	eq(t, "next files", len(files), 1)
	eq(t, "deleted version's file", files[0].VersionDeleted, true)
	eq(t, "file digest", files[0].Digest, "sha256:b")
	one, err := a.AuditFile(ctx(t), f2.ID)
	ok(t, err)
	eq(t, "one file", one.Name, "b.tgz")
	_, err = a.AuditFile(ctx(t), f2.ID+100)
	isNotFound(t, err, "AuditFile of a missing row")

	// Links, in pages.
	links, err := a.AuditLinks(ctx(t), packages.BlobLink{}, 2)
	ok(t, err)
	eq(t, "first links", links, []packages.BlobLink{{PackageID: p.ID, Digest: "sha256:a"}, {PackageID: q.ID, Digest: "sha256:b"}})
	links, err = a.AuditLinks(ctx(t), links[1], 2)
	ok(t, err)
	eq(t, "next links", links, []packages.BlobLink{{PackageID: q.ID, Digest: "sha256:c"}})

	refs, err := a.BlobReferences(ctx(t), "sha256:c")
	ok(t, err)
	eq(t, "references of c", refs, packages.BlobReferences{Files: 0, Links: 1, Pending: 1})
	refs, err = a.BlobReferences(ctx(t), "sha256:none")
	ok(t, err)
	eq(t, "references of nothing", refs.Any(), false)

	// Counters: kept and counted agree.
	ok(t, s.IncrementDownloads(ctx(t), p.ID, v1.ID))
	ok(t, s.IncrementDownloads(ctx(t), p.ID, 0))
	cs, err := a.AuditCounters(ctx(t), 0, 10)
	ok(t, err)
	eq(t, "counters", cs, []packages.PackageCounters{
		{PackageID: p.ID, VersionCount: 1, ActiveVersions: 1, DownloadCount: 2, VersionDownloads: 1},
		{PackageID: q.ID},
	})
	cs, err = a.AuditCounters(ctx(t), p.ID, 10)
	ok(t, err)
	eq(t, "counters after p", len(cs), 1)
}

func testAuditRepairs(t *testing.T, s packages.Store) {
	a := auditor(t, s)
	o := mkUser(t, s, "o")
	p := mkPkg(t, s, o, packages.TypeNpm, "p", packages.Public)
	v := mkVersion(t, s, p, "1.0.0")
	mkVersion(t, s, p, "1.1.0")
	ok(t, s.PutBlob(ctx(t), &packages.Blob{Digest: "sha256:a", Size: 3}))
	f := mkFile(t, s, v, "a.tgz", "sha256:a", 99)

	// File sizes, only while the row holds the digest.
	changed, err := a.SetFileSize(ctx(t), f.ID, "sha256:other", 3)
	ok(t, err)
	eq(t, "size of a changed row", changed, false)
	changed, err = a.SetFileSize(ctx(t), f.ID, "sha256:a", 3)
	ok(t, err)
	eq(t, "size set", changed, true)
	got, err := s.GetFile(ctx(t), v.ID, "a.tgz")
	ok(t, err)
	eq(t, "file size", got.Size, int64(3))

	// Blob records.
	sums := packages.Checksums{MD5: "m", SHA1: "s1", SHA256: "s2", SHA512: "s5"}
	ok(t, a.FixBlob(ctx(t), packages.Blob{Digest: "sha256:a", Size: 4, Checksums: sums}))
	b, err := s.GetBlob(ctx(t), "sha256:a")
	ok(t, err)
	eq(t, "fixed size", b.Size, int64(4))
	eq(t, "fixed checksums", b.Checksums, sums)
	ok(t, a.FixBlob(ctx(t), packages.Blob{Digest: "sha256:new", Size: 1}))
	_, err = s.GetBlob(ctx(t), "sha256:new")
	ok(t, err)

	// Dropping a lost blob: not while a file refers to it.
	ok(t, s.LinkBlob(ctx(t), p.ID, "sha256:a"))
	dropped, err := a.DropBlob(ctx(t), "sha256:a")
	ok(t, err)
	eq(t, "drop a referenced blob", dropped, false)
	deleted, err := a.DeleteFileIf(ctx(t), f.ID, "sha256:other")
	ok(t, err)
	eq(t, "delete a changed row", deleted, false)
	deleted, err = a.DeleteFileIf(ctx(t), f.ID, "sha256:a")
	ok(t, err)
	eq(t, "delete the row", deleted, true)
	ok(t, s.LinkPendingBlob(ctx(t), packages.PendingKey{OwnerID: o.ID, Type: packages.TypeContainer, Name: "r", UserID: o.ID}, "sha256:a", time.Now()))
	dropped, err = a.DropBlob(ctx(t), "sha256:a")
	ok(t, err)
	eq(t, "drop", dropped, true)
	refs, err := a.BlobReferences(ctx(t), "sha256:a")
	ok(t, err)
	eq(t, "references after the drop", refs, packages.BlobReferences{})
	_, err = s.GetBlob(ctx(t), "sha256:a")
	isNotFound(t, err, "dropped blob")
	dropped, err = a.DropBlob(ctx(t), "sha256:a")
	ok(t, err)
	eq(t, "drop twice", dropped, false)

	// Counters: recounting right ones keeps them (the store's own tests
	// damage them first); a download count above the versions' sum
	// (downloads of the package alone, of purged versions) stays.
	ok(t, s.IncrementDownloads(ctx(t), p.ID, v.ID))
	ok(t, s.IncrementDownloads(ctx(t), p.ID, 0))
	ok(t, a.RecountPackage(ctx(t), p.ID))
	cs, err := a.AuditCounters(ctx(t), 0, 1)
	ok(t, err)
	eq(t, "recounted", cs[0], packages.PackageCounters{PackageID: p.ID, VersionCount: 2, ActiveVersions: 2, DownloadCount: 2, VersionDownloads: 1})
	isNotFound(t, a.RecountPackage(ctx(t), p.ID+100), "RecountPackage of a missing package")
}
