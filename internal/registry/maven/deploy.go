package maven

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/packhub/packhub/internal/packages"
)

// Deploys: mvn PUTs each file, then its checksums, then the artifact's
// (and a SNAPSHOT version's) maven-metadata.xml with its checksums.

// checksumWindow is how long after a file was stored a checksum that does
// not match it removes it: the checksum of the deploy that sent the file
// follows at once. A file stored before (a release verified and served
// since) keeps its bytes whatever a later checksum says.
const checksumWindow = 10 * time.Minute

// hexLen is the length of each algorithm's checksum in hex.
var hexLen = map[string]int{"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128}

// putFile stores one file of a version, creating the version (and the
// package) on the first file. A release's file cannot be replaced with
// other content unless redeploys are allowed; a SNAPSHOT's can. A pom is
// parsed first and must agree with the path.
func (h *handler) putFile(w http.ResponseWriter, r *http.Request, a *packages.Actor, l *location) error {
	ctx := r.Context()
	af, ok := parseFileName(l.artifact, l.version, l.file)
	if !ok {
		return fileNameError(l.artifact, l.version, l.file)
	}
	max := h.opts.MaxFileSize
	if r.ContentLength > max {
		return packages.Errorf(packages.KindTooLarge, "The file is larger than the limit of %d bytes.", max)
	}
	var body io.Reader = http.MaxBytesReader(w, r.Body, max)
	if af.extension == "pom" && af.classifier == "" {
		data, err := readSmall(body, maxPomSize, "the pom")
		if err != nil {
			return err
		}
		p, err := parsePom(data)
		if err != nil {
			return err
		}
		if err := p.check(l); err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	ref := l.ref()
	cr := &countingReader{r: body}
	up := packages.UploadRequest{Package: ref, Repository: l.repository(), Body: cr}
	digest, _, err := h.svc.Upload(ctx, a, up)
	if packages.IsConflict(err) && cr.n == 0 {
		// The first deploys of a package race to create it: the check
		// before the bytes are read met another's creation. Once it exists,
		// the upload goes through.
		digest, _, err = h.svc.Upload(ctx, a, up)
	}
	if err != nil {
		return err
	}
	policy := packages.FileKeepIfSame
	if isSnapshot(l.version) || h.opts.AllowRedeploy {
		policy = packages.FileReplace
	}
	req := packages.PutFileRequest{
		Package: ref, Version: l.version, CreateVersion: true, Repository: l.repository(), IfExists: policy,
		File: packages.File{Name: l.file, Digest: digest, MediaType: mediaType(af.extension)},
	}
	res, err := h.svc.PutFile(ctx, a, req)
	if packages.IsConflict(err) {
		// Another deploy may have created the package or the version in
		// the meantime: once they exist, the put succeeds, or meets the
		// same conflict again when the file itself is the conflict.
		res, err = h.svc.PutFile(ctx, a, req)
	}
	if err != nil {
		if packages.IsConflict(err) && policy == packages.FileKeepIfSame {
			return packages.Wrap(packages.KindConflict, "Release "+l.version+" already has "+l.file+" with other content: releases cannot be redeployed.", err)
		}
		return err
	}
	if af.build != nil && h.opts.SnapshotRetention > 0 && !res.Unchanged {
		h.retain(ctx, a, l, res.Version.ID)
	}
	status := http.StatusCreated
	if res.Unchanged || res.Replaced {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	return nil
}

// retain deletes the files of the builds of a SNAPSHOT version older than
// the newest SnapshotRetention. A failure is logged: the deploy that
// triggered it has succeeded.
func (h *handler) retain(ctx context.Context, a *packages.Actor, l *location, versionID int64) {
	_, _, files, err := h.svc.VersionFiles(ctx, a, l.ref(), l.version)
	if err != nil {
		h.log.WarnContext(ctx, "snapshot retention: list files", "package", l.ref().Name, "version", l.version, "err", err)
		return
	}
	var builds []build
	for _, f := range files {
		if af, ok := parseFileName(l.artifact, l.version, f.Name); ok && af.build != nil && !slices.Contains(builds, *af.build) {
			builds = append(builds, *af.build)
		}
	}
	if len(builds) <= h.opts.SnapshotRetention {
		return
	}
	slices.SortFunc(builds, func(x, y build) int {
		switch {
		case y.less(x):
			return -1
		case x.less(y):
			return 1
		}
		return 0
	})
	old := builds[h.opts.SnapshotRetention:]
	for _, f := range files {
		af, ok := parseFileName(l.artifact, l.version, f.Name)
		if !ok || af.build == nil || !slices.Contains(old, *af.build) {
			continue
		}
		err := h.svc.DeleteFile(ctx, a, packages.DeleteFileRequest{Package: l.ref(), Version: l.version, Name: f.Name, Repository: l.repository()})
		if err != nil && !packages.IsNotFound(err) {
			h.log.WarnContext(ctx, "snapshot retention: delete file", "package", l.ref().Name, "version", l.version, "file", f.Name, "err", err)
		}
	}
}

// readChecksum reads an uploaded checksum file of the algorithm: hex of
// the right length, optionally followed by a file name.
func readChecksum(r *http.Request, algo string) (string, error) {
	b, err := readSmall(r.Body, maxChecksumSize, "a checksum file")
	if err != nil {
		return "", err
	}
	sum := firstField(b)
	if len(sum) != hexLen[algo] || !isHex(sum) {
		return "", invalid("the %s checksum is not %d hexadecimal digits", algo, hexLen[algo])
	}
	return sum, nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// putChecksum checks an uploaded checksum against the file it names, whose
// checksums were computed from its bytes; it is not stored (checksums are
// served computed). A mismatch is refused and removes the file when the
// file was just stored: its bytes are not what the client built.
func (h *handler) putChecksum(w http.ResponseWriter, r *http.Request, a *packages.Actor, l *location) error {
	ctx := r.Context()
	sum, err := readChecksum(r, l.checksum)
	if err != nil {
		return err
	}
	ref := l.ref()
	if err := h.svc.CanPublish(ctx, a, ref, l.repository()); err != nil {
		return err
	}
	f, sums, err := h.svc.FileChecksums(ctx, a, packages.OpenFileRequest{Package: ref, Version: l.version, Name: l.file})
	if err != nil {
		if packages.IsNotFound(err) {
			return packages.Wrap(packages.KindNotFound, "The file "+l.file+" has not been deployed: deploy it before its checksum.", err)
		}
		return err
	}
	if sum == checksumOf(sums, l.checksum) {
		w.WriteHeader(http.StatusCreated)
		return nil
	}
	msg := "The " + l.checksum + " checksum does not match " + l.file + "."
	if h.svc.Since(f.CreatedAt) < checksumWindow {
		err := h.svc.DeleteFile(ctx, a, packages.DeleteFileRequest{Package: ref, Version: l.version, Name: l.file, Repository: l.repository()})
		if err != nil && !packages.IsNotFound(err) {
			return err
		}
		msg += " The file is removed: deploy it again."
	}
	return invalid("%s", msg)
}

func checksumOf(c packages.Checksums, algo string) string {
	switch algo {
	case "md5":
		return c.MD5
	case "sha1":
		return c.SHA1
	case "sha256":
		return c.SHA256
	}
	return c.SHA512
}

// putMetadata takes a client's maven-metadata.xml (or its checksum): it is
// parsed and checked, and reconciled with what the server holds, which
// wins: the server renders the document from the versions and builds it
// has, so a stale or partial upload (two deploys racing, a version deleted
// since the client read the document) corrupts nothing. Versions the
// client lists that the server does not hold are logged and ignored.
func (h *handler) putMetadata(w http.ResponseWriter, r *http.Request, a *packages.Actor, l *location) error {
	ctx := r.Context()
	ref := l.ref()
	if err := h.svc.CanPublish(ctx, a, ref, l.repository()); err != nil {
		return err
	}
	if l.checksum != "" {
		// The checksum of the client's own document, which is not kept:
		// the server serves the checksums of the document it renders.
		if _, err := readChecksum(r, l.checksum); err != nil {
			return err
		}
		w.WriteHeader(http.StatusCreated)
		return nil
	}
	if r.ContentLength > maxMetadataSize {
		return packages.Errorf(packages.KindTooLarge, "maven-metadata.xml is larger than %d bytes", maxMetadataSize)
	}
	data, err := readSmall(r.Body, maxMetadataSize, "maven-metadata.xml")
	if err != nil {
		return err
	}
	m, err := parseMetadata(data, l)
	if err != nil {
		return err
	}
	if l.target == targetArtifactMetadata && len(m.versions) > 0 {
		h.reconcile(ctx, a, l, m)
	}
	w.WriteHeader(http.StatusCreated)
	return nil
}

// reconcile compares the versions a client's artifact metadata lists with
// the server's and logs those the server does not hold.
func (h *handler) reconcile(ctx context.Context, a *packages.Actor, l *location, m *clientMetadata) {
	_, vs, err := h.svc.ListAllVersions(ctx, a, l.ref())
	if err != nil {
		if !packages.IsNotFound(err) {
			h.log.WarnContext(ctx, "maven metadata: list versions", "package", l.ref().Name, "err", err)
		}
		return
	}
	known := make(map[string]bool, len(vs))
	for _, v := range vs {
		known[v.Name] = true
	}
	var unknown []string
	for _, v := range m.versions {
		if !known[v] {
			unknown = append(unknown, v)
		}
	}
	if len(unknown) > 0 {
		h.log.InfoContext(ctx, "maven metadata lists versions the server does not hold; they are left out",
			"package", l.ref().Name, "versions", unknown)
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
