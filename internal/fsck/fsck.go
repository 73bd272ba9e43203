// Package fsck checks a registry's storage against itself: every blob's
// bytes against its digest, size and recorded checksums; every file,
// manifest and blob link against the blobs it needs; the counters the
// database keeps against the rows they count. With repair it removes what
// nothing refers to, puts back what can be recovered and drops what is
// lost for good, so that a second check finds nothing.
//
// A check reads through the metadata store (with its packages.Auditor
// power) and the blob store it is given, in batches, without locks, and
// runs beside a serving registry: a finding is confirmed by reading its
// rows again before it is reported, so that a publish or a collection
// running meanwhile is not taken for damage, and every repair changes a
// row only while it is still as the check saw it.
package fsck

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/packhub/packhub/internal/packages"
)

// ReferenceParser lists the digests of the blobs a file's content names,
// which its package must hold (an OCI manifest's config and layers, an
// index's manifests). ok is false for a media type whose content names
// none, and depends on the media type alone (the check asks with nil
// content first); err says that content of such a type does not parse.
type ReferenceParser func(mediaType string, content []byte) (digests []string, ok bool, err error)

// Progress receives how far a check is. Phases run one after another.
type Progress interface {
	// Start begins a phase of total units (bytes or rows); total <= 0
	// when it is not known.
	Start(phase string, total int64)
	// Advance adds n done units to the phase.
	Advance(n int64)
	// Finish ends the phase.
	Finish()
}

// Options tune a check.
type Options struct {
	// References parses the files whose content names other blobs; nil
	// checks no file's content.
	References ReferenceParser
	// MaxReferenceSize bounds the content read for References; a larger
	// file is a note. Default 16 MiB.
	MaxReferenceSize int64
	// GracePeriod protects what is younger than it from a repair's
	// removal of unreferenced blobs, as it protects it from garbage
	// collection: a push in progress has committed its bytes before its
	// rows. Default 1h.
	GracePeriod time.Duration
	// Batch is how many rows one read takes. Default 500.
	Batch int
	// Progress receives the check's progress; nil: none.
	Progress Progress
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Checker checks one registry's storage.
type Checker struct {
	st    packages.Store
	aud   packages.Auditor
	blobs packages.BlobStore
	opts  Options
}

// New returns a Checker over a metadata store, which must have the
// packages.Auditor power, and a blob store.
func New(st packages.Store, blobs packages.BlobStore, opts Options) (*Checker, error) {
	aud, ok := st.(packages.Auditor)
	if !ok {
		return nil, errors.New("fsck: the metadata store cannot be audited")
	}
	if opts.MaxReferenceSize <= 0 {
		opts.MaxReferenceSize = 16 << 20
	}
	if opts.GracePeriod <= 0 {
		opts.GracePeriod = time.Hour
	}
	if opts.Batch <= 0 {
		opts.Batch = 500
	}
	if opts.Progress == nil {
		opts.Progress = noProgress{}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Checker{st: st, aud: aud, blobs: blobs, opts: opts}, nil
}

type noProgress struct{}

func (noProgress) Start(string, int64) {}
func (noProgress) Advance(int64)       {}
func (noProgress) Finish()             {}

// run is one check in progress.
type run struct {
	*Checker
	repair bool
	rep    *Report
	// lost holds the digests whose bytes are missing or corrupt and found
	// nowhere, with why; bounded by the problems found.
	lost map[string]string
	// recovered holds referenced digests that had bytes but no record
	// (recorded again by a repair).
	recovered map[string]bool
	// names caches package descriptions for findings.
	names map[int64]string
}

// Run checks everything once; with repair it also repairs what it finds.
// An error means the check could not finish: the report holds what was
// found until then.
func (c *Checker) Run(ctx context.Context, repair bool) (*Report, error) {
	r := &run{Checker: c, repair: repair, rep: &Report{Repair: repair},
		lost: map[string]string{}, recovered: map[string]bool{}, names: map[int64]string{}}
	tot, err := c.aud.AuditTotals(ctx)
	if err != nil {
		return r.rep, fmt.Errorf("fsck: count: %w", err)
	}
	steps := []struct {
		phase string
		total int64
		fn    func(context.Context) error
	}{
		{"blob bytes", tot.BlobBytes, r.checkBlobs},
		{"stored blobs", 0, r.checkStored},
		{"files", int64(tot.Files), r.checkFiles},
		{"blob links", int64(tot.Links), r.checkLinks},
		{"counters", int64(tot.Packages), r.checkCounters},
	}
	for _, s := range steps {
		c.opts.Progress.Start(s.phase, s.total)
		err := s.fn(ctx)
		c.opts.Progress.Finish()
		if err != nil {
			return r.rep, fmt.Errorf("fsck: %s: %w", s.phase, err)
		}
	}
	if repair {
		if err := r.dropLost(ctx); err != nil {
			return r.rep, fmt.Errorf("fsck: drop lost blobs: %w", err)
		}
	}
	return r.rep, nil
}

func (r *run) add(f Finding) *Finding {
	r.rep.Findings = append(r.rep.Findings, &f)
	return &f
}

// repaired records what a repair did about f, or why it could not.
func (r *run) repaired(f *Finding, did string, err error) {
	if err != nil {
		f.Repair = "not repaired: " + err.Error()
		return
	}
	f.Repair, f.Repaired = did, true
}

func (r *run) graceCutoff() time.Time { return r.opts.Now().Add(-r.opts.GracePeriod) }

// ---- Blob bytes ----------------------------------------------------------

// hashes is a blob's content as read: its digest, size and checksums.
type hashes struct {
	digest string
	size   int64
	sums   packages.Checksums
}

// hashBlob reads a blob whole, without keeping it, and hashes it.
func (r *run) hashBlob(ctx context.Context, digest string) (*hashes, error) {
	rd, err := r.blobs.Open(ctx, digest)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	hs := [4]hash.Hash{md5.New(), sha1.New(), sha256.New(), sha512.New()}
	w := io.MultiWriter(hs[0], hs[1], hs[2], hs[3], progressWriter{r.opts.Progress})
	n, err := io.CopyBuffer(w, ctxReader{ctx, rd}, make([]byte, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", digest, err)
	}
	r.rep.Counts.Bytes += n
	sum := func(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }
	return &hashes{
		digest: "sha256:" + sum(hs[2]),
		size:   n,
		sums:   packages.Checksums{MD5: sum(hs[0]), SHA1: sum(hs[1]), SHA256: sum(hs[2]), SHA512: sum(hs[3])},
	}, nil
}

type progressWriter struct{ p Progress }

func (w progressWriter) Write(b []byte) (int, error) {
	w.p.Advance(int64(len(b)))
	return len(b), nil
}

// ctxReader stops a long read when its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// checkBlobs reads every recorded blob's bytes and compares them with its
// digest, size and checksums.
func (r *run) checkBlobs(ctx context.Context) error {
	after := ""
	for {
		bs, err := r.aud.AuditBlobs(ctx, after, r.opts.Batch)
		if err != nil {
			return err
		}
		if len(bs) == 0 {
			return nil
		}
		for _, b := range bs {
			if err := r.checkBlob(ctx, b); err != nil {
				return err
			}
			r.rep.Counts.Blobs++
		}
		after = bs[len(bs)-1].Digest
	}
}

func (r *run) checkBlob(ctx context.Context, b packages.Blob) error {
	subject := "blob " + b.Digest
	refs, err := r.aud.BlobReferences(ctx, b.Digest)
	if err != nil {
		return err
	}
	if !refs.Any() {
		// Garbage: its bytes matter to nobody, and are not read.
		r.opts.Progress.Advance(b.Size)
		f := r.add(Finding{Kind: Unreferenced, Subject: subject,
			Detail: fmt.Sprintf("%d bytes that no file, package or pending push refers to", b.Size)})
		if r.repair {
			r.freeUnreferenced(ctx, f, b)
		}
		return nil
	}
	h, err := r.hashBlob(ctx, b.Digest)
	if packages.IsNotFound(err) {
		r.opts.Progress.Advance(b.Size)
		// Garbage collection forgets a record before it deletes the
		// bytes, and only once nothing refers to it: a record still
		// referred to once the bytes are gone is real.
		if _, err := r.st.GetBlob(ctx, b.Digest); packages.IsNotFound(err) {
			return nil
		} else if err != nil {
			return err
		}
		if refs, err = r.aud.BlobReferences(ctx, b.Digest); err != nil || !refs.Any() {
			return err
		}
		r.lost[b.Digest] = "missing"
		f := r.add(Finding{Kind: BlobMissing, Subject: subject,
			Detail: fmt.Sprintf("recorded (%d bytes) and referred to by %s, but not in the blob store", b.Size, describeRefs(refs))})
		if r.repair {
			r.repaired(f, "lost: what needs it is removed below", nil)
		}
		return nil
	}
	if err != nil {
		return err
	}
	if h.digest != b.Digest {
		r.lost[b.Digest] = "corrupt"
		f := r.add(Finding{Kind: BlobCorrupt, Subject: subject,
			Detail: fmt.Sprintf("its %d bytes hash to %s", h.size, h.digest)})
		if r.repair {
			// Bytes that are not the digest's must not be served as it,
			// and would keep a push of the right ones from healing it.
			err := r.blobs.Delete(ctx, b.Digest)
			if packages.IsNotFound(err) {
				err = nil
			}
			r.repaired(f, "removed the corrupt bytes; lost: what needs them is removed below", err)
		}
		return nil
	}
	if b.Size != h.size {
		f := r.add(Finding{Kind: BlobSize, Subject: subject, Detail: fmt.Sprintf("recorded as %d bytes, holds %d", b.Size, h.size)})
		if r.repair {
			r.repaired(f, "recorded the size and checksums of the bytes", r.fixBlob(ctx, b, h))
		}
		return nil
	}
	if b.Checksums.Known() && b.Checksums != h.sums {
		f := r.add(Finding{Kind: BlobChecksums, Subject: subject, Detail: "recorded checksums differ from those of the bytes: " + sumsDiff(b.Checksums, h.sums)})
		if r.repair {
			r.repaired(f, "recorded the checksums of the bytes", r.fixBlob(ctx, b, h))
		}
	}
	return nil
}

func (r *run) fixBlob(ctx context.Context, b packages.Blob, h *hashes) error {
	return r.aud.FixBlob(ctx, packages.Blob{Digest: b.Digest, Size: h.size, CreatedAt: b.CreatedAt, Checksums: h.sums})
}

func sumsDiff(got, want packages.Checksums) string {
	var out string
	for _, c := range []struct{ name, got, want string }{
		{"md5", got.MD5, want.MD5}, {"sha1", got.SHA1, want.SHA1}, {"sha256", got.SHA256, want.SHA256}, {"sha512", got.SHA512, want.SHA512},
	} {
		if c.got != c.want {
			if out != "" {
				out += ", "
			}
			out += c.name
		}
	}
	return out
}

func describeRefs(refs packages.BlobReferences) string {
	return fmt.Sprintf("%d files, %d package links, %d pending pushes", refs.Files, refs.Links, refs.Pending)
}

// ---- Stored blobs without records ----------------------------------------

// checkStored walks the blob store for blobs the database does not record.
func (r *run) checkStored(ctx context.Context) error {
	return r.blobs.Walk(ctx, func(digest string, size int64) error {
		r.rep.Counts.Stored++
		r.opts.Progress.Advance(1)
		if _, err := r.st.GetBlob(ctx, digest); err == nil {
			return nil
		} else if !packages.IsNotFound(err) {
			return err
		}
		refs, err := r.aud.BlobReferences(ctx, digest)
		if err != nil {
			return err
		}
		// A publish records a blob in the transaction that refers to it:
		// read the record again, in case one committed meanwhile.
		if _, err := r.st.GetBlob(ctx, digest); err == nil {
			return nil
		} else if !packages.IsNotFound(err) {
			return err
		}
		subject := "blob " + digest
		if !refs.Any() {
			f := r.add(Finding{Kind: UnrecordedBytes, Subject: subject, Detail: fmt.Sprintf("%d bytes that nothing records or refers to", size)})
			if r.repair {
				r.removeUnrecorded(ctx, f, digest)
			}
			return nil
		}
		h, err := r.hashBlob(ctx, digest)
		if packages.IsNotFound(err) {
			return nil // removed meanwhile: the file pass judges what needs it
		}
		if err != nil {
			return err
		}
		if h.digest != digest {
			r.lost[digest] = "corrupt"
			f := r.add(Finding{Kind: BlobCorrupt, Subject: subject,
				Detail: fmt.Sprintf("not recorded, referred to by %s, and its %d bytes hash to %s", describeRefs(refs), h.size, h.digest)})
			if r.repair {
				err := r.blobs.Delete(ctx, digest)
				if packages.IsNotFound(err) {
					err = nil
				}
				r.repaired(f, "removed the corrupt bytes; lost: what needs them is removed below", err)
			}
			return nil
		}
		r.recovered[digest] = true
		f := r.add(Finding{Kind: BlobUnrecorded, Subject: subject,
			Detail: fmt.Sprintf("%d bytes, referred to by %s, but not recorded", h.size, describeRefs(refs))})
		if r.repair {
			r.repaired(f, "recorded it with the size and checksums of its bytes",
				r.aud.FixBlob(ctx, packages.Blob{Digest: digest, Size: h.size, CreatedAt: r.opts.Now(), Checksums: h.sums}))
		}
		return nil
	})
}

// removeUnrecorded removes unrecorded, unreferenced bytes older than the
// grace period where the blob store can tell their age, and otherwise
// records them, so that garbage collection frees them after the grace
// period.
func (r *run) removeUnrecorded(ctx context.Context, f *Finding, digest string) {
	if d, ok := r.blobs.(packages.BlobAgeDeleter); ok {
		deleted, err := d.DeleteIfOlder(ctx, digest, r.graceCutoff())
		switch {
		case err != nil:
			r.repaired(f, "", err)
		case deleted:
			r.repaired(f, "removed", nil)
		default:
			f.Repair, f.Repaired = "kept: younger than the grace period, may be a push in progress", true
		}
		return
	}
	size, err := r.blobs.Stat(ctx, digest)
	if err != nil {
		r.repaired(f, "", err)
		return
	}
	r.repaired(f, "recorded, for garbage collection to free after the grace period",
		r.st.PutBlob(ctx, &packages.Blob{Digest: digest, Size: size, CreatedAt: r.opts.Now()}))
}

// ---- Files ---------------------------------------------------------------

// checkFiles checks every file row against its version and the blobs it
// needs.
func (r *run) checkFiles(ctx context.Context) error {
	var after int64
	for {
		fs, err := r.aud.AuditFiles(ctx, after, r.opts.Batch)
		if err != nil {
			return err
		}
		if len(fs) == 0 {
			return nil
		}
		for i := range fs {
			if err := r.checkFile(ctx, &fs[i]); err != nil {
				return err
			}
			r.rep.Counts.Files++
			r.opts.Progress.Advance(1)
		}
		after = fs[len(fs)-1].ID
	}
}

// still reads a file row again and reports whether it is as f says, so
// that a file replaced or deleted meanwhile is not reported.
func (r *run) still(ctx context.Context, f *packages.AuditFile) (bool, error) {
	now, err := r.aud.AuditFile(ctx, f.ID)
	if packages.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return now.Digest == f.Digest && now.VersionID == f.VersionID && now.PackageID == f.PackageID, nil
}

func (r *run) checkFile(ctx context.Context, f *packages.AuditFile) error {
	if f.PackageID == 0 {
		if ok, err := r.still(ctx, f); err != nil || !ok {
			return err
		}
		fd := r.add(Finding{Kind: FileOrphan, Subject: fmt.Sprintf("file %d %q", f.ID, f.Name),
			Detail: fmt.Sprintf("its version %d does not exist", f.VersionID)})
		if r.repair {
			deleted, err := r.aud.DeleteFileIf(ctx, f.ID, f.Digest)
			r.repairedIf(fd, deleted, "removed the row", err)
		}
		return nil
	}
	why, err := r.blobState(ctx, f.Digest)
	if err != nil {
		return err
	}
	if why != "" {
		if ok, err := r.still(ctx, f); err != nil || !ok {
			return err
		}
		if why, err = r.blobState(ctx, f.Digest); err != nil || why == "" {
			return err
		}
		r.fileLost(ctx, f, fmt.Sprintf("its blob %s is %s", f.Digest, why))
		return nil
	}
	// The size of the bytes, not the record's, which the blob pass
	// judges.
	size, err := r.blobs.Stat(ctx, f.Digest)
	if err != nil {
		if packages.IsNotFound(err) {
			return nil // removed meanwhile: the next check judges it
		}
		return err
	}
	if size != f.Size {
		if ok, err := r.still(ctx, f); err != nil || !ok {
			return err
		}
		fd := r.add(Finding{Kind: FileSize, Subject: r.fileSubject(ctx, f), Detail: fmt.Sprintf("recorded as %d bytes, its blob holds %d", f.Size, size)})
		if r.repair {
			set, err := r.aud.SetFileSize(ctx, f.ID, f.Digest, size)
			r.repairedIf(fd, set, "set the size from the blob", err)
		}
	}
	if r.opts.References != nil {
		return r.checkReferences(ctx, f, size)
	}
	return nil
}

// blobState says what is wrong with a digest a row needs: "" when it is
// held (recorded and stored, or stored and recovered by this check), else
// why it is lost.
func (r *run) blobState(ctx context.Context, digest string) (string, error) {
	if why, ok := r.lost[digest]; ok {
		return why, nil
	}
	if r.recovered[digest] {
		return "", nil
	}
	_, err := r.st.GetBlob(ctx, digest)
	if err == nil {
		return "", nil
	}
	if !packages.IsNotFound(err) {
		return "", err
	}
	if _, err := r.blobs.Stat(ctx, digest); err == nil {
		// Stored but not recorded, and it came after the walk: the next
		// check judges it.
		return "", nil
	} else if !packages.IsNotFound(err) && packages.KindOf(err) != packages.KindInvalid {
		return "", err
	}
	return "neither recorded nor stored", nil
}

// checkReferences parses a file whose content names other blobs and
// checks that its package holds each of them.
func (r *run) checkReferences(ctx context.Context, f *packages.AuditFile, size int64) error {
	if _, ok, _ := r.opts.References(f.MediaType, nil); !ok {
		return nil
	}
	r.rep.Counts.Manifests++
	if size > r.opts.MaxReferenceSize {
		r.add(Finding{Kind: Unparsable, Subject: r.fileSubject(ctx, f), Detail: fmt.Sprintf("%d bytes, more than the %d read for its references", size, r.opts.MaxReferenceSize)})
		return nil
	}
	content, err := r.readSmall(ctx, f.Digest)
	if packages.IsNotFound(err) {
		return nil // gone meanwhile; the next check judges it
	}
	if err != nil {
		return err
	}
	digests, _, err := r.opts.References(f.MediaType, content)
	if err != nil {
		r.add(Finding{Kind: Unparsable, Subject: r.fileSubject(ctx, f), Detail: err.Error()})
		return nil
	}
	for _, d := range digests {
		why, err := r.blobState(ctx, d)
		if err != nil {
			return err
		}
		if why != "" {
			if ok, err := r.still(ctx, f); err != nil || !ok {
				return err
			}
			if why, err = r.blobState(ctx, d); err != nil || why == "" {
				return err
			}
			r.fileLost(ctx, f, fmt.Sprintf("its content names %s, which is %s", d, why))
			return nil
		}
		linked, err := r.st.BlobLinked(ctx, f.PackageID, d)
		if err != nil {
			return err
		}
		if linked {
			continue
		}
		if ok, err := r.still(ctx, f); err != nil || !ok {
			return err
		}
		fd := r.add(Finding{Kind: ReferenceUnlinked, Subject: r.fileSubject(ctx, f), Detail: fmt.Sprintf("its content names %s, which its package has no link to", d)})
		if r.repair {
			r.repaired(fd, "linked the blob to the package", r.st.LinkBlob(ctx, f.PackageID, d))
		}
	}
	return nil
}

// readSmall reads a blob known to be small.
func (r *run) readSmall(ctx context.Context, digest string) ([]byte, error) {
	rd, err := r.blobs.Open(ctx, digest)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	return io.ReadAll(io.LimitReader(rd, r.opts.MaxReferenceSize))
}

// lostFile is the detail of the file.delete event a repair records for a
// file whose content is lost.
type lostFile struct {
	Name   string `json:"name"`
	Digest string `json:"digest"`
	Reason string `json:"reason"`
}

// fileLost reports a file whose content is lost and, with repair, removes
// its row, touches its version and package (so that cached documents are
// rendered again) and records a file.delete event by the system.
func (r *run) fileLost(ctx context.Context, f *packages.AuditFile, why string) {
	fd := r.add(Finding{Kind: FileLost, Subject: r.fileSubject(ctx, f), Detail: why})
	if !r.repair {
		return
	}
	var deleted bool
	err := r.st.WithTx(ctx, func(tx packages.Store) error {
		var err error
		aud, ok := tx.(packages.Auditor)
		if !ok {
			return errors.New("the store cannot be audited in a transaction")
		}
		if deleted, err = aud.DeleteFileIf(ctx, f.ID, f.Digest); err != nil || !deleted {
			return err
		}
		now := r.opts.Now().UTC()
		if v, err := tx.GetVersion(ctx, f.PackageID, f.VersionID); err == nil {
			v.UpdatedAt = now
			if err := tx.UpdateVersion(ctx, v); err != nil {
				return err
			}
		} else if !packages.IsNotFound(err) {
			return err
		}
		if p, err := tx.GetPackageByID(ctx, f.PackageID); err == nil {
			p.UpdatedAt = now
			if err := tx.UpdatePackage(ctx, p); err != nil {
				return err
			}
		} else if !packages.IsNotFound(err) {
			return err
		}
		detail, _ := json.Marshal(lostFile{Name: f.Name, Digest: f.Digest, Reason: "fsck: " + why})
		return tx.AddEvent(ctx, &packages.Event{Action: packages.ActionFileDelete, PackageID: f.PackageID, VersionID: f.VersionID,
			Detail: string(detail), CreatedAt: now})
	})
	r.repairedIf(fd, deleted, "removed the file from its version (file.delete event recorded)", err)
}

// repairedIf is repaired for a change made only while the row was as the
// check saw it: a row changed meanwhile needs no repair.
func (r *run) repairedIf(f *Finding, changed bool, did string, err error) {
	if err == nil && !changed {
		did = "changed meanwhile: nothing to repair"
	}
	r.repaired(f, did, err)
}

// fileSubject describes a file with its package and version.
func (r *run) fileSubject(ctx context.Context, f *packages.AuditFile) string {
	state := ""
	if f.VersionDeleted {
		state = ", deleted"
	}
	ver := fmt.Sprintf("version %d", f.VersionID)
	if v, err := r.st.GetVersion(ctx, f.PackageID, f.VersionID); err == nil {
		ver = fmt.Sprintf("version %d %s", v.ID, v.Name)
	}
	return fmt.Sprintf("file %d %q of %s%s of %s", f.ID, f.Name, ver, state, r.packageName(ctx, f.PackageID))
}

// packageName describes a package: "package 4 (npm alice/left-pad)".
func (r *run) packageName(ctx context.Context, id int64) string {
	if n, ok := r.names[id]; ok {
		return n
	}
	n := fmt.Sprintf("package %d", id)
	if p, err := r.st.GetPackageByID(ctx, id); err == nil {
		owner := fmt.Sprint(p.OwnerID)
		if o, err := r.st.GetOwnerByID(ctx, p.OwnerID); err == nil {
			owner = o.Login
		}
		n = fmt.Sprintf("package %d (%s %s/%s)", id, p.Type, owner, p.Name)
	}
	if len(r.names) < 10000 {
		r.names[id] = n
	}
	return n
}

// ---- Blob links ----------------------------------------------------------

// checkLinks checks that every blob linked to a package is held.
func (r *run) checkLinks(ctx context.Context) error {
	var after packages.BlobLink
	for {
		ls, err := r.aud.AuditLinks(ctx, after, r.opts.Batch)
		if err != nil {
			return err
		}
		if len(ls) == 0 {
			return nil
		}
		for _, l := range ls {
			r.rep.Counts.Links++
			r.opts.Progress.Advance(1)
			if _, known := r.lost[l.Digest]; known {
				continue // reported with its blob, dropped with it
			}
			why, err := r.blobState(ctx, l.Digest)
			if err != nil {
				return err
			}
			if why == "" {
				continue
			}
			// Confirm: a link made meanwhile comes with its record.
			if linked, err := r.st.BlobLinked(ctx, l.PackageID, l.Digest); err != nil || !linked {
				return err
			}
			if why, err = r.blobState(ctx, l.Digest); err != nil || why == "" {
				return err
			}
			r.lost[l.Digest] = why
			f := r.add(Finding{Kind: LinkDangling, Subject: r.packageName(ctx, l.PackageID),
				Detail: fmt.Sprintf("linked to %s, which is %s", l.Digest, why)})
			if r.repair {
				r.repaired(f, "lost: the link is dropped below", nil)
			}
		}
		after = ls[len(ls)-1]
	}
}

// ---- Counters ------------------------------------------------------------

// checkCounters compares every package's kept counters with its rows.
func (r *run) checkCounters(ctx context.Context) error {
	var after int64
	for {
		cs, err := r.aud.AuditCounters(ctx, after, r.opts.Batch)
		if err != nil {
			return err
		}
		if len(cs) == 0 {
			return nil
		}
		for _, c := range cs {
			r.rep.Counts.Packages++
			r.opts.Progress.Advance(1)
			var found []*Finding
			if c.VersionCount != c.ActiveVersions {
				found = append(found, r.add(Finding{Kind: CounterVersions, Subject: r.packageName(ctx, c.PackageID),
					Detail: fmt.Sprintf("version count %d, %d active versions", c.VersionCount, c.ActiveVersions)}))
			}
			if c.DownloadCount < c.VersionDownloads {
				found = append(found, r.add(Finding{Kind: CounterDownloads, Subject: r.packageName(ctx, c.PackageID),
					Detail: fmt.Sprintf("download count %d, below its versions' %d", c.DownloadCount, c.VersionDownloads)}))
			}
			if len(found) > 0 && r.repair {
				err := r.aud.RecountPackage(ctx, c.PackageID)
				if packages.IsNotFound(err) {
					err = nil // purged meanwhile
				}
				for _, f := range found {
					r.repaired(f, "recounted from the rows", err)
				}
			}
		}
		after = cs[len(cs)-1].PackageID
	}
}

// ---- Garbage ----------------------------------------------------------

// freeUnreferenced frees a recorded blob nothing refers to, as garbage
// collection does, if it is older than the grace period: the record
// first, only if it is still unreferenced and old, then the bytes.
func (r *run) freeUnreferenced(ctx context.Context, f *Finding, b packages.Blob) {
	grace := r.graceCutoff()
	if !b.CreatedAt.Before(grace) {
		f.Repair, f.Repaired = "kept: younger than the grace period, may be a push in progress", true
		return
	}
	forgot, err := r.st.ForgetBlob(ctx, b.Digest, grace)
	if err != nil || !forgot {
		r.repairedIf(f, forgot, "", err)
		return
	}
	if d, ok := r.blobs.(packages.BlobAgeDeleter); ok {
		_, err = d.DeleteIfOlder(ctx, b.Digest, grace)
	} else if err = r.blobs.Delete(ctx, b.Digest); packages.IsNotFound(err) {
		err = nil
	}
	r.repaired(f, "removed", err)
}

// dropLost forgets the lost blobs once the rows that needed them are gone:
// their records, package links and pending pushes.
func (r *run) dropLost(ctx context.Context) error {
	for d := range r.lost {
		dropped, err := r.aud.DropBlob(ctx, d)
		if err != nil {
			return err
		}
		if !dropped {
			refs, err := r.aud.BlobReferences(ctx, d)
			if err != nil {
				return err
			}
			if refs.Files > 0 {
				r.add(Finding{Kind: FileLost, Subject: "blob " + d,
					Detail: fmt.Sprintf("lost, and still needed by %d files", refs.Files), Repair: "not repaired: files still refer to it"})
			}
		}
	}
	return nil
}
