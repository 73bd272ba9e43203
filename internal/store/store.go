// Package store implements packages.Store in SQL, for SQLite (modernc.org/sqlite,
// pure Go) and PostgreSQL (pgx). One set of queries serves both dialects;
// the few differences (placeholders, time encoding, LIMIT forms) are handled
// here.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/packhub/packhub/internal/packages"
)

// DefaultFile is the name of the SQLite database inside the data directory.
const DefaultFile = "packhub.db"

// DefaultDSN returns the DSN of the default SQLite database in dataDir.
func DefaultDSN(dataDir string) string { return filepath.Join(dataDir, DefaultFile) }

type dialect int

const (
	dialectSQLite dialect = iota
	dialectPostgres
)

func (d dialect) String() string {
	if d == dialectPostgres {
		return "postgres"
	}
	return "sqlite"
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// DB is the SQL implementation of packages.Store.
type DB struct {
	d dialect
	// read serves queries outside transactions. For SQLite it is a pool of
	// read-only connections; for PostgreSQL it is the same pool as write.
	read *sql.DB
	// write serves statements that change data and every transaction. For
	// SQLite it holds a single connection, so writers queue in Go instead of
	// failing with SQLITE_BUSY.
	write *sql.DB
	// tx is set on a Store bound to a transaction.
	tx *sql.Tx

	// readStmts and writeStmts keep prepared statements of the SQLite
	// pools, for statements outside transactions; nil on PostgreSQL.
	readStmts, writeStmts *stmtCache

	rebound sync.Map // query with ? placeholders -> query with $n placeholders

	// jobLocks serialises background jobs of this store on SQLite, which
	// serves one node: name -> *sync.Mutex.
	jobLocks sync.Map

	lastApplied []string // migrations applied by the last migrate
}

var _ packages.Store = (*DB)(nil)

// Open opens the metadata store named by dsn and applies any pending
// migrations. dsn is a postgres:// or postgresql:// URL, or a SQLite database:
// a file path, sqlite://path or a file: URI.
func Open(ctx context.Context, dsn string) (packages.Store, error) {
	db, err := open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Migrate applies any pending migrations to the database named by dsn (as
// for Open) and reports the names of those it applied. It is safe to run
// while other processes open the same database.
func Migrate(ctx context.Context, dsn string) ([]string, error) {
	db, err := open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if err := db.migrate(ctx); err != nil {
		return nil, err
	}
	return db.lastApplied, nil
}

func isPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

func open(ctx context.Context, dsn string) (*DB, error) {
	if dsn == "" {
		return nil, errors.New("store: empty database DSN")
	}
	if isPostgresDSN(dsn) {
		return openPostgres(ctx, dsn)
	}
	// Anything else is SQLite; a URL of another kind would become a file
	// named after it. The DSN is not echoed: it may hold a password.
	if scheme, _, ok := strings.Cut(dsn, "://"); ok && scheme != "sqlite" && scheme != "file" {
		return nil, fmt.Errorf("store: unsupported database URL scheme %q", scheme)
	}
	return openSQLite(ctx, dsn)
}

func openPostgres(ctx context.Context, dsn string) (*DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open postgres: %w", err)
	}
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connect postgres: %w", err)
	}
	return &DB{d: dialectPostgres, read: db, write: db}, nil
}

// sqliteDSNs turns a SQLite DSN into DSNs for the write and read pools, and
// reports whether the database lives in memory (then one pool serves both).
func sqliteDSNs(dsn string) (write, read string, memory bool, err error) {
	path, query := dsn, ""
	switch {
	case strings.HasPrefix(dsn, "sqlite://"):
		path = strings.TrimPrefix(dsn, "sqlite://")
	case strings.HasPrefix(dsn, "sqlite:"):
		path = strings.TrimPrefix(dsn, "sqlite:")
	}
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path, query = path[:i], path[i+1:]
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return "", "", false, fmt.Errorf("store: bad SQLite DSN %q: %w", dsn, err)
	}
	if path == "" {
		return "", "", false, fmt.Errorf("store: SQLite DSN %q names no file", dsn)
	}
	memory = path == ":memory:" || path == "file::memory:" || q.Get("mode") == "memory"
	if !strings.HasPrefix(path, "file:") {
		path = "file:" + path
	}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	w := cloneValues(q)
	w.Add("_pragma", "journal_mode(WAL)")
	w.Set("_txlock", "immediate")
	r := cloneValues(q)
	r.Add("_pragma", "query_only(1)")
	return path + "?" + w.Encode(), path + "?" + r.Encode(), memory, nil
}

// pingSQLite opens the first connection. Switching a new database to WAL
// takes an exclusive lock that SQLite's busy handler does not wait for, so
// processes opening the same new database at once retry here.
func pingSQLite(ctx context.Context, db *sql.DB) error {
	var err error
	for i := 0; i < 100; i++ {
		if err = db.PingContext(ctx); err == nil || !isBusy(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(10+i) * time.Millisecond):
		}
	}
	return err
}

func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

func cloneValues(v url.Values) url.Values {
	c := make(url.Values, len(v))
	for k, s := range v {
		c[k] = append([]string(nil), s...)
	}
	return c
}

func openSQLite(ctx context.Context, dsn string) (*DB, error) {
	wdsn, rdsn, memory, err := sqliteDSNs(dsn)
	if err != nil {
		return nil, err
	}
	w, err := sql.Open("sqlite", wdsn)
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	if err := pingSQLite(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open sqlite %q: %w", dsn, err)
	}
	if memory {
		ws := newStmtCache(w)
		return &DB{d: dialectSQLite, read: w, write: w, readStmts: ws, writeStmts: ws}, nil
	}
	r, err := sql.Open("sqlite", rdsn)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	if err := r.PingContext(ctx); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("store: open sqlite %q: %w", dsn, err)
	}
	return &DB{d: dialectSQLite, read: r, write: w, readStmts: newStmtCache(r), writeStmts: newStmtCache(w)}, nil
}

// Close closes the database. On a Store bound to a transaction it does
// nothing.
func (s *DB) Close() error {
	if s.tx != nil {
		return nil
	}
	s.readStmts.close()
	if s.writeStmts != s.readStmts {
		s.writeStmts.close()
	}
	err := s.write.Close()
	if s.read != s.write {
		if rerr := s.read.Close(); err == nil {
			err = rerr
		}
	}
	return err
}

// WithTx runs fn with a Store bound to one transaction. On a Store already
// bound to one, fn runs in that transaction.
//
// On SQLite the transaction holds the only write connection until it ends:
// writes through the outer Store inside fn wait for it (until ctx ends).
func (s *DB) WithTx(ctx context.Context, fn func(tx packages.Store) error) (err error) {
	if s.tx != nil {
		return fn(s)
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", s.mapErr(err))
	}
	bound := &DB{d: s.d, read: s.read, write: s.write, tx: tx}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
	}()
	if err := fn(bound); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", s.mapErr(err))
	}
	return nil
}

// inTx runs fn in the bound transaction, or a new one.
func (s *DB) inTx(ctx context.Context, fn func(s *DB) error) error {
	return s.WithTx(ctx, func(tx packages.Store) error { return fn(tx.(*DB)) })
}

// r is the handle for reads, w the one for writes.
func (s *DB) r() querier {
	if s.tx != nil {
		return s.tx
	}
	return s.read
}

func (s *DB) w() querier {
	if s.tx != nil {
		return s.tx
	}
	return s.write
}

// q rewrites a query written with ? placeholders for the dialect.
func (s *DB) q(query string) string {
	if s.d != dialectPostgres {
		return query
	}
	if v, ok := s.rebound.Load(query); ok {
		return v.(string)
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	out := b.String()
	s.rebound.Store(query, out)
	return out
}

// stmtCtx is the context a statement runs with. SQLite statements run to
// their end once started: the SQLite driver interrupts a statement whose
// context ends, and an interrupted INSERT … RETURNING can leave its
// statement unfinished on the connection, holding a transaction (or the
// write lock) that nothing ends, so that every later write through it is
// lost or refused. SQLite statements are short; one whose context ended
// before it starts still fails at once.
func (s *DB) stmtCtx(ctx context.Context) context.Context {
	if s.d != dialectSQLite || ctx.Err() != nil {
		return ctx
	}
	return context.WithoutCancel(ctx)
}

func (s *DB) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx = s.stmtCtx(ctx)
	if st := s.stmt(ctx, s.writeStmts, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return s.w().ExecContext(ctx, s.q(query), args...)
}

// execCount runs a write and returns how many rows it changed; op names
// it in an error.
func (s *DB) execCount(ctx context.Context, op, query string, args ...any) (int64, error) {
	res, err := s.exec(ctx, query, args...)
	if err != nil {
		return 0, s.fail(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, s.fail(op, err)
	}
	return n, nil
}

func (s *DB) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = s.stmtCtx(ctx)
	if st := s.stmt(ctx, s.readStmts, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return s.r().QueryContext(ctx, s.q(query), args...)
}

func (s *DB) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	ctx = s.stmtCtx(ctx)
	if st := s.stmt(ctx, s.readStmts, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.r().QueryRowContext(ctx, s.q(query), args...)
}

// writeRow runs a query that changes data and returns a row (RETURNING).
func (s *DB) writeRow(ctx context.Context, query string, args ...any) *sql.Row {
	ctx = s.stmtCtx(ctx)
	if st := s.stmt(ctx, s.writeStmts, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.w().QueryRowContext(ctx, s.q(query), args...)
}

// stmt returns the cached prepared statement of a query run outside a
// transaction on SQLite; nil otherwise.
func (s *DB) stmt(ctx context.Context, c *stmtCache, query string) *sql.Stmt {
	if s.tx != nil || c == nil {
		return nil
	}
	return c.get(ctx, query)
}

// limit renders LIMIT/OFFSET; limit <= 0 means no limit.
func (s *DB) limit(limit, offset int) string {
	if offset < 0 {
		offset = 0
	}
	switch {
	case limit > 0:
		return fmt.Sprintf(" LIMIT %d OFFSET %d", limit, offset)
	case offset > 0 && s.d == dialectSQLite:
		return fmt.Sprintf(" LIMIT -1 OFFSET %d", offset)
	case offset > 0:
		return fmt.Sprintf(" OFFSET %d", offset)
	}
	return ""
}

// Times.

// timeLayout is how SQLite stores times: fixed width, so text order is time
// order.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// now is the current time as stored: UTC, microseconds.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func norm(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// t encodes a time as an argument.
func (s *DB) t(t time.Time) any {
	t = norm(t)
	if s.d == dialectSQLite {
		return t.Format(timeLayout)
	}
	return t
}

// nt encodes an optional time; nil is NULL.
func (s *DB) nt(t *time.Time) any {
	if t == nil {
		return nil
	}
	return s.t(*t)
}

// timeScan decodes a time column of either dialect; NULL is the zero time.
type timeScan struct{ p *time.Time }

func (ts timeScan) Scan(v any) error {
	t, ok, err := decodeTime(v)
	if err != nil {
		return err
	}
	if !ok {
		*ts.p = time.Time{}
		return nil
	}
	*ts.p = t
	return nil
}

// nullTimeScan decodes an optional time column; NULL is nil.
type nullTimeScan struct{ p **time.Time }

func (ts nullTimeScan) Scan(v any) error {
	t, ok, err := decodeTime(v)
	if err != nil {
		return err
	}
	if !ok {
		*ts.p = nil
		return nil
	}
	*ts.p = &t
	return nil
}

func decodeTime(v any) (time.Time, bool, error) {
	switch x := v.(type) {
	case nil:
		return time.Time{}, false, nil
	case time.Time:
		return norm(x), true, nil
	case string:
		return parseTime(x)
	case []byte:
		return parseTime(string(x))
	case int64:
		return time.UnixMicro(x).UTC(), true, nil
	}
	return time.Time{}, false, fmt.Errorf("store: cannot decode %T as a time", v)
}

func parseTime(s string) (time.Time, bool, error) {
	if s == "" {
		return time.Time{}, false, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("store: bad time %q: %w", s, err)
	}
	return norm(t), true, nil
}

// Errors.

func notFound(what string) error {
	return fmt.Errorf("store: %s: %w", what, packages.ErrNotFound)
}

// mapErr turns missing rows and constraint violations into errors wrapping
// packages.ErrNotFound and packages.ErrConflict; a violated foreign key means
// a referenced row is missing. A full disk wraps
// packages.ErrInsufficientStorage.
func (s *DB) mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return packages.ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %w", packages.ErrConflict, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%w: %w", packages.ErrNotFound, err)
		}
		if se.Code()&0xff == sqlite3.SQLITE_FULL {
			return fmt.Errorf("%w: %w", packages.ErrInsufficientStorage, err)
		}
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return fmt.Errorf("%w: %w", packages.ErrConflict, err)
		case "23503":
			return fmt.Errorf("%w: %w", packages.ErrNotFound, err)
		case "53100": // disk_full
			return fmt.Errorf("%w: %w", packages.ErrInsufficientStorage, err)
		}
	}
	return err
}

// fail wraps err with the operation's name after mapping it.
func (s *DB) fail(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("store: %s: %w", op, s.mapErr(err))
}
