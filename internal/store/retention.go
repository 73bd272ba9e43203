package store

import (
	"context"
	"fmt"
	"time"

	"github.com/packhub/packhub/internal/packages"
)

// Retention policies.

const retentionCols = `id, owner_id, package_type, name_pattern, keep_newest, older_than, untagged,
	keep_pattern, remove_pattern, keep_builds, created_by, created_at`

func scanRetentionPolicy(sc scanner) (*packages.RetentionPolicy, error) {
	var p packages.RetentionPolicy
	var typ string
	var olderThan int64
	if err := sc.Scan(&p.ID, &p.OwnerID, &typ, &p.Name, &p.KeepNewest, &olderThan, &p.Untagged,
		&p.KeepPattern, &p.RemovePattern, &p.KeepBuilds, &p.CreatedBy, timeScan{&p.CreatedAt}); err != nil {
		return nil, err
	}
	p.Type, p.OlderThan = packages.Type(typ), time.Duration(olderThan)*time.Second
	return &p, nil
}

// CreateRetentionPolicy inserts a policy and sets its ID and CreatedAt.
// OlderThan is kept in whole seconds.
func (s *DB) CreateRetentionPolicy(ctx context.Context, p *packages.RetentionPolicy) error {
	if p.CreatedAt.IsZero() {
		p.CreatedAt = now()
	}
	p.CreatedAt = norm(p.CreatedAt)
	p.OlderThan = p.OlderThan.Truncate(time.Second)
	err := s.writeRow(ctx, `INSERT INTO retention_policies (owner_id, package_type, name_pattern, keep_newest, older_than, untagged,
		keep_pattern, remove_pattern, keep_builds, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		p.OwnerID, string(p.Type), p.Name, p.KeepNewest, int64(p.OlderThan/time.Second), p.Untagged,
		p.KeepPattern, p.RemovePattern, p.KeepBuilds, p.CreatedBy, s.t(p.CreatedAt)).Scan(&p.ID)
	return s.fail("create retention policy", err)
}

// GetRetentionPolicy finds a policy by id.
func (s *DB) GetRetentionPolicy(ctx context.Context, id int64) (*packages.RetentionPolicy, error) {
	p, err := scanRetentionPolicy(s.queryRow(ctx, `SELECT `+retentionCols+` FROM retention_policies WHERE id = ?`, id))
	if err != nil {
		return nil, s.fail(fmt.Sprintf("get retention policy %d", id), err)
	}
	return p, nil
}

// ListRetentionPolicies lists an owner's policies (ownerID 0: every
// owner's) by id.
func (s *DB) ListRetentionPolicies(ctx context.Context, ownerID int64) ([]packages.RetentionPolicy, error) {
	rows, err := s.query(ctx, `SELECT `+retentionCols+` FROM retention_policies WHERE owner_id = ? OR ? = 0 ORDER BY id`, ownerID, ownerID)
	if err != nil {
		return nil, s.fail("list retention policies", err)
	}
	defer rows.Close()
	out := []packages.RetentionPolicy{}
	for rows.Next() {
		p, err := scanRetentionPolicy(rows)
		if err != nil {
			return nil, s.fail("list retention policies", err)
		}
		out = append(out, *p)
	}
	return out, s.fail("list retention policies", rows.Err())
}

// DeleteRetentionPolicy removes a policy.
func (s *DB) DeleteRetentionPolicy(ctx context.Context, id int64) error {
	res, err := s.exec(ctx, `DELETE FROM retention_policies WHERE id = ?`, id)
	if err != nil {
		return s.fail("delete retention policy", err)
	}
	return s.affected(res, fmt.Sprintf("retention policy %d", id))
}
