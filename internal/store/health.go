package store

import (
	"context"
	"fmt"
)

// Ping checks that the database answers: one trivial query on the pool
// that serves reads (on PostgreSQL, the only pool).
func (s *DB) Ping(ctx context.Context) error {
	var one int
	if err := s.read.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// PendingMigrations returns the names of this build's migrations that the
// database has not applied, in order: none once the schema is current. A
// database migrated further, by a newer build, has none pending either.
func (s *DB) PendingMigrations(ctx context.Context) ([]string, error) {
	ms, err := migrations(s.d)
	if err != nil {
		return nil, err
	}
	rows, err := s.read.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("store: applied migrations: %w", err)
	}
	defer rows.Close()
	applied := map[int64]bool{}
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("store: applied migrations: %w", err)
		}
		applied[v] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: applied migrations: %w", err)
	}
	var pending []string
	for _, m := range ms {
		if !applied[m.version] {
			pending = append(pending, m.name)
		}
	}
	return pending, nil
}
