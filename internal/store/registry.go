package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/packhub/packhub/internal/packages"
)

// What registry reads need in one statement (packages.RegistryLookuper),
// and download counts added in batches (packages.DownloadAdder).

var (
	_ packages.RegistryLookuper = (*DB)(nil)
	_ packages.DownloadAdder    = (*DB)(nil)
)

// LookupRegistry reads, in one statement, the owner a registry name
// starts with, its active package of that type and name, and what else
// the lookup asks for
// (a tag and the version it names, or an active version by name; a file
// of that version; whether a blob is linked to the package). Missing rows
// are nil in the result; a missing owner leaves everything nil.
//
// It reads only the columns authorization and a registry read use (see
// packages.RegistryRow): SQLite parses every statement it runs, and its
// cost grows with the columns selected.
func (s *DB) LookupRegistry(ctx context.Context, q packages.RegistryLookup) (*packages.RegistryRow, error) {
	var b strings.Builder
	b.WriteString(`SELECT o.id, o.login, o.type, p.id, p.name, p.visibility, p.repository_id`)
	byTag, byName := q.Tag != "", q.Tag == "" && q.Version != ""
	withFile := q.File != "" && (byTag || byName)
	if byTag {
		b.WriteString(`, t.version_id`)
	}
	if byTag || byName {
		b.WriteString(`, v.id, v.name, v.deleted_at`)
	}
	if withFile {
		b.WriteString(`, f.digest, f.size, f.media_type`)
	}
	if q.Blob != "" {
		b.WriteString(`, pb.package_id`)
	}
	b.WriteString(` FROM owners o
		LEFT JOIN packages p ON p.owner_id = o.id AND p.type = ? AND lower(p.name) = lower(?) AND p.deleted_at IS NULL`)
	args := []any{string(q.Type), q.Name}
	switch {
	case byTag:
		b.WriteString(` LEFT JOIN tags t ON t.package_id = p.id AND t.name = ?
			LEFT JOIN versions v ON v.id = t.version_id AND v.package_id = p.id`)
		args = append(args, q.Tag)
	case byName:
		b.WriteString(` LEFT JOIN versions v ON v.package_id = p.id AND v.name = ? AND v.deleted_at IS NULL`)
		args = append(args, q.Version)
	}
	if withFile {
		b.WriteString(` LEFT JOIN files f ON f.version_id = v.id AND f.name = ?`)
		args = append(args, q.File)
	}
	if q.Blob != "" {
		b.WriteString(` LEFT JOIN package_blobs pb ON pb.package_id = p.id AND pb.digest = ?`)
		args = append(args, q.Blob)
	}
	b.WriteString(` WHERE lower(o.login) = lower(?)`)
	args = append(args, q.Owner)

	var (
		o                   packages.Owner
		otype               string
		pid, repo           sql.NullInt64
		pname, vis          sql.NullString
		tagVer, vid         sql.NullInt64
		vname               sql.NullString
		vdel                *time.Time
		fdigest, fmediaType sql.NullString
		fsize               sql.NullInt64
		linked              sql.NullInt64
	)
	dest := []any{&o.ID, &o.Login, &otype, &pid, &pname, &vis, &repo}
	if byTag {
		dest = append(dest, &tagVer)
	}
	if byTag || byName {
		dest = append(dest, &vid, &vname, nullTimeScan{&vdel})
	}
	if withFile {
		dest = append(dest, &fdigest, &fsize, &fmediaType)
	}
	if q.Blob != "" {
		dest = append(dest, &linked)
	}
	row := &packages.RegistryRow{}
	if err := s.queryRow(ctx, b.String(), args...).Scan(dest...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return row, nil
		}
		return nil, s.fail("registry lookup", err)
	}
	o.Type = packages.OwnerType(otype)
	row.Owner = &o
	if !pid.Valid {
		return row, nil
	}
	row.Package = &packages.Package{ID: pid.Int64, OwnerID: o.ID, Type: q.Type, Name: pname.String,
		Visibility: packages.Visibility(vis.String), RepositoryID: repo.Int64}
	if byTag && tagVer.Valid {
		row.Tag = &packages.Tag{PackageID: pid.Int64, Name: q.Tag, VersionID: tagVer.Int64}
	}
	if vid.Valid {
		row.Version = &packages.Version{ID: vid.Int64, PackageID: pid.Int64, Name: vname.String, DeletedAt: vdel}
		if fdigest.Valid {
			row.File = &packages.File{VersionID: vid.Int64, Name: q.File, Digest: fdigest.String, Size: fsize.Int64, MediaType: fmediaType.String}
		}
	}
	row.BlobLinked = linked.Valid
	return row, nil
}

// AddDownloads adds n downloads of a version (versionID 0: of the package
// alone) to the version's and the package's counts. The package's row is
// written first, as every change to a package and its versions takes
// their locks in that order (a version delete locks the package, then
// updates the version): the other order deadlocks with one on
// PostgreSQL.
func (s *DB) AddDownloads(ctx context.Context, packageID, versionID, n int64) error {
	return s.inTx(ctx, func(s *DB) error {
		if _, err := s.exec(ctx, `UPDATE packages SET download_count = download_count + ? WHERE id = ?`, n, packageID); err != nil {
			return s.fail("count downloads", err)
		}
		if versionID == 0 {
			return nil
		}
		_, err := s.exec(ctx, `UPDATE versions SET download_count = download_count + ? WHERE id = ? AND package_id = ?`, n, versionID, packageID)
		return s.fail("count downloads", err)
	})
}
