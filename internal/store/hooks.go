package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/packhub/packhub/internal/packages"
)

// Webhooks and their deliveries (the outbox).

const hookCols = `id, owner_id, repository_id, name, events, active, url, content_type, secret, insecure_ssl, created_at, updated_at`

func scanHook(sc scanner) (*packages.Hook, error) {
	var h packages.Hook
	var events string
	if err := sc.Scan(&h.ID, &h.OwnerID, &h.RepositoryID, &h.Name, &events, &h.Active, &h.URL, &h.ContentType, &h.Secret, &h.InsecureSSL,
		timeScan{&h.CreatedAt}, timeScan{&h.UpdatedAt}); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(events), &h.Events); err != nil {
		return nil, fmt.Errorf("hook %d: bad events: %w", h.ID, err)
	}
	return &h, nil
}

func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// CreateHook records a webhook and sets its ID (and times, when zero).
func (s *DB) CreateHook(ctx context.Context, h *packages.Hook) error {
	if h.CreatedAt.IsZero() {
		h.CreatedAt = now()
	}
	if h.UpdatedAt.IsZero() {
		h.UpdatedAt = h.CreatedAt
	}
	h.CreatedAt, h.UpdatedAt = norm(h.CreatedAt), norm(h.UpdatedAt)
	events, err := jsonText(nonNil(h.Events))
	if err != nil {
		return fmt.Errorf("store: create hook: %w", err)
	}
	err = s.writeRow(ctx, `INSERT INTO hooks (owner_id, repository_id, name, events, active, url, content_type, secret, insecure_ssl, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		h.OwnerID, h.RepositoryID, h.Name, events, h.Active, h.URL, h.ContentType, h.Secret, h.InsecureSSL, s.t(h.CreatedAt), s.t(h.UpdatedAt)).Scan(&h.ID)
	return s.fail("create hook", err)
}

func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

// GetHook returns a webhook of an organization (repoID 0) or of a
// repository of ownerID.
func (s *DB) GetHook(ctx context.Context, ownerID, repoID, id int64) (*packages.Hook, error) {
	h, err := scanHook(s.queryRow(ctx, `SELECT `+hookCols+` FROM hooks WHERE id = ? AND owner_id = ? AND repository_id = ?`, id, ownerID, repoID))
	if err != nil {
		return nil, s.fail(fmt.Sprintf("get hook %d", id), err)
	}
	return h, nil
}

// GetHookByID returns a webhook by id.
func (s *DB) GetHookByID(ctx context.Context, id int64) (*packages.Hook, error) {
	h, err := scanHook(s.queryRow(ctx, `SELECT `+hookCols+` FROM hooks WHERE id = ?`, id))
	if err != nil {
		return nil, s.fail(fmt.Sprintf("get hook %d", id), err)
	}
	return h, nil
}

// ListHooks returns the webhooks of an organization (repoID 0) or of a
// repository of ownerID, by id.
func (s *DB) ListHooks(ctx context.Context, ownerID, repoID int64) ([]packages.Hook, error) {
	return s.listHooks(ctx, "list hooks", `SELECT `+hookCols+` FROM hooks WHERE owner_id = ? AND repository_id = ? ORDER BY id`, ownerID, repoID)
}

// PackageHooks returns, by id, the webhooks of ownerID itself and of its
// repository repoID, in one statement.
func (s *DB) PackageHooks(ctx context.Context, ownerID, repoID int64) ([]packages.Hook, error) {
	return s.listHooks(ctx, "package hooks", `SELECT `+hookCols+` FROM hooks WHERE owner_id = ? AND repository_id IN (0, ?) ORDER BY id`, ownerID, repoID)
}

func (s *DB) listHooks(ctx context.Context, op, query string, args ...any) ([]packages.Hook, error) {
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, s.fail(op, err)
	}
	defer rows.Close()
	out := []packages.Hook{}
	for rows.Next() {
		h, err := scanHook(rows)
		if err != nil {
			return nil, s.fail(op, err)
		}
		out = append(out, *h)
	}
	return out, s.fail(op, rows.Err())
}

// UpdateHook writes a webhook's name, events, active flag, config and
// update time.
func (s *DB) UpdateHook(ctx context.Context, h *packages.Hook) error {
	events, err := jsonText(nonNil(h.Events))
	if err != nil {
		return fmt.Errorf("store: update hook: %w", err)
	}
	h.UpdatedAt = norm(h.UpdatedAt)
	res, err := s.exec(ctx, `UPDATE hooks SET name = ?, events = ?, active = ?, url = ?, content_type = ?, secret = ?, insecure_ssl = ?, updated_at = ?
		WHERE id = ? AND owner_id = ? AND repository_id = ?`,
		h.Name, events, h.Active, h.URL, h.ContentType, h.Secret, h.InsecureSSL, s.t(h.UpdatedAt), h.ID, h.OwnerID, h.RepositoryID)
	if err != nil {
		return s.fail("update hook", err)
	}
	return s.affected(res, fmt.Sprintf("update hook %d", h.ID))
}

// DeleteHook deletes a webhook of an organization or a repository with its deliveries.
func (s *DB) DeleteHook(ctx context.Context, ownerID, repoID, id int64) error {
	return s.inTx(ctx, func(tx *DB) error {
		if _, err := tx.exec(ctx, `DELETE FROM hook_deliveries WHERE hook_id IN (SELECT id FROM hooks WHERE id = ? AND owner_id = ? AND repository_id = ?)`,
			id, ownerID, repoID); err != nil {
			return tx.fail("delete hook deliveries", err)
		}
		res, err := tx.exec(ctx, `DELETE FROM hooks WHERE id = ? AND owner_id = ? AND repository_id = ?`, id, ownerID, repoID)
		if err != nil {
			return tx.fail("delete hook", err)
		}
		return tx.affected(res, fmt.Sprintf("delete hook %d", id))
	})
}

const deliveryCols = `id, hook_id, event_id, sender_id, guid, event, action, redelivery, repository_id, payload, state, attempts,
	next_attempt_at, lease_until, delivered_at, duration, status, status_code, request_headers, response_headers, response_body, created_at`

func scanDelivery(sc scanner) (*packages.Delivery, error) {
	var d packages.Delivery
	var payload, state, reqH, resH string
	if err := sc.Scan(&d.ID, &d.HookID, &d.EventID, &d.SenderID, &d.GUID, &d.Event, &d.Action, &d.Redelivery, &d.RepositoryID,
		&payload, &state, &d.Attempts, timeScan{&d.NextAttemptAt}, nullTimeScan{&d.LeaseUntil}, nullTimeScan{&d.DeliveredAt},
		&d.Duration, &d.Status, &d.StatusCode, &reqH, &resH, &d.ResponseBody, timeScan{&d.CreatedAt}); err != nil {
		return nil, err
	}
	if payload != "" {
		d.Payload = []byte(payload)
	}
	d.State = packages.DeliveryState(state)
	if err := json.Unmarshal([]byte(reqH), &d.RequestHeaders); err != nil {
		return nil, fmt.Errorf("delivery %d: bad request headers: %w", d.ID, err)
	}
	if err := json.Unmarshal([]byte(resH), &d.ResponseHeaders); err != nil {
		return nil, fmt.Errorf("delivery %d: bad response headers: %w", d.ID, err)
	}
	return &d, nil
}

func headersText(h map[string]string) (string, error) {
	if h == nil {
		h = map[string]string{}
	}
	return jsonText(h)
}

// AddDelivery records a delivery and sets its ID (and CreatedAt, when
// zero).
func (s *DB) AddDelivery(ctx context.Context, d *packages.Delivery) error {
	if d.CreatedAt.IsZero() {
		d.CreatedAt = now()
	}
	if d.NextAttemptAt.IsZero() {
		d.NextAttemptAt = d.CreatedAt
	}
	if d.State == "" {
		d.State = packages.DeliveryPending
	}
	d.CreatedAt, d.NextAttemptAt = norm(d.CreatedAt), norm(d.NextAttemptAt)
	reqH, err := headersText(d.RequestHeaders)
	if err != nil {
		return fmt.Errorf("store: add delivery: %w", err)
	}
	resH, err := headersText(d.ResponseHeaders)
	if err != nil {
		return fmt.Errorf("store: add delivery: %w", err)
	}
	err = s.writeRow(ctx, `INSERT INTO hook_deliveries (hook_id, event_id, sender_id, guid, event, action, redelivery, repository_id,
		payload, state, attempts, next_attempt_at, lease_until, delivered_at, duration, status, status_code,
		request_headers, response_headers, response_body, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		d.HookID, d.EventID, d.SenderID, d.GUID, d.Event, d.Action, d.Redelivery, d.RepositoryID,
		string(d.Payload), string(d.State), d.Attempts, s.t(d.NextAttemptAt), s.nt(d.LeaseUntil), s.nt(d.DeliveredAt), d.Duration, d.Status, d.StatusCode,
		reqH, resH, d.ResponseBody, s.t(d.CreatedAt)).Scan(&d.ID)
	return s.fail("add delivery", err)
}

// ClaimDeliveries leases due pending deliveries. On PostgreSQL the rows
// are picked with FOR UPDATE SKIP LOCKED, so that workers of several
// replicas claiming at once each get other rows, and the lease keeps them
// from claiming a row again while its attempt runs; SQLite serves one
// process, whose write transactions run one at a time.
func (s *DB) ClaimDeliveries(ctx context.Context, at, leaseUntil time.Time, limit int) ([]packages.Delivery, error) {
	if limit <= 0 {
		limit = 1
	}
	pick := `SELECT id FROM hook_deliveries
		WHERE state = 'pending' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
		ORDER BY next_attempt_at, id LIMIT ` + fmt.Sprint(limit)
	if s.d == dialectPostgres {
		pick += ` FOR UPDATE SKIP LOCKED`
	}
	// Most polls find nothing: ask without a write transaction first.
	var due int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM hook_deliveries
		WHERE state = 'pending' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?) LIMIT 1) d`, s.t(at), s.t(at)).Scan(&due)
	if err != nil {
		return nil, s.fail("claim deliveries", err)
	}
	if due == 0 {
		return nil, nil
	}
	var out []packages.Delivery
	err = s.inTx(ctx, func(tx *DB) error {
		rows, err := tx.query(ctx, `UPDATE hook_deliveries SET lease_until = ?, attempts = attempts + 1
			WHERE id IN (`+pick+`) RETURNING `+deliveryCols, s.t(leaseUntil), s.t(at), s.t(at))
		if err != nil {
			return tx.fail("claim deliveries", err)
		}
		defer rows.Close()
		for rows.Next() {
			d, err := scanDelivery(rows)
			if err != nil {
				return tx.fail("claim deliveries", err)
			}
			out = append(out, *d)
		}
		return tx.fail("claim deliveries", rows.Err())
	})
	if err != nil {
		return nil, err
	}
	sortDeliveries(out)
	return out, nil
}

// sortDeliveries orders claimed deliveries as they were picked: RETURNING
// promises no order.
func sortDeliveries(ds []packages.Delivery) {
	for i := 1; i < len(ds); i++ {
		for j := i; j > 0 && deliveryBefore(&ds[j], &ds[j-1]); j-- {
			ds[j], ds[j-1] = ds[j-1], ds[j]
		}
	}
}

func deliveryBefore(a, b *packages.Delivery) bool {
	if !a.NextAttemptAt.Equal(b.NextAttemptAt) {
		return a.NextAttemptAt.Before(b.NextAttemptAt)
	}
	return a.ID < b.ID
}

// FinishAttempt records an attempt's outcome, if the delivery is still
// claimed by the attempt d counts (its Attempts), and releases the lease.
func (s *DB) FinishAttempt(ctx context.Context, d *packages.Delivery) (bool, error) {
	reqH, err := headersText(d.RequestHeaders)
	if err != nil {
		return false, fmt.Errorf("store: finish attempt: %w", err)
	}
	resH, err := headersText(d.ResponseHeaders)
	if err != nil {
		return false, fmt.Errorf("store: finish attempt: %w", err)
	}
	n, err := s.execCount(ctx, "finish attempt", `UPDATE hook_deliveries SET payload = ?, state = ?, next_attempt_at = ?, lease_until = NULL,
		delivered_at = ?, duration = ?, status = ?, status_code = ?, request_headers = ?, response_headers = ?, response_body = ?
		WHERE id = ? AND attempts = ? AND lease_until IS NOT NULL`,
		string(d.Payload), string(d.State), s.t(d.NextAttemptAt), s.nt(d.DeliveredAt), d.Duration, d.Status, d.StatusCode,
		reqH, resH, d.ResponseBody, d.ID, d.Attempts)
	return n == 1, err
}

// GetDelivery returns one delivery of a webhook.
func (s *DB) GetDelivery(ctx context.Context, hookID, id int64) (*packages.Delivery, error) {
	d, err := scanDelivery(s.queryRow(ctx, `SELECT `+deliveryCols+` FROM hook_deliveries WHERE id = ? AND hook_id = ?`, id, hookID))
	if err != nil {
		return nil, s.fail(fmt.Sprintf("get delivery %d", id), err)
	}
	return d, nil
}

// DeleteFinishedDeliveries deletes deliveries no longer pending that were
// created before before.
func (s *DB) DeleteFinishedDeliveries(ctx context.Context, before time.Time) (int, error) {
	n, err := s.execCount(ctx, "delete finished deliveries", `DELETE FROM hook_deliveries WHERE state <> ? AND created_at < ?`,
		string(packages.DeliveryPending), s.t(before))
	return int(n), err
}

// ListDeliveries returns a webhook's deliveries, newest first.
func (s *DB) ListDeliveries(ctx context.Context, f packages.DeliveryFilter) ([]packages.Delivery, error) {
	conds := []string{"hook_id = ?"}
	args := []any{f.HookID}
	if f.Before > 0 {
		conds = append(conds, "id < ?")
		args = append(args, f.Before)
	}
	switch f.Status {
	case "success":
		conds = append(conds, "status_code BETWEEN 200 AND 399")
	case "failure":
		conds = append(conds, "NOT (status_code BETWEEN 200 AND 399)")
	}
	rows, err := s.query(ctx, `SELECT `+deliveryCols+` FROM hook_deliveries WHERE `+strings.Join(conds, " AND ")+
		` ORDER BY id DESC`+s.limit(f.Limit, 0), args...)
	if err != nil {
		return nil, s.fail("list deliveries", err)
	}
	defer rows.Close()
	out := []packages.Delivery{}
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, s.fail("list deliveries", err)
		}
		out = append(out, *d)
	}
	return out, s.fail("list deliveries", rows.Err())
}

// The audit log.

const eventCols = `id, actor_id, action, package_id, version_id, detail, created_at, token_id, ip, user_agent, request_id`

func scanEvent(sc scanner) (*packages.Event, error) {
	var e packages.Event
	if err := sc.Scan(&e.ID, &e.ActorID, &e.Action, &e.PackageID, &e.VersionID, &e.Detail, timeScan{&e.CreatedAt},
		&e.TokenID, &e.IP, &e.UserAgent, &e.RequestID); err != nil {
		return nil, err
	}
	return &e, nil
}

// GetEvent returns one event by id.
func (s *DB) GetEvent(ctx context.Context, id int64) (*packages.Event, error) {
	e, err := scanEvent(s.queryRow(ctx, `SELECT `+eventCols+` FROM events WHERE id = ?`, id))
	if err != nil {
		return nil, s.fail(fmt.Sprintf("get event %d", id), err)
	}
	return e, nil
}

// LastTokenEvent returns the newest event of an action by a token.
func (s *DB) LastTokenEvent(ctx context.Context, tokenID int64, action string) (*packages.Event, error) {
	e, err := scanEvent(s.queryRow(ctx, `SELECT `+eventCols+` FROM events WHERE token_id = ? AND action = ? ORDER BY id DESC LIMIT 1`, tokenID, action))
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, s.fail("last token event", err)
	}
	return e, nil
}

// ListAuditEvents returns the events f selects, newest first, with their
// count.
func (s *DB) ListAuditEvents(ctx context.Context, f packages.AuditFilter) ([]packages.Event, int, error) {
	var conds []string
	var args []any
	if f.ActorID != 0 {
		conds = append(conds, "actor_id = ?")
		args = append(args, f.ActorID)
	}
	if f.Action != "" {
		conds = append(conds, "action = ?")
		args = append(args, f.Action)
	}
	if f.PackageID != 0 {
		conds = append(conds, "package_id = ?")
		args = append(args, f.PackageID)
	}
	if !f.Since.IsZero() {
		conds = append(conds, "created_at >= ?")
		args = append(args, s.t(f.Since))
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	var total int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM events`+where, args...).Scan(&total); err != nil {
		return nil, 0, s.fail("count audit events", err)
	}
	rows, err := s.query(ctx, `SELECT `+eventCols+` FROM events`+where+` ORDER BY id DESC`+s.limit(f.Limit, f.Offset), args...)
	if err != nil {
		return nil, 0, s.fail("list audit events", err)
	}
	defer rows.Close()
	out := []packages.Event{}
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, 0, s.fail("list audit events", err)
		}
		out = append(out, *e)
	}
	return out, total, s.fail("list audit events", rows.Err())
}
