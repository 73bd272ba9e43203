package npm

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/registry/blobhttp"
)

// Media types of packuments.
const (
	mediaJSON        = "application/json"
	mediaAbbreviated = "application/vnd.npm.install-v1+json"
)

// abbreviatedFields are the version fields an abbreviated ("corgi")
// packument keeps: what an install needs.
var abbreviatedFields = []string{
	"name", "version", "deprecated", "dependencies", "optionalDependencies", "devDependencies",
	"bundleDependencies", "bundledDependencies", "peerDependencies", "peerDependenciesMeta",
	"acceptDependencies", "bin", "directories", "dist", "engines", "cpu", "os", "libc",
	"funding", "license", "_hasShrinkwrap", "hasInstallScript",
}

// packageFields are copied from the latest version to the top of a full
// packument.
var packageFields = []string{"description", "homepage", "keywords", "repository", "author", "bugs", "license", "readme", "readmeFilename"}

// jsTime formats a time as JavaScript's Date.toISOString does.
func jsTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// doc is a package's rendered state.
type doc struct {
	name     pkgName // canonical: the owner's login in lower case
	pkg      *packages.PackageInfo
	versions []packages.VersionInfo // oldest first
	byName   map[string]int
	tags     map[string]string // dist-tag -> version
	rev      string
	modified time.Time
}

// load returns a package's document: the cached one when the package's
// row, read on every call, shows it is still current; else it is read from
// the service and cached. The document is shared: callers must not change
// it.
func (h *handler) load(r *http.Request, a *packages.Actor, n pkgName) (*doc, error) {
	e, err := h.entry(r.Context(), a, n)
	if err != nil {
		return nil, err
	}
	return e.doc, nil
}

// entry returns the cache entry of a package's current document. The
// package row, read (and access checked) on every call, carries what
// tells a current entry from a stale one: its revision, which the database
// moves on every change to the package's versions and tags, whichever
// replica made it. So a hit costs one lookup of the package and no read of
// its versions.
func (h *handler) entry(ctx context.Context, a *packages.Actor, n pkgName) (*docEntry, error) {
	pi, err := h.svc.GetPackage(ctx, a, n.ref(), packages.OpRead, packages.ViaRegistry)
	if err != nil {
		return nil, err
	}
	key := keyOf(pi)
	if e := h.docs.get(key); e != nil {
		return e, nil
	}
	return h.docs.fill(key, func() (*docEntry, error) {
		// The versions are read after the package row, so they are at
		// least as new as the revision the entry is filed under.
		pi, vs, err := h.svc.ListAllVersions(ctx, a, n.ref())
		if err != nil {
			return nil, err
		}
		for i := range vs {
			vs[i].Metadata = slimManifest(vs[i].Metadata)
		}
		d := newDoc(pi, vs)
		size := 0
		for i := range vs {
			size += len(vs[i].Metadata) + len(vs[i].Name) + 128
		}
		return &docEntry{key: keyOf(pi), doc: d, size: size}, nil
	})
}

// newDoc builds a package's document from its versions, oldest first.
func newDoc(pi *packages.PackageInfo, vs []packages.VersionInfo) *doc {
	d := &doc{
		name:     pkgName{owner: strings.ToLower(pi.Owner.Login), name: pi.Name},
		pkg:      pi,
		versions: vs,
		byName:   make(map[string]int, len(vs)),
		tags:     map[string]string{},
		modified: pi.UpdatedAt,
	}
	hash := sha256.New()
	var buf [8]byte
	put := func(x int64) {
		binary.LittleEndian.PutUint64(buf[:], uint64(x))
		hash.Write(buf[:])
	}
	put(pi.ID)
	put(pi.UpdatedAt.UnixNano())
	names := make([]string, 0, len(vs))
	for i, v := range vs {
		d.byName[v.Name] = i
		names = append(names, v.Name)
		for _, t := range v.Tags {
			d.tags[t] = v.Name
			hash.Write([]byte(t))
		}
		put(v.ID)
		put(v.UpdatedAt.UnixNano())
		put(int64(len(v.Metadata)))
		hash.Write(v.Metadata)
		if v.UpdatedAt.After(d.modified) {
			d.modified = v.UpdatedAt
		}
	}
	if _, ok := d.tags["latest"]; !ok && len(vs) > 0 {
		// The version "latest" named was deleted: npm expects the tag, so
		// point it at the highest remaining version.
		if hv := highestVersion(names); hv != "" {
			d.tags["latest"] = hv
		} else {
			d.tags["latest"] = vs[len(vs)-1].Name
		}
		hash.Write([]byte("latest=" + d.tags["latest"]))
	}
	d.rev = strconv.Itoa(len(vs)+1) + "-" + hex.EncodeToString(hash.Sum(nil)[:16])
	return d
}

// manifest returns a version's manifest as the packument shows it: the
// stored manifest with its name, version and tarball URL set.
func (h *handler) manifest(r *http.Request, d *doc, v *packages.VersionInfo) map[string]json.RawMessage {
	m := map[string]json.RawMessage{}
	if len(v.Metadata) > 0 {
		if err := json.Unmarshal(v.Metadata, &m); err != nil || m == nil {
			m = map[string]json.RawMessage{}
		}
	}
	full := d.name.String()
	m["name"] = mustJSON(full)
	m["version"] = mustJSON(v.Name)
	m["_id"] = mustJSON(full + "@" + v.Name)
	dist := map[string]json.RawMessage{}
	if raw, ok := m["dist"]; ok {
		if err := json.Unmarshal(raw, &dist); err != nil || dist == nil {
			dist = map[string]json.RawMessage{}
		}
	}
	dist["tarball"] = mustJSON(h.tarballURL(r, d.name, v.Name))
	m["dist"] = mustJSON(dist)
	if dep, ok := m["deprecated"]; ok && deprecation(dep) == "" {
		delete(m, "deprecated")
	}
	return m
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// deprecation returns a "deprecated" value's message; "" when it does not
// deprecate.
func deprecation(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// objWriter writes a JSON object member by member, in order.
type objWriter struct {
	b bytes.Buffer
	n int
}

func (o *objWriter) raw(key string, v json.RawMessage) {
	if o.n == 0 {
		o.b.WriteByte('{')
	} else {
		o.b.WriteByte(',')
	}
	o.n++
	k, _ := json.Marshal(key)
	o.b.Write(k)
	o.b.WriteByte(':')
	o.b.Write(v)
}

func (o *objWriter) field(key string, v any) { o.raw(key, mustJSON(v)) }

func (o *objWriter) bytes() []byte {
	if o.n == 0 {
		return []byte("{}")
	}
	o.b.WriteByte('}')
	return o.b.Bytes()
}

// wantsAbbreviated reports whether the client asked for the abbreviated
// packument npm installs use.
func wantsAbbreviated(r *http.Request) bool {
	if r.URL.Query().Get("write") == "true" {
		return false
	}
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(mt), mediaAbbreviated) {
			continue
		}
		for _, p := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(k, "q") {
				if q, err := strconv.ParseFloat(v, 64); err == nil && q <= 0 {
					return false
				}
			}
		}
		return true
	}
	return false
}

// packument serves a package's document, full or abbreviated, gzipped
// when the client accepts it. Rendered bodies are kept with the cached
// document, so an unchanged package is rendered and compressed once.
func (h *handler) packument(w http.ResponseWriter, r *http.Request, a *packages.Actor, n pkgName) error {
	e, err := h.entry(r.Context(), a, n)
	if err != nil {
		return err
	}
	d := e.doc
	abbrev := wantsAbbreviated(r)
	etag := `"` + d.rev
	if abbrev {
		etag += "-c"
	}
	etag += `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Vary", "Accept, Accept-Encoding, Authorization")
	if inm := r.Header.Get("If-None-Match"); inm != "" && strings.Contains(inm, etag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	bk := bodyKey{base: h.baseURL(r), abbrev: abbrev, gzip: acceptsGzip(r)}
	body := h.docs.body(e, bk, func() []byte {
		if abbrev {
			return h.renderAbbreviated(r, d)
		}
		return h.renderFull(r, d)
	})
	if bk.gzip {
		w.Header().Set("Content-Encoding", "gzip")
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	if abbrev {
		return writeRaw(w, http.StatusOK, mediaAbbreviated, body)
	}
	return writeRaw(w, http.StatusOK, mediaJSON, body)
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.TrimSpace(coding)
		if !strings.EqualFold(coding, "gzip") && !strings.EqualFold(coding, "x-gzip") {
			continue
		}
		for _, p := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(k, "q") {
				if q, err := strconv.ParseFloat(v, 64); err == nil && q <= 0 {
					return false
				}
			}
		}
		return true
	}
	return false
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(b)/8 + 64)
	zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func (h *handler) renderAbbreviated(r *http.Request, d *doc) []byte {
	var vers objWriter
	for i := range d.versions {
		m := h.manifest(r, d, &d.versions[i])
		var o objWriter
		for _, f := range abbreviatedFields {
			if v, ok := m[f]; ok {
				o.raw(f, v)
			}
		}
		if _, ok := m["hasInstallScript"]; !ok && hasInstallScript(m["scripts"]) {
			o.field("hasInstallScript", true)
		}
		vers.raw(d.versions[i].Name, o.bytes())
	}
	var o objWriter
	o.field("name", d.name.String())
	o.field("modified", jsTime(d.modified))
	o.field("dist-tags", d.tags)
	o.raw("versions", vers.bytes())
	return o.bytes()
}

func hasInstallScript(raw json.RawMessage) bool {
	var scripts map[string]json.RawMessage
	if len(raw) == 0 || json.Unmarshal(raw, &scripts) != nil {
		return false
	}
	for _, s := range []string{"preinstall", "install", "postinstall"} {
		if _, ok := scripts[s]; ok {
			return true
		}
	}
	return false
}

func (h *handler) renderFull(r *http.Request, d *doc) []byte {
	var vers objWriter
	var times objWriter
	times.field("created", jsTime(d.pkg.CreatedAt))
	times.field("modified", jsTime(d.modified))
	var latest map[string]json.RawMessage
	for i := range d.versions {
		v := &d.versions[i]
		m := h.manifest(r, d, v)
		if v.Name == d.tags["latest"] {
			// The readme shows at the top, from the latest version.
			latest = maps.Clone(m)
		}
		delete(m, "readme")
		delete(m, "readmeFilename")
		vers.raw(v.Name, mustJSON(m))
		times.field(v.Name, jsTime(v.CreatedAt))
	}
	if latest == nil && len(d.versions) > 0 {
		latest = h.manifest(r, d, &d.versions[len(d.versions)-1])
	}
	var o objWriter
	o.field("_id", d.name.String())
	o.field("_rev", d.rev)
	o.field("name", d.name.String())
	o.field("dist-tags", d.tags)
	o.raw("versions", vers.bytes())
	o.raw("time", times.bytes())
	for _, f := range packageFields {
		if v, ok := latest[f]; ok {
			o.raw(f, v)
		}
	}
	if _, ok := latest["repository"]; !ok && d.pkg.Repository != nil && d.pkg.RepositoryOwner != nil {
		o.field("repository", map[string]string{
			"type": "git",
			"url":  "git+" + h.baseURL(r) + "/" + d.pkg.RepositoryOwner.Login + "/" + d.pkg.Repository.Name + ".git",
		})
	}
	return o.bytes()
}

// version serves one version's manifest, by version or by dist-tag.
func (h *handler) version(w http.ResponseWriter, r *http.Request, a *packages.Actor, n pkgName, spec string) error {
	d, err := h.load(r, a, n)
	if err != nil {
		return err
	}
	name := spec
	if _, ok := d.byName[spec]; !ok {
		t, ok := d.tags[spec]
		if !ok {
			return packages.Errorf(packages.KindNotFound, "version not found: %s", spec)
		}
		name = t
	}
	v := &d.versions[d.byName[name]]
	m := h.manifest(r, d, v)
	delete(m, "readmeFilename")
	return writeRaw(w, http.StatusOK, mediaJSON, mustJSON(m))
}

// parseTarballName returns the version a tarball file name names.
func parseTarballName(n pkgName, file string) (string, bool) {
	if !strings.HasPrefix(file, n.name+"-") || !strings.HasSuffix(file, ".tgz") {
		return "", false
	}
	v := strings.TrimSuffix(strings.TrimPrefix(file, n.name+"-"), ".tgz")
	return v, v != ""
}

// tarball serves a version's tarball and counts the download.
func (h *handler) tarball(w http.ResponseWriter, r *http.Request, a *packages.Actor, n pkgName, file string) error {
	ver, ok := parseTarballName(n, file)
	if !ok {
		return errNotFound
	}
	ctx := r.Context()
	req := packages.OpenFileRequest{Package: n.ref(), Version: ver, Name: file,
		CountDownload: r.Method == http.MethodGet && r.Header.Get("Range") == ""}
	c, err := h.svc.OpenFile(ctx, a, req)
	if errors.Is(err, packages.ErrFileNotFound) {
		// A tarball published under another file name: the version's own.
		req.Name = ""
		c, err = h.svc.OpenFile(ctx, a, req)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	w.Header().Set("Cache-Control", "private, max-age=300")
	blobhttp.Serve(w, r, blobhttp.Blob{Reader: c.Reader, ETag: `"` + c.File.Digest + `"`, ModTime: c.Version.CreatedAt, Redirect: h.opts.BlobRedirect})
	return nil
}

// listDistTags serves a package's dist-tags.
func (h *handler) listDistTags(w http.ResponseWriter, r *http.Request, a *packages.Actor, n pkgName) error {
	d, err := h.load(r, a, n)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d.tags)
}

func (h *handler) getDistTag(w http.ResponseWriter, r *http.Request, a *packages.Actor, n pkgName, tag string) error {
	d, err := h.load(r, a, n)
	if err != nil {
		return err
	}
	v, ok := d.tags[tag]
	if !ok {
		return packages.Errorf(packages.KindNotFound, "dist-tag %s not found", tag)
	}
	return writeJSON(w, http.StatusOK, v)
}

// validTag reports whether a dist-tag name is acceptable: npm refuses tags
// that are valid versions (they would shadow them) and tags that cannot
// appear in a URL path segment unescaped.
func validTag(tag string) bool {
	if tag == "" || len(tag) > 256 || strings.TrimSpace(tag) != tag {
		return false
	}
	if _, ok := parseSemver(strings.TrimPrefix(tag, "v")); ok {
		return false
	}
	for _, c := range tag {
		if c < 0x21 || c == 0x7f || strings.ContainsRune(`/\%?#"`, c) {
			return false
		}
	}
	return true
}

// setDistTag points a dist-tag at a version; the body is the version as a
// JSON string.
func (h *handler) setDistTag(w http.ResponseWriter, r *http.Request, a *packages.Actor, n pkgName, tag string) error {
	if !validTag(tag) {
		return packages.Errorf(packages.KindInvalid, "invalid dist-tag %q: a tag must not be empty, a version, or contain spaces or slashes", tag)
	}
	body := http.MaxBytesReader(w, r.Body, 4096)
	var version string
	if err := json.NewDecoder(body).Decode(&version); err != nil {
		return packages.Errorf(packages.KindInvalid, "the request body must be a version as a JSON string")
	}
	if err := h.svc.SetTag(r.Context(), a, n.ref(), tag, version); err != nil {
		if errors.Is(err, packages.ErrVersionNotFound) {
			return packages.Errorf(packages.KindNotFound, "version not found: %s", version)
		}
		return err
	}
	return h.listDistTags(w, r, a, n)
}

func (h *handler) deleteDistTag(w http.ResponseWriter, r *http.Request, a *packages.Actor, n pkgName, tag string) error {
	if tag == "latest" {
		return packages.Errorf(packages.KindInvalid, "the latest dist-tag cannot be removed; point it at another version instead")
	}
	if err := h.svc.DeleteTag(r.Context(), a, n.ref(), tag); err != nil {
		if errors.Is(err, packages.ErrTagNotFound) {
			return packages.Errorf(packages.KindNotFound, "dist-tag %s not found", tag)
		}
		return err
	}
	return h.listDistTags(w, r, a, n)
}

// searchResult is one entry of the search endpoint's "objects".
type searchResult struct {
	Package     searchPackage `json:"package"`
	Score       searchScore   `json:"score"`
	SearchScore float64       `json:"searchScore"`
}

type searchPackage struct {
	Name        string            `json:"name"`
	Scope       string            `json:"scope"`
	Version     string            `json:"version"`
	Description string            `json:"description,omitempty"`
	Keywords    []string          `json:"keywords,omitempty"`
	Date        string            `json:"date"`
	Links       map[string]string `json:"links"`
	Publisher   *searchUser       `json:"publisher,omitempty"`
	Maintainers []searchUser      `json:"maintainers"`
}

type searchUser struct {
	Username string `json:"username"`
}

type searchScore struct {
	Final  float64            `json:"final"`
	Detail map[string]float64 `json:"detail"`
}

// search serves /-/v1/search over the packages the caller may read.
func (h *handler) search(w http.ResponseWriter, r *http.Request, a *packages.Actor) error {
	q := r.URL.Query()
	text := strings.TrimSpace(q.Get("text"))
	size := 20
	if s, err := strconv.Atoi(q.Get("size")); err == nil && s > 0 {
		size = min(s, 250)
	}
	from := 0
	if f, err := strconv.Atoi(q.Get("from")); err == nil && f > 0 {
		from = min(f, 1<<20)
	}
	// "@owner/name" and "@owner" restrict to one owner.
	var scope string
	if strings.HasPrefix(text, "@") {
		scope, text, _ = strings.Cut(text[1:], "/")
	}
	if len(text) > 214 {
		return packages.Errorf(packages.KindInvalid, "search text too long")
	}
	ctx := r.Context()
	var infos []packages.PackageInfo
	total := 0
	if scope == "" && from%size == 0 {
		var err error
		infos, total, err = h.svc.SearchPackages(ctx, a, packages.TypeNpm, text, packages.Page{Page: from/size + 1, PerPage: size})
		if err != nil {
			return err
		}
	} else {
		all, _, err := h.svc.SearchPackages(ctx, a, packages.TypeNpm, text, packages.Page{})
		if err != nil {
			return err
		}
		for _, pi := range all {
			if scope == "" || strings.EqualFold(pi.Owner.Login, scope) {
				infos = append(infos, pi)
			}
		}
		total = len(infos)
		infos = infos[min(from, len(infos)):]
		infos = infos[:min(size, len(infos))]
	}
	objects := make([]searchResult, 0, len(infos))
	for i := range infos {
		pi := &infos[i]
		n := pkgName{owner: strings.ToLower(pi.Owner.Login), name: pi.Name}
		sp := searchPackage{
			Name:        n.String(),
			Scope:       n.owner,
			Date:        jsTime(pi.UpdatedAt),
			Links:       map[string]string{},
			Maintainers: []searchUser{{Username: pi.Owner.Login}},
		}
		if pi.Repository != nil && pi.RepositoryOwner != nil {
			sp.Links["repository"] = h.baseURL(r) + "/" + pi.RepositoryOwner.Login + "/" + pi.Repository.Name
		}
		if _, v, err := h.svc.ResolveTag(ctx, a, n.ref(), "latest"); err == nil {
			h.fillSearchVersion(&sp, v)
		} else if _, vs, _, err := h.svc.ListVersions(ctx, a, n.ref(), packages.Active, packages.Page{Page: 1, PerPage: 1}, packages.ViaRegistry); err == nil && len(vs) > 0 {
			h.fillSearchVersion(&sp, &vs[0])
		}
		objects = append(objects, searchResult{
			Package:     sp,
			Score:       searchScore{Final: 1, Detail: map[string]float64{"quality": 1, "popularity": 1, "maintenance": 1}},
			SearchScore: 1,
		})
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"objects": objects,
		"total":   total,
		"time":    time.Now().UTC().Format(time.RFC1123),
	})
}

func (h *handler) fillSearchVersion(sp *searchPackage, v *packages.VersionInfo) {
	sp.Version = v.Name
	sp.Date = jsTime(v.CreatedAt)
	var m struct {
		Description json.RawMessage `json:"description"`
		Keywords    json.RawMessage `json:"keywords"`
		NpmUser     *struct {
			Name string `json:"name"`
		} `json:"_npmUser"`
	}
	if json.Unmarshal(v.Metadata, &m) != nil {
		return
	}
	json.Unmarshal(m.Description, &sp.Description)
	var kw []string
	if json.Unmarshal(m.Keywords, &kw) == nil {
		sp.Keywords = kw
	}
	if m.NpmUser != nil && m.NpmUser.Name != "" {
		sp.Publisher = &searchUser{Username: m.NpmUser.Name}
	}
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
