package migratestorage

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// writeReport prints the final report: rows per table, the blobs, and
// whether anything was left to copy.
func writeReport(w io.Writer, r *Report) {
	fmt.Fprintf(w, "\nmoved from %s to %s: %s\n", r.SourceDialect, r.TargetDialect, installationName(r.Installation))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tROWS\tINSERTED\tUPDATED\tDELETED")
	var rows int64
	for _, t := range r.Tables {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\n", t.Name, t.Rows, t.Inserted, t.Updated, t.Deleted)
		rows += t.Rows
	}
	tw.Flush()
	fmt.Fprintf(w, "tables: %d rows in %d tables, %d written; pass %d found the target equal to the source\n", rows, len(r.Tables), r.RowsCopied(), r.Passes)
	b := r.Blobs
	fmt.Fprintf(w, "blobs: %d recorded, %d copied (%d bytes), %d already there, %d verified (%d bytes), %d failed\n",
		b.Listed, b.Copied, b.CopiedBytes, b.Skipped, b.Verified, b.VerifiedBytes, b.Failed)
	for _, f := range b.Failures {
		fmt.Fprintf(w, "blob %s failed: %v\n", f.Digest, f.Err)
	}
	switch {
	case b.Failed > 0:
		fmt.Fprintln(w, "the copy is not complete: fix what failed and run again")
	case r.NothingCopied():
		fmt.Fprintln(w, "nothing to copy: the target already held everything; all verified")
	default:
		fmt.Fprintln(w, "done: the target holds the installation; all verified")
	}
}

func installationName(s string) string {
	if s == "" {
		return "an empty installation"
	}
	return "the installation of " + s
}
