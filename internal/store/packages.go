package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/packhub/packhub/internal/packages"
)

// stateCond is the SQL condition selecting rows of a state; col is the
// deleted_at column. It is spelled out so SQLite uses the partial indexes.
func stateCond(col string, st packages.State) string {
	switch st {
	case packages.Active:
		return col + " IS NULL"
	case packages.Deleted:
		return col + " IS NOT NULL"
	}
	return "1 = 1"
}

// placeholders returns "?, ?, ..." for n arguments.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// likeContains is a LIKE pattern matching s anywhere, lowercased, escaping
// the pattern characters with backslash.
func likeContains(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(s)) + "%"
}

// Packages.

const packageCols = `p.id, p.owner_id, p.type, p.name, p.visibility, p.repository_id, p.download_count,
	p.version_count, p.revision, p.created_at, p.updated_at, p.deleted_at, p.deleted_by`

func scanPackage(sc scanner) (*packages.Package, error) {
	var p packages.Package
	var typ, vis string
	var repo, by sql.NullInt64
	if err := sc.Scan(&p.ID, &p.OwnerID, &typ, &p.Name, &vis, &repo, &p.DownloadCount, &p.VersionCount, &p.Revision,
		timeScan{&p.CreatedAt}, timeScan{&p.UpdatedAt}, nullTimeScan{&p.DeletedAt}, &by); err != nil {
		return nil, err
	}
	p.Type, p.Visibility = packages.Type(typ), packages.Visibility(vis)
	p.RepositoryID, p.DeletedBy = repo.Int64, by.Int64
	return &p, nil
}

// CreatePackage inserts a package and sets its ID and times.
func (s *DB) CreatePackage(ctx context.Context, p *packages.Package) error {
	if p.CreatedAt.IsZero() {
		p.CreatedAt = now()
	}
	if p.UpdatedAt.IsZero() {
		p.UpdatedAt = p.CreatedAt
	}
	p.CreatedAt, p.UpdatedAt = norm(p.CreatedAt), norm(p.UpdatedAt)
	err := s.writeRow(ctx, `INSERT INTO packages (owner_id, type, name, visibility, repository_id, download_count,
		created_at, updated_at, deleted_at, deleted_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		p.OwnerID, string(p.Type), p.Name, string(p.Visibility), nullID(p.RepositoryID), p.DownloadCount,
		s.t(p.CreatedAt), s.t(p.UpdatedAt), s.nt(p.DeletedAt), nullID(p.DeletedBy)).Scan(&p.ID)
	return s.fail("create package", err)
}

// GetPackage finds a package by owner, type and name (case-insensitively).
// Several deleted packages may share a name: the latest one wins, and an
// active one wins over any deleted one.
func (s *DB) GetPackage(ctx context.Context, ownerID int64, typ packages.Type, name string, state packages.State) (*packages.Package, error) {
	p, err := scanPackage(s.queryRow(ctx, `SELECT `+packageCols+` FROM packages p
		WHERE p.owner_id = ? AND p.type = ? AND lower(p.name) = lower(?) AND `+stateCond("p.deleted_at", state)+`
		ORDER BY (p.deleted_at IS NULL) DESC, p.deleted_at DESC, p.id DESC LIMIT 1`,
		ownerID, string(typ), name))
	if err != nil {
		return nil, s.fail(fmt.Sprintf("get %s package %s", typ, name), err)
	}
	return p, nil
}

// GetPackageByID finds a package by id, in any state.
func (s *DB) GetPackageByID(ctx context.Context, id int64) (*packages.Package, error) {
	p, err := scanPackage(s.queryRow(ctx, `SELECT `+packageCols+` FROM packages p WHERE p.id = ?`, id))
	if err != nil {
		return nil, s.fail(fmt.Sprintf("get package %d", id), err)
	}
	return p, nil
}

// packageWhere renders the filter's conditions on packages p.
func (s *DB) packageWhere(f packages.PackageFilter) (string, []any) {
	conds := []string{stateCond("p.deleted_at", f.State)}
	var args []any
	if !f.DeletedAfter.IsZero() {
		conds = append(conds, "p.deleted_at > ?")
		args = append(args, s.t(f.DeletedAfter))
	}
	if f.OwnerID != 0 {
		conds = append(conds, "p.owner_id = ?")
		args = append(args, f.OwnerID)
	}
	if f.Type != "" {
		conds = append(conds, "p.type = ?")
		args = append(args, string(f.Type))
	}
	if len(f.Visibilities) > 0 {
		conds = append(conds, "p.visibility IN ("+placeholders(len(f.Visibilities))+")")
		for _, v := range f.Visibilities {
			args = append(args, string(v))
		}
	}
	if f.NameContains != "" {
		conds = append(conds, `lower(p.name) LIKE ? ESCAPE '\'`)
		args = append(args, likeContains(f.NameContains))
	}
	if f.RepositoryID != 0 {
		conds = append(conds, "p.repository_id = ?")
		args = append(args, f.RepositoryID)
	}
	if rb := f.Readable; rb != nil {
		// Only repository-scoped packages take read access from their
		// repository; granular ones only from their own grants.
		repoScoped := repositoryScopedIn(rb.RepositoryScoped)
		or := []string{"p.visibility = 'public'",
			repoScoped + " AND p.repository_id IN (SELECT r.id FROM repositories r WHERE r.visibility = 'public')"}
		if len(rb.OrgMemberOf) > 0 {
			in := placeholders(len(rb.OrgMemberOf))
			or = append(or, "(p.visibility = 'internal' AND p.owner_id IN ("+in+"))")
			or = append(or, repoScoped+" AND p.repository_id IN (SELECT r.id FROM repositories r WHERE r.visibility = 'internal' AND r.owner_id IN ("+in+"))")
			for range 2 {
				for _, id := range rb.OrgMemberOf {
					args = append(args, id)
				}
			}
		}
		if len(rb.OrgAdminOf) > 0 {
			or = append(or, "p.owner_id IN ("+placeholders(len(rb.OrgAdminOf))+")")
			for _, id := range rb.OrgAdminOf {
				args = append(args, id)
			}
		}
		if rb.UserID != 0 {
			or = append(or,
				"p.owner_id = ?",
				"EXISTS (SELECT 1 FROM package_access a WHERE a.package_id = p.id AND a.user_id = ?)",
				repoScoped+" AND EXISTS (SELECT 1 FROM repo_collaborators c WHERE c.repo_id = p.repository_id AND c.user_id = ?)")
			args = append(args, rb.UserID, rb.UserID, rb.UserID)
		}
		conds = append(conds, "("+strings.Join(or, " OR ")+")")
	}
	return strings.Join(conds, " AND "), args
}

// repositoryScopedIn is the condition that a package is of one of types,
// written as literals: the condition appears several times in one query, so
// that literals keep the arguments in their order. Types come from the
// service's specs, never from a request; quotes are doubled all the same.
func repositoryScopedIn(types []packages.Type) string {
	if len(types) == 0 {
		return "1 = 0"
	}
	lits := make([]string, len(types))
	for i, t := range types {
		lits[i] = "'" + strings.ReplaceAll(string(t), "'", "''") + "'"
	}
	return "p.type IN (" + strings.Join(lits, ", ") + ")"
}

// ListPackages returns a page of the packages the filter selects, by id,
// and how many it selects in all.
func (s *DB) ListPackages(ctx context.Context, f packages.PackageFilter) ([]packages.Package, int, error) {
	where, args := s.packageWhere(f)
	var total int
	if err := s.queryRow(ctx, `SELECT count(*) FROM packages p WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, s.fail("count packages", err)
	}
	if total == 0 || (f.Limit > 0 && f.Offset >= total) {
		return []packages.Package{}, total, nil
	}
	rows, err := s.query(ctx, `SELECT `+packageCols+` FROM packages p WHERE `+where+` ORDER BY p.id`+s.limit(f.Limit, f.Offset), args...)
	if err != nil {
		return nil, 0, s.fail("list packages", err)
	}
	defer rows.Close()
	out := []packages.Package{}
	for rows.Next() {
		p, err := scanPackage(rows)
		if err != nil {
			return nil, 0, s.fail("list packages", err)
		}
		out = append(out, *p)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, s.fail("list packages", err)
	}
	return out, total, nil
}

// UpdatePackage writes a package's visibility, repository, updated time
// (now when zero) and deletion fields.
func (s *DB) UpdatePackage(ctx context.Context, p *packages.Package) error {
	if p.UpdatedAt.IsZero() {
		p.UpdatedAt = now()
	}
	p.UpdatedAt = norm(p.UpdatedAt)
	res, err := s.exec(ctx, `UPDATE packages SET visibility = ?, repository_id = ?, updated_at = ?, deleted_at = ?, deleted_by = ?
		WHERE id = ?`, string(p.Visibility), nullID(p.RepositoryID), s.t(p.UpdatedAt), s.nt(p.DeletedAt), nullID(p.DeletedBy), p.ID)
	if err != nil {
		return s.fail(fmt.Sprintf("update package %d", p.ID), err)
	}
	return s.affected(res, fmt.Sprintf("package %d", p.ID))
}

// HardDeletePackage removes a package with its versions, files, tags,
// access grants and blob links. Its events stay.
func (s *DB) HardDeletePackage(ctx context.Context, id int64) error {
	return s.inTx(ctx, func(s *DB) error {
		var n int
		if err := s.queryRow(ctx, `SELECT count(*) FROM packages WHERE id = ?`, id).Scan(&n); err != nil {
			return s.fail("delete package", err)
		}
		if n == 0 {
			return notFound(fmt.Sprintf("package %d", id))
		}
		for _, q := range []string{
			`DELETE FROM tags WHERE package_id = ?`,
			`DELETE FROM files WHERE version_id IN (SELECT id FROM versions WHERE package_id = ?)`,
			`DELETE FROM versions WHERE package_id = ?`,
			`DELETE FROM package_access WHERE package_id = ?`,
			`DELETE FROM package_blobs WHERE package_id = ?`,
			`DELETE FROM packages WHERE id = ?`,
		} {
			if _, err := s.exec(ctx, q, id); err != nil {
				return s.fail(fmt.Sprintf("delete package %d", id), err)
			}
		}
		return nil
	})
}

// SetPackageAccess grants a user a role on a package; NoRole revokes it.
func (s *DB) SetPackageAccess(ctx context.Context, packageID, userID int64, role packages.Role) error {
	return s.setRole(ctx, packageAccess, packageID, userID, role)
}

// GetPackageAccess returns a user's granted role on a package, NoRole if
// none.
func (s *DB) GetPackageAccess(ctx context.Context, packageID, userID int64) (packages.Role, error) {
	return s.getRole(ctx, packageAccess, packageID, userID)
}

// Versions.

const versionCols = `v.id, v.package_id, v.name, v.metadata, v.description, v.license, v.subject, v.download_count,
	v.created_at, v.updated_at, v.deleted_at, v.deleted_by`

func scanVersion(sc scanner) (*packages.Version, error) {
	var v packages.Version
	var meta []byte
	var by sql.NullInt64
	if err := sc.Scan(&v.ID, &v.PackageID, &v.Name, &meta, &v.Description, &v.License, &v.Subject, &v.DownloadCount,
		timeScan{&v.CreatedAt}, timeScan{&v.UpdatedAt}, nullTimeScan{&v.DeletedAt}, &by); err != nil {
		return nil, err
	}
	if meta != nil {
		v.Metadata = json.RawMessage(meta)
	}
	v.DeletedBy = by.Int64
	return &v, nil
}

// metadataArg encodes version metadata; empty is NULL.
func metadataArg(m json.RawMessage) any {
	if len(m) == 0 {
		return nil
	}
	return string(m)
}

// CreateVersion inserts a version and sets its ID and times.
func (s *DB) CreateVersion(ctx context.Context, v *packages.Version) error {
	if v.CreatedAt.IsZero() {
		v.CreatedAt = now()
	}
	if v.UpdatedAt.IsZero() {
		v.UpdatedAt = v.CreatedAt
	}
	v.CreatedAt, v.UpdatedAt = norm(v.CreatedAt), norm(v.UpdatedAt)
	err := s.writeRow(ctx, `INSERT INTO versions (package_id, name, metadata, description, license, subject, download_count,
		created_at, updated_at, deleted_at, deleted_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		v.PackageID, v.Name, metadataArg(v.Metadata), v.Description, v.License, v.Subject, v.DownloadCount,
		s.t(v.CreatedAt), s.t(v.UpdatedAt), s.nt(v.DeletedAt), nullID(v.DeletedBy)).Scan(&v.ID)
	return s.fail("create version", err)
}

// GetVersion finds a version of a package by id, in any state.
func (s *DB) GetVersion(ctx context.Context, packageID, versionID int64) (*packages.Version, error) {
	v, err := scanVersion(s.queryRow(ctx, `SELECT `+versionCols+` FROM versions v WHERE v.id = ? AND v.package_id = ?`, versionID, packageID))
	if err != nil {
		return nil, s.fail(fmt.Sprintf("get version %d", versionID), err)
	}
	return v, nil
}

// GetVersionByName finds a version of a package by name. Several deleted
// versions may share a name: the latest one wins, and an active one wins
// over any deleted one.
func (s *DB) GetVersionByName(ctx context.Context, packageID int64, name string, state packages.State) (*packages.Version, error) {
	v, err := scanVersion(s.queryRow(ctx, `SELECT `+versionCols+` FROM versions v
		WHERE v.package_id = ? AND v.name = ? AND `+stateCond("v.deleted_at", state)+`
		ORDER BY (v.deleted_at IS NULL) DESC, v.deleted_at DESC, v.id DESC LIMIT 1`, packageID, name))
	if err != nil {
		return nil, s.fail("get version "+name, err)
	}
	return v, nil
}

// ListVersions returns a page of a package's versions, newest (highest id)
// first, and how many the filter selects in all. The active total comes from
// the package's version_count; the page's ids are found on the index alone,
// walking from whichever end is nearer, then joined to their rows, so deep
// pages stay cheap.
func (s *DB) ListVersions(ctx context.Context, f packages.VersionFilter) ([]packages.Version, int, error) {
	where := "package_id = ? AND " + stateCond("deleted_at", f.State)
	args := []any{f.PackageID}
	if !f.DeletedAfter.IsZero() {
		where += " AND deleted_at > ?"
		args = append(args, s.t(f.DeletedAfter))
	}
	var total int
	var err error
	if f.State == packages.Active {
		err = s.queryRow(ctx, `SELECT coalesce((SELECT version_count FROM packages WHERE id = ?), 0)`, f.PackageID).Scan(&total)
	} else {
		err = s.queryRow(ctx, `SELECT count(*) FROM versions WHERE `+where, args...).Scan(&total)
	}
	if err != nil {
		return nil, 0, s.fail("count versions", err)
	}
	offset := max(f.Offset, 0)
	if total == 0 || (f.Limit > 0 && offset >= total) {
		return []packages.Version{}, total, nil
	}
	order, limit := "DESC", s.limit(f.Limit, offset)
	if f.Limit > 0 && offset > total/2 {
		// Nearer the oldest end: take the page from there.
		from := total - offset - f.Limit
		n := f.Limit
		if from < 0 {
			n, from = n+from, 0
		}
		order, limit = "ASC", s.limit(n, from)
	}
	rows, err := s.query(ctx, `SELECT `+versionCols+` FROM versions v
		JOIN (SELECT id FROM versions WHERE `+where+` ORDER BY id `+order+limit+`) page ON page.id = v.id
		ORDER BY v.id DESC`, args...)
	if err != nil {
		return nil, 0, s.fail("list versions", err)
	}
	out, err := s.collectVersions(rows)
	if err != nil {
		return nil, 0, s.fail("list versions", err)
	}
	return out, total, nil
}

func (s *DB) collectVersions(rows *sql.Rows) ([]packages.Version, error) {
	defer rows.Close()
	out := []packages.Version{}
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	return out, rows.Err()
}

// UpdateVersion writes a version's metadata, description, license, updated
// time (now when zero) and deletion fields.
func (s *DB) UpdateVersion(ctx context.Context, v *packages.Version) error {
	if v.UpdatedAt.IsZero() {
		v.UpdatedAt = now()
	}
	v.UpdatedAt = norm(v.UpdatedAt)
	res, err := s.exec(ctx, `UPDATE versions SET metadata = ?, description = ?, license = ?, updated_at = ?, deleted_at = ?, deleted_by = ?
		WHERE id = ?`, metadataArg(v.Metadata), v.Description, v.License, s.t(v.UpdatedAt), s.nt(v.DeletedAt), nullID(v.DeletedBy), v.ID)
	if err != nil {
		return s.fail(fmt.Sprintf("update version %d", v.ID), err)
	}
	return s.affected(res, fmt.Sprintf("version %d", v.ID))
}

// HardDeleteVersion removes a version with its files and tags.
func (s *DB) HardDeleteVersion(ctx context.Context, id int64) error {
	return s.inTx(ctx, func(s *DB) error {
		for _, q := range []string{
			`DELETE FROM tags WHERE version_id = ?`,
			`DELETE FROM files WHERE version_id = ?`,
		} {
			if _, err := s.exec(ctx, q, id); err != nil {
				return s.fail(fmt.Sprintf("delete version %d", id), err)
			}
		}
		res, err := s.exec(ctx, `DELETE FROM versions WHERE id = ?`, id)
		if err != nil {
			return s.fail(fmt.Sprintf("delete version %d", id), err)
		}
		return s.affected(res, fmt.Sprintf("version %d", id))
	})
}

// VersionStats summarizes a package's active versions.
func (s *DB) VersionStats(ctx context.Context, packageID int64) (packages.VersionStats, error) {
	var st packages.VersionStats
	err := s.queryRow(ctx, `SELECT count(*), coalesce(max(v.download_count), 0), max(v.updated_at),
			(SELECT count(*) FROM versions tv WHERE tv.package_id = ? AND tv.deleted_at IS NULL
				AND EXISTS (SELECT 1 FROM tags t WHERE t.version_id = tv.id))
		FROM versions v WHERE v.package_id = ? AND v.deleted_at IS NULL`, packageID, packageID).
		Scan(&st.Count, &st.MaxDownloads, timeScan{&st.LastUpdatedAt}, &st.TaggedCount)
	if err != nil {
		return packages.VersionStats{}, s.fail("version stats", err)
	}
	return st, nil
}

// IncrementDownloads counts one download of a version (if versionID is not
// 0) and of its package: the package's row first, in the lock order of
// AddDownloads.
func (s *DB) IncrementDownloads(ctx context.Context, packageID, versionID int64) error {
	return s.inTx(ctx, func(s *DB) error {
		res, err := s.exec(ctx, `UPDATE packages SET download_count = download_count + 1 WHERE id = ?`, packageID)
		if err != nil {
			return s.fail("count download", err)
		}
		if err := s.affected(res, fmt.Sprintf("package %d", packageID)); err != nil || versionID == 0 {
			return err
		}
		res, err = s.exec(ctx, `UPDATE versions SET download_count = download_count + 1 WHERE id = ? AND package_id = ?`, versionID, packageID)
		if err != nil {
			return s.fail("count download", err)
		}
		return s.affected(res, fmt.Sprintf("version %d", versionID))
	})
}

// Files.

const fileCols = `id, version_id, name, digest, size, media_type, created_at`

func scanFile(sc scanner) (*packages.File, error) {
	var f packages.File
	if err := sc.Scan(&f.ID, &f.VersionID, &f.Name, &f.Digest, &f.Size, &f.MediaType, timeScan{&f.CreatedAt}); err != nil {
		return nil, err
	}
	return &f, nil
}

// AddFile records a file of a version and sets its ID and CreatedAt. A
// version's file names are unique.
func (s *DB) AddFile(ctx context.Context, f *packages.File) error {
	if f.CreatedAt.IsZero() {
		f.CreatedAt = now()
	}
	f.CreatedAt = norm(f.CreatedAt)
	err := s.writeRow(ctx, `INSERT INTO files (version_id, name, digest, size, media_type, created_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		f.VersionID, f.Name, f.Digest, f.Size, f.MediaType, s.t(f.CreatedAt)).Scan(&f.ID)
	return s.fail("add file", err)
}

// ReplaceFile records a file of a version, replacing the version's file of
// the same name if there is one: that row keeps its id and takes f's
// digest, size, media type and CreatedAt. It sets f.ID and f.CreatedAt and
// returns the digest of the file it replaced, "" if there was none. The
// replaced file's blob is no longer referenced by this row; garbage
// collection frees it once nothing else refers to it.
func (s *DB) ReplaceFile(ctx context.Context, f *packages.File) (string, error) {
	if f.CreatedAt.IsZero() {
		f.CreatedAt = now()
	}
	f.CreatedAt = norm(f.CreatedAt)
	var previous string
	err := s.inTx(ctx, func(s *DB) error {
		lock := ""
		if s.d == dialectPostgres {
			lock = " FOR UPDATE"
		}
		err := s.queryRow(ctx, `SELECT digest FROM files WHERE version_id = ? AND name = ?`+lock, f.VersionID, f.Name).Scan(&previous)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return s.fail("replace file "+f.Name, err)
		}
		err = s.writeRow(ctx, `INSERT INTO files (version_id, name, digest, size, media_type, created_at)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (version_id, name) DO UPDATE SET digest = excluded.digest, size = excluded.size,
				media_type = excluded.media_type, created_at = excluded.created_at
			RETURNING id`,
			f.VersionID, f.Name, f.Digest, f.Size, f.MediaType, s.t(f.CreatedAt)).Scan(&f.ID)
		return s.fail("replace file "+f.Name, err)
	})
	if err != nil {
		return "", err
	}
	return previous, nil
}

// DeleteFile removes a version's file by name. Its blob stays until garbage
// collection finds nothing else refers to it.
func (s *DB) DeleteFile(ctx context.Context, versionID int64, name string) error {
	res, err := s.exec(ctx, `DELETE FROM files WHERE version_id = ? AND name = ?`, versionID, name)
	if err != nil {
		return s.fail("delete file "+name, err)
	}
	return s.affected(res, "file "+name)
}

// ListFiles returns a version's files by id.
func (s *DB) ListFiles(ctx context.Context, versionID int64) ([]packages.File, error) {
	rows, err := s.query(ctx, `SELECT `+fileCols+` FROM files WHERE version_id = ? ORDER BY id`, versionID)
	if err != nil {
		return nil, s.fail("list files", err)
	}
	defer rows.Close()
	out := []packages.File{}
	for rows.Next() {
		f, err := scanFile(rows)
		if err != nil {
			return nil, s.fail("list files", err)
		}
		out = append(out, *f)
	}
	return out, s.fail("list files", rows.Err())
}

// GetFile finds a version's file by name.
func (s *DB) GetFile(ctx context.Context, versionID int64, name string) (*packages.File, error) {
	f, err := scanFile(s.queryRow(ctx, `SELECT `+fileCols+` FROM files WHERE version_id = ? AND name = ?`, versionID, name))
	if err != nil {
		return nil, s.fail("get file "+name, err)
	}
	return f, nil
}

// Tags.

// SetTag points a tag at a version of the package, creating or moving it.
func (s *DB) SetTag(ctx context.Context, packageID int64, name string, versionID int64) error {
	res, err := s.exec(ctx, `INSERT INTO tags (package_id, name, version_id, updated_at)
		SELECT v.package_id, ?, v.id, ? FROM versions v WHERE v.id = ? AND v.package_id = ?
		ON CONFLICT (package_id, name) DO UPDATE SET version_id = excluded.version_id, updated_at = excluded.updated_at`,
		name, s.t(now()), versionID, packageID)
	if err != nil {
		return s.fail("set tag "+name, err)
	}
	return s.affected(res, fmt.Sprintf("version %d of package %d", versionID, packageID))
}

// DeleteTag removes a tag.
func (s *DB) DeleteTag(ctx context.Context, packageID int64, name string) error {
	res, err := s.exec(ctx, `DELETE FROM tags WHERE package_id = ? AND name = ?`, packageID, name)
	if err != nil {
		return s.fail("delete tag "+name, err)
	}
	return s.affected(res, "tag "+name)
}

// GetTag finds a tag.
func (s *DB) GetTag(ctx context.Context, packageID int64, name string) (*packages.Tag, error) {
	var t packages.Tag
	err := s.queryRow(ctx, `SELECT package_id, name, version_id, updated_at FROM tags WHERE package_id = ? AND name = ?`,
		packageID, name).Scan(&t.PackageID, &t.Name, &t.VersionID, timeScan{&t.UpdatedAt})
	if err != nil {
		return nil, s.fail("get tag "+name, err)
	}
	return &t, nil
}

// ListTags returns a package's tags by name, those after after, at most
// limit of them (all when limit <= 0).
func (s *DB) ListTags(ctx context.Context, packageID int64, after string, limit int) ([]packages.Tag, error) {
	rows, err := s.query(ctx, `SELECT package_id, name, version_id, updated_at FROM tags
		WHERE package_id = ? AND name > ? ORDER BY name`+s.limit(limit, 0), packageID, after)
	if err != nil {
		return nil, s.fail("list tags", err)
	}
	defer rows.Close()
	out := []packages.Tag{}
	for rows.Next() {
		var t packages.Tag
		if err := rows.Scan(&t.PackageID, &t.Name, &t.VersionID, timeScan{&t.UpdatedAt}); err != nil {
			return nil, s.fail("list tags", err)
		}
		out = append(out, t)
	}
	return out, s.fail("list tags", rows.Err())
}

// idChunk bounds the ids in one IN list.
const idChunk = 500

// TagsByVersion returns the sorted tag names of each version that has any.
func (s *DB) TagsByVersion(ctx context.Context, versionIDs []int64) (map[int64][]string, error) {
	out := make(map[int64][]string)
	versionIDs = slices.Clone(versionIDs)
	slices.Sort(versionIDs)
	versionIDs = slices.Compact(versionIDs)
	for len(versionIDs) > 0 {
		chunk := versionIDs[:min(idChunk, len(versionIDs))]
		versionIDs = versionIDs[len(chunk):]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := s.query(ctx, `SELECT version_id, name FROM tags WHERE version_id IN (`+placeholders(len(chunk))+`)`, args...)
		if err != nil {
			return nil, s.fail("tags by version", err)
		}
		for rows.Next() {
			var id int64
			var name string
			if err := rows.Scan(&id, &name); err != nil {
				rows.Close()
				return nil, s.fail("tags by version", err)
			}
			out[id] = append(out[id], name)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, s.fail("tags by version", err)
		}
	}
	for _, names := range out {
		sort.Strings(names)
	}
	return out, nil
}

// DeleteVersionTags removes every tag naming a version.
func (s *DB) DeleteVersionTags(ctx context.Context, versionID int64) error {
	_, err := s.exec(ctx, `DELETE FROM tags WHERE version_id = ?`, versionID)
	return s.fail("delete version tags", err)
}

// ListReferrers returns a package's active versions whose subject is
// digest, by id.
func (s *DB) ListReferrers(ctx context.Context, packageID int64, digest string) ([]packages.Version, error) {
	if digest == "" {
		return []packages.Version{}, nil
	}
	rows, err := s.query(ctx, `SELECT `+versionCols+` FROM versions v
		WHERE v.package_id = ? AND v.subject = ? AND v.subject <> '' AND v.deleted_at IS NULL ORDER BY v.id`, packageID, digest)
	if err != nil {
		return nil, s.fail("list referrers", err)
	}
	out, err := s.collectVersions(rows)
	return out, s.fail("list referrers", err)
}

// Blobs.

// PutBlob records a blob. A blob recorded already gets the later of the two
// times, and b's checksums when it had none.
func (s *DB) PutBlob(ctx context.Context, b *packages.Blob) error {
	if b.CreatedAt.IsZero() {
		b.CreatedAt = now()
	}
	b.CreatedAt = norm(b.CreatedAt)
	var c [4]any
	if b.Checksums.Known() {
		c = [4]any{b.Checksums.MD5, b.Checksums.SHA1, b.Checksums.SHA256, b.Checksums.SHA512}
	}
	_, err := s.exec(ctx, `INSERT INTO blobs (digest, size, created_at, md5, sha1, sha256, sha512) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (digest) DO UPDATE SET
			created_at = CASE WHEN blobs.created_at < excluded.created_at THEN excluded.created_at ELSE blobs.created_at END,
			md5 = COALESCE(blobs.md5, excluded.md5), sha1 = COALESCE(blobs.sha1, excluded.sha1),
			sha256 = COALESCE(blobs.sha256, excluded.sha256), sha512 = COALESCE(blobs.sha512, excluded.sha512)
		WHERE blobs.created_at < excluded.created_at OR (blobs.sha512 IS NULL AND excluded.sha512 IS NOT NULL)`,
		b.Digest, b.Size, s.t(b.CreatedAt), c[0], c[1], c[2], c[3])
	return s.fail("put blob", err)
}

// GetBlob finds a blob.
func (s *DB) GetBlob(ctx context.Context, digest string) (*packages.Blob, error) {
	var b packages.Blob
	var c [4]sql.NullString
	err := s.queryRow(ctx, `SELECT digest, size, created_at, md5, sha1, sha256, sha512 FROM blobs WHERE digest = ?`, digest).
		Scan(&b.Digest, &b.Size, timeScan{&b.CreatedAt}, &c[0], &c[1], &c[2], &c[3])
	if err != nil {
		return nil, s.fail("get blob "+digest, err)
	}
	if c[0].Valid && c[1].Valid && c[2].Valid && c[3].Valid {
		b.Checksums = packages.Checksums{MD5: c[0].String, SHA1: c[1].String, SHA256: c[2].String, SHA512: c[3].String}
	}
	return &b, nil
}

// SetBlobChecksums records a blob's checksums.
func (s *DB) SetBlobChecksums(ctx context.Context, digest string, c packages.Checksums) error {
	if !c.Known() {
		return fmt.Errorf("store: set blob checksums: %s: all four are needed", digest)
	}
	n, err := s.execCount(ctx, "set blob checksums", `UPDATE blobs SET md5 = ?, sha1 = ?, sha256 = ?, sha512 = ? WHERE digest = ?`,
		c.MD5, c.SHA1, c.SHA256, c.SHA512, digest)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound("blob " + digest)
	}
	return nil
}

// BlobsWithoutChecksums lists recorded blobs whose checksums are not known,
// in digest order, after the digest after.
func (s *DB) BlobsWithoutChecksums(ctx context.Context, after string, limit int) ([]packages.Blob, error) {
	rows, err := s.query(ctx, `SELECT digest, size, created_at FROM blobs WHERE sha512 IS NULL AND digest > ?
		ORDER BY digest`+s.limit(limit, 0), after)
	if err != nil {
		return nil, s.fail("blobs without checksums", err)
	}
	defer rows.Close()
	out := []packages.Blob{}
	for rows.Next() {
		var b packages.Blob
		if err := rows.Scan(&b.Digest, &b.Size, timeScan{&b.CreatedAt}); err != nil {
			return nil, s.fail("blobs without checksums", err)
		}
		out = append(out, b)
	}
	return out, s.fail("blobs without checksums", rows.Err())
}

// LinkBlob lets a package read a blob; it does nothing when already linked.
func (s *DB) LinkBlob(ctx context.Context, packageID int64, digest string) error {
	_, err := s.exec(ctx, `INSERT INTO package_blobs (package_id, digest, created_at) VALUES (?, ?, ?)
		ON CONFLICT (package_id, digest) DO NOTHING`, packageID, digest, s.t(now()))
	return s.fail("link blob", err)
}

// BlobLinked reports whether a package may read a blob.
func (s *DB) BlobLinked(ctx context.Context, packageID int64, digest string) (bool, error) {
	var n int
	err := s.queryRow(ctx, `SELECT count(*) FROM package_blobs WHERE package_id = ? AND digest = ?`, packageID, digest).Scan(&n)
	if err != nil {
		return false, s.fail("blob linked", err)
	}
	return n > 0, nil
}

// TouchBlob moves a recorded blob's time forward to at; it reports whether
// the blob is recorded. On PostgreSQL the update locks the row, so a
// concurrent ForgetBlob either ran before (and the blob is gone) or sees
// the new time.
func (s *DB) TouchBlob(ctx context.Context, digest string, at time.Time) (bool, error) {
	n, err := s.execCount(ctx, "touch blob", `UPDATE blobs SET created_at = CASE WHEN created_at < ? THEN ? ELSE created_at END WHERE digest = ?`,
		s.t(at), s.t(at), digest)
	return n > 0, err
}

// Pending blobs.

// LinkPendingBlob records that k's user pushed a blob to k's name, or
// moves the record's time forward to at.
func (s *DB) LinkPendingBlob(ctx context.Context, k packages.PendingKey, digest string, at time.Time) error {
	_, err := s.exec(ctx, `INSERT INTO pending_blobs (owner_id, type, name, user_id, digest, created_at) VALUES (?, ?, lower(?), ?, ?, ?)
		ON CONFLICT (owner_id, type, name, user_id, digest) DO UPDATE SET created_at = excluded.created_at
		WHERE pending_blobs.created_at < excluded.created_at`,
		k.OwnerID, string(k.Type), k.Name, k.UserID, digest, s.t(at))
	return s.fail("link pending blob", err)
}

// PendingBlobs reports whether k's user pushed any blob to k's name, and
// whether digest is one of them.
func (s *DB) PendingBlobs(ctx context.Context, k packages.PendingKey, digest string) (held, linked bool, err error) {
	var n, m int
	err = s.queryRow(ctx, `SELECT count(*), count(CASE WHEN digest = ? THEN 1 END) FROM pending_blobs
		WHERE owner_id = ? AND type = ? AND name = lower(?) AND user_id = ?`,
		digest, k.OwnerID, string(k.Type), k.Name, k.UserID).Scan(&n, &m)
	if err != nil {
		return false, false, s.fail("pending blobs", err)
	}
	return n > 0, m > 0, nil
}

// ClaimPendingBlobs links k's pending blobs to a package and deletes them.
func (s *DB) ClaimPendingBlobs(ctx context.Context, k packages.PendingKey, packageID int64) error {
	args := []any{k.OwnerID, string(k.Type), k.Name, k.UserID}
	if _, err := s.exec(ctx, `INSERT INTO package_blobs (package_id, digest, created_at)
		SELECT CAST(? AS BIGINT), digest, created_at FROM pending_blobs WHERE owner_id = ? AND type = ? AND name = lower(?) AND user_id = ?
		ON CONFLICT (package_id, digest) DO NOTHING`, append([]any{packageID}, args...)...); err != nil {
		return s.fail("claim pending blobs", err)
	}
	_, err := s.exec(ctx, `DELETE FROM pending_blobs WHERE owner_id = ? AND type = ? AND name = lower(?) AND user_id = ?`, args...)
	return s.fail("claim pending blobs", err)
}

// ExpirePendingBlobs deletes pending blobs last linked before t.
func (s *DB) ExpirePendingBlobs(ctx context.Context, before time.Time) (int, error) {
	n, err := s.execCount(ctx, "expire pending blobs", `DELETE FROM pending_blobs WHERE created_at < ?`, s.t(before))
	return int(n), err
}

// UnreferencedBlobs lists blobs created before olderThan that no file, no
// package link and no pending blob refers to, oldest first.
func (s *DB) UnreferencedBlobs(ctx context.Context, olderThan time.Time, limit int) ([]packages.Blob, error) {
	rows, err := s.query(ctx, `SELECT b.digest, b.size, b.created_at FROM blobs b
		WHERE b.created_at < ?
		AND NOT EXISTS (SELECT 1 FROM files f WHERE f.digest = b.digest)
		AND NOT EXISTS (SELECT 1 FROM package_blobs l WHERE l.digest = b.digest)
		AND NOT EXISTS (SELECT 1 FROM pending_blobs p WHERE p.digest = b.digest)
		ORDER BY b.created_at, b.digest`+s.limit(limit, 0), s.t(olderThan))
	if err != nil {
		return nil, s.fail("unreferenced blobs", err)
	}
	defer rows.Close()
	out := []packages.Blob{}
	for rows.Next() {
		var b packages.Blob
		if err := rows.Scan(&b.Digest, &b.Size, timeScan{&b.CreatedAt}); err != nil {
			return nil, s.fail("unreferenced blobs", err)
		}
		out = append(out, b)
	}
	return out, s.fail("unreferenced blobs", rows.Err())
}

// ForgetBlob deletes a blob's record if it is older than olderThan and no
// file, package link or pending blob refers to it; it reports whether it
// did.
func (s *DB) ForgetBlob(ctx context.Context, digest string, olderThan time.Time) (bool, error) {
	n, err := s.execCount(ctx, "forget blob", `DELETE FROM blobs WHERE digest = ? AND created_at < ?
		AND NOT EXISTS (SELECT 1 FROM files f WHERE f.digest = blobs.digest)
		AND NOT EXISTS (SELECT 1 FROM package_blobs l WHERE l.digest = blobs.digest)
		AND NOT EXISTS (SELECT 1 FROM pending_blobs p WHERE p.digest = blobs.digest)`, digest, s.t(olderThan))
	return n > 0, err
}

// Purge.

// ListPurgeablePackages lists packages soft-deleted before cutoff, oldest
// deletion first.
func (s *DB) ListPurgeablePackages(ctx context.Context, cutoff time.Time, limit int) ([]packages.Package, error) {
	rows, err := s.query(ctx, `SELECT `+packageCols+` FROM packages p
		WHERE p.deleted_at IS NOT NULL AND p.deleted_at < ? ORDER BY p.deleted_at, p.id`+s.limit(limit, 0), s.t(cutoff))
	if err != nil {
		return nil, s.fail("list purgeable packages", err)
	}
	defer rows.Close()
	out := []packages.Package{}
	for rows.Next() {
		p, err := scanPackage(rows)
		if err != nil {
			return nil, s.fail("list purgeable packages", err)
		}
		out = append(out, *p)
	}
	return out, s.fail("list purgeable packages", rows.Err())
}

// ListPurgeableVersions lists versions soft-deleted before cutoff, oldest
// deletion first.
func (s *DB) ListPurgeableVersions(ctx context.Context, cutoff time.Time, limit int) ([]packages.Version, error) {
	rows, err := s.query(ctx, `SELECT `+versionCols+` FROM versions v
		WHERE v.deleted_at IS NOT NULL AND v.deleted_at < ? ORDER BY v.deleted_at, v.id`+s.limit(limit, 0), s.t(cutoff))
	if err != nil {
		return nil, s.fail("list purgeable versions", err)
	}
	out, err := s.collectVersions(rows)
	return out, s.fail("list purgeable versions", err)
}

// UnlinkBlob forgets that a package may read a blob (OCI blob DELETE). The
// bytes stay until garbage collection finds nothing else refers to them.
func (s *DB) UnlinkBlob(ctx context.Context, packageID int64, digest string) error {
	res, err := s.exec(ctx, `DELETE FROM package_blobs WHERE package_id = ? AND digest = ?`, packageID, digest)
	if err != nil {
		return s.fail("unlink blob", err)
	}
	return s.affected(res, "blob link "+digest)
}
