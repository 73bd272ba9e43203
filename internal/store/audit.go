package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/packhub/packhub/internal/packages"
)

// What a consistency check reads and repairs (packages.Auditor). Reads are
// single statements over an index, in batches, so that a check runs beside
// a serving registry without holding anything.

var _ packages.Auditor = (*DB)(nil)

// AuditTotals counts blobs, their bytes, files, blob links and packages.
func (s *DB) AuditTotals(ctx context.Context) (packages.AuditTotals, error) {
	var t packages.AuditTotals
	err := s.queryRow(ctx, `SELECT
		(SELECT count(*) FROM blobs), (SELECT coalesce(sum(size), 0) FROM blobs),
		(SELECT count(*) FROM files), (SELECT count(*) FROM package_blobs), (SELECT count(*) FROM packages)`).
		Scan(&t.Blobs, &t.BlobBytes, &t.Files, &t.Links, &t.Packages)
	if err != nil {
		return packages.AuditTotals{}, s.fail("audit totals", err)
	}
	return t, nil
}

// AuditBlobs lists recorded blobs with their checksums, in digest order,
// after the digest after.
func (s *DB) AuditBlobs(ctx context.Context, after string, limit int) ([]packages.Blob, error) {
	rows, err := s.query(ctx, `SELECT digest, size, created_at, md5, sha1, sha256, sha512 FROM blobs
		WHERE digest > ? ORDER BY digest`+s.limit(limit, 0), after)
	if err != nil {
		return nil, s.fail("audit blobs", err)
	}
	defer rows.Close()
	out := []packages.Blob{}
	for rows.Next() {
		var b packages.Blob
		var c [4]sql.NullString
		if err := rows.Scan(&b.Digest, &b.Size, timeScan{&b.CreatedAt}, &c[0], &c[1], &c[2], &c[3]); err != nil {
			return nil, s.fail("audit blobs", err)
		}
		if c[0].Valid && c[1].Valid && c[2].Valid && c[3].Valid {
			b.Checksums = packages.Checksums{MD5: c[0].String, SHA1: c[1].String, SHA256: c[2].String, SHA512: c[3].String}
		}
		out = append(out, b)
	}
	return out, s.fail("audit blobs", rows.Err())
}

const auditFileCols = `f.id, f.version_id, f.name, f.digest, f.size, f.media_type, f.created_at,
	coalesce(v.package_id, 0), CASE WHEN v.deleted_at IS NULL THEN 0 ELSE 1 END`

func scanAuditFile(sc scanner) (*packages.AuditFile, error) {
	var f packages.AuditFile
	var deleted int
	if err := sc.Scan(&f.ID, &f.VersionID, &f.Name, &f.Digest, &f.Size, &f.MediaType, timeScan{&f.CreatedAt},
		&f.PackageID, &deleted); err != nil {
		return nil, err
	}
	f.VersionDeleted = deleted != 0
	return &f, nil
}

// AuditFiles lists file rows in id order after afterID, with their
// version's package (0 when the version row is missing).
func (s *DB) AuditFiles(ctx context.Context, afterID int64, limit int) ([]packages.AuditFile, error) {
	rows, err := s.query(ctx, `SELECT `+auditFileCols+` FROM files f LEFT JOIN versions v ON v.id = f.version_id
		WHERE f.id > ? ORDER BY f.id`+s.limit(limit, 0), afterID)
	if err != nil {
		return nil, s.fail("audit files", err)
	}
	defer rows.Close()
	out := []packages.AuditFile{}
	for rows.Next() {
		f, err := scanAuditFile(rows)
		if err != nil {
			return nil, s.fail("audit files", err)
		}
		out = append(out, *f)
	}
	return out, s.fail("audit files", rows.Err())
}

// AuditFile reads one file row by id.
func (s *DB) AuditFile(ctx context.Context, id int64) (*packages.AuditFile, error) {
	f, err := scanAuditFile(s.queryRow(ctx, `SELECT `+auditFileCols+` FROM files f LEFT JOIN versions v ON v.id = f.version_id
		WHERE f.id = ?`, id))
	if err != nil {
		return nil, s.fail(fmt.Sprintf("audit file %d", id), err)
	}
	return f, nil
}

// AuditLinks lists blob links in (package, digest) order after after.
func (s *DB) AuditLinks(ctx context.Context, after packages.BlobLink, limit int) ([]packages.BlobLink, error) {
	rows, err := s.query(ctx, `SELECT package_id, digest FROM package_blobs
		WHERE package_id > ? OR (package_id = ? AND digest > ?) ORDER BY package_id, digest`+s.limit(limit, 0),
		after.PackageID, after.PackageID, after.Digest)
	if err != nil {
		return nil, s.fail("audit links", err)
	}
	defer rows.Close()
	out := []packages.BlobLink{}
	for rows.Next() {
		var l packages.BlobLink
		if err := rows.Scan(&l.PackageID, &l.Digest); err != nil {
			return nil, s.fail("audit links", err)
		}
		out = append(out, l)
	}
	return out, s.fail("audit links", rows.Err())
}

// AuditCounters lists packages after afterID with their kept counters and
// the counts taken from their versions, in one statement.
func (s *DB) AuditCounters(ctx context.Context, afterID int64, limit int) ([]packages.PackageCounters, error) {
	rows, err := s.query(ctx, `SELECT p.id, p.version_count, p.download_count,
		(SELECT count(*) FROM versions v WHERE v.package_id = p.id AND v.deleted_at IS NULL),
		(SELECT coalesce(sum(v.download_count), 0) FROM versions v WHERE v.package_id = p.id)
		FROM packages p WHERE p.id > ? ORDER BY p.id`+s.limit(limit, 0), afterID)
	if err != nil {
		return nil, s.fail("audit counters", err)
	}
	defer rows.Close()
	out := []packages.PackageCounters{}
	for rows.Next() {
		var c packages.PackageCounters
		if err := rows.Scan(&c.PackageID, &c.VersionCount, &c.DownloadCount, &c.ActiveVersions, &c.VersionDownloads); err != nil {
			return nil, s.fail("audit counters", err)
		}
		out = append(out, c)
	}
	return out, s.fail("audit counters", rows.Err())
}

// BlobReferences counts the file rows, package links and pending pushes of
// a digest.
func (s *DB) BlobReferences(ctx context.Context, digest string) (packages.BlobReferences, error) {
	var r packages.BlobReferences
	err := s.queryRow(ctx, `SELECT (SELECT count(*) FROM files WHERE digest = ?),
		(SELECT count(*) FROM package_blobs WHERE digest = ?), (SELECT count(*) FROM pending_blobs WHERE digest = ?)`,
		digest, digest, digest).Scan(&r.Files, &r.Links, &r.Pending)
	if err != nil {
		return packages.BlobReferences{}, s.fail("blob references", err)
	}
	return r, nil
}

// RecountPackage sets a package's version count from its active versions
// and raises its download count to its versions' sum, with the row locked
// first on PostgreSQL, so that the counts include every version committed
// before and a version added meanwhile is counted by its own trigger.
func (s *DB) RecountPackage(ctx context.Context, id int64) error {
	return s.inTx(ctx, func(s *DB) error {
		if err := s.LockPackage(ctx, id); err != nil {
			return err
		}
		res, err := s.exec(ctx, `UPDATE packages SET
			version_count = (SELECT count(*) FROM versions v WHERE v.package_id = packages.id AND v.deleted_at IS NULL),
			download_count = CASE
				WHEN download_count < (SELECT coalesce(sum(v.download_count), 0) FROM versions v WHERE v.package_id = packages.id)
				THEN (SELECT coalesce(sum(v.download_count), 0) FROM versions v WHERE v.package_id = packages.id)
				ELSE download_count END
			WHERE id = ?`, id)
		if err != nil {
			return s.fail(fmt.Sprintf("recount package %d", id), err)
		}
		return s.affected(res, fmt.Sprintf("package %d", id))
	})
}

// SetFileSize sets a file row's size while it still holds digest.
func (s *DB) SetFileSize(ctx context.Context, id int64, digest string, size int64) (bool, error) {
	res, err := s.exec(ctx, `UPDATE files SET size = ? WHERE id = ? AND digest = ?`, size, id, digest)
	if err != nil {
		return false, s.fail("set file size", err)
	}
	return s.changed(res, "set file size")
}

// DeleteFileIf deletes a file row while it still holds digest.
func (s *DB) DeleteFileIf(ctx context.Context, id int64, digest string) (bool, error) {
	res, err := s.exec(ctx, `DELETE FROM files WHERE id = ? AND digest = ?`, id, digest)
	if err != nil {
		return false, s.fail("delete file", err)
	}
	return s.changed(res, "delete file")
}

// FixBlob records a blob with b's size and checksums (kept checksums are
// replaced; without any in b they are cleared, to be computed again).
func (s *DB) FixBlob(ctx context.Context, b packages.Blob) error {
	if b.CreatedAt.IsZero() {
		b.CreatedAt = now()
	}
	var c [4]any
	if b.Checksums.Known() {
		c = [4]any{b.Checksums.MD5, b.Checksums.SHA1, b.Checksums.SHA256, b.Checksums.SHA512}
	}
	_, err := s.exec(ctx, `INSERT INTO blobs (digest, size, created_at, md5, sha1, sha256, sha512) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (digest) DO UPDATE SET size = excluded.size, md5 = excluded.md5, sha1 = excluded.sha1,
			sha256 = excluded.sha256, sha512 = excluded.sha512`,
		b.Digest, b.Size, s.t(b.CreatedAt), c[0], c[1], c[2], c[3])
	return s.fail("fix blob", err)
}

// DropBlob forgets a blob with its package links and pending pushes,
// unless a file row refers to it; it reports whether it removed any row.
func (s *DB) DropBlob(ctx context.Context, digest string) (bool, error) {
	var dropped bool
	err := s.inTx(ctx, func(s *DB) error {
		var files int
		if err := s.queryRow(ctx, `SELECT count(*) FROM files WHERE digest = ?`, digest).Scan(&files); err != nil {
			return s.fail("drop blob", err)
		}
		if files > 0 {
			return nil
		}
		for _, q := range []string{
			`DELETE FROM package_blobs WHERE digest = ?`,
			`DELETE FROM pending_blobs WHERE digest = ?`,
			`DELETE FROM blobs WHERE digest = ?`,
		} {
			res, err := s.exec(ctx, q, digest)
			if err != nil {
				return s.fail("drop blob", err)
			}
			n, err := s.changed(res, "drop blob")
			if err != nil {
				return err
			}
			dropped = dropped || n
		}
		return nil
	})
	return dropped, err
}

// changed reports whether res changed a row.
func (s *DB) changed(res sql.Result, op string) (bool, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return false, s.fail(op, err)
	}
	return n > 0, nil
}
