package fsck

import (
	"fmt"
	"io"
)

// Kind names what a finding is about.
type Kind string

// Problems: the registry is not as its rows say. Each makes the check's
// exit status 1.
const (
	// BlobCorrupt: a blob's bytes do not hash to its digest.
	BlobCorrupt Kind = "blob-corrupt"
	// BlobMissing: a blob is recorded and referred to, but its bytes are
	// gone from the blob store.
	BlobMissing Kind = "blob-missing"
	// BlobSize: a blob's recorded size is not the size of its bytes.
	BlobSize Kind = "blob-size"
	// BlobChecksums: a blob's recorded md5, sha1, sha256 or sha512 is not
	// that of its bytes.
	BlobChecksums Kind = "blob-checksums"
	// BlobUnrecorded: the blob store holds a blob that files or packages
	// refer to, but the database has no record of it.
	BlobUnrecorded Kind = "blob-unrecorded"
	// FileOrphan: a file row whose version row is missing.
	FileOrphan Kind = "file-orphan"
	// FileLost: a file whose bytes, or a blob its content names (an OCI
	// manifest's config, layers, child manifests), are missing or corrupt
	// and found nowhere.
	FileLost Kind = "file-lost"
	// FileSize: a file row's size is not its blob's.
	FileSize Kind = "file-size"
	// ReferenceUnlinked: a manifest names a blob the registry holds but the
	// manifest's package has no link to, so that the registry would not
	// serve it through that package.
	ReferenceUnlinked Kind = "reference-unlinked"
	// LinkDangling: a package is linked to a digest that is neither
	// recorded nor stored.
	LinkDangling Kind = "link-dangling"
	// CounterVersions: a package's kept version count is not the number of
	// its active versions.
	CounterVersions Kind = "counter-versions"
	// CounterDownloads: a package's download count is below the sum of its
	// versions' counts.
	CounterDownloads Kind = "counter-downloads"
)

// Garbage: what nothing refers to, which garbage collection frees on its
// own. Reported, removed by a repair once older than the grace period, and
// not a problem.
const (
	// Unreferenced: a recorded blob that no file, package or pending push
	// refers to.
	Unreferenced Kind = "unreferenced"
	// UnrecordedBytes: bytes in the blob store that nothing records or
	// refers to (a crash between a blob's commit and its publish).
	UnrecordedBytes Kind = "unrecorded-bytes"
)

// Notes: worth knowing, neither a problem nor garbage.
const (
	// Unparsable: a file whose media type names other blobs (an OCI
	// manifest) but whose content does not parse as one.
	Unparsable Kind = "unparsable"
)

// Finding is one thing a check found.
type Finding struct {
	Kind    Kind
	Subject string // what it is about: "blob sha256:…", "file 12 …", "package 4 …"
	Detail  string
	// Repair says what a repair did about it, or why it could not; empty
	// without --repair.
	Repair   string
	Repaired bool
}

// Problem reports whether the finding is a problem, as opposed to garbage
// or a note.
func (f Finding) Problem() bool {
	switch f.Kind {
	case Unreferenced, UnrecordedBytes, Unparsable:
		return false
	}
	return true
}

// Counts says how much a check went through.
type Counts struct {
	Blobs     int   // recorded blobs checked against their bytes
	Bytes     int64 // bytes read and hashed
	Stored    int   // blobs found in the blob store
	Files     int
	Manifests int // files whose content names other blobs
	Links     int
	Packages  int
}

// Report is what a check found, and with Repair, what it did.
type Report struct {
	Repair   bool
	Findings []*Finding
	Counts   Counts
}

// Problems counts the findings that are problems.
func (r *Report) Problems() int {
	n := 0
	for _, f := range r.Findings {
		if f.Problem() {
			n++
		}
	}
	return n
}

// Unrepaired counts the problems a repair left.
func (r *Report) Unrepaired() int {
	n := 0
	for _, f := range r.Findings {
		if f.Problem() && !f.Repaired {
			n++
		}
	}
	return n
}

// Clean reports whether the check found no problem.
func (r *Report) Clean() bool { return r.Problems() == 0 }

// Write prints the report: one line per finding, then the totals.
func (r *Report) Write(w io.Writer) error {
	garbage, notes := 0, 0
	for _, f := range r.Findings {
		label := "problem"
		switch {
		case f.Kind == Unparsable:
			label, notes = "note", notes+1
		case !f.Problem():
			label, garbage = "garbage", garbage+1
		}
		line := fmt.Sprintf("%s %s: %s: %s", label, f.Kind, f.Subject, f.Detail)
		if f.Repair != "" {
			line += " [" + f.Repair + "]"
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	c := r.Counts
	if _, err := fmt.Fprintf(w, "checked %d blobs (%d bytes read), %d stored blobs, %d files (%d manifests), %d blob links, %d packages\n",
		c.Blobs, c.Bytes, c.Stored, c.Files, c.Manifests, c.Links, c.Packages); err != nil {
		return err
	}
	summary := fmt.Sprintf("%d problems", r.Problems())
	if r.Repair {
		summary += fmt.Sprintf(", %d repaired", r.Problems()-r.Unrepaired())
	}
	summary += fmt.Sprintf("; %d unreferenced (garbage collection frees them); %d notes", garbage, notes)
	_, err := fmt.Fprintln(w, summary)
	return err
}
