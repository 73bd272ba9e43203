package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/packhub/packhub/internal/packages"
)

// scanner is *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// nullID encodes an optional id; 0 is NULL.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// Owners.

const ownerCols = `id, login, type, name, email, site_admin, created_at, updated_at`

func scanOwner(sc scanner) (*packages.Owner, error) {
	var o packages.Owner
	var typ string
	if err := sc.Scan(&o.ID, &o.Login, &typ, &o.Name, &o.Email, &o.SiteAdmin,
		timeScan{&o.CreatedAt}, timeScan{&o.UpdatedAt}); err != nil {
		return nil, err
	}
	o.Type = packages.OwnerType(typ)
	return &o, nil
}

// CreateOwner inserts a user or organization and sets its ID and times.
func (s *DB) CreateOwner(ctx context.Context, o *packages.Owner) error {
	if o.CreatedAt.IsZero() {
		o.CreatedAt = now()
	}
	if o.UpdatedAt.IsZero() {
		o.UpdatedAt = o.CreatedAt
	}
	o.CreatedAt, o.UpdatedAt = norm(o.CreatedAt), norm(o.UpdatedAt)
	err := s.writeRow(ctx, `INSERT INTO owners (login, type, name, email, site_admin, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		o.Login, string(o.Type), o.Name, o.Email, o.SiteAdmin, s.t(o.CreatedAt), s.t(o.UpdatedAt)).Scan(&o.ID)
	return s.fail("create owner", err)
}

// GetOwnerByLogin finds an owner by login, case-insensitively.
func (s *DB) GetOwnerByLogin(ctx context.Context, login string) (*packages.Owner, error) {
	o, err := scanOwner(s.queryRow(ctx, `SELECT `+ownerCols+` FROM owners WHERE lower(login) = lower(?)`, login))
	if err != nil {
		return nil, s.fail("get owner "+login, err)
	}
	return o, nil
}

// GetOwnerByID finds an owner by id.
func (s *DB) GetOwnerByID(ctx context.Context, id int64) (*packages.Owner, error) {
	o, err := scanOwner(s.queryRow(ctx, `SELECT `+ownerCols+` FROM owners WHERE id = ?`, id))
	if err != nil {
		return nil, s.fail(fmt.Sprintf("get owner %d", id), err)
	}
	return o, nil
}

// SetOrgMember sets a user's role in an organization; NoOrgRole removes it.
func (s *DB) SetOrgMember(ctx context.Context, orgID, userID int64, role packages.OrgRole) error {
	if role == packages.NoOrgRole {
		_, err := s.exec(ctx, `DELETE FROM org_members WHERE org_id = ? AND user_id = ?`, orgID, userID)
		return s.fail("remove org member", err)
	}
	_, err := s.exec(ctx, `INSERT INTO org_members (org_id, user_id, role) VALUES (?, ?, ?)
		ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role`, orgID, userID, string(role))
	return s.fail("set org member", err)
}

// GetOrgRole returns a user's role in an organization, NoOrgRole if none.
func (s *DB) GetOrgRole(ctx context.Context, orgID, userID int64) (packages.OrgRole, error) {
	var role string
	err := s.queryRow(ctx, `SELECT role FROM org_members WHERE org_id = ? AND user_id = ?`, orgID, userID).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		return packages.NoOrgRole, nil
	}
	if err != nil {
		return packages.NoOrgRole, s.fail("get org role", err)
	}
	return packages.OrgRole(role), nil
}

// ListMemberships returns the organizations a user belongs to, with the
// user's role in each.
func (s *DB) ListMemberships(ctx context.Context, userID int64) (map[int64]packages.OrgRole, error) {
	rows, err := s.query(ctx, `SELECT org_id, role FROM org_members WHERE user_id = ?`, userID)
	if err != nil {
		return nil, s.fail("list memberships", err)
	}
	defer rows.Close()
	out := make(map[int64]packages.OrgRole)
	for rows.Next() {
		var id int64
		var role string
		if err := rows.Scan(&id, &role); err != nil {
			return nil, s.fail("list memberships", err)
		}
		out[id] = packages.OrgRole(role)
	}
	return out, s.fail("list memberships", rows.Err())
}

// roleOf parses a stored role.
func roleOf(s string) packages.Role {
	r, _ := packages.ParseRole(s)
	return r
}

// Repositories.

const repoCols = `id, owner_id, name, description, visibility, created_at, updated_at`

func scanRepo(sc scanner) (*packages.Repository, error) {
	var r packages.Repository
	var vis string
	if err := sc.Scan(&r.ID, &r.OwnerID, &r.Name, &r.Description, &vis,
		timeScan{&r.CreatedAt}, timeScan{&r.UpdatedAt}); err != nil {
		return nil, err
	}
	r.Visibility = packages.Visibility(vis)
	return &r, nil
}

// CreateRepository inserts a repository and sets its ID and times.
func (s *DB) CreateRepository(ctx context.Context, r *packages.Repository) error {
	if r.CreatedAt.IsZero() {
		r.CreatedAt = now()
	}
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = r.CreatedAt
	}
	r.CreatedAt, r.UpdatedAt = norm(r.CreatedAt), norm(r.UpdatedAt)
	err := s.writeRow(ctx, `INSERT INTO repositories (owner_id, name, description, visibility, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		r.OwnerID, r.Name, r.Description, string(r.Visibility), s.t(r.CreatedAt), s.t(r.UpdatedAt)).Scan(&r.ID)
	return s.fail("create repository", err)
}

// GetRepository finds a repository by owner and name, case-insensitively.
func (s *DB) GetRepository(ctx context.Context, ownerID int64, name string) (*packages.Repository, error) {
	r, err := scanRepo(s.queryRow(ctx, `SELECT `+repoCols+` FROM repositories WHERE owner_id = ? AND lower(name) = lower(?)`, ownerID, name))
	if err != nil {
		return nil, s.fail("get repository "+name, err)
	}
	return r, nil
}

// GetRepositoryByID finds a repository by id.
func (s *DB) GetRepositoryByID(ctx context.Context, id int64) (*packages.Repository, error) {
	r, err := scanRepo(s.queryRow(ctx, `SELECT `+repoCols+` FROM repositories WHERE id = ?`, id))
	if err != nil {
		return nil, s.fail(fmt.Sprintf("get repository %d", id), err)
	}
	return r, nil
}

// SetCollaborator sets a user's role on a repository; NoRole removes it.
func (s *DB) SetCollaborator(ctx context.Context, repoID, userID int64, role packages.Role) error {
	return s.setRole(ctx, collaborators, repoID, userID, role)
}

// GetCollaboratorRole returns a user's role on a repository, NoRole if none.
func (s *DB) GetCollaboratorRole(ctx context.Context, repoID, userID int64) (packages.Role, error) {
	return s.getRole(ctx, collaborators, repoID, userID)
}

// RemoveGrants removes every role a user holds on the packages and
// repositories of one owner, in one transaction.
func (s *DB) RemoveGrants(ctx context.Context, ownerID, userID int64) error {
	return s.inTx(ctx, func(tx *DB) error {
		if _, err := tx.exec(ctx, `DELETE FROM package_access WHERE user_id = ?
			AND package_id IN (SELECT id FROM packages WHERE owner_id = ?)`, userID, ownerID); err != nil {
			return tx.fail("remove package grants", err)
		}
		_, err := tx.exec(ctx, `DELETE FROM repo_collaborators WHERE user_id = ?
			AND repo_id IN (SELECT id FROM repositories WHERE owner_id = ?)`, userID, ownerID)
		return tx.fail("remove collaborator roles", err)
	})
}

// roleTable names a table of (subject, user) -> role grants.
type roleTable struct{ table, subject, what string }

var (
	collaborators = roleTable{"repo_collaborators", "repo_id", "collaborator role"}
	packageAccess = roleTable{"package_access", "package_id", "package access"}
)

// setRole grants a user a role on a subject of rt; NoRole removes it.
func (s *DB) setRole(ctx context.Context, rt roleTable, subjectID, userID int64, role packages.Role) error {
	if role == packages.NoRole {
		_, err := s.exec(ctx, `DELETE FROM `+rt.table+` WHERE `+rt.subject+` = ? AND user_id = ?`, subjectID, userID)
		return s.fail("remove "+rt.what, err)
	}
	_, err := s.exec(ctx, `INSERT INTO `+rt.table+` (`+rt.subject+`, user_id, role) VALUES (?, ?, ?)
		ON CONFLICT (`+rt.subject+`, user_id) DO UPDATE SET role = excluded.role`, subjectID, userID, role.String())
	return s.fail("set "+rt.what, err)
}

// getRole returns a user's role on a subject of rt, NoRole if none.
func (s *DB) getRole(ctx context.Context, rt roleTable, subjectID, userID int64) (packages.Role, error) {
	var role string
	err := s.queryRow(ctx, `SELECT role FROM `+rt.table+` WHERE `+rt.subject+` = ? AND user_id = ?`, subjectID, userID).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		return packages.NoRole, nil
	}
	if err != nil {
		return packages.NoRole, s.fail("get "+rt.what, err)
	}
	return roleOf(role), nil
}

// Tokens.

// CreateToken inserts a token and sets its ID and CreatedAt.
func (s *DB) CreateToken(ctx context.Context, t *packages.Token) error {
	if t.CreatedAt.IsZero() {
		t.CreatedAt = now()
	}
	t.CreatedAt = norm(t.CreatedAt)
	scopes := t.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	js, err := json.Marshal(scopes)
	if err != nil {
		return fmt.Errorf("store: create token: %w", err)
	}
	err = s.writeRow(ctx, `INSERT INTO tokens (user_id, hash, scopes, note, expires_at, last_used_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		t.UserID, t.Hash, string(js), t.Note, s.nt(t.ExpiresAt), s.nt(t.LastUsedAt), s.t(t.CreatedAt)).Scan(&t.ID)
	return s.fail("create token", err)
}

const tokenCols = `id, user_id, hash, scopes, note, expires_at, last_used_at, revoked_at, created_at`

func scanToken(sc scanner) (*packages.Token, error) {
	var t packages.Token
	var scopes string
	if err := sc.Scan(&t.ID, &t.UserID, &t.Hash, &scopes, &t.Note,
		nullTimeScan{&t.ExpiresAt}, nullTimeScan{&t.LastUsedAt}, nullTimeScan{&t.RevokedAt}, timeScan{&t.CreatedAt}); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(scopes), &t.Scopes); err != nil {
		return nil, fmt.Errorf("token %d: bad scopes: %w", t.ID, err)
	}
	return &t, nil
}

// GetTokenByHash finds a token by the hash of its plaintext.
func (s *DB) GetTokenByHash(ctx context.Context, hash string) (*packages.Token, error) {
	t, err := scanToken(s.queryRow(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = ?`, hash))
	if err != nil {
		return nil, s.fail("get token", err)
	}
	return t, nil
}

// GetTokenByID finds a token by id: one read of the primary key, which a
// registry bearer token pays on every request to see that the token it was
// minted from still holds.
func (s *DB) GetTokenByID(ctx context.Context, id int64) (*packages.Token, error) {
	t, err := scanToken(s.queryRow(ctx, `SELECT `+tokenCols+` FROM tokens WHERE id = ?`, id))
	if err != nil {
		return nil, s.fail(fmt.Sprintf("get token %d", id), err)
	}
	return t, nil
}

// ListTokens returns a user's tokens by id, revoked ones included.
func (s *DB) ListTokens(ctx context.Context, userID int64) ([]packages.Token, error) {
	rows, err := s.query(ctx, `SELECT `+tokenCols+` FROM tokens WHERE user_id = ? ORDER BY id`, userID)
	if err != nil {
		return nil, s.fail("list tokens", err)
	}
	defer rows.Close()
	var out []packages.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, s.fail("list tokens", err)
		}
		out = append(out, *t)
	}
	return out, s.fail("list tokens", rows.Err())
}

// RevokeToken marks a token revoked at at; a token revoked already keeps
// its first revocation time.
func (s *DB) RevokeToken(ctx context.Context, id int64, at time.Time) error {
	res, err := s.exec(ctx, `UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, s.t(at), id)
	if err != nil {
		return s.fail("revoke token", err)
	}
	return s.affected(res, fmt.Sprintf("token %d", id))
}

// TouchToken records when a token was last used.
func (s *DB) TouchToken(ctx context.Context, id int64, at time.Time) error {
	res, err := s.exec(ctx, `UPDATE tokens SET last_used_at = ? WHERE id = ?`, s.t(at), id)
	if err != nil {
		return s.fail("touch token", err)
	}
	return s.affected(res, fmt.Sprintf("token %d", id))
}

// affected returns a not-found error when res changed no row.
func (s *DB) affected(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	if n == 0 {
		return notFound(what)
	}
	return nil
}

// Events.

// AddEvent appends an event to the audit trail and sets its ID and
// CreatedAt.
func (s *DB) AddEvent(ctx context.Context, e *packages.Event) error {
	if e.CreatedAt.IsZero() {
		e.CreatedAt = now()
	}
	e.CreatedAt = norm(e.CreatedAt)
	err := s.writeRow(ctx, `INSERT INTO events (actor_id, action, package_id, version_id, detail, created_at, token_id, ip, user_agent, request_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		e.ActorID, e.Action, e.PackageID, e.VersionID, e.Detail, s.t(e.CreatedAt), e.TokenID, e.IP, e.UserAgent, e.RequestID).Scan(&e.ID)
	return s.fail("add event", err)
}

// ListEvents returns a package's events, oldest first.
func (s *DB) ListEvents(ctx context.Context, packageID int64) ([]packages.Event, error) {
	rows, err := s.query(ctx, `SELECT `+eventCols+` FROM events WHERE package_id = ? ORDER BY id`, packageID)
	if err != nil {
		return nil, s.fail("list events", err)
	}
	defer rows.Close()
	var out []packages.Event
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, s.fail("list events", err)
		}
		out = append(out, *e)
	}
	return out, s.fail("list events", rows.Err())
}
