package maven

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/registry/blobhttp"
)

// Reads: files, their checksums, maven-metadata.xml and directory
// listings.

// artifactMetadata returns an artifact's maven-metadata.xml, rendered from
// the package's active versions in Maven's order, or the cached rendering
// of the package's current revision.
func (h *handler) artifactMetadata(ctx context.Context, a *packages.Actor, l *location) (*document, error) {
	ref := l.ref()
	// The whole package row, with the revision the cache checks.
	pi, err := h.svc.GetPackage(ctx, a, ref, packages.OpRead, packages.ViaRegistry)
	if err != nil {
		return nil, err
	}
	if err := inRepository(pi, l); err != nil {
		return nil, err
	}
	s := slot{pkgID: pi.ID, group: l.group, artifact: l.artifact}
	if d := h.docs.get(s, stampOf(pi)); d != nil {
		return d, nil
	}
	// The versions are read after the package row, so they are at least
	// as new as the revision the document is filed under.
	pi, vs, err := h.svc.ListAllVersions(ctx, a, ref)
	if err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		return nil, packages.ErrVersionNotFound
	}
	names := make([]string, len(vs))
	updated := pi.UpdatedAt
	for i, v := range vs {
		names[i] = v.Name
		if v.UpdatedAt.After(updated) {
			updated = v.UpdatedAt
		}
	}
	slices.SortStableFunc(names, packages.CompareMavenVersions)
	d := newDocument(renderArtifactMetadata(l.group, l.artifact, names, updated), updated)
	h.docs.put(s, stampOf(pi), d)
	return d, nil
}

// versionMetadata returns a SNAPSHOT version's maven-metadata.xml, rendered
// from its files: the newest build, and the newest file of each classifier
// and extension.
func (h *handler) versionMetadata(ctx context.Context, a *packages.Actor, l *location) (*document, error) {
	pi, vi, err := h.svc.GetVersionByName(ctx, a, l.ref(), l.version, packages.ViaRegistry)
	if err != nil {
		return nil, err
	}
	if err := inRepository(pi, l); err != nil {
		return nil, err
	}
	s := slot{pkgID: pi.ID, version: l.version, group: l.group, artifact: l.artifact}
	if d := h.docs.get(s, stampOf(pi)); d != nil {
		return d, nil
	}
	_, _, files, err := h.svc.VersionFiles(ctx, a, l.ref(), vi.Name)
	if err != nil {
		return nil, fmt.Errorf("files of %s@%s: %w", pi.Name, vi.Name, err)
	}
	st := snapshotOf(l.artifact, l.version, files)
	if len(st.entries) == 0 {
		return nil, packages.ErrFileNotFound
	}
	d := newDocument(renderVersionMetadata(l.group, l.artifact, l.version, st), st.updated)
	h.docs.put(s, stampOf(pi), d)
	return d, nil
}

// serveDocument answers with a rendered document, or with one of its
// checksums.
func serveDocument(w http.ResponseWriter, r *http.Request, d *document, checksum string) error {
	w.Header().Set("Cache-Control", "no-cache")
	if checksum != "" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		http.ServeContent(w, r, "", d.modTime, strings.NewReader(d.sums[checksum]))
		return nil
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("ETag", d.etag)
	http.ServeContent(w, r, "", d.modTime, bytes.NewReader(d.body))
	return nil
}

// fileName resolves the name a read asks for: a SNAPSHOT file named
// X-SNAPSHOT that the version does not hold is its newest build's file of
// the same classifier and extension.
func (h *handler) resolveName(ctx context.Context, a *packages.Actor, l *location) (string, error) {
	if !isSnapshot(l.version) {
		return l.file, nil
	}
	af, ok := parseFileName(l.artifact, l.version, l.file)
	if !ok || af.build != nil {
		return l.file, nil
	}
	_, _, files, err := h.svc.VersionFiles(ctx, a, l.ref(), l.version)
	if err != nil {
		return "", err
	}
	var best *build
	name := l.file
	for _, f := range files {
		if f.Name == l.file {
			return l.file, nil
		}
		g, ok := parseFileName(l.artifact, l.version, f.Name)
		if ok && g.build != nil && g.key() == af.key() && newer(g.build, best) {
			best, name = g.build, f.Name
		}
	}
	return name, nil
}

// download serves one file of a version and counts a whole GET as a
// download.
func (h *handler) download(w http.ResponseWriter, r *http.Request, a *packages.Actor, l *location) error {
	ctx := r.Context()
	req := packages.OpenFileRequest{Package: l.ref(), Version: l.version, Name: l.file}
	c, err := h.svc.OpenRegistryFile(ctx, a, req)
	if errors.Is(err, packages.ErrFileNotFound) && isSnapshot(l.version) {
		if req.Name, err = h.resolveName(ctx, a, l); err == nil {
			c, err = h.svc.OpenRegistryFile(ctx, a, req)
		}
	}
	if err != nil {
		return err
	}
	defer c.Close()
	if err := inRepository(c.Package, l); err != nil {
		return err
	}
	if r.Method == http.MethodGet && r.Header.Get("Range") == "" {
		h.svc.CountDownload(c.Package.ID, c.Version.ID)
	}
	blobhttp.Serve(w, r, blobhttp.Blob{Reader: c.Reader, ContentType: c.File.MediaType, ETag: `"` + c.File.Digest + `"`, ModTime: c.File.CreatedAt, Redirect: h.opts.BlobRedirect})
	return nil
}

// fileChecksum serves a checksum of one file of a version, computed from
// its bytes.
func (h *handler) fileChecksum(w http.ResponseWriter, r *http.Request, a *packages.Actor, l *location) error {
	ctx := r.Context()
	if l.repo != anyRepository {
		pi, err := h.svc.RegistryPackage(ctx, a, l.ref())
		if err != nil {
			return err
		}
		if err := inRepository(pi, l); err != nil {
			return err
		}
	}
	req := packages.OpenFileRequest{Package: l.ref(), Version: l.version, Name: l.file}
	f, sums, err := h.svc.FileChecksums(ctx, a, req)
	if errors.Is(err, packages.ErrFileNotFound) && isSnapshot(l.version) {
		if req.Name, err = h.resolveName(ctx, a, l); err == nil {
			f, sums, err = h.svc.FileChecksums(ctx, a, req)
		}
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("ETag", `"`+f.Digest+"-"+l.checksum+`"`)
	http.ServeContent(w, r, "", f.CreatedAt, strings.NewReader(checksumOf(sums, l.checksum)))
	return nil
}

// listing answers a directory: GROUP/ARTIFACT/ lists the versions and the
// metadata files, GROUP/ARTIFACT/VERSION/ the version's files and their
// checksums, as simple HTML.
func (h *handler) listing(w http.ResponseWriter, r *http.Request, a *packages.Actor, l *location) error {
	ctx := r.Context()
	segs := l.dir
	var first error
	if n := len(segs); n >= 2 && validGroupPath(segs[:n-1]) {
		la := *l
		la.group, la.artifact = joinGroup(segs[:n-1]), segs[n-1]
		pi, vs, err := h.svc.ListAllVersions(ctx, a, la.ref())
		if err == nil {
			err = inRepository(pi, l)
		}
		if err == nil {
			names := make([]string, len(vs))
			for i, v := range vs {
				names[i] = v.Name + "/"
			}
			slices.SortStableFunc(names, func(x, y string) int {
				return packages.CompareMavenVersions(strings.TrimSuffix(x, "/"), strings.TrimSuffix(y, "/"))
			})
			names = append(names, withChecksums(metadataName)...)
			return writeListing(w, r, names)
		}
		if !packages.IsNotFound(err) {
			return err
		}
		first = err
	}
	if n := len(segs); n >= 3 && validGroupPath(segs[:n-2]) && packages.ValidMavenVersion(segs[n-1]) {
		lv := *l
		lv.group, lv.artifact, lv.version = joinGroup(segs[:n-2]), segs[n-2], segs[n-1]
		pi, _, files, err := h.svc.VersionFiles(ctx, a, lv.ref(), lv.version)
		if err == nil {
			err = inRepository(pi, l)
		}
		if err == nil {
			var names []string
			for _, f := range files {
				names = append(names, withChecksums(f.Name)...)
			}
			slices.Sort(names)
			if isSnapshot(lv.version) {
				names = append(names, withChecksums(metadataName)...)
			}
			return writeListing(w, r, names)
		}
		if first == nil || !packages.IsNotFound(err) {
			first = err
		}
	}
	if first == nil {
		first = packages.Errorf(packages.KindNotFound, "Not found: directories of artifacts (GROUP/ARTIFACT/) and versions (GROUP/ARTIFACT/VERSION/) are listed")
	}
	return first
}

// withChecksums is a file name followed by its checksum files.
func withChecksums(name string) []string {
	out := []string{name}
	for _, c := range checksumExts {
		out = append(out, name+c.ext)
	}
	return out
}

func writeListing(w http.ResponseWriter, r *http.Request, names []string) error {
	var b strings.Builder
	title := html.EscapeString(r.URL.Path)
	b.WriteString("<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>" + title + "</title></head>\n<body>\n<h1>" + title + "</h1>\n<pre>\n")
	b.WriteString("<a href=\"../\">../</a>\n")
	for _, n := range names {
		href := url.PathEscape(strings.TrimSuffix(n, "/"))
		if strings.HasSuffix(n, "/") {
			href += "/"
		}
		b.WriteString("<a href=\"" + href + "\">" + html.EscapeString(n) + "</a>\n")
	}
	b.WriteString("</pre>\n</body>\n</html>\n")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, "", time.Time{}, strings.NewReader(b.String()))
	return nil
}
