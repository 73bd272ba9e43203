package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

type migration struct {
	version int64
	name    string // file name without .sql, e.g. 001_init
	sql     string
}

// migrations returns the dialect's migrations in order. Files are named
// NNN_name.sql; NNN is the version.
func migrations(d dialect) ([]migration, error) {
	dir := "migrations/" + d.String()
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("store: read migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		name := strings.TrimSuffix(e.Name(), ".sql")
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("store: migration %s: name must be NNN_name.sql", e.Name())
		}
		b, err := migrationFiles.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("store: read migration %s: %w", e.Name(), err)
		}
		out = append(out, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("store: two migrations numbered %d", out[i].version)
		}
	}
	return out, nil
}

// migrate applies pending migrations, each in its own transaction, recording
// them in schema_migrations. On PostgreSQL an advisory lock (per schema)
// serializes concurrent migrators; on SQLite the immediate transactions do.
func (s *DB) migrate(ctx context.Context) (err error) {
	s.lastApplied = nil
	ms, err := migrations(s.d)
	if err != nil {
		return err
	}
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	defer conn.Close()

	if s.d == dialectPostgres {
		const lock = `SELECT pg_advisory_lock(hashtext('packhub.migrate.' || current_schema()))`
		const unlock = `SELECT pg_advisory_unlock(hashtext('packhub.migrate.' || current_schema()))`
		if _, err := conn.ExecContext(ctx, lock); err != nil {
			return fmt.Errorf("store: migrate: lock: %w", err)
		}
		defer func() {
			// A fresh context: the lock must go even if ctx is done.
			if _, uerr := conn.ExecContext(context.Background(), unlock); uerr != nil && err == nil {
				err = fmt.Errorf("store: migrate: unlock: %w", uerr)
			}
		}()
	}

	create := `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TEXT NOT NULL
	)`
	if s.d == dialectPostgres {
		create = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    BIGINT PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TIMESTAMPTZ NOT NULL
	)`
	}
	if _, err := conn.ExecContext(ctx, create); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}

	for _, m := range ms {
		applied, err := s.applyMigration(ctx, conn, m)
		if err != nil {
			return err
		}
		if applied {
			s.lastApplied = append(s.lastApplied, m.name)
		}
	}
	return nil
}

func (s *DB) applyMigration(ctx context.Context, conn *sql.Conn, m migration) (bool, error) {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("store: migration %s: begin: %w", m.name, err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit

	var n int
	if err := tx.QueryRowContext(ctx, s.q(`SELECT count(*) FROM schema_migrations WHERE version = ?`), m.version).Scan(&n); err != nil {
		return false, fmt.Errorf("store: migration %s: %w", m.name, err)
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, fmt.Errorf("store: migration %s: %w", m.name, err)
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
		m.version, m.name, s.t(now())); err != nil {
		return false, fmt.Errorf("store: migration %s: record: %w", m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("store: migration %s: commit: %w", m.name, err)
	}
	return true, nil
}
