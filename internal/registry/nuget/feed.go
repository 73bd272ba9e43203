package nuget

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/registry/blobhttp"
)

// feedDoc is a package's versions as the feed shows them.
type feedDoc struct {
	pkg      *packages.PackageInfo
	id       string        // the id to show: the newest version's
	versions []feedVersion // lowest version first
	byName   map[string]int
}

// feedVersion is one version of a feedDoc.
type feedVersion struct {
	name      string // canonical: normalised, lower case
	m         *Manifest
	id        int64
	published time.Time
	downloads int64
}

// newDoc builds a package's document from its versions.
func (h *handler) newDoc(pi *packages.PackageInfo, vs []packages.VersionInfo) *feedDoc {
	d := &feedDoc{pkg: pi, id: pi.Name, byName: make(map[string]int, len(vs))}
	for i := range vs {
		v := &vs[i]
		m := &Manifest{}
		if len(v.Metadata) == 0 || json.Unmarshal(v.Metadata, m) != nil || m.Version == "" {
			// A version not pushed through this registry: show its name.
			m = &Manifest{ID: pi.Name, Version: v.Name, Description: v.Description}
		}
		d.versions = append(d.versions, feedVersion{name: v.Name, m: m, id: v.ID, published: v.CreatedAt, downloads: v.DownloadCount})
	}
	slices.SortStableFunc(d.versions, func(a, b feedVersion) int {
		return h.svc.CompareVersions(packages.TypeNuGet, a.name, b.name)
	})
	for i, v := range d.versions {
		d.byName[v.name] = i
	}
	if n := len(d.versions); n > 0 && d.versions[n-1].m.ID != "" {
		d.id = d.versions[n-1].m.ID
	}
	return d
}

// entry returns the cache entry of a package's current document. The
// package row, read (and access checked) on every call, tells a current
// entry from a stale one, so a hit costs one lookup of the package.
func (h *handler) entry(ctx context.Context, a *packages.Actor, f feed, id string) (*docEntry, error) {
	if !ValidID(id) {
		return nil, packages.ErrPackageNotFound
	}
	// The whole package row, with its revision: a registry lookup's row
	// lacks it.
	pi, err := h.svc.GetPackage(ctx, a, f.ref(id), packages.OpRead, packages.ViaRegistry)
	if err != nil {
		return nil, err
	}
	return h.entryOf(ctx, a, f, pi)
}

// entryOf is entry for a package the caller has been found to read.
func (h *handler) entryOf(ctx context.Context, a *packages.Actor, f feed, pi *packages.PackageInfo) (*docEntry, error) {
	key := keyOf(pi)
	if e := h.docs.get(key); e != nil {
		return e, nil
	}
	return h.docs.fill(key, func() (*docEntry, error) {
		h.docs.loads.Add(1)
		// The versions are read after the package row, so they are at
		// least as new as the revision the entry is filed under.
		pi, vs, err := h.svc.ListAllVersions(ctx, a, f.ref(pi.Name))
		if err != nil {
			return nil, err
		}
		size := 256
		for i := range vs {
			size += len(vs[i].Metadata)*2 + len(vs[i].Name) + 256
		}
		return &docEntry{key: keyOf(pi), doc: h.newDoc(pi, vs), size: size}, nil
	})
}

// hub is one registration resource: which versions it shows and whether
// it is served gzipped.
type hub struct {
	path    string
	semVer2 bool
	gzip    bool
}

var hubs = map[string]hub{
	pathRegistration: {path: pathRegistration},
	pathRegGzSemVer1: {path: pathRegGzSemVer1, gzip: true},
	pathRegGzSemVer2: {path: pathRegGzSemVer2, semVer2: true, gzip: true},
}

// visible returns the versions a hub shows.
func (d *feedDoc) visible(semVer2 bool) []*feedVersion {
	out := make([]*feedVersion, 0, len(d.versions))
	for i := range d.versions {
		if semVer2 || !d.versions[i].m.SemVer2 {
			out = append(out, &d.versions[i])
		}
	}
	return out
}

// Registration pages: as nuget.org, versions go in pages of pageSize, and
// the index inlines them when there are at most inlineMax.
const (
	pageSize  = 64
	inlineMax = 128
)

// urls builds the feed's URLs for one package.
type urls struct {
	base string // the feed's URL
	hub  string
	id   string // lower case
}

func (u urls) regBase() string              { return u.base + u.hub + "/" + u.id }
func (u urls) regIndex() string             { return u.regBase() + "/index.json" }
func (u urls) leaf(v string) string         { return u.regBase() + "/" + v + ".json" }
func (u urls) pageURL(lo, hi string) string { return u.regBase() + "/page/" + lo + "/" + hi + ".json" }
func (u urls) catalog(v string) string      { return u.base + pathCatalog + "/" + u.id + "/" + v + ".json" }
func (u urls) content(v string) string {
	return u.base + pathFlat + "/" + u.id + "/" + v + "/" + u.id + "." + v + ".nupkg"
}
func (u urls) depRegistration(id string) string {
	return u.base + u.hub + "/" + strings.ToLower(id) + "/index.json"
}

// nugetTime formats a time as nuget.org's documents do.
func nugetTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// The JSON documents of the registration resource.
type (
	registrationIndex struct {
		ID    string             `json:"@id"`
		Type  []string           `json:"@type"`
		Count int                `json:"count"`
		Items []registrationPage `json:"items"`
	}
	registrationPage struct {
		ID     string             `json:"@id"`
		Type   string             `json:"@type"`
		Count  int                `json:"count"`
		Items  []registrationLeaf `json:"items,omitempty"`
		Parent string             `json:"parent,omitempty"`
		Lower  string             `json:"lower"`
		Upper  string             `json:"upper"`
	}
	registrationLeaf struct {
		ID             string        `json:"@id"`
		Type           string        `json:"@type"`
		CatalogEntry   *catalogEntry `json:"catalogEntry"`
		PackageContent string        `json:"packageContent"`
		Registration   string        `json:"registration"`
	}
	leafDocument struct {
		ID             string   `json:"@id"`
		Type           []string `json:"@type"`
		CatalogEntry   string   `json:"catalogEntry"`
		Listed         bool     `json:"listed"`
		PackageContent string   `json:"packageContent"`
		Published      string   `json:"published"`
		Registration   string   `json:"registration"`
	}
	catalogEntry struct {
		ID                       string            `json:"@id"`
		Type                     string            `json:"@type"`
		Authors                  string            `json:"authors"`
		DependencyGroups         []dependencyGroup `json:"dependencyGroups"`
		Description              string            `json:"description"`
		IconURL                  string            `json:"iconUrl"`
		PackageID                string            `json:"id"`
		Language                 string            `json:"language"`
		LicenseExpression        string            `json:"licenseExpression"`
		LicenseURL               string            `json:"licenseUrl"`
		Listed                   bool              `json:"listed"`
		MinClientVersion         string            `json:"minClientVersion"`
		PackageContent           string            `json:"packageContent"`
		ProjectURL               string            `json:"projectUrl"`
		Published                string            `json:"published"`
		ReadmeURL                string            `json:"readmeUrl,omitempty"`
		RequireLicenseAcceptance bool              `json:"requireLicenseAcceptance"`
		Summary                  string            `json:"summary"`
		Tags                     []string          `json:"tags"`
		Title                    string            `json:"title"`
		Version                  string            `json:"version"`
	}
	dependencyGroup struct {
		ID              string       `json:"@id"`
		Type            string       `json:"@type"`
		TargetFramework string       `json:"targetFramework,omitempty"`
		Dependencies    []dependency `json:"dependencies"`
	}
	dependency struct {
		ID           string `json:"@id"`
		Type         string `json:"@type"`
		PackageID    string `json:"id"`
		Range        string `json:"range"`
		Registration string `json:"registration"`
	}
)

func (u urls) catalogEntry(v *feedVersion) *catalogEntry {
	m := v.m
	ce := &catalogEntry{
		ID:                       u.catalog(v.name),
		Type:                     "PackageDetails",
		Authors:                  m.Authors,
		DependencyGroups:         []dependencyGroup{},
		Description:              m.Description,
		IconURL:                  m.IconURL,
		PackageID:                m.ID,
		Language:                 m.Language,
		LicenseExpression:        m.LicenseExpression,
		LicenseURL:               m.LicenseURL,
		Listed:                   true,
		MinClientVersion:         m.MinClientVersion,
		PackageContent:           u.content(v.name),
		ProjectURL:               m.ProjectURL,
		Published:                nugetTime(v.published),
		RequireLicenseAcceptance: m.RequireLicenseAcceptance,
		Summary:                  m.Summary,
		Tags:                     m.Tags,
		Title:                    m.Title,
		Version:                  m.Version,
	}
	if ce.Tags == nil {
		ce.Tags = []string{}
	}
	if m.Readme != "" {
		ce.ReadmeURL = u.base + pathFlat + "/" + u.id + "/" + v.name + "/readme"
	}
	for _, g := range m.DependencyGroups {
		gid := ce.ID + "#dependencygroup"
		if g.TargetFramework != "" {
			gid += "/" + strings.ToLower(g.TargetFramework)
		}
		dg := dependencyGroup{ID: gid, Type: "PackageDependencyGroup", TargetFramework: g.TargetFramework, Dependencies: []dependency{}}
		for _, d := range g.Dependencies {
			dg.Dependencies = append(dg.Dependencies, dependency{
				ID: gid + "/" + strings.ToLower(d.ID), Type: "PackageDependency",
				PackageID: d.ID, Range: d.Range, Registration: u.depRegistration(d.ID),
			})
		}
		ce.DependencyGroups = append(ce.DependencyGroups, dg)
	}
	return ce
}

func (u urls) leafItem(v *feedVersion) registrationLeaf {
	return registrationLeaf{ID: u.leaf(v.name), Type: "Package", CatalogEntry: u.catalogEntry(v),
		PackageContent: u.content(v.name), Registration: u.regIndex()}
}

// pages splits versions into registration pages.
func pages(vs []*feedVersion) [][]*feedVersion {
	var out [][]*feedVersion
	for len(vs) > 0 {
		n := min(pageSize, len(vs))
		out = append(out, vs[:n])
		vs = vs[n:]
	}
	return out
}

func (u urls) pageOf(p []*feedVersion, inline bool) registrationPage {
	lo, hi := p[0], p[len(p)-1]
	rp := registrationPage{Type: "catalog:CatalogPage", Count: len(p), Lower: lo.m.Version, Upper: hi.m.Version}
	if !inline {
		rp.ID = u.pageURL(lo.name, hi.name)
		return rp
	}
	rp.ID = u.regIndex() + "#page/" + lo.name + "/" + hi.name
	rp.Parent = u.regIndex()
	for _, v := range p {
		rp.Items = append(rp.Items, u.leafItem(v))
	}
	return rp
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only the documents above are rendered: they always marshal.
		panic(err)
	}
	return b
}

// serveDoc writes a rendered document, gzipped when the body key says so.
func serveDoc(w http.ResponseWriter, r *http.Request, body []byte, gz bool) error {
	if body == nil {
		return packages.ErrPackageNotFound
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("Vary", "Accept-Encoding, Authorization, X-NuGet-ApiKey")
	if gz {
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
	return nil
}

// gzipFor reports whether a gzipped hub's document goes out gzipped: as
// nuget.org serves it, unless the client's Accept-Encoding rules gzip out.
func gzipFor(hb hub, r *http.Request) bool {
	if !hb.gzip {
		return false
	}
	ae := r.Header.Get("Accept-Encoding")
	if ae == "" {
		return true
	}
	for _, part := range strings.Split(ae, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "x-gzip" && coding != "*" {
			continue
		}
		if q, ok := strings.CutPrefix(strings.ReplaceAll(strings.TrimSpace(params), " ", ""), "q="); ok {
			if f, err := strconv.ParseFloat(q, 64); err == nil && f <= 0 {
				continue
			}
		}
		return true
	}
	return false
}

// registrationIndex serves a package's registration index.
func (h *handler) registrationIndex(w http.ResponseWriter, r *http.Request, a *packages.Actor, f feed, hb hub, id string) error {
	e, err := h.entry(r.Context(), a, f, id)
	if err != nil {
		return err
	}
	gz := gzipFor(hb, r)
	u := urls{base: f.base, hub: hb.path, id: strings.ToLower(id)}
	body := h.docs.body(e, bodyKey{kind: "index", hub: hb.path, base: f.base, gzip: gz}, func() []byte {
		vs := e.doc.visible(hb.semVer2)
		if len(vs) == 0 {
			return nil
		}
		ps := pages(vs)
		idx := registrationIndex{ID: u.regIndex(), Type: []string{"catalog:CatalogRoot", "PackageRegistration", "catalog:Permalink"}, Count: len(ps)}
		for _, p := range ps {
			idx.Items = append(idx.Items, u.pageOf(p, len(vs) <= inlineMax))
		}
		return mustJSON(idx)
	})
	return serveDoc(w, r, body, gz)
}

// registrationPage serves one linked page of a large package's
// registration.
func (h *handler) registrationPage(w http.ResponseWriter, r *http.Request, a *packages.Actor, f feed, hb hub, id, lower, upper string) error {
	e, err := h.entry(r.Context(), a, f, id)
	if err != nil {
		return err
	}
	lo, errLo := h.svc.NormalizeVersion(packages.TypeNuGet, lower)
	hi, errHi := h.svc.NormalizeVersion(packages.TypeNuGet, upper)
	if errLo != nil || errHi != nil {
		return packages.ErrPackageNotFound
	}
	gz := gzipFor(hb, r)
	u := urls{base: f.base, hub: hb.path, id: strings.ToLower(id)}
	body := h.docs.body(e, bodyKey{kind: "page", hub: hb.path, base: f.base, arg: lo + "/" + hi, gzip: gz}, func() []byte {
		for _, p := range pages(e.doc.visible(hb.semVer2)) {
			if p[0].name == lo && p[len(p)-1].name == hi {
				rp := u.pageOf(p, true)
				rp.ID = u.pageURL(lo, hi)
				return mustJSON(rp)
			}
		}
		return nil
	})
	return serveDoc(w, r, body, gz)
}

// version returns a version of a document by any form of its name.
func (h *handler) version(d *feedDoc, name string, semVer2 bool) *feedVersion {
	canon, err := h.svc.NormalizeVersion(packages.TypeNuGet, name)
	if err != nil {
		return nil
	}
	i, ok := d.byName[canon]
	if !ok || (!semVer2 && d.versions[i].m.SemVer2) {
		return nil
	}
	return &d.versions[i]
}

// registrationLeaf serves one version's registration leaf.
func (h *handler) registrationLeaf(w http.ResponseWriter, r *http.Request, a *packages.Actor, f feed, hb hub, id, ver string) error {
	e, err := h.entry(r.Context(), a, f, id)
	if err != nil {
		return err
	}
	v := h.version(e.doc, ver, hb.semVer2)
	if v == nil {
		return packages.ErrVersionNotFound
	}
	gz := gzipFor(hb, r)
	u := urls{base: f.base, hub: hb.path, id: strings.ToLower(id)}
	body := mustJSON(leafDocument{
		ID: u.leaf(v.name), Type: []string{"Package", "http://schema.nuget.org/catalog#Permalink"},
		CatalogEntry: u.catalog(v.name), Listed: true, PackageContent: u.content(v.name),
		Published: nugetTime(v.published), Registration: u.regIndex(),
	})
	if gz {
		body = gzipBytes(body)
	}
	return serveDoc(w, r, body, gz)
}

// catalogEntry serves one version's catalog entry.
func (h *handler) catalogEntry(w http.ResponseWriter, r *http.Request, a *packages.Actor, f feed, id, ver string) error {
	e, err := h.entry(r.Context(), a, f, id)
	if err != nil {
		return err
	}
	v := h.version(e.doc, ver, true)
	if v == nil {
		return packages.ErrVersionNotFound
	}
	u := urls{base: f.base, hub: pathRegGzSemVer2, id: strings.ToLower(id)}
	return serveDoc(w, r, mustJSON(u.catalogEntry(v)), false)
}

// flatIndex serves the flat container's list of a package's versions.
func (h *handler) flatIndex(w http.ResponseWriter, r *http.Request, a *packages.Actor, f feed, id string) error {
	e, err := h.entry(r.Context(), a, f, id)
	if err != nil {
		return err
	}
	body := h.docs.body(e, bodyKey{kind: "flat"}, func() []byte {
		if len(e.doc.versions) == 0 {
			return nil
		}
		names := make([]string, len(e.doc.versions))
		for i, v := range e.doc.versions {
			names[i] = v.name
		}
		return mustJSON(struct {
			Versions []string `json:"versions"`
		}{names})
	})
	return serveDoc(w, r, body, false)
}

// Names of the files a version holds.
const readmeFile = "readme"

func nupkgFile(id, canon string) string  { return strings.ToLower(id) + "." + canon + ".nupkg" }
func snupkgFile(id, canon string) string { return strings.ToLower(id) + "." + canon + ".snupkg" }
func nuspecFile(id string) string        { return strings.ToLower(id) + ".nuspec" }

// flatFile serves a version's .nupkg (counting the download), .nuspec or
// .snupkg from the flat container.
func (h *handler) flatFile(w http.ResponseWriter, r *http.Request, a *packages.Actor, f feed, id, ver, file string) error {
	if !ValidID(id) {
		return packages.ErrPackageNotFound
	}
	canon, err := h.svc.NormalizeVersion(packages.TypeNuGet, ver)
	if err != nil {
		return packages.ErrVersionNotFound
	}
	file = strings.ToLower(file)
	var contentType string
	count := false
	switch file {
	case nupkgFile(id, canon):
		contentType, count = "application/octet-stream", true
	case snupkgFile(id, canon):
		contentType = "application/octet-stream"
	case nuspecFile(id):
		contentType = "application/xml"
	default:
		return packages.ErrFileNotFound
	}
	return h.serveFile(w, r, a, f, id, canon, file, contentType, count)
}

// readme serves the readme a version's .nuspec names.
func (h *handler) readme(w http.ResponseWriter, r *http.Request, a *packages.Actor, f feed, id, ver string) error {
	if !ValidID(id) {
		return packages.ErrPackageNotFound
	}
	return h.serveFile(w, r, a, f, id, ver, readmeFile, "", false)
}

func (h *handler) serveFile(w http.ResponseWriter, r *http.Request, a *packages.Actor, f feed, id, ver, file, contentType string, count bool) error {
	c, err := h.svc.OpenFile(r.Context(), a, packages.OpenFileRequest{
		Package: f.ref(id), Version: ver, Name: file,
		CountDownload: count && r.Method == http.MethodGet && r.Header.Get("Range") == "",
	})
	if err != nil {
		return err
	}
	defer c.Close()
	if contentType == "" {
		contentType = c.File.MediaType
	}
	w.Header().Set("Cache-Control", "private, max-age=300")
	blobhttp.Serve(w, r, blobhttp.Blob{Reader: c.Reader, ContentType: contentType, ETag: `"` + c.File.Digest + `"`, ModTime: c.File.CreatedAt, Redirect: h.opts.BlobRedirect})
	return nil
}

// serviceIndex serves the feed's service index: every resource a v3
// client looks for.
func (h *handler) serviceIndex(w http.ResponseWriter, r *http.Request, f feed) error {
	type resource struct {
		ID            string `json:"@id"`
		Type          string `json:"@type"`
		ClientVersion string `json:"clientVersion,omitempty"`
		Comment       string `json:"comment,omitempty"`
	}
	b := f.base
	var rs []resource
	add := func(path, comment string, types ...string) {
		for _, t := range types {
			rs = append(rs, resource{ID: b + path, Type: t, Comment: comment})
		}
	}
	add(pathPublish, "Push and delete packages.", "PackagePublish/2.0.0")
	add(pathSymbols, "Push symbol packages (.snupkg).", "SymbolPackagePublish/4.9.0")
	add(pathFlat+"/", "Package contents: versions, .nupkg, .nuspec and readme.", "PackageBaseAddress/3.0.0")
	add(pathRegistration+"/", "Package metadata of SemVer 1.0.0 versions.", "RegistrationsBaseUrl", "RegistrationsBaseUrl/3.0.0-beta", "RegistrationsBaseUrl/3.0.0-rc")
	add(pathRegGzSemVer1+"/", "Package metadata of SemVer 1.0.0 versions, gzipped.", "RegistrationsBaseUrl/3.4.0")
	add(pathRegGzSemVer2+"/", "Package metadata of every version, SemVer 2.0.0 included, gzipped.", "RegistrationsBaseUrl/3.6.0")
	// NuGet 4.3 and later take the SemVer 2.0.0 hub from here.
	rs = append(rs, resource{ID: b + pathRegGzSemVer2 + "/", Type: "RegistrationsBaseUrl/Versioned", ClientVersion: "4.3.0-alpha",
		Comment: "Package metadata of every version, for clients that understand SemVer 2.0.0."})
	add(pathQuery, "Search the feed's packages.", "SearchQueryService", "SearchQueryService/3.0.0-beta", "SearchQueryService/3.0.0-rc", "SearchQueryService/3.5.0")
	add(pathAutocomplete, "Complete package ids and versions.", "SearchAutocompleteService", "SearchAutocompleteService/3.0.0-beta", "SearchAutocompleteService/3.0.0-rc", "SearchAutocompleteService/3.5.0")
	add(pathFlat+pathReadme, "A version's readme.", "ReadmeUriTemplate/6.13.0")
	add(pathLegacy, "The search of the v2 feed, for nuget list.", "LegacyGallery/2.0.0")
	body := mustJSON(struct {
		Version   string     `json:"version"`
		Resources []resource `json:"resources"`
		Context   any        `json:"@context"`
	}{"3.0.0", rs, map[string]string{"@vocab": "http://schema.nuget.org/services#", "comment": "http://www.w3.org/2000/01/rdf-schema#comment"}})
	return serveDoc(w, r, body, false)
}
