// Package migratestorage moves an installation from one metadata database
// and blob store to others: SQLite and local disk to PostgreSQL and S3, or
// any pair to any other.
//
// It copies every table the source's migrations made, whatever they are
// (the schema is read from the databases), with every row as it is: ids,
// soft-deleted packages and versions, token hashes, checksums. Then it
// copies every blob the target's metadata records, streamed, and reads
// each back to verify it. A run makes the target equal to the source, so
// a second run copies only what is missing or changed, and one cut short
// (even by kill -9) is finished by running again.
package migratestorage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/store"
)

// Source is the database an installation is copied from.
type Source interface {
	Schema(ctx context.Context) (*store.Schema, error)
	Rows(ctx context.Context, t store.Table, after []any, limit int) ([]store.Row, error)
	Sequence(ctx context.Context, t store.Table) (int64, error)
	Installation(ctx context.Context) (string, error)
	Blobs(ctx context.Context, after string, limit int) ([]packages.Blob, error)
}

// Target is the database an installation is copied to.
type Target interface {
	Source
	Apply(ctx context.Context, t store.Table, c store.Changes) error
	SetSequence(ctx context.Context, t store.Table, n int64) error
}

// SourceBlobs is the blob store the bytes are read from.
type SourceBlobs interface {
	Open(ctx context.Context, digest string) (packages.BlobReader, error)
}

// TargetBlobs is the blob store the bytes are copied to.
type TargetBlobs interface {
	Stat(ctx context.Context, digest string) (int64, error)
	Open(ctx context.Context, digest string) (packages.BlobReader, error)
	Put(ctx context.Context, r io.Reader, expected string) (string, int64, error)
	Delete(ctx context.Context, digest string) error
	Checksums(ctx context.Context, digest string) (packages.Checksums, error)
}

var (
	_ Target      = (*store.Tables)(nil)
	_ SourceBlobs = packages.BlobStore(nil)
	_ TargetBlobs = packages.BlobStore(nil)
)

// Errors callers may branch on.
var (
	// ErrOtherInstallation: the target database holds another
	// installation than the source.
	ErrOtherInstallation = errors.New("the target database holds another installation")
	// ErrSchema: the two databases' schemas do not match, or one cannot be
	// copied.
	ErrSchema = errors.New("the schemas cannot be copied")
	// ErrTargetWritten: the target has ids the source never handed out:
	// it has been written to since an earlier copy (a server runs on it),
	// and copying again would undo those writes.
	ErrTargetWritten = errors.New("the target has been written to since it was copied")
	// ErrNotSettled: the tables kept changing from one pass to the next
	// (the source is still being written to).
	ErrNotSettled = errors.New("the tables did not settle")
	// ErrBlobs: some blobs could not be copied or did not verify; the
	// report lists them.
	ErrBlobs = errors.New("some blobs failed")
)

// Options say what to copy where.
type Options struct {
	Source      Source
	Target      Target
	SourceBlobs SourceBlobs
	TargetBlobs TargetBlobs
	// Out receives progress lines and the final report; nil discards
	// them.
	Out io.Writer
	// Batch is how many rows are read and written at a time (default
	// 1000), and how many blob records are listed at once.
	Batch int
	// Jobs is how many blobs are copied at once (default 4).
	Jobs int
	// ProgressEvery is how often progress is printed during a long step
	// (default 5s).
	ProgressEvery time.Duration
}

// maxPasses bounds the passes over the tables. The first copies; the
// target's triggers may then have changed rows copied before (a version
// inserted bumps its package's counters), which the second puts back; the
// third finds nothing to do.
const maxPasses = 4

// Report is what a run did.
type Report struct {
	SourceDialect, TargetDialect string
	Installation                 string
	// Tables in copy order; counts are summed over the passes.
	Tables []TableReport
	// Passes over the tables; the last found source and target equal.
	Passes    int
	Sequences int // sequences set on the target
	Blobs     BlobReport
}

// TableReport counts one table's rows.
type TableReport struct {
	Name                       string
	Rows                       int64 // in the source, at the last pass
	Inserted, Updated, Deleted int64
}

// Changed is how many rows were written.
func (t TableReport) Changed() int64 { return t.Inserted + t.Updated + t.Deleted }

// BlobReport counts blobs.
type BlobReport struct {
	Listed   int // recorded in the target's metadata
	Copied   int
	Skipped  int // present in the target already
	Verified int
	Failed   int
	// CopiedBytes were written to the target; VerifiedBytes read back from
	// it and checked.
	CopiedBytes, VerifiedBytes int64
	Failures                   []BlobFailure
}

// BlobFailure is a blob that could not be copied or did not verify.
type BlobFailure struct {
	Digest string
	Err    error
}

// RowsCopied is how many rows the run wrote.
func (r *Report) RowsCopied() int64 {
	var n int64
	for _, t := range r.Tables {
		n += t.Changed()
	}
	return n
}

// NothingCopied reports a run that found the target complete.
func (r *Report) NothingCopied() bool {
	return r.RowsCopied() == 0 && r.Blobs.Copied == 0
}

// Run copies the installation and verifies the copy. The target's
// migrations must have been applied already (as store.OpenTables does).
// The report is returned with the error when the run got as far as
// writing.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Batch <= 0 {
		o.Batch = 1000
	}
	if o.Jobs <= 0 {
		o.Jobs = 4
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 5 * time.Second
	}
	r := &Report{}
	tables, err := plan(ctx, o, r)
	if err != nil {
		return nil, err
	}
	if err := claim(ctx, o, r); err != nil {
		return nil, err
	}
	if err := checkUnwritten(ctx, o, tables); err != nil {
		return nil, err
	}
	if err := copyTables(ctx, o, tables, r); err != nil {
		return r, err
	}
	if err := copySequences(ctx, o, tables, r); err != nil {
		return r, err
	}
	if err := copyBlobs(ctx, o, r); err != nil {
		return r, err
	}
	writeReport(o.Out, r)
	if r.Blobs.Failed > 0 {
		return r, fmt.Errorf("%w: %d of %d blobs could not be copied or verified", ErrBlobs, r.Blobs.Failed, r.Blobs.Listed)
	}
	return r, nil
}

// pair is a table as both databases have it: tbl reads and writes rows in
// the kinds both agree on; src and tgt are each side's own description.
type pair struct {
	tbl, src, tgt store.Table
}

// plan reads both schemas and pairs their tables.
func plan(ctx context.Context, o Options, r *Report) ([]pair, error) {
	ss, err := o.Source.Schema(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the source schema: %w", err)
	}
	ts, err := o.Target.Schema(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the target schema: %w", err)
	}
	r.SourceDialect, r.TargetDialect = ss.Dialect, ts.Dialect
	if !slices.Equal(ss.Migrations, ts.Migrations) {
		return nil, fmt.Errorf("%w: the source has migrations %s and the target %s; run both with the same packhub",
			ErrSchema, versions(ss.Migrations), versions(ts.Migrations))
	}
	var out []pair
	for _, st := range ss.Tables {
		tt, ok := ts.Table(st.Name)
		if !ok {
			return nil, fmt.Errorf("%w: the target has no table %s", ErrSchema, st.Name)
		}
		p, err := pairTables(st, tt)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	for _, tt := range ts.Tables {
		if _, ok := ss.Table(tt.Name); !ok {
			return nil, fmt.Errorf("%w: the source has no table %s", ErrSchema, tt.Name)
		}
	}
	fmt.Fprintf(o.Out, "source: %s, %d tables, migrations %s\n", ss.Dialect, len(ss.Tables), versions(ss.Migrations))
	fmt.Fprintf(o.Out, "target: %s, migrations %s\n", ts.Dialect, versions(ts.Migrations))
	return out, nil
}

func pairTables(st, tt store.Table) (pair, error) {
	if len(st.Key) == 0 {
		return pair{}, fmt.Errorf("%w: table %s has no primary key, which the copy needs to tell its rows apart", ErrSchema, st.Name)
	}
	if !slices.Equal(st.Key, tt.Key) {
		return pair{}, fmt.Errorf("%w: table %s: primary key (%s) in the source, (%s) in the target",
			ErrSchema, st.Name, strings.Join(st.Key, ", "), strings.Join(tt.Key, ", "))
	}
	if len(st.Columns) != len(tt.Columns) {
		return pair{}, fmt.Errorf("%w: table %s has %d columns in the source and %d in the target",
			ErrSchema, st.Name, len(st.Columns), len(tt.Columns))
	}
	tbl := st
	tbl.Columns = slices.Clone(st.Columns)
	for i, c := range st.Columns {
		tc, ok := tt.Column(c.Name)
		if !ok {
			return pair{}, fmt.Errorf("%w: table %s: the target has no column %s", ErrSchema, st.Name, c.Name)
		}
		k, ok := store.MatchKinds(c.Kind, tc.Kind)
		if !ok {
			return pair{}, fmt.Errorf("%w: column %s.%s is %s in the source and %s in the target",
				ErrSchema, st.Name, c.Name, c.Type, tc.Type)
		}
		tbl.Columns[i].Kind = k
	}
	return pair{tbl: tbl, src: st, tgt: tt}, nil
}

func versions(v []int64) string {
	if len(v) == 0 {
		return "none"
	}
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = fmt.Sprintf("%03d", n)
	}
	return strings.Join(s, ",")
}

// claim refuses a target that holds another installation than the
// source. A target without owners holds none: a new database, or one a
// run cut short before its first owners were copied.
func claim(ctx context.Context, o Options, r *Report) error {
	src, err := o.Source.Installation(ctx)
	if err != nil {
		return fmt.Errorf("read the source: %w", err)
	}
	tgt, err := o.Target.Installation(ctx)
	if err != nil {
		return fmt.Errorf("read the target: %w", err)
	}
	r.Installation = src
	switch {
	case tgt == "":
		fmt.Fprintln(o.Out, "target holds no installation yet: copying everything")
	case tgt == src:
		fmt.Fprintf(o.Out, "target holds this installation (%s): copying what is missing or changed\n", src)
	case src == "":
		return fmt.Errorf("%w (%s), and the source none: nothing to move; use a new database", ErrOtherInstallation, tgt)
	default:
		return fmt.Errorf("%w (%s; the source's is %s): refusing to overwrite it; use a new database", ErrOtherInstallation, tgt, src)
	}
	return nil
}

// checkUnwritten refuses a target whose sequences have handed out ids
// beyond the source's: rows made there, such as the events of a publish
// or a restore, by a server running on the target.
func checkUnwritten(ctx context.Context, o Options, tables []pair) error {
	for _, p := range tables {
		if p.src.Serial == "" || p.tgt.Serial == "" {
			continue
		}
		n, err := o.Source.Sequence(ctx, p.src)
		if err != nil {
			return err
		}
		m, err := o.Target.Sequence(ctx, p.tgt)
		if err != nil {
			return err
		}
		if m > n {
			return fmt.Errorf("%w: its table %s has reached id %d, the source's only %d; a server may be running on it. Copying again would undo what it wrote: to start over, use a new database",
				ErrTargetWritten, p.tbl.Name, m, n)
		}
	}
	return nil
}

// copySequences makes every sequence of the target hand out ids above
// those the source handed out, so that no id comes back.
func copySequences(ctx context.Context, o Options, tables []pair, r *Report) error {
	for _, p := range tables {
		if p.src.Serial == "" || p.tgt.Serial == "" {
			continue
		}
		n, err := o.Source.Sequence(ctx, p.src)
		if err != nil {
			return err
		}
		if err := o.Target.SetSequence(ctx, p.tgt, n); err != nil {
			return err
		}
		r.Sequences++
	}
	fmt.Fprintf(o.Out, "sequences: %d set past the source's last ids\n", r.Sequences)
	return nil
}
