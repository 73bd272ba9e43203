package npm

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/packhub/packhub/internal/bodylimit"
	"github.com/packhub/packhub/internal/packages"
)

// versionDoc is what Packhub reads of a version manifest in a PUT document.
type versionDoc struct {
	Name        string          `json:"name"`
	Version     string          `json:"version"`
	Description json.RawMessage `json:"description"`
	License     json.RawMessage `json:"license"`
	Repository  json.RawMessage `json:"repository"`
	Deprecated  json.RawMessage `json:"deprecated"`
	Dist        struct {
		Integrity string `json:"integrity"`
		Shasum    string `json:"shasum"`
	} `json:"dist"`
}

// received is a tarball streamed from a publish document into an upload
// session of the blob store.
type received struct {
	name     string
	up       packages.Upload
	size     int64
	sha1     []byte
	sha256   []byte
	sha512   []byte
	manifest *tarballManifest
	manErr   error
}

// receiver takes the tarball attachment of a publish document.
type receiver struct {
	h     *handler
	ctx   context.Context
	actor *packages.Actor
	ref   packages.PackageRef
	tgz   *received
}

// attach streams one attachment. Attachments that are not tarballs (npm's
// provenance bundle) are skipped.
func (rc *receiver) attach(name string, data io.Reader) error {
	if !strings.HasSuffix(name, ".tgz") {
		return nil
	}
	if rc.tgz != nil {
		return packages.Errorf(packages.KindInvalid, "a publish may carry one tarball")
	}
	up, err := rc.h.svc.StartUpload(rc.ctx, rc.actor, rc.ref, "")
	if err != nil {
		return fmt.Errorf("start upload: %w", err)
	}
	t := &received{name: name, up: up}
	rc.tgz = t

	h1, h256, h512 := sha1.New(), sha256.New(), sha512.New()
	// The package.json is read from the stream as it passes, in a goroutine
	// that always drains the pipe so the copy never blocks on it.
	pr, pw := io.Pipe()
	type result struct {
		m   *tarballManifest
		err error
	}
	done := make(chan result, 1)
	max := rc.h.opts.MaxTarballSize
	go func() {
		m, _, err := readTarballManifest(pr, 16*max+(64<<20))
		io.Copy(io.Discard, pr)
		done <- result{m, err}
	}()
	// Data that is not base64 fails the copy as a malformed document.
	n, err := io.Copy(io.MultiWriter(up, h1, h256, h512, pw), io.LimitReader(data, max+1))
	pw.Close()
	res := <-done
	t.size = n
	if err != nil {
		return err
	}
	if n > max {
		return packages.Errorf(packages.KindTooLarge, "The tarball is larger than the limit of %d bytes.", max)
	}
	t.sha1, t.sha256, t.sha512 = h1.Sum(nil), h256.Sum(nil), h512.Sum(nil)
	t.manifest, t.manErr = res.m, res.err
	return nil
}

// cancel drops an upload that was not committed.
func (rc *receiver) cancel() {
	if rc.tgz != nil && rc.tgz.up != nil {
		rc.tgz.up.Cancel(context.WithoutCancel(rc.ctx))
		rc.tgz.up = nil
	}
}

// put handles PUT /{name}: a publish when the document carries a tarball,
// else a revised packument (deprecate, unpublish of versions, dist-tags).
func (h *handler) put(w http.ResponseWriter, r *http.Request, a *packages.Actor, n pkgName) error {
	// Refuse early, before reading what may be a large body.
	if err := h.svc.CheckScopes(a, packages.OpWrite, packages.TypeNpm); err != nil {
		return err
	}
	docMax := max(maxDocSize, 2*h.opts.MaxManifestSize+1<<20)
	limit := (h.opts.MaxTarballSize+2)/3*4 + docMax + 1<<20
	if r.ContentLength > limit {
		return packages.Errorf(packages.KindTooLarge, "The request body is too large.")
	}
	// What the parser holds grows with the document: only so many large
	// ones are read at once.
	release, err := h.opts.Bodies.Acquire(r)
	if err != nil {
		if errors.Is(err, bodylimit.ErrBusy) {
			w.Header().Set("Retry-After", bodylimit.RetryAfter)
		}
		return err
	}
	defer release()
	ctx := r.Context()
	rc := &receiver{h: h, ctx: ctx, actor: a, ref: n.ref()}
	defer rc.cancel()
	doc, err := parsePublish(http.MaxBytesReader(w, r.Body, limit), docLimits{doc: docMax, member: h.opts.MaxManifestSize}, rc.attach)
	if err != nil {
		return err
	}
	if doc.Name != n.String() {
		if doc.Name == "" {
			return packages.Errorf(packages.KindInvalid, "the document has no name")
		}
		return packages.Errorf(packages.KindInvalid, "the document names %q but was sent to %s", doc.Name, n)
	}
	if rc.tgz == nil {
		if len(doc.Attachments) > 0 {
			return packages.Errorf(packages.KindInvalid, "the document has no tarball attachment")
		}
		return h.revise(w, r, a, n, doc)
	}
	return h.publish(w, r, a, n, doc, rc.tgz)
}

// publish creates the version a publish document carries.
func (h *handler) publish(w http.ResponseWriter, r *http.Request, a *packages.Actor, n pkgName, doc *publishDoc, t *received) error {
	ctx := r.Context()
	if !validNewName(n) {
		return packages.Errorf(packages.KindInvalid, "invalid package name %q: use lower case letters, digits, '-', '.', '_' and '~'", n.String())
	}
	if len(doc.Versions) != 1 {
		return packages.Errorf(packages.KindInvalid, "a publish must carry exactly one version, got %d", len(doc.Versions))
	}
	var version string
	var raw json.RawMessage
	for version, raw = range doc.Versions {
	}
	var vd versionDoc
	if err := json.Unmarshal(raw, &vd); err != nil {
		return packages.Errorf(packages.KindInvalid, "the manifest of version %q is not valid: %s", version, jsonErrMessage(err))
	}
	if _, ok := parseSemver(version); !ok {
		return packages.Errorf(packages.KindInvalid, "invalid version %q: npm versions are semantic versions (1.2.3)", version)
	}
	if vd.Version != version {
		return packages.Errorf(packages.KindInvalid, "the manifest of version %s says version %q", version, vd.Version)
	}
	if vd.Name != n.String() {
		return packages.Errorf(packages.KindInvalid, "the manifest of version %s names %q, not %s", version, vd.Name, n)
	}
	if info := doc.Attachments[t.name]; info.Length >= 0 && info.Length != t.size {
		return packages.Errorf(packages.KindInvalid, "the tarball has %d bytes but its attachment declares %d", t.size, info.Length)
	}
	if err := checkIntegrity(vd.Dist.Integrity, vd.Dist.Shasum, t); err != nil {
		return err
	}
	if t.manErr != nil {
		return packages.Errorf(packages.KindInvalid, "%s", t.manErr.Error())
	}
	if t.manifest.Name != vd.Name || t.manifest.Version != version {
		return packages.Errorf(packages.KindInvalid, "the tarball's package.json is %s@%s, not %s@%s", t.manifest.Name, t.manifest.Version, vd.Name, version)
	}
	var tags []string
	for tag, v := range doc.DistTags {
		if v == version {
			if !validTag(tag) {
				return packages.Errorf(packages.KindInvalid, "invalid dist-tag %q", tag)
			}
			tags = append(tags, tag)
		}
	}
	if len(doc.DistTags) == 0 {
		tags = []string{"latest"}
	}
	meta, err := storedManifest(raw, a)
	if err != nil {
		return err
	}

	digest, size, err := t.up.Commit(ctx, "sha256:"+hex.EncodeToString(t.sha256))
	t.up = nil
	if err != nil {
		return fmt.Errorf("commit tarball: %w", err)
	}
	req := packages.PublishRequest{
		Package:    n.ref(),
		Version:    version,
		Metadata:   meta,
		Files:      []packages.File{{Name: tarballName(n, version), Digest: digest, Size: size, MediaType: "application/octet-stream"}},
		Tags:       sortedKeys(sliceSet(tags)),
		Repository: repositoryName(vd.Repository, h.basePath),
		IfExists:   packages.ExistsConflict,
	}
	json.Unmarshal(vd.Description, &req.Description)
	json.Unmarshal(vd.License, &req.License)
	if _, err := h.svc.Publish(ctx, a, req); err != nil {
		if packages.IsConflict(err) {
			return packages.Wrap(packages.KindConflict, fmt.Sprintf("Cannot publish over existing version %s of %s.", version, n), err)
		}
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"ok": true, "id": n.String(), "rev": version})
}

func sliceSet(s []string) map[string]bool {
	m := make(map[string]bool, len(s))
	for _, x := range s {
		m[x] = true
	}
	return m
}

// storedManifest is the version manifest Packhub keeps: the one npm sent,
// with who published it, without an empty deprecation, and with its readme
// cut as npm's registry cuts it (the whole readme is in the tarball).
func storedManifest(raw json.RawMessage, a *packages.Actor) (json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, packages.Errorf(packages.KindInvalid, "the version manifest must be a JSON object")
	}
	if dep, ok := m["deprecated"]; ok && deprecation(dep) == "" {
		delete(m, "deprecated")
	}
	if r, ok := m["readme"]; ok {
		m["readme"], _ = cutReadme(r)
	}
	m["_npmUser"] = mustJSON(map[string]string{"name": a.User.Login})
	return json.Marshal(m)
}

// checkIntegrity verifies the tarball against the manifest's declared
// dist.integrity (Subresource Integrity) and dist.shasum. At least one must
// be given, and every hash Packhub knows must match.
func checkIntegrity(integrity, shasum string, t *received) error {
	checked := false
	bad := packages.Errorf(packages.KindInvalid, "the tarball does not match the integrity its manifest declares")
	for _, entry := range strings.Fields(integrity) {
		alg, val, ok := strings.Cut(entry, "-")
		if !ok {
			continue
		}
		val, _, _ = strings.Cut(val, "?")
		var sum []byte
		switch alg {
		case "sha1":
			sum = t.sha1
		case "sha256":
			sum = t.sha256
		case "sha512":
			sum = t.sha512
		default:
			continue
		}
		want, err := base64.StdEncoding.DecodeString(val)
		if err != nil || subtle.ConstantTimeCompare(want, sum) != 1 {
			return bad
		}
		checked = true
	}
	if shasum != "" {
		want, err := hex.DecodeString(strings.ToLower(shasum))
		if err != nil || subtle.ConstantTimeCompare(want, t.sha1) != 1 {
			return bad
		}
		checked = true
	}
	if !checked {
		return packages.Errorf(packages.KindInvalid, "the version manifest must declare dist.integrity or dist.shasum")
	}
	return nil
}

// revise applies a packument sent back by npm deprecate or npm unpublish:
// versions whose deprecation changed are updated, versions left out are
// deleted (the whole package when none is left), and dist-tags follow.
func (h *handler) revise(w http.ResponseWriter, r *http.Request, a *packages.Actor, n pkgName, doc *publishDoc) error {
	ctx := r.Context()
	ref := n.ref()
	if _, err := h.svc.GetPackage(ctx, a, ref, packages.OpWrite, packages.ViaRegistry); err != nil {
		return err
	}
	d, err := h.load(r, a, n)
	if err != nil {
		return err
	}
	if doc.Versions == nil {
		return packages.Errorf(packages.KindInvalid, "the document has no versions and no tarball")
	}
	for _, v := range sortedKeys(doc.Versions) {
		if _, ok := d.byName[v]; !ok {
			return packages.Errorf(packages.KindInvalid, "version %s has no tarball: publish it with npm publish", v)
		}
	}
	// Deprecations.
	for i := range d.versions {
		v := &d.versions[i]
		raw, ok := doc.Versions[v.Name]
		if !ok {
			continue
		}
		var vd struct {
			Deprecated json.RawMessage `json:"deprecated"`
		}
		if err := json.Unmarshal(raw, &vd); err != nil {
			return packages.Errorf(packages.KindInvalid, "the manifest of version %s is not valid: %s", v.Name, jsonErrMessage(err))
		}
		var cur struct {
			Deprecated json.RawMessage `json:"deprecated"`
		}
		json.Unmarshal(v.Metadata, &cur)
		want, have := deprecation(vd.Deprecated), deprecation(cur.Deprecated)
		if want == have {
			continue
		}
		meta, err := setDeprecated(v.Metadata, want)
		if err != nil {
			return err
		}
		if err := h.svc.UpdateVersionMetadata(ctx, a, ref, v.Name, meta); err != nil {
			return err
		}
	}
	// Unpublished versions.
	var gone []string
	for i := range d.versions {
		if _, ok := doc.Versions[d.versions[i].Name]; !ok {
			gone = append(gone, d.versions[i].Name)
		}
	}
	if len(gone) > 0 {
		packageDeleted, err := h.svc.DeleteVersionsByName(ctx, a, ref, gone...)
		if err != nil {
			return err
		}
		if packageDeleted {
			return writeJSON(w, http.StatusOK, map[string]any{"ok": true, "id": n.String()})
		}
	}
	// Dist-tags.
	if doc.DistTags != nil {
		d, err = h.load(r, a, n)
		if err != nil {
			return err
		}
		for _, tag := range sortedKeys(doc.DistTags) {
			v := doc.DistTags[tag]
			if d.tags[tag] == v {
				continue
			}
			if _, ok := d.byName[v]; !ok {
				return packages.Errorf(packages.KindInvalid, "dist-tag %s points at version %s, which does not exist", tag, v)
			}
			if !validTag(tag) {
				return packages.Errorf(packages.KindInvalid, "invalid dist-tag %q", tag)
			}
			if err := h.svc.SetTag(ctx, a, ref, tag, v); err != nil {
				return err
			}
		}
		for _, tag := range sortedKeys(d.tags) {
			if _, ok := doc.DistTags[tag]; ok || tag == "latest" || !hasStoredTag(d, tag) {
				continue
			}
			if err := h.svc.DeleteTag(ctx, a, ref, tag); err != nil && !packages.IsNotFound(err) {
				return err
			}
		}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"ok": true, "id": n.String()})
}

// hasStoredTag reports whether a dist-tag is stored rather than inferred.
func hasStoredTag(d *doc, tag string) bool {
	for _, v := range d.versions {
		for _, t := range v.Tags {
			if t == tag {
				return true
			}
		}
	}
	return false
}

// setDeprecated returns a stored manifest with its deprecation message set
// ("" removes it).
func setDeprecated(meta json.RawMessage, msg string) (json.RawMessage, error) {
	m := map[string]json.RawMessage{}
	if len(meta) > 0 {
		if err := json.Unmarshal(meta, &m); err != nil || m == nil {
			m = map[string]json.RawMessage{}
		}
	}
	if msg == "" {
		delete(m, "deprecated")
	} else {
		m["deprecated"] = mustJSON(msg)
	}
	return json.Marshal(m)
}

// unpublishPackage handles DELETE /{name}/-rev/{rev}: npm unpublish of a
// whole package (or of its only version).
func (h *handler) unpublishPackage(w http.ResponseWriter, r *http.Request, a *packages.Actor, n pkgName) error {
	if err := h.svc.DeletePackage(r.Context(), a, n.ref(), packages.ViaRegistry); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"ok": true, "id": n.String()})
}

// deleteTarball handles DELETE /{name}/-/{file}/-rev/{rev}, the last step
// of npm unpublish of one version: the revised packument already dropped
// the version, so this deletes it only if it is still there.
func (h *handler) deleteTarball(w http.ResponseWriter, r *http.Request, a *packages.Actor, n pkgName, file string) error {
	ver, ok := parseTarballName(n, file)
	if !ok {
		return errNotFound
	}
	ctx := r.Context()
	if _, err := h.svc.GetPackage(ctx, a, n.ref(), packages.OpDelete, packages.ViaRegistry); err != nil {
		return err
	}
	d, err := h.load(r, a, n)
	if err != nil {
		return err
	}
	if _, ok := d.byName[ver]; ok {
		if _, err := h.svc.DeleteVersionsByName(ctx, a, n.ref(), ver); err != nil {
			return err
		}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}
