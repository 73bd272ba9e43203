package store

import (
	"context"
	"fmt"
	"sync"
)

// TryLock takes the named job lock without waiting. On PostgreSQL it is a
// session advisory lock, shared by every replica, held on a dedicated
// connection until unlock; on SQLite it is a lock of this process.
func (s *DB) TryLock(ctx context.Context, name string) (unlock func(), ok bool, err error) {
	if s.d != dialectPostgres {
		m, _ := s.jobLocks.LoadOrStore(name, &sync.Mutex{})
		mu := m.(*sync.Mutex)
		if !mu.TryLock() {
			return nil, false, nil
		}
		return mu.Unlock, true, nil
	}
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("lock %s: %w", name, err)
	}
	// Advisory locks are database-wide: key them by schema too, so that
	// separate installations sharing a database do not block each other.
	var key int64
	if err := conn.QueryRowContext(ctx, `SELECT hashtextextended(current_schema() || ':' || $1, 0)`, name).Scan(&key); err != nil {
		conn.Close()
		return nil, false, fmt.Errorf("lock %s: %w", name, err)
	}
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil {
		conn.Close()
		return nil, false, fmt.Errorf("lock %s: %w", name, err)
	}
	if !ok {
		conn.Close()
		return nil, false, nil
	}
	return func() {
		// A background context: the unlock must happen even when the
		// job's context is done.
		_, _ = conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1)`, key)
		conn.Close()
	}, true, nil
}

// LockPackage locks a package's row until the transaction ends. On SQLite,
// and outside a transaction, it does nothing: SQLite runs one write
// transaction at a time already.
func (s *DB) LockPackage(ctx context.Context, id int64) error {
	if s.d != dialectPostgres || s.tx == nil {
		return nil
	}
	var got int64
	if err := s.tx.QueryRowContext(ctx, `SELECT id FROM packages WHERE id = $1 FOR UPDATE`, id).Scan(&got); err != nil {
		return s.fail("lock package", err)
	}
	return nil
}
