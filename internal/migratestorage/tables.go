package migratestorage

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"

	"github.com/packhub/packhub/internal/store"
)

// copyTables makes every target table equal to its source, in passes
// until one finds nothing to change. Each pass first deletes the target's
// rows the source lacks, children before parents, then inserts and updates
// rows, parents before children, so that foreign keys hold at every step.
func copyTables(ctx context.Context, o Options, tables []pair, r *Report) error {
	r.Tables = make([]TableReport, len(tables))
	for i, p := range tables {
		r.Tables[i].Name = p.tbl.Name
	}
	for pass := 1; ; pass++ {
		r.Passes = pass
		var changed int64
		for i := len(tables) - 1; i >= 0; i-- {
			n, err := syncTable(ctx, o, tables[i].tbl, false, &r.Tables[i])
			if err != nil {
				return err
			}
			changed += n
		}
		for i := range tables {
			n, err := syncTable(ctx, o, tables[i].tbl, true, &r.Tables[i])
			if err != nil {
				return err
			}
			changed += n
		}
		if changed == 0 {
			fmt.Fprintf(o.Out, "tables: pass %d found the target equal to the source\n", pass)
			return nil
		}
		fmt.Fprintf(o.Out, "tables: pass %d wrote %d rows\n", pass, changed)
		if pass == maxPasses {
			return fmt.Errorf("%w: pass %d still wrote %d rows; stop the server on the source and run again", ErrNotSettled, pass, changed)
		}
	}
}

// syncTable walks the source and target rows of t side by side in key
// order. With upsert it inserts the rows the target lacks and updates
// those that differ; without, it deletes the target's rows the source
// lacks. It returns how many rows it wrote.
func syncTable(ctx context.Context, o Options, t store.Table, upsert bool, rep *TableReport) (int64, error) {
	keyIdx := make([]int, len(t.Key))
	for i, k := range t.Key {
		for j, c := range t.Columns {
			if c.Name == k {
				keyIdx[i] = j
			}
		}
	}
	src := &rowIter{db: o.Source, t: t, keyIdx: keyIdx, batch: o.Batch}
	tgt := &rowIter{db: o.Target, t: t, keyIdx: keyIdx, batch: o.Batch}
	var ch store.Changes
	var written, seen int64
	flush := func() error {
		if ch.Len() == 0 {
			return nil
		}
		if err := o.Target.Apply(ctx, t, ch); err != nil {
			return err
		}
		written += int64(ch.Len())
		rep.Inserted += int64(len(ch.Insert))
		rep.Updated += int64(len(ch.Update))
		rep.Deleted += int64(len(ch.Delete))
		ch = store.Changes{}
		return nil
	}
	last := time.Now()
	for {
		s, err := src.peek(ctx)
		if err != nil {
			return written, err
		}
		g, err := tgt.peek(ctx)
		if err != nil {
			return written, err
		}
		if s == nil && g == nil {
			break
		}
		c := 0
		switch {
		case s == nil:
			c = 1
		case g == nil:
			c = -1
		default:
			c = compareKeys(t, keyIdx, s, g)
		}
		switch {
		case c < 0: // only in the source
			if upsert {
				ch.Insert = append(ch.Insert, s)
			}
			src.next()
			seen++
		case c > 0: // only in the target
			if !upsert {
				ch.Delete = append(ch.Delete, key(keyIdx, g))
			}
			tgt.next()
		default:
			if upsert && !equalRows(t, s, g) {
				ch.Update = append(ch.Update, s)
			}
			src.next()
			tgt.next()
			seen++
		}
		if ch.Len() >= o.Batch {
			if err := flush(); err != nil {
				return written, err
			}
		}
		if time.Since(last) >= o.ProgressEvery {
			last = time.Now()
			step := "removing rows the source lacks"
			if upsert {
				step = "copying"
			}
			fmt.Fprintf(o.Out, "tables: %s, %s: %d rows compared, %d written\n", t.Name, step, seen, written+int64(ch.Len()))
		}
	}
	if err := flush(); err != nil {
		return written, err
	}
	if upsert {
		rep.Rows = seen
	}
	return written, nil
}

// rowIter reads a table in key order, a batch at a time. Each batch is
// read whole, so that writes to the table between batches do not meet an
// open cursor; those writes are all at keys before the iterator's last
// read key, so it never sees them.
type rowIter struct {
	db     Source
	t      store.Table
	keyIdx []int
	batch  int
	buf    []store.Row
	after  []any
	done   bool
}

func (it *rowIter) peek(ctx context.Context) (store.Row, error) {
	if len(it.buf) == 0 && !it.done {
		rows, err := it.db.Rows(ctx, it.t, it.after, it.batch)
		if err != nil {
			return nil, err
		}
		if len(rows) < it.batch {
			it.done = true
		}
		if len(rows) > 0 {
			it.after = key(it.keyIdx, rows[len(rows)-1])
		}
		it.buf = rows
	}
	if len(it.buf) == 0 {
		return nil, nil
	}
	return it.buf[0], nil
}

func (it *rowIter) next() { it.buf = it.buf[1:] }

func key(keyIdx []int, r store.Row) []any {
	k := make([]any, len(keyIdx))
	for i, j := range keyIdx {
		k[i] = r[j]
	}
	return k
}

// compareKeys orders two rows by key as both databases do: numbers by
// value, text by bytes.
func compareKeys(t store.Table, keyIdx []int, a, b store.Row) int {
	for _, j := range keyIdx {
		if c := compareValues(t.Columns[j].Kind, a[j], b[j]); c != 0 {
			return c
		}
	}
	return 0
}

func compareValues(k store.Kind, a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	switch k {
	case store.KindInteger:
		return cmp.Compare(a.(int64), b.(int64))
	case store.KindReal:
		return cmp.Compare(a.(float64), b.(float64))
	case store.KindBool:
		x, y := a.(bool), b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case store.KindTime:
		return a.(time.Time).Compare(b.(time.Time))
	case store.KindBytes:
		return bytes.Compare(a.([]byte), b.([]byte))
	}
	return strings.Compare(a.(string), b.(string))
}

// equalRows reports whether two rows hold the same values.
func equalRows(t store.Table, a, b store.Row) bool {
	for i, c := range t.Columns {
		if !equalValues(c.Kind, a[i], b[i]) {
			return false
		}
	}
	return true
}

func equalValues(k store.Kind, a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	switch k {
	case store.KindReal:
		x, y := a.(float64), b.(float64)
		return x == y || (math.IsNaN(x) && math.IsNaN(y))
	case store.KindTime:
		return a.(time.Time).Equal(b.(time.Time))
	case store.KindBytes:
		return bytes.Equal(a.([]byte), b.([]byte))
	case store.KindJSON:
		return sameJSON(a.(string), b.(string))
	}
	return compareValues(k, a, b) == 0
}

// sameJSON compares JSON texts by what they say: PostgreSQL's jsonb keeps
// neither key order nor spacing.
func sameJSON(a, b string) bool {
	if a == b {
		return true
	}
	x, errA := decodeJSON(a)
	y, errB := decodeJSON(b)
	return errA == nil && errB == nil && reflect.DeepEqual(x, y)
}

func decodeJSON(s string) (any, error) {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}
