package store

import (
	"context"
	"fmt"
	"time"

	"github.com/packhub/packhub/internal/packages"
)

// Web sessions.

const sessionCols = `id, hash, user_id, token_id, created_at, last_seen_at, expires_at`

func scanSession(sc scanner) (*packages.Session, error) {
	var ss packages.Session
	if err := sc.Scan(&ss.ID, &ss.Hash, &ss.UserID, &ss.TokenID,
		timeScan{&ss.CreatedAt}, timeScan{&ss.LastSeenAt}, timeScan{&ss.ExpiresAt}); err != nil {
		return nil, err
	}
	return &ss, nil
}

// CreateSession inserts a session and sets its ID (and CreatedAt and
// LastSeenAt when they are zero).
func (s *DB) CreateSession(ctx context.Context, ss *packages.Session) error {
	if ss.CreatedAt.IsZero() {
		ss.CreatedAt = now()
	}
	if ss.LastSeenAt.IsZero() {
		ss.LastSeenAt = ss.CreatedAt
	}
	ss.CreatedAt, ss.LastSeenAt, ss.ExpiresAt = norm(ss.CreatedAt), norm(ss.LastSeenAt), norm(ss.ExpiresAt)
	err := s.writeRow(ctx, `INSERT INTO web_sessions (hash, user_id, token_id, created_at, last_seen_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		ss.Hash, ss.UserID, ss.TokenID, s.t(ss.CreatedAt), s.t(ss.LastSeenAt), s.t(ss.ExpiresAt)).Scan(&ss.ID)
	return s.fail("create session", err)
}

// GetSessionByHash finds a session by the hash of its secret.
func (s *DB) GetSessionByHash(ctx context.Context, hash string) (*packages.Session, error) {
	ss, err := scanSession(s.queryRow(ctx, `SELECT `+sessionCols+` FROM web_sessions WHERE hash = ?`, hash))
	if err != nil {
		return nil, s.fail("get session", err)
	}
	return ss, nil
}

// TouchSession records when a session was last used.
func (s *DB) TouchSession(ctx context.Context, id int64, at time.Time) error {
	res, err := s.exec(ctx, `UPDATE web_sessions SET last_seen_at = ? WHERE id = ?`, s.t(at), id)
	if err != nil {
		return s.fail("touch session", err)
	}
	return s.affected(res, fmt.Sprintf("session %d", id))
}

// DeleteSession deletes the session whose secret has this hash.
func (s *DB) DeleteSession(ctx context.Context, hash string) error {
	res, err := s.exec(ctx, `DELETE FROM web_sessions WHERE hash = ?`, hash)
	if err != nil {
		return s.fail("delete session", err)
	}
	return s.affected(res, "session")
}

// DeleteStaleSessions deletes sessions that expired at or before now and
// those whose token is revoked or expired.
func (s *DB) DeleteStaleSessions(ctx context.Context, at time.Time) (int, error) {
	t := s.t(at)
	n, err := s.execCount(ctx, "delete stale sessions", `DELETE FROM web_sessions WHERE expires_at <= ?
		OR token_id IN (SELECT id FROM tokens WHERE revoked_at IS NOT NULL OR (expires_at IS NOT NULL AND expires_at <= ?))`, t, t)
	return int(n), err
}

// ListPackageAccess lists a package's grants with their users, by login.
func (s *DB) ListPackageAccess(ctx context.Context, packageID int64) ([]packages.Grant, error) {
	rows, err := s.query(ctx, `SELECT o.id, o.login, o.type, o.name, o.email, o.site_admin, o.created_at, o.updated_at, a.role
		FROM package_access a JOIN owners o ON o.id = a.user_id
		WHERE a.package_id = ? ORDER BY lower(o.login)`, packageID)
	if err != nil {
		return nil, s.fail("list package access", err)
	}
	defer rows.Close()
	out := []packages.Grant{}
	for rows.Next() {
		var o packages.Owner
		var typ, role string
		if err := rows.Scan(&o.ID, &o.Login, &typ, &o.Name, &o.Email, &o.SiteAdmin, timeScan{&o.CreatedAt}, timeScan{&o.UpdatedAt}, &role); err != nil {
			return nil, s.fail("list package access", err)
		}
		o.Type = packages.OwnerType(typ)
		out = append(out, packages.Grant{User: &o, Role: roleOf(role)})
	}
	return out, s.fail("list package access", rows.Err())
}

// FileTotals counts the files of versions and adds up their sizes, in one
// query.
func (s *DB) FileTotals(ctx context.Context, versionIDs []int64) (map[int64]packages.FileTotal, error) {
	out := make(map[int64]packages.FileTotal, len(versionIDs))
	if len(versionIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(versionIDs))
	for i, id := range versionIDs {
		args[i] = id
	}
	rows, err := s.query(ctx, `SELECT version_id, count(*), coalesce(sum(size), 0) FROM files
		WHERE version_id IN (`+placeholders(len(versionIDs))+`) GROUP BY version_id`, args...)
	if err != nil {
		return nil, s.fail("file totals", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var ft packages.FileTotal
		if err := rows.Scan(&id, &ft.Count, &ft.Size); err != nil {
			return nil, s.fail("file totals", err)
		}
		out[id] = ft
	}
	return out, s.fail("file totals", rows.Err())
}

// Analyze refreshes the query planner's statistics: ANALYZE on SQLite,
// VACUUM ANALYZE on PostgreSQL (whose autovacuum does it too, later). A
// bulk load wants it before it is read; the web pages' benchmark calls
// it after seeding.
func (s *DB) Analyze(ctx context.Context) error {
	q := "ANALYZE"
	if s.d == dialectPostgres {
		q = "VACUUM ANALYZE"
	}
	_, err := s.write.ExecContext(ctx, q)
	return s.fail("analyze", err)
}
