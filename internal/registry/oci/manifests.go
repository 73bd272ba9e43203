package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/packhub/packhub/internal/blob"
	"github.com/packhub/packhub/internal/packages"
)

// manifestFile is the name of the file that holds a version's manifest.
const manifestFile = "manifest.json"

// VersionMetadata is the metadata the registry keeps with each version (one
// manifest), in packages.Version.Metadata: what the referrers API and the
// REST API render without reading the manifest.
type VersionMetadata struct {
	MediaType    string            `json:"media_type"`
	Size         int64             `json:"size"`
	ArtifactType string            `json:"artifact_type,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	// Manifests lists the digests an index refers to.
	Manifests []string `json:"manifests,omitempty"`
}

// ParseVersionMetadata decodes a container or docker version's metadata.
func ParseVersionMetadata(raw json.RawMessage) (VersionMetadata, error) {
	var m VersionMetadata
	if len(raw) == 0 {
		return m, nil
	}
	err := json.Unmarshal(raw, &m)
	return m, err
}

// manifestRef checks a manifest reference: a digest or a tag.
func manifestRef(ref string) (isDigest bool, err error) {
	if looksLikeDigest(ref) {
		switch classifyDigest(ref) {
		case digestMalformed:
			return true, errorf(codeDigestInvalid, "invalid digest %q", truncate(ref))
		}
		return true, nil
	}
	if !validTag(ref) {
		return false, errorf(codeTagInvalid, "invalid tag %q", truncate(ref))
	}
	return false, nil
}

// version finds the version a manifest reference names.
func (h *handler) version(ctx context.Context, c *caller, name Name, ref string, isDigest bool) (*packages.PackageInfo, *packages.VersionInfo, error) {
	var pi *packages.PackageInfo
	var vi *packages.VersionInfo
	var err error
	if isDigest {
		if classifyDigest(ref) != digestSupported {
			if _, err := h.readPackage(ctx, c, name); err != nil {
				return nil, nil, err
			}
			return nil, nil, errorf(codeManifestUnknown, "manifest unknown to registry")
		}
		pi, vi, err = h.svc.GetVersionByName(ctx, c.actor, name.Ref, ref, packages.ViaRegistry)
	} else {
		pi, vi, err = h.svc.ResolveTag(ctx, c.actor, name.Ref, ref)
	}
	if err != nil {
		return nil, nil, readError(c, name, err, codeManifestUnknown)
	}
	if !h.inRepository(ctx, pi, name) {
		return nil, nil, unknownName(c, name, nil)
	}
	return pi, vi, nil
}

func (h *handler) getManifest(w http.ResponseWriter, r *http.Request, name Name, ref string) error {
	c, err := h.need(r, name, []string{actionPull}, actionPull)
	if err != nil {
		return err
	}
	ctx := r.Context()
	isDigest, err := manifestRef(ref)
	if err != nil {
		// A malformed reference names nothing.
		if _, err := h.readPackage(ctx, c, name); err != nil {
			return err
		}
		return errorf(codeManifestUnknown, "manifest unknown to registry")
	}
	if isDigest && classifyDigest(ref) != digestSupported {
		_, _, err := h.version(ctx, c, name, ref, isDigest)
		return err
	}
	// One lookup resolves the tag or digest, authorizes the caller and
	// finds the manifest file.
	pi, v, f, err := h.svc.RegistryManifest(ctx, c.actor, name.Ref, ref, isDigest, manifestFile)
	if err != nil {
		return readError(c, name, err, codeManifestUnknown)
	}
	if !h.inRepository(ctx, pi, name) {
		return unknownName(c, name, nil)
	}
	hdr := w.Header()
	hdr.Set("Content-Type", f.MediaType)
	hdr.Set("Docker-Content-Digest", v.Name)
	hdr.Set("ETag", `"`+v.Name+`"`)
	hdr.Set("Content-Length", strconv.FormatInt(f.Size, 10))
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	body, ok := h.manifests.get(f.Digest)
	if !ok && f.Size <= maxCachedManifest {
		if body, err = h.readSmallFile(ctx, f); err != nil {
			hdr.Del("Content-Length")
			return serviceError(err, codeManifestUnknown, "")
		}
		h.manifests.add(f.Digest, body)
		ok = true
	}
	if ok {
		w.WriteHeader(http.StatusOK)
		if _, err := w.Write(body); err != nil {
			return nil // the client went away: not a download
		}
	} else {
		rd, err := h.svc.OpenFileBlob(ctx, f)
		if err != nil {
			hdr.Del("Content-Length")
			return serviceError(err, codeManifestUnknown, "")
		}
		defer rd.Close()
		w.WriteHeader(http.StatusOK)
		if _, err := io.Copy(w, rd); err != nil {
			return nil // the client went away: not a download
		}
	}
	// Counted in memory and written in batches.
	h.svc.CountDownload(pi.ID, v.ID)
	return nil
}

// readSmallFile reads a whole file the service let the caller read.
func (h *handler) readSmallFile(ctx context.Context, f *packages.File) ([]byte, error) {
	rd, err := h.svc.OpenFileBlob(ctx, f)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	body := make([]byte, f.Size)
	if _, err := io.ReadFull(rd, body); err != nil {
		return nil, fmt.Errorf("read blob %s: %w", f.Digest, err)
	}
	return body, nil
}

// readManifestBody reads a pushed manifest, up to the size limit.
func (h *handler) readManifestBody(r *http.Request) ([]byte, error) {
	tooBig := func() error {
		return errorf(codeManifestInvalid, "manifest exceeds the maximum size of %d bytes", h.maxMan).withStatus(http.StatusRequestEntityTooLarge)
	}
	if r.ContentLength > h.maxMan {
		return nil, tooBig()
	}
	body, err := io.ReadAll(io.LimitReader(bodyReader{r.Body}, h.maxMan+1))
	if err != nil {
		return nil, copyError(err)
	}
	if int64(len(body)) > h.maxMan {
		return nil, tooBig()
	}
	return body, nil
}

func (h *handler) putManifest(w http.ResponseWriter, r *http.Request, name Name, ref string) error {
	c, err := h.need(r, name, []string{actionPull, actionPush}, actionPush)
	if err != nil {
		return err
	}
	isDigest, err := manifestRef(ref)
	if err != nil {
		return err
	}
	if isDigest && classifyDigest(ref) != digestSupported {
		return errorf(codeDigestInvalid, "unsupported digest algorithm in %q: use sha256", truncate(ref))
	}
	body, err := h.readManifestBody(r)
	if err != nil {
		return err
	}
	d := blob.FromBytes(body)
	if isDigest && d != ref {
		return errorf(codeDigestInvalid, "manifest digest %s does not match the reference %s", d, ref)
	}
	m, err := ParseManifest(r.Header.Get("Content-Type"), body)
	if err != nil {
		return err
	}
	ctx := r.Context()
	t, err := h.pushTarget(ctx, c, name)
	if err != nil {
		return err
	}
	refs := m.References()
	for _, bd := range refs {
		ok := classifyDigest(bd) == digestSupported
		if ok {
			if ok, err = h.svc.BlobLinked(ctx, t, bd); err != nil {
				return err
			}
		}
		if !ok {
			e := errorf(codeManifestBlobUnknown, "blob unknown to registry: %s", bd)
			e.detail = map[string]string{"digest": bd}
			return e
		}
	}
	var children []string
	for _, child := range m.Manifests {
		if classifyDigest(child.Digest) == digestSupported {
			if _, _, err := h.svc.GetVersionByName(ctx, c.actor, name.Ref, child.Digest, packages.ViaRegistry); err == nil {
				children = append(children, child.Digest)
				continue
			} else if !packages.IsNotFound(err) {
				return serviceError(err, codeManifestBlobUnknown, "")
			}
		}
		e := errorf(codeManifestBlobUnknown, "manifest unknown to registry: %s", child.Digest)
		e.detail = map[string]string{"digest": child.Digest}
		return e
	}
	repository := name.Repository
	if repository == "" {
		repository = h.sourceRepository(ctx, t, m)
	}
	meta, err := json.Marshal(VersionMetadata{
		MediaType: m.MediaType, Size: int64(len(body)), ArtifactType: m.ArtifactType,
		Annotations: m.Annotations, Manifests: children,
	})
	if err != nil {
		return err
	}
	if _, _, err := h.svc.PutFileBytes(ctx, t, bytes.NewReader(body), d); err != nil {
		return err
	}
	req := packages.PublishRequest{
		Package:    name.Ref,
		Version:    d,
		Metadata:   meta,
		Files:      []packages.File{{Name: manifestFile, Digest: d, Size: int64(len(body)), MediaType: m.MediaType}},
		Blobs:      append(refs, children...),
		Repository: repository,
		IfExists:   packages.ExistsReuse,
	}
	if m.Subject != nil {
		req.Subject = m.Subject.Digest
	}
	if !isDigest {
		req.Tags = []string{ref}
	}
	if _, err := h.svc.Publish(ctx, c.actor, req); err != nil {
		var unknown *packages.BlobUnknownError
		if errors.As(err, &unknown) {
			// Freed by garbage collection since the check above.
			e := errorf(codeManifestBlobUnknown, "blob unknown to registry: %s", unknown.Digest)
			e.detail, e.cause = map[string]string{"digest": unknown.Digest}, err
			return e
		}
		return serviceError(err, codeNameUnknown, scope(name.Full, actionPull, actionPush))
	}
	hdr := w.Header()
	hdr.Set("Location", "/v2/"+name.Full+"/manifests/"+d)
	hdr.Set("Docker-Content-Digest", d)
	if m.Subject != nil {
		hdr.Set("OCI-Subject", m.Subject.Digest)
	}
	hdr.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
	return nil
}

// sourceRepository returns "OWNER/REPO" when the image's
// org.opencontainers.image.source annotation (or its config's label) is
// BASE/OWNER/REPO; "" otherwise.
func (h *handler) sourceRepository(ctx context.Context, t *packages.PushTarget, m *Manifest) string {
	src := m.Annotations[annotationSource]
	if src == "" && m.Config != nil && classifyDigest(m.Config.Digest) == digestSupported &&
		strings.HasSuffix(m.Config.MediaType, "json") && m.Config.Size <= h.maxMan {
		src = h.configLabel(ctx, t, m.Config.Digest, annotationSource)
	}
	if src == "" {
		return ""
	}
	return repositoryFromURL(h.baseURL, src)
}

// configLabel reads a label from an image configuration blob.
func (h *handler) configLabel(ctx context.Context, t *packages.PushTarget, d, label string) string {
	rd, err := h.svc.OpenPushedBlob(ctx, t, d)
	if err != nil {
		return ""
	}
	defer rd.Close()
	var cfg struct {
		Config struct {
			Labels map[string]string `json:"Labels"`
		} `json:"config"`
	}
	if err := json.NewDecoder(io.LimitReader(rd, h.maxMan)).Decode(&cfg); err != nil {
		return ""
	}
	return cfg.Config.Labels[label]
}

// repositoryFromURL returns "OWNER/REPO" for a URL BASE/OWNER/REPO (scheme
// and a trailing ".git" or "/" aside), "" for any other URL.
func repositoryFromURL(base, src string) string {
	bu, err1 := url.Parse(base)
	su, err2 := url.Parse(strings.TrimSpace(src))
	if err1 != nil || err2 != nil || su.Host == "" || !strings.EqualFold(bu.Host, su.Host) {
		return ""
	}
	p := strings.TrimSuffix(strings.Trim(su.Path, "/"), ".git")
	p = strings.TrimPrefix(p, strings.Trim(bu.Path, "/")+"/")
	owner, repo, ok := strings.Cut(p, "/")
	if !ok || strings.Contains(repo, "/") || !packages.ValidLogin(owner) || !packages.ValidRepositoryName(repo) {
		return ""
	}
	return owner + "/" + repo
}

func (h *handler) deleteManifest(w http.ResponseWriter, r *http.Request, name Name, ref string) error {
	isDigest, err := manifestRef(ref)
	if err != nil {
		if _, aerr := h.need(r, name, []string{actionDelete}, actionDelete, actionPush); aerr != nil {
			return aerr
		}
		return err
	}
	ctx := r.Context()
	if !isDigest {
		// Untagging is a publish-side change.
		c, err := h.need(r, name, []string{actionDelete}, actionDelete, actionPush)
		if err != nil {
			return err
		}
		if _, _, err := h.version(ctx, c, name, ref, false); err != nil {
			return err
		}
		if err := h.svc.DeleteTag(ctx, c.actor, name.Ref, ref); err != nil {
			return serviceError(err, codeManifestUnknown, scope(name.Full, actionDelete))
		}
	} else {
		c, err := h.need(r, name, []string{actionDelete}, actionDelete)
		if err != nil {
			return err
		}
		if _, _, err := h.version(ctx, c, name, ref, true); err != nil {
			return err
		}
		if _, err := h.svc.DeleteVersionsByName(ctx, c.actor, name.Ref, ref); err != nil {
			return serviceError(err, codeManifestUnknown, scope(name.Full, actionDelete))
		}
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// pageSize parses the n query parameter: -1 when absent.
func pageSize(q url.Values) (int, error) {
	s := q.Get("n")
	if s == "" {
		return -1, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, errorf(codeUnsupported, "n must be a non-negative integer").withStatus(http.StatusBadRequest)
	}
	return n, nil
}

// nextLink sets the Link header of a paginated list.
func nextLink(w http.ResponseWriter, path string, n int, last string) {
	q := url.Values{"n": {strconv.Itoa(n)}, "last": {last}}
	w.Header().Set("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, path, q.Encode()))
}

func writeJSON(w http.ResponseWriter, r *http.Request, contentType string, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
	return nil
}

// tagList is the body of a tag listing.
type tagList struct {
	Name string   `json:"name"`
	Tags []string `json:"tags"`
}

func (h *handler) listTags(w http.ResponseWriter, r *http.Request, name Name) error {
	c, err := h.need(r, name, []string{actionPull}, actionPull)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	n, err := pageSize(q)
	if err != nil {
		return err
	}
	ctx := r.Context()
	if name.Repository != "" || n == 0 {
		// Docker names must also match the package's repository, and an
		// empty page still answers only for a package the caller reads.
		if _, err := h.readPackage(ctx, c, name); err != nil {
			return err
		}
	}
	names := []string{}
	if n != 0 {
		limit := 0
		if n > 0 {
			limit = n + 1
		}
		tags, err := h.svc.ListTags(ctx, c.actor, name.Ref, q.Get("last"), limit)
		if err != nil {
			return readError(c, name, err, codeNameUnknown)
		}
		for _, t := range tags {
			names = append(names, t.Name)
		}
		if n > 0 && len(names) > n {
			names = names[:n]
			nextLink(w, "/v2/"+name.Full+"/tags/list", n, names[n-1])
		}
	}
	return writeJSON(w, r, "application/json", tagList{Name: name.Full, Tags: names})
}

func (h *handler) referrers(w http.ResponseWriter, r *http.Request, name Name, d string) error {
	c, err := h.need(r, name, []string{actionPull}, actionPull)
	if err != nil {
		return err
	}
	if classifyDigest(d) == digestMalformed {
		return errorf(codeDigestInvalid, "invalid digest %q", truncate(d))
	}
	ctx := r.Context()
	if _, err := h.readPackage(ctx, c, name); err != nil {
		return err
	}
	vs, err := h.svc.Referrers(ctx, c.actor, name.Ref, d)
	if err != nil {
		return readError(c, name, err, codeNameUnknown)
	}
	filter := r.URL.Query()["artifactType"]
	descs := []Descriptor{}
	for _, v := range vs {
		md, err := ParseVersionMetadata(v.Metadata)
		if err != nil || md.MediaType == "" {
			continue
		}
		if len(filter) > 0 && !slices.Contains(filter, md.ArtifactType) {
			continue
		}
		descs = append(descs, Descriptor{MediaType: md.MediaType, Digest: v.Name, Size: md.Size, ArtifactType: md.ArtifactType, Annotations: md.Annotations})
	}
	sort.SliceStable(descs, func(i, j int) bool { return descs[i].Digest < descs[j].Digest })
	if len(filter) > 0 {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	return writeJSON(w, r, MediaTypeOCIIndex, map[string]any{
		"schemaVersion": 2,
		"mediaType":     MediaTypeOCIIndex,
		"manifests":     descs,
	})
}

// catalog lists the repositories the caller may read, in lexical order.
func (h *handler) catalog(w http.ResponseWriter, r *http.Request) error {
	c, err := h.authenticate(r, "registry:catalog:*")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	n, err := pageSize(q)
	if err != nil {
		return err
	}
	last := q.Get("last")
	pkgs, _, err := h.svc.SearchPackages(r.Context(), c.actor, h.typ, "", packages.Page{})
	if err != nil {
		return err
	}
	var names []string
	for _, p := range pkgs {
		var full string
		if h.typ == packages.TypeDocker {
			if p.Repository == nil || p.RepositoryOwner == nil {
				continue
			}
			full = p.RepositoryOwner.Login + "/" + p.Repository.Name + "/" + p.Name
		} else {
			full = p.Owner.Login + "/" + p.Name
		}
		full = strings.ToLower(full)
		if full > last {
			names = append(names, full)
		}
	}
	sort.Strings(names)
	names = slices.Compact(names)
	if names == nil {
		names = []string{}
	}
	if n >= 0 && len(names) > n {
		names = names[:n]
		if n > 0 {
			nextLink(w, "/v2/_catalog", n, names[n-1])
		}
	}
	return writeJSON(w, r, "application/json", map[string]any{"repositories": names})
}
