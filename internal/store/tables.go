package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/packhub/packhub/internal/packages"
)

// Tables gives access to a database's tables as rows, whatever they are:
// what moving an installation to another database needs. It reads the
// schema from the database itself, so tables and columns that migrations
// add are picked up without change here. Values cross dialects by their
// Kind: a SQLite TEXT time and a PostgreSQL TIMESTAMPTZ are both a
// time.Time.
type Tables struct {
	db *DB
}

// OpenTables opens the database named by dsn (as Open does) and applies
// any pending migrations.
func OpenTables(ctx context.Context, dsn string) (*Tables, error) {
	db, err := open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return &Tables{db: db}, nil
}

// Close closes the database.
func (t *Tables) Close() error { return t.db.Close() }

// Kind says how a column's values are read, compared and written. Each
// dialect reports the kinds its declared types give; a SQLite INTEGER
// column that PostgreSQL declares BOOLEAN is read as a Bool once the two
// are matched (see MatchKinds).
type Kind int

// The kinds, with the Go type of their values (nil is NULL).
const (
	KindText    Kind = iota // string
	KindInteger             // int64
	KindReal                // float64
	KindBool                // bool: INTEGER 0/1 in SQLite
	KindTime                // time.Time in UTC, microseconds: TEXT in SQLite's layout
	KindDate                // string YYYY-MM-DD: TEXT in SQLite, DATE in PostgreSQL
	KindJSON                // string, the JSON text
	KindBytes               // []byte
)

var kindNames = [...]string{"text", "integer", "real", "bool", "time", "date", "json", "bytes"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// MatchKinds returns the kind in which values of a column move between two
// databases that report it as a and b: the same kind, or the precise one of
// a SQLite storage class and the PostgreSQL type it stands for (INTEGER and
// BOOLEAN, TEXT and TIMESTAMPTZ, DATE or JSONB, INTEGER and REAL). ok is
// false when the two cannot hold the same values.
func MatchKinds(a, b Kind) (k Kind, ok bool) {
	if a == b {
		return a, true
	}
	if a > b {
		a, b = b, a
	}
	switch {
	case a == KindInteger && b == KindBool,
		a == KindText && (b == KindTime || b == KindDate || b == KindJSON),
		a == KindInteger && b == KindReal:
		return b, true
	}
	return 0, false
}

// Column is one column of a table.
type Column struct {
	Name string
	Type string // as the database declares it
	Kind Kind
}

// Table is one table of the schema.
type Table struct {
	Name    string
	Columns []Column
	// Key lists the primary key's columns, which order the rows; empty
	// when the table has none.
	Key []string
	// Refs lists the other tables its foreign keys refer to.
	Refs []string
	// Serial is the column whose values a sequence hands out (a SQLite
	// INTEGER PRIMARY KEY, a PostgreSQL identity or serial column), or "".
	Serial string
}

// Column returns the named column and whether the table has it.
func (t *Table) Column(name string) (Column, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// keyIndexes returns the positions of the key columns in Columns.
func (t *Table) keyIndexes() ([]int, error) {
	idx := make([]int, len(t.Key))
	for i, k := range t.Key {
		j := slices.IndexFunc(t.Columns, func(c Column) bool { return c.Name == k })
		if j < 0 {
			return nil, fmt.Errorf("store: table %s: key column %s is not among its columns", t.Name, k)
		}
		idx[i] = j
	}
	return idx, nil
}

// Schema is what a database holds: its migrations and its tables.
type Schema struct {
	Dialect    string  // "sqlite" or "postgres"
	Migrations []int64 // versions applied, in order
	// Tables are in an order where each comes after the tables it refers
	// to, ties by name. schema_migrations is not among them: each database
	// keeps its own.
	Tables []Table
}

// Table returns the named table and whether the schema has it.
func (s *Schema) Table(name string) (Table, bool) {
	for _, t := range s.Tables {
		if t.Name == name {
			return t, true
		}
	}
	return Table{}, false
}

// Row is one row's values, in the order of its table's columns, each of
// its column's Kind.
type Row []any

// Changes are writes to one table: rows to delete (by their key values, in
// key order), to insert, and to update (found by their key).
type Changes struct {
	Delete [][]any
	Insert []Row
	Update []Row
}

// Len is the number of changes.
func (c *Changes) Len() int { return len(c.Delete) + len(c.Insert) + len(c.Update) }

// Schema reads the database's tables, columns, keys and references. A
// column of a type no Kind stands for is an error naming it.
func (t *Tables) Schema(ctx context.Context) (*Schema, error) {
	s := t.db
	sc := &Schema{Dialect: s.d.String()}
	migs, err := s.appliedMigrations(ctx)
	if err != nil {
		return nil, err
	}
	sc.Migrations = migs
	var tables []Table
	if s.d == dialectPostgres {
		tables, err = s.postgresTables(ctx)
	} else {
		tables, err = s.sqliteTables(ctx)
	}
	if err != nil {
		return nil, err
	}
	sc.Tables, err = orderTables(tables)
	if err != nil {
		return nil, err
	}
	return sc, nil
}

func (s *DB) appliedMigrations(ctx context.Context) ([]int64, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("store: read migrations: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("store: read migrations: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// queryStrings runs a query returning one text column.
func queryStrings(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func (s *DB) sqliteTables(ctx context.Context) ([]Table, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT name, sql FROM sqlite_master
		WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' AND name <> 'schema_migrations' ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("store: read schema: %w", err)
	}
	type named struct{ name, sql string }
	var names []named
	for rows.Next() {
		var n named
		if err := rows.Scan(&n.name, &n.sql); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: read schema: %w", err)
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read schema: %w", err)
	}
	var out []Table
	for _, n := range names {
		t := Table{Name: n.name}
		// table_info leaves out generated columns, which are not copied.
		cols, err := s.read.QueryContext(ctx, `SELECT name, type, pk FROM pragma_table_info(?) ORDER BY cid`, n.name)
		if err != nil {
			return nil, fmt.Errorf("store: read schema of %s: %w", n.name, err)
		}
		var pk []struct {
			pos  int
			name string
		}
		for cols.Next() {
			var c Column
			var pos int
			if err := cols.Scan(&c.Name, &c.Type, &pos); err != nil {
				cols.Close()
				return nil, fmt.Errorf("store: read schema of %s: %w", n.name, err)
			}
			k, ok := sqliteKind(c.Type)
			if !ok {
				cols.Close()
				return nil, fmt.Errorf("store: column %s.%s has type %q, which no kind stands for", n.name, c.Name, c.Type)
			}
			c.Kind = k
			t.Columns = append(t.Columns, c)
			if pos > 0 {
				pk = append(pk, struct {
					pos  int
					name string
				}{pos, c.Name})
			}
		}
		cols.Close()
		if err := cols.Err(); err != nil {
			return nil, fmt.Errorf("store: read schema of %s: %w", n.name, err)
		}
		slices.SortFunc(pk, func(a, b struct {
			pos  int
			name string
		}) int {
			return a.pos - b.pos
		})
		for _, p := range pk {
			t.Key = append(t.Key, p.name)
		}
		if len(t.Key) == 1 {
			if c, _ := t.Column(t.Key[0]); strings.EqualFold(c.Type, "INTEGER") {
				t.Serial = c.Name // an alias of the rowid
			}
		}
		refs, err := queryStrings(ctx, s.read, `SELECT DISTINCT "table" FROM pragma_foreign_key_list(?) ORDER BY 1`, n.name)
		if err != nil {
			return nil, fmt.Errorf("store: read foreign keys of %s: %w", n.name, err)
		}
		t.Refs = refs
		out = append(out, t)
	}
	return out, nil
}

// sqliteKind maps a declared SQLite type to a kind, after SQLite's own
// affinity rules, with the names that say more (BOOLEAN, TIMESTAMP, DATE,
// JSON) taken at their word.
func sqliteKind(decl string) (Kind, bool) {
	t := strings.ToUpper(strings.TrimSpace(decl))
	switch {
	case strings.HasPrefix(t, "BOOL"):
		return KindBool, true
	case strings.HasPrefix(t, "TIMESTAMP"), strings.HasPrefix(t, "DATETIME"):
		return KindTime, true
	case t == "DATE":
		return KindDate, true
	case strings.HasPrefix(t, "JSON"):
		return KindJSON, true
	case strings.Contains(t, "INT"):
		return KindInteger, true
	case strings.Contains(t, "CHAR"), strings.Contains(t, "CLOB"), strings.Contains(t, "TEXT"):
		return KindText, true
	case strings.Contains(t, "BLOB"):
		return KindBytes, true
	case strings.Contains(t, "REAL"), strings.Contains(t, "FLOA"), strings.Contains(t, "DOUB"):
		return KindReal, true
	}
	return 0, false
}

func (s *DB) postgresTables(ctx context.Context) ([]Table, error) {
	names, err := queryStrings(ctx, s.read, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations'
		ORDER BY table_name`)
	if err != nil {
		return nil, fmt.Errorf("store: read schema: %w", err)
	}
	var out []Table
	for _, name := range names {
		t := Table{Name: name}
		rows, err := s.read.QueryContext(ctx, `SELECT column_name, data_type, is_identity = 'YES' OR coalesce(column_default, '') LIKE 'nextval(%'
			FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = $1 AND is_generated <> 'ALWAYS'
			ORDER BY ordinal_position`, name)
		if err != nil {
			return nil, fmt.Errorf("store: read schema of %s: %w", name, err)
		}
		for rows.Next() {
			var c Column
			var serial bool
			if err := rows.Scan(&c.Name, &c.Type, &serial); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: read schema of %s: %w", name, err)
			}
			k, ok := postgresKind(c.Type)
			if !ok {
				rows.Close()
				return nil, fmt.Errorf("store: column %s.%s has type %q, which no kind stands for", name, c.Name, c.Type)
			}
			c.Kind = k
			if serial && t.Serial == "" {
				t.Serial = c.Name
			}
			t.Columns = append(t.Columns, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("store: read schema of %s: %w", name, err)
		}
		t.Key, err = queryStrings(ctx, s.read, `SELECT k.column_name
			FROM information_schema.table_constraints c
			JOIN information_schema.key_column_usage k
			  ON k.constraint_schema = c.constraint_schema AND k.constraint_name = c.constraint_name AND k.table_name = c.table_name
			WHERE c.table_schema = current_schema() AND c.table_name = $1 AND c.constraint_type = 'PRIMARY KEY'
			ORDER BY k.ordinal_position`, name)
		if err != nil {
			return nil, fmt.Errorf("store: read primary key of %s: %w", name, err)
		}
		t.Refs, err = queryStrings(ctx, s.read, `SELECT DISTINCT r.relname
			FROM pg_constraint c
			JOIN pg_class r ON r.oid = c.confrelid
			WHERE c.contype = 'f' AND c.conrelid = to_regclass(quote_ident(current_schema()) || '.' || quote_ident($1))
			ORDER BY 1`, name)
		if err != nil {
			return nil, fmt.Errorf("store: read foreign keys of %s: %w", name, err)
		}
		out = append(out, t)
	}
	return out, nil
}

// postgresKind maps a PostgreSQL data type (as information_schema names
// it) to a kind.
func postgresKind(typ string) (Kind, bool) {
	switch typ {
	case "text", "character varying", "character", "name", "citext":
		return KindText, true
	case "smallint", "integer", "bigint":
		return KindInteger, true
	case "real", "double precision":
		return KindReal, true
	case "boolean":
		return KindBool, true
	case "timestamp with time zone", "timestamp without time zone":
		return KindTime, true
	case "date":
		return KindDate, true
	case "json", "jsonb":
		return KindJSON, true
	case "bytea":
		return KindBytes, true
	}
	return 0, false
}

// orderTables sorts tables so that each comes after the tables it refers
// to; among those free to go, by name. A reference to itself is allowed
// (rows are copied in key order); a cycle between tables is an error.
func orderTables(tables []Table) ([]Table, error) {
	byName := map[string]*Table{}
	for i := range tables {
		byName[tables[i].Name] = &tables[i]
	}
	done := map[string]bool{}
	var out []Table
	for len(out) < len(tables) {
		progress := false
		for i := range tables {
			t := &tables[i]
			if done[t.Name] {
				continue
			}
			ready := true
			for _, r := range t.Refs {
				if r != t.Name && !done[r] && byName[r] != nil {
					ready = false
					break
				}
			}
			if ready {
				done[t.Name] = true
				out = append(out, *t)
				progress = true
				break // the next one by name, from the start
			}
		}
		if !progress {
			var left []string
			for _, t := range tables {
				if !done[t.Name] {
					left = append(left, t.Name)
				}
			}
			return nil, fmt.Errorf("store: the foreign keys of tables %s form a cycle", strings.Join(left, ", "))
		}
	}
	return out, nil
}

// quoteIdent quotes a table or column name for either dialect.
func quoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// ordered is a key column in ORDER BY and keyset comparisons: text sorts by
// bytes in both dialects, as Go compares strings. A PostgreSQL DATE or
// TIMESTAMPTZ sorts as SQLite's text of it does.
func (s *DB) ordered(t *Table, name string) string {
	q := quoteIdent(name)
	c, _ := t.Column(name)
	switch {
	case s.d == dialectPostgres && c.Kind == KindText:
		return q + ` COLLATE "C"`
	case s.d == dialectSQLite && c.Kind != KindInteger && c.Kind != KindReal && c.Kind != KindBool:
		// Text, and what SQLite keeps as text: times, dates, JSON.
		return q + ` COLLATE BINARY`
	}
	return q
}

// Rows returns up to limit rows of t in key order, those whose key comes
// after after (nil: from the first). Each value is decoded as its column's
// Kind in t, which may be more precise than what this database reports
// (see MatchKinds).
func (t *Tables) Rows(ctx context.Context, tb Table, after []any, limit int) ([]Row, error) {
	s := t.db
	if len(after) != 0 && len(after) != len(tb.Key) {
		return nil, fmt.Errorf("store: rows of %s: %d key values for %d key columns", tb.Name, len(after), len(tb.Key))
	}
	var b strings.Builder
	b.WriteString("SELECT ")
	for i, c := range tb.Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quoteIdent(c.Name))
	}
	b.WriteString(" FROM " + quoteIdent(tb.Name))
	var args []any
	order := make([]string, len(tb.Key))
	for i, k := range tb.Key {
		order[i] = s.ordered(&tb, k)
	}
	if len(after) > 0 {
		b.WriteString(" WHERE (" + strings.Join(order, ", ") + ") > (" + placeholders(len(after)) + ")")
		for i, k := range tb.Key {
			c, _ := tb.Column(k)
			v, err := s.encode(c, after[i])
			if err != nil {
				return nil, fmt.Errorf("store: rows of %s: %w", tb.Name, err)
			}
			args = append(args, v)
		}
	}
	b.WriteString(" ORDER BY " + strings.Join(order, ", "))
	b.WriteString(s.limit(limit, 0))
	rows, err := s.read.QueryContext(ctx, s.q(b.String()), args...)
	if err != nil {
		return nil, fmt.Errorf("store: rows of %s: %w", tb.Name, err)
	}
	defer rows.Close()
	var out []Row
	raw := make([]any, len(tb.Columns))
	ptrs := make([]any, len(raw))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("store: rows of %s: %w", tb.Name, err)
		}
		r := make(Row, len(raw))
		for i, v := range raw {
			if r[i], err = decodeValue(tb.Columns[i].Kind, v); err != nil {
				return nil, fmt.Errorf("store: rows of %s: column %s: %w", tb.Name, tb.Columns[i].Name, err)
			}
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: rows of %s: %w", tb.Name, err)
	}
	return out, nil
}

// decodeValue turns what the driver scanned into the kind's Go type.
func decodeValue(k Kind, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch k {
	case KindText, KindJSON:
		switch x := v.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		}
	case KindInteger:
		switch x := v.(type) {
		case int64:
			return x, nil
		case int32:
			return int64(x), nil
		}
	case KindReal:
		switch x := v.(type) {
		case float64:
			return x, nil
		case float32:
			return float64(x), nil
		case int64:
			return float64(x), nil
		}
	case KindBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case int64:
			return x != 0, nil
		}
	case KindTime:
		t, ok, err := decodeTime(v)
		if err != nil || !ok {
			return nil, err
		}
		return t, nil
	case KindDate:
		switch x := v.(type) {
		case time.Time:
			return x.UTC().Format(time.DateOnly), nil
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		}
	case KindBytes:
		switch x := v.(type) {
		case []byte:
			return slices.Clone(x), nil
		case string:
			return []byte(x), nil
		}
	}
	return nil, fmt.Errorf("cannot read %T as %s", v, k)
}

// encode turns a value of a column's kind into an argument of this
// dialect.
func (s *DB) encode(c Column, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch c.Kind {
	case KindBool:
		b, ok := v.(bool)
		if !ok {
			break
		}
		if s.d == dialectSQLite {
			if b {
				return int64(1), nil
			}
			return int64(0), nil
		}
		return b, nil
	case KindTime:
		t, ok := v.(time.Time)
		if !ok {
			break
		}
		return s.t(t), nil
	case KindText, KindDate, KindJSON:
		if x, ok := v.(string); ok {
			return x, nil
		}
	case KindInteger:
		if x, ok := v.(int64); ok {
			return x, nil
		}
	case KindReal:
		if x, ok := v.(float64); ok {
			return x, nil
		}
	case KindBytes:
		if x, ok := v.([]byte); ok {
			return x, nil
		}
	}
	return nil, fmt.Errorf("column %s: a %T is not a %s value", c.Name, v, c.Kind)
}

// maxArgs bounds the arguments of one statement (SQLite allows 32766,
// PostgreSQL 65535).
const maxArgs = 30000

// Apply writes changes to tb in one transaction: deletes first, then
// inserts and updates. Rows keep every column's value, their ids included.
func (t *Tables) Apply(ctx context.Context, tb Table, ch Changes) error {
	if ch.Len() == 0 {
		return nil
	}
	s := t.db
	keyIdx, err := tb.keyIndexes()
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(s *DB) error {
		if err := s.deleteRows(ctx, &tb, ch.Delete); err != nil {
			return err
		}
		if err := s.insertRows(ctx, &tb, ch.Insert); err != nil {
			return err
		}
		return s.updateRows(ctx, &tb, keyIdx, ch.Update)
	})
}

func (s *DB) keyWhere(tb *Table) string {
	conds := make([]string, len(tb.Key))
	for i, k := range tb.Key {
		conds[i] = quoteIdent(k) + " = ?"
	}
	return strings.Join(conds, " AND ")
}

func (s *DB) deleteRows(ctx context.Context, tb *Table, keys [][]any) error {
	if len(keys) == 0 {
		return nil
	}
	query := s.q("DELETE FROM " + quoteIdent(tb.Name) + " WHERE " + s.keyWhere(tb))
	for _, key := range keys {
		args := make([]any, len(key))
		for i, k := range tb.Key {
			c, _ := tb.Column(k)
			v, err := s.encode(c, key[i])
			if err != nil {
				return fmt.Errorf("store: delete from %s: %w", tb.Name, err)
			}
			args[i] = v
		}
		if _, err := s.w().ExecContext(ctx, query, args...); err != nil {
			return fmt.Errorf("store: delete from %s: %w", tb.Name, s.mapErr(err))
		}
	}
	return nil
}

func (s *DB) insertRows(ctx context.Context, tb *Table, rows []Row) error {
	if len(rows) == 0 {
		return nil
	}
	names := make([]string, len(tb.Columns))
	for i, c := range tb.Columns {
		names[i] = quoteIdent(c.Name)
	}
	head := "INSERT INTO " + quoteIdent(tb.Name) + " (" + strings.Join(names, ", ") + ")"
	if s.d == dialectPostgres && tb.Serial != "" {
		// Ids are copied as they are, also into GENERATED ALWAYS columns.
		head += " OVERRIDING SYSTEM VALUE"
	}
	head += " VALUES "
	tuple := "(" + placeholders(len(tb.Columns)) + ")"
	per := max(1, maxArgs/len(tb.Columns))
	for lo := 0; lo < len(rows); lo += per {
		hi := min(lo+per, len(rows))
		var b strings.Builder
		b.WriteString(head)
		args := make([]any, 0, (hi-lo)*len(tb.Columns))
		for i, r := range rows[lo:hi] {
			if len(r) != len(tb.Columns) {
				return fmt.Errorf("store: insert into %s: a row of %d values for %d columns", tb.Name, len(r), len(tb.Columns))
			}
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(tuple)
			for j, c := range tb.Columns {
				v, err := s.encode(c, r[j])
				if err != nil {
					return fmt.Errorf("store: insert into %s: %w", tb.Name, err)
				}
				args = append(args, v)
			}
		}
		if _, err := s.w().ExecContext(ctx, s.q(b.String()), args...); err != nil {
			return fmt.Errorf("store: insert into %s: %w", tb.Name, s.mapErr(err))
		}
	}
	return nil
}

func (s *DB) updateRows(ctx context.Context, tb *Table, keyIdx []int, rows []Row) error {
	if len(rows) == 0 {
		return nil
	}
	var sets []string
	var setIdx []int
	for i, c := range tb.Columns {
		if slices.Contains(keyIdx, i) {
			continue
		}
		sets = append(sets, quoteIdent(c.Name)+" = ?")
		setIdx = append(setIdx, i)
	}
	if len(sets) == 0 {
		return nil // every column is the key: nothing can differ
	}
	query := s.q("UPDATE " + quoteIdent(tb.Name) + " SET " + strings.Join(sets, ", ") + " WHERE " + s.keyWhere(tb))
	for _, r := range rows {
		args := make([]any, 0, len(tb.Columns))
		for _, i := range append(slices.Clone(setIdx), keyIdx...) {
			v, err := s.encode(tb.Columns[i], r[i])
			if err != nil {
				return fmt.Errorf("store: update %s: %w", tb.Name, err)
			}
			args = append(args, v)
		}
		res, err := s.w().ExecContext(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("store: update %s: %w", tb.Name, s.mapErr(err))
		}
		if n, err := res.RowsAffected(); err == nil && n != 1 {
			return fmt.Errorf("store: update %s: %d rows have the key of the row", tb.Name, n)
		}
	}
	return nil
}

// Sequence returns the highest value the sequence of tb's Serial column
// has handed out (or, when higher, the highest value the column holds): 0
// when none or tb has no such column.
func (t *Tables) Sequence(ctx context.Context, tb Table) (int64, error) {
	if tb.Serial == "" {
		return 0, nil
	}
	s := t.db
	var top sql.NullInt64
	if err := s.read.QueryRowContext(ctx, "SELECT max("+quoteIdent(tb.Serial)+") FROM "+quoteIdent(tb.Name)).Scan(&top); err != nil {
		return 0, fmt.Errorf("store: sequence of %s: %w", tb.Name, err)
	}
	var seq int64
	if s.d == dialectPostgres {
		var name sql.NullString
		if err := s.read.QueryRowContext(ctx, `SELECT pg_get_serial_sequence(quote_ident($1), $2)`, tb.Name, tb.Serial).Scan(&name); err != nil {
			return 0, fmt.Errorf("store: sequence of %s: %w", tb.Name, err)
		}
		if name.Valid {
			var last int64
			var called bool
			if err := s.read.QueryRowContext(ctx, `SELECT last_value, is_called FROM `+name.String).Scan(&last, &called); err != nil {
				return 0, fmt.Errorf("store: sequence of %s: %w", tb.Name, err)
			}
			if called {
				seq = last
			}
		}
	} else {
		err := s.read.QueryRowContext(ctx, `SELECT seq FROM sqlite_sequence WHERE name = ?`, tb.Name).Scan(&seq)
		if err != nil && !errors.Is(err, sql.ErrNoRows) && !isNoSuchTable(err) {
			return 0, fmt.Errorf("store: sequence of %s: %w", tb.Name, err)
		}
	}
	return max(seq, top.Int64), nil
}

// isNoSuchTable reports a SQLite database that has no sqlite_sequence
// (none of its tables is AUTOINCREMENT).
func isNoSuchTable(err error) bool {
	return err != nil && strings.Contains(err.Error(), "no such table")
}

// SetSequence makes the sequence of tb's Serial column hand out values
// above n (and above what the column holds), so that ids the source
// installation gave out, and that events may still name, are not given
// again. A SQLite table without AUTOINCREMENT has no sequence to set.
func (t *Tables) SetSequence(ctx context.Context, tb Table, n int64) error {
	if tb.Serial == "" {
		return nil
	}
	s := t.db
	var top sql.NullInt64
	if err := s.read.QueryRowContext(ctx, "SELECT max("+quoteIdent(tb.Serial)+") FROM "+quoteIdent(tb.Name)).Scan(&top); err != nil {
		return fmt.Errorf("store: set sequence of %s: %w", tb.Name, err)
	}
	n = max(n, top.Int64)
	if s.d == dialectPostgres {
		var name sql.NullString
		if err := s.read.QueryRowContext(ctx, `SELECT pg_get_serial_sequence(quote_ident($1), $2)`, tb.Name, tb.Serial).Scan(&name); err != nil {
			return fmt.Errorf("store: set sequence of %s: %w", tb.Name, err)
		}
		if !name.Valid {
			return nil
		}
		var err error
		if n > 0 {
			_, err = s.write.ExecContext(ctx, `SELECT setval($1::regclass, $2, true)`, name.String, n)
		} else {
			_, err = s.write.ExecContext(ctx, `SELECT setval($1::regclass, 1, false)`, name.String)
		}
		if err != nil {
			return fmt.Errorf("store: set sequence of %s: %w", tb.Name, err)
		}
		return nil
	}
	var autoinc int
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ? AND upper(sql) LIKE '%AUTOINCREMENT%'`, tb.Name).Scan(&autoinc); err != nil {
		return fmt.Errorf("store: set sequence of %s: %w", tb.Name, err)
	}
	if autoinc == 0 {
		return nil
	}
	return s.inTx(ctx, func(s *DB) error {
		res, err := s.w().ExecContext(ctx, `UPDATE sqlite_sequence SET seq = ? WHERE name = ?`, n, tb.Name)
		if err != nil {
			return fmt.Errorf("store: set sequence of %s: %w", tb.Name, err)
		}
		if k, err := res.RowsAffected(); err != nil || k > 0 {
			return err
		}
		if _, err := s.w().ExecContext(ctx, `INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)`, tb.Name, n); err != nil {
			return fmt.Errorf("store: set sequence of %s: %w", tb.Name, err)
		}
		return nil
	})
}

// Installation names the installation the database holds: its first
// owner's id, login and creation time, which no other installation shares.
// It is "" when the database holds no owner.
func (t *Tables) Installation(ctx context.Context) (string, error) {
	s := t.db
	var id int64
	var login string
	var created time.Time
	err := s.read.QueryRowContext(ctx, `SELECT id, login, created_at FROM owners ORDER BY id LIMIT 1`).
		Scan(&id, &login, timeScan{&created})
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: installation: %w", err)
	}
	return fmt.Sprintf("owner %d %q created %s", id, login, created.Format(timeLayout)), nil
}

// Blobs lists recorded blobs in digest order, after the digest after (""
// for the first), with their checksums when known.
func (t *Tables) Blobs(ctx context.Context, after string, limit int) ([]packages.Blob, error) {
	s := t.db
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT digest, size, created_at, md5, sha1, sha256, sha512 FROM blobs
		WHERE digest > ? ORDER BY digest`+s.limit(limit, 0)), after)
	if err != nil {
		return nil, fmt.Errorf("store: list blobs: %w", err)
	}
	defer rows.Close()
	var out []packages.Blob
	for rows.Next() {
		var b packages.Blob
		var c [4]sql.NullString
		if err := rows.Scan(&b.Digest, &b.Size, timeScan{&b.CreatedAt}, &c[0], &c[1], &c[2], &c[3]); err != nil {
			return nil, fmt.Errorf("store: list blobs: %w", err)
		}
		if c[0].Valid && c[1].Valid && c[2].Valid && c[3].Valid {
			b.Checksums = packages.Checksums{MD5: c[0].String, SHA1: c[1].String, SHA256: c[2].String, SHA512: c[3].String}
		}
		out = append(out, b)
	}
	return out, rows.Err()
}
