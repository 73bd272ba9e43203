package store

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
)

// maxCachedStmts bounds the statements a stmtCache keeps: queries built
// with a variable number of placeholders are not worth keeping forever.
const maxCachedStmts = 512

// maxCachedQuery is the longest query text a stmtCache keeps.
const maxCachedQuery = 4096

// stmtCache keeps prepared statements of one SQLite pool by query text.
// The SQLite driver parses and plans every query it is not handed prepared,
// which costs more than a simple indexed lookup itself; a *sql.Stmt is
// prepared once per connection of the pool. (pgx keeps a statement cache
// per connection of its own, so PostgreSQL needs none.)
type stmtCache struct {
	db *sql.DB
	m  sync.Map // query -> *sql.Stmt
	n  atomic.Int32
}

func newStmtCache(db *sql.DB) *stmtCache { return &stmtCache{db: db} }

// get returns the prepared statement of query, preparing it on first use;
// nil when it cannot be kept (the caller then runs the query unprepared,
// which also reports any error in it).
func (c *stmtCache) get(ctx context.Context, query string) *sql.Stmt {
	if c == nil {
		return nil
	}
	if st, ok := c.m.Load(query); ok {
		return st.(*sql.Stmt)
	}
	if len(query) > maxCachedQuery || c.n.Load() >= maxCachedStmts {
		return nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	if prev, loaded := c.m.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt)
	}
	c.n.Add(1)
	return st
}

// close closes every kept statement.
func (c *stmtCache) close() {
	if c == nil {
		return
	}
	c.m.Range(func(k, v any) bool {
		v.(*sql.Stmt).Close()
		c.m.Delete(k)
		return true
	})
}
