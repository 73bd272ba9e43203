package web

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/packhub/packhub/internal/packages"
)

// maxManifest bounds the OCI manifest a page reads to show platforms and
// layers; the registry refuses larger ones on push anyway.
const maxManifest = 4 << 20

// packageRef reads the package a page's path names; ok is false for a
// type the service does not know.
func (h *handler) packageRef(r *http.Request, scope packages.OwnerScope) (packages.PackageRef, bool) {
	t, ok := h.svc.Specs().Parse(r.PathValue("type"))
	return packages.PackageRef{Owner: r.PathValue("login"), Scope: scope, Type: t, Name: r.PathValue("name")}, ok
}

// versionRow is one version in a list.
type versionRow struct {
	ID        int64
	Name      string
	URL       string
	Tags      []string
	Created   time.Time
	FileCount int
	Size      int64
	Downloads int64
	Digest    bool // the name is a manifest digest
	Index     bool // an OCI index (multi-platform)
	Artifact  string
	// Deleted versions.
	Deleted      time.Time
	RestoreUntil time.Time
	NameTaken    bool
}

func (h *handler) rowsOf(pi *packages.PackageInfo, vs []packages.VersionSummary) []versionRow {
	out := make([]versionRow, len(vs))
	oci := isOCI(pi.Type)
	for i := range vs {
		v := &vs[i]
		row := versionRow{ID: v.ID, Name: v.Name, URL: versionURL(pi, v.ID), Tags: v.Tags, Created: v.CreatedAt,
			FileCount: v.FileCount, Size: v.Size, Downloads: v.DownloadCount, RestoreUntil: v.RestoreUntil, NameTaken: v.NameTaken}
		if v.DeletedAt != nil {
			row.Deleted = *v.DeletedAt
		}
		if oci {
			m := parseOCIMetadata(v.Metadata)
			row.Digest, row.Index, row.Artifact = true, len(m.Manifests) > 0 || isIndexType(m.MediaType), m.ArtifactType
			if m.Size > 0 {
				row.Size = m.Size
			}
		}
		out[i] = row
	}
	return out
}

func isOCI(t packages.Type) bool { return t == packages.TypeContainer || t == packages.TypeDocker }

func isIndexType(mt string) bool {
	return mt == v1.MediaTypeImageIndex || mt == "application/vnd.docker.distribution.manifest.list.v2+json"
}

// platform is one image of a multi-platform index.
type platform struct {
	OS, Arch, Variant string
	Digest            string
	URL               string // the image's version page, "" when unknown
	Size              int64
}

// referrer is an artifact that refers to an image: a signature, an SBOM.
type referrer struct {
	Kind         string
	ArtifactType string
	Digest       string
	URL          string
	Created      time.Time
}

// layer is one blob of an image manifest.
type layer struct {
	MediaType string
	Digest    string
	Size      int64
}

// imageView is what a container version's page shows of its manifest.
type imageView struct {
	MediaType    string
	ArtifactType string
	Platforms    []platform
	Layers       []layer
	Config       string
	ImageSize    int64 // config and layers
	Referrers    []referrer
	Annotations  []option
}

type packageView struct {
	Item        pkgItem
	Description string
	Readme      template.HTML
	Install     []snippet
	Current     *versionRow
	// CurrentLabel names the current version as its install
	// instructions do: a tag of an image, else the version.
	CurrentLabel string
	Image        *imageView
	Versions     []versionRow
	Pager        pager
	SettingsURL  string // for those who may administer the package
}

// currentVersion is the version a package's page describes: the one
// tagged latest, else the newest tagged one for images (untagged manifests
// are usually the platform images of an index), else the newest.
func currentVersion(t packages.Type, vs []packages.VersionSummary) *packages.VersionSummary {
	for i := range vs {
		if slices.Contains(vs[i].Tags, "latest") {
			return &vs[i]
		}
	}
	if isOCI(t) {
		for i := range vs {
			if len(vs[i].Tags) > 0 {
				return &vs[i]
			}
		}
	}
	if len(vs) > 0 {
		return &vs[0]
	}
	return nil
}

func (h *handler) packagePage(scope packages.OwnerScope) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := viewerOf(r)
		ctx := r.Context()
		ref, ok := h.packageRef(r, scope)
		if !ok {
			h.notFound(w, r)
			return
		}
		page := versionPageParam(r.URL.Query(), "page")
		pi, vs, total, err := h.svc.ListVersionSummaries(ctx, v.actor, ref, packages.Active, packages.Page{Page: page, PerPage: perPage}, packages.ViaWeb)
		if err != nil {
			h.fail(w, r, v, err)
			return
		}
		ref.Name = pi.Name
		view := packageView{Item: itemOf(pi), Versions: h.rowsOf(pi, vs), Pager: pagerFor(r, "page", maxVersionPage, page, total)}
		if h.svc.Allowed(ctx, v.actor, ref, packages.OpDelete, packages.ViaWeb) == nil {
			view.SettingsURL = pkgURL(pi) + "/settings"
		}
		if cur := currentVersion(pi.Type, vs); cur != nil && page == 1 {
			rows := h.rowsOf(pi, []packages.VersionSummary{*cur})
			view.Current = &rows[0]
			if err := h.describe(ctx, r, v, pi, ref, cur, &view); err != nil {
				h.fail(w, r, v, err)
				return
			}
		}
		h.render(w, r, http.StatusOK, "package", pi.Name, view)
	}
}

// describe fills in what a package's page says of its current version:
// description, README, install instructions, and for images the
// platforms and referrers.
func (h *handler) describe(ctx context.Context, r *http.Request, v *viewer, pi *packages.PackageInfo, ref packages.PackageRef, cur *packages.VersionSummary, view *packageView) error {
	tv := viewOf(pi.Type)
	_, _, files, err := h.svc.VersionFiles(ctx, v.actor, ref, cur.Name)
	if err != nil {
		return err
	}
	view.Description = cur.Description
	if view.Description == "" && tv.metaDescription != nil {
		view.Description = tv.metaDescription(cur.Metadata)
	}
	var readme string
	switch {
	case tv.readme.fromMetadata != nil:
		readme = tv.readme.fromMetadata(cur.Metadata)
	case tv.readme.file != "":
		for i := range files {
			if files[i].Name == tv.readme.file {
				if readme, err = h.readFile(ctx, &files[i], maxReadme); err != nil {
					return err
				}
			}
		}
	}
	if readme != "" {
		// Keyed by the source, read on every view: whatever changed it,
		// on any replica and within any tick of the clock, makes a new key.
		view.Readme = h.md.renderCached(fmt.Sprintf("%x", sha256.Sum256([]byte(readme))), readme)
	}
	if tv.install != nil {
		in := h.installInput(r, pi, cur, files)
		view.Install = tv.install(in)
	}
	view.CurrentLabel = cur.Name
	if isOCI(pi.Type) {
		view.CurrentLabel = shortDigest(cur.Name)
		if in := h.installInput(r, pi, cur, nil); in.Tag != "" {
			view.CurrentLabel = in.Tag
		}
	}
	if isOCI(pi.Type) {
		img, err := h.image(ctx, v, pi, ref, &cur.VersionInfo, files)
		if err != nil {
			return err
		}
		view.Image = img
	}
	return nil
}

func (h *handler) installInput(r *http.Request, pi *packages.PackageInfo, cur *packages.VersionSummary, files []packages.File) installInput {
	base := h.baseURL(r)
	in := installInput{BaseURL: base, Host: hostOf(base), Owner: pi.Owner.Login, Name: pi.Name,
		Version: cur.Name, Private: pi.Visibility != packages.Public}
	if h.opts.DockerBaseURL != "" {
		in.DockerHost = hostOf(h.opts.DockerBaseURL)
	}
	if len(cur.Tags) > 0 {
		in.Tag = cur.Tags[0]
		if slices.Contains(cur.Tags, "latest") {
			in.Tag = "latest"
		}
	}
	if pi.Repository != nil && pi.RepositoryOwner != nil {
		in.Repository = pi.RepositoryOwner.Login + "/" + pi.Repository.Name
	}
	for _, f := range files {
		in.FileNames = append(in.FileNames, f.Name)
	}
	return in
}

// readFile reads at most limit bytes of a file the service handed out.
func (h *handler) readFile(ctx context.Context, f *packages.File, limit int64) (string, error) {
	rd, err := h.svc.OpenFileBlob(ctx, f)
	if err != nil {
		return "", err
	}
	defer rd.Close()
	b, err := io.ReadAll(io.LimitReader(rd, limit))
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// manifest is the union of an OCI image manifest and index, as far as the
// pages read them.
type manifest struct {
	MediaType    string            `json:"mediaType"`
	ArtifactType string            `json:"artifactType"`
	Config       *v1.Descriptor    `json:"config"`
	Layers       []v1.Descriptor   `json:"layers"`
	Manifests    []v1.Descriptor   `json:"manifests"`
	Annotations  map[string]string `json:"annotations"`
}

// image reads an image version's manifest (its file) for its platforms or
// layers, and lists the artifacts that refer to it.
func (h *handler) image(ctx context.Context, v *viewer, pi *packages.PackageInfo, ref packages.PackageRef, vi *packages.VersionInfo, files []packages.File) (*imageView, error) {
	meta := parseOCIMetadata(vi.Metadata)
	img := &imageView{MediaType: meta.MediaType, ArtifactType: meta.ArtifactType}
	for i := range files {
		f := &files[i]
		if f.Digest != vi.Name && f.Name != "manifest.json" {
			continue
		}
		body, err := h.readFile(ctx, f, maxManifest)
		if err != nil {
			return nil, err
		}
		var m manifest
		if json.Unmarshal([]byte(body), &m) != nil {
			break
		}
		if m.ArtifactType != "" {
			img.ArtifactType = m.ArtifactType
		}
		for _, d := range m.Manifests {
			p := platform{Digest: string(d.Digest), Size: d.Size}
			if d.Platform != nil {
				p.OS, p.Arch, p.Variant = d.Platform.OS, d.Platform.Architecture, d.Platform.Variant
			}
			if _, child, err := h.svc.GetVersionByName(ctx, v.actor, ref, p.Digest, packages.ViaWeb); err == nil {
				p.URL = versionURL(pi, child.ID)
			}
			img.Platforms = append(img.Platforms, p)
		}
		if m.Config != nil {
			img.Config = string(m.Config.Digest)
			img.ImageSize += m.Config.Size
		}
		for _, l := range m.Layers {
			img.Layers = append(img.Layers, layer{MediaType: l.MediaType, Digest: string(l.Digest), Size: l.Size})
			img.ImageSize += l.Size
		}
		keys := make([]string, 0, len(m.Annotations))
		for k := range m.Annotations {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			img.Annotations = append(img.Annotations, option{Value: m.Annotations[k], Label: k})
		}
		break
	}
	refs, err := h.svc.Referrers(ctx, v.actor, ref, vi.Name)
	if err != nil {
		return nil, err
	}
	for _, rv := range refs {
		m := parseOCIMetadata(rv.Metadata)
		img.Referrers = append(img.Referrers, referrer{Kind: artifactKind(m.ArtifactType), ArtifactType: m.ArtifactType,
			Digest: rv.Name, URL: versionURL(pi, rv.ID), Created: rv.CreatedAt})
	}
	return img, nil
}

// artifactKind names what an artifact type usually is.
func artifactKind(t string) string {
	switch {
	case t == "":
		return "Artifact"
	case containsAny(t, "sig", "signature", "cosign", "notary", "sigstore"):
		return "Signature"
	case containsAny(t, "spdx", "cyclonedx", "sbom", "syft"):
		return "SBOM"
	case containsAny(t, "attestation", "in-toto", "provenance", "slsa"):
		return "Attestation"
	}
	return "Artifact"
}

func containsAny(s string, subs ...string) bool {
	s = strings.ToLower(s)
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// fileRow is one file of a version, with its checksums.
type fileRow struct {
	Name      string
	Size      int64
	MediaType string
	Digest    string
	Sums      packages.Checksums
}

type versionView struct {
	Item        pkgItem
	Version     versionRow
	Description string
	License     string
	FileRows    []fileRow
	Install     []snippet
	Image       *imageView
	PackageURL  string
	SettingsURL string
}

func (h *handler) versionPage(scope packages.OwnerScope) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := viewerOf(r)
		ctx := r.Context()
		ref, ok := h.packageRef(r, scope)
		if !ok {
			h.notFound(w, r)
			return
		}
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			h.notFound(w, r)
			return
		}
		pi, vi, err := h.svc.GetVersion(ctx, v.actor, ref, id, packages.ViaWeb)
		if err != nil {
			h.fail(w, r, v, err)
			return
		}
		ref.Name = pi.Name
		sum := packages.VersionSummary{VersionInfo: *vi}
		view := versionView{Item: itemOf(pi), Description: vi.Description, License: vi.License, PackageURL: pkgURL(pi)}
		if h.svc.Allowed(ctx, v.actor, ref, packages.OpDelete, packages.ViaWeb) == nil {
			view.SettingsURL = pkgURL(pi) + "/settings"
		}
		if vi.DeletedAt == nil {
			withSums, err := h.svc.VersionFileChecksums(ctx, v.actor, ref, vi.Name)
			if err != nil {
				h.fail(w, r, v, err)
				return
			}
			files := make([]packages.File, len(withSums))
			for i, f := range withSums {
				files[i] = f.File
				sum.FileCount++
				sum.Size += f.Size
				view.FileRows = append(view.FileRows, fileRow{Name: f.Name, Size: f.Size, MediaType: f.MediaType, Digest: f.Digest, Sums: f.Sums})
			}
			if tv := viewOf(pi.Type); tv.install != nil {
				view.Install = tv.install(h.installInput(r, pi, &sum, files))
			}
			if view.Description == "" && viewOf(pi.Type).metaDescription != nil {
				view.Description = viewOf(pi.Type).metaDescription(vi.Metadata)
			}
			if isOCI(pi.Type) {
				if view.Image, err = h.image(ctx, v, pi, ref, vi, files); err != nil {
					h.fail(w, r, v, err)
					return
				}
			}
		}
		view.Version = h.rowsOf(pi, []packages.VersionSummary{sum})[0]
		h.render(w, r, http.StatusOK, "version", pi.Name+" "+vi.Name, view)
	}
}
