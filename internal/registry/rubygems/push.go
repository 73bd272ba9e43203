package rubygems

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/packhub/packhub/internal/packages"
)

// gemMediaType is the media type of stored .gem files.
const gemMediaType = "application/octet-stream"

// msgRepush is rubygems.org's answer to a push of a gem it has.
const msgRepush = "Repushing of gem versions is not allowed.\nPlease bump the version number and push a new different release.\nSee also `gem yank` if you want to unpublish the bad release."

// readRecorder remembers the first error reading its reader gave, so that
// a body over the size limit is told from a bad gem whatever the gem
// reader made of the error.
type readRecorder struct {
	r   io.Reader
	err error
}

func (rr *readRecorder) Read(p []byte) (int, error) {
	n, err := rr.r.Read(p)
	if err != nil && err != io.EOF && rr.err == nil {
		rr.err = err
	}
	return n, err
}

// push takes POST api/v1/gems: the raw .gem as the body. The gem is read
// while it is spooled to a temporary file; only a valid gem is stored.
func (h *handler) push(q *request) error {
	ctx := q.r.Context()
	if q.a.Anonymous() {
		return packages.Errorf(packages.KindUnauthenticated, packages.MsgRequiresAuthentication)
	}
	// Refuse early, before reading a large body.
	if err := h.svc.CheckScopes(q.a, packages.OpWrite, packages.TypeRubyGems); err != nil {
		return err
	}
	if q.r.ContentLength > h.opts.MaxGemSize {
		return packages.Errorf(packages.KindTooLarge, "The gem is larger than %d bytes.", h.opts.MaxGemSize)
	}
	tmp, err := os.CreateTemp("", "packhub-gem-*")
	if err != nil {
		return fmt.Errorf("spool gem: %w", err)
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	sum := sha256.New()
	body := &readRecorder{r: http.MaxBytesReader(q.w, q.r.Body, h.opts.MaxGemSize)}
	src := io.TeeReader(body, io.MultiWriter(tmp, sum))
	spec, perr := readGem(src, gemLimits{Metadata: h.opts.MaxMetadataSize, Data: dataUnpackFactor * h.opts.MaxGemSize, Entry: h.opts.MaxGemSize})
	if perr == nil {
		// What follows the tar archive's end (padding) is part of the file.
		_, perr = io.Copy(io.Discard, src)
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.As(body.err, &mbe):
		return packages.Errorf(packages.KindTooLarge, "The gem is larger than %d bytes.", h.opts.MaxGemSize)
	case body.err != nil:
		return &httpError{status: http.StatusBadRequest, msg: "The gem could not be read from the request."}
	case perr != nil:
		return perr
	}
	size, err := tmp.Seek(0, io.SeekCurrent)
	if err != nil {
		return fmt.Errorf("spool gem: %w", err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("spool gem: %w", err)
	}
	spec.File = spec.fullName() + ".gem"
	spec.SHA256 = hex.EncodeToString(sum.Sum(nil))
	spec.Size = size

	ref := gemRef(q.owner, spec.Name)
	if pi, err := h.svc.RegistryPackage(ctx, q.a, ref); err == nil && pi.Name != spec.Name {
		return packages.Errorf(packages.KindConflict, "There is already a gem named %s; gem names differ by more than case.", pi.Name)
	}
	// A gem's file name must stand for this gem alone: "a-1.0" version
	// "2" and "a" version "1.0" of a platform ending in "-2" would share
	// one.
	if taken, err := h.svc.FileClaimed(ctx, q.a, q.owner, packages.TypeRubyGems, otherClaims(spec)); err != nil {
		return err
	} else if taken {
		return packages.Errorf(packages.KindConflict, "Another gem of %s has a file named %s; choose another name or version.", q.owner, spec.File)
	}
	repository := linkedRepository(spec.Metadata)
	digest, _, err := h.svc.Upload(ctx, q.a, packages.UploadRequest{Package: ref, Repository: repository, Body: tmp, Expected: "sha256:" + spec.SHA256})
	if err != nil {
		return err
	}
	_, err = h.svc.PutVersionFile(ctx, q.a, packages.PutVersionFileRequest{
		PutFileRequest: packages.PutFileRequest{
			Package:       ref,
			Version:       spec.Version,
			CreateVersion: true,
			File:          packages.File{Name: spec.File, Digest: digest, MediaType: gemMediaType},
			IfExists:      packages.FileConflict,
			Repository:    repository,
		},
		Description: spec.Summary,
		License:     strings.Join(spec.Licenses, ", "),
		Merge: func(current json.RawMessage) (json.RawMessage, error) {
			m, err := decodeVersionMetadata(current)
			if err != nil {
				return nil, err
			}
			for _, g := range m.Gems {
				if g.Platform == spec.Platform {
					return nil, packages.Errorf(packages.KindConflict, msgRepush)
				}
			}
			m.Gems = append(m.Gems, spec)
			return json.Marshal(m)
		},
	})
	if err != nil {
		return err
	}
	return writeText(q.w, http.StatusOK, fmt.Sprintf("Successfully registered gem: %s (%s)\n", spec.Name, versionToken(spec)))
}

// linkedRepository reads the repository a gem names, as GitHub does:
// metadata github_repo ("ssh://github.com/OWNER/REPO"), else
// source_code_uri. It returns "OWNER/REPO", or "" when neither names one;
// the service links the package when the repository is its owner's.
func linkedRepository(meta map[string]string) string {
	for _, k := range []string{"github_repo", "source_code_uri"} {
		u, err := url.Parse(strings.TrimSpace(meta[k]))
		if err != nil || u.Host == "" {
			continue
		}
		segs := strings.Split(strings.Trim(u.Path, "/"), "/")
		if len(segs) < 2 || segs[0] == "" || segs[1] == "" {
			continue
		}
		return segs[0] + "/" + strings.TrimSuffix(segs[1], ".git")
	}
	return ""
}

// maxYankForm bounds the form of a yank.
const maxYankForm = 64 << 10

// yank takes DELETE api/v1/gems/yank with gem_name, version and platform
// in the form (gem yank sends them as the body): the version leaves every
// index and can be restored through the REST API.
func (h *handler) yank(q *request) error {
	ctx := q.r.Context()
	form := q.r.URL.Query()
	b, err := io.ReadAll(io.LimitReader(q.r.Body, maxYankForm+1))
	if err != nil {
		return &httpError{status: http.StatusBadRequest, msg: "The request could not be read."}
	}
	if len(b) > maxYankForm {
		return packages.Errorf(packages.KindTooLarge, "The request is too large.")
	}
	body, err := url.ParseQuery(string(b))
	if err != nil {
		return &httpError{status: http.StatusBadRequest, msg: "The request's form is not valid."}
	}
	for k, v := range body {
		form[k] = append(form[k], v...)
	}
	name, version, plat := form.Get("gem_name"), form.Get("version"), form.Get("platform")
	if name == "" || version == "" {
		return &httpError{status: http.StatusBadRequest, msg: "gem_name and version are required."}
	}
	if q.a.Anonymous() {
		return packages.Errorf(packages.KindUnauthenticated, packages.MsgRequiresAuthentication)
	}
	notFound := packages.Errorf(packages.KindNotFound, "The version %s does not exist.", version)
	v, err := packages.NormalizeGemVersion(version)
	if err != nil || !validGemName(name) {
		return notFound
	}
	ref := gemRef(q.owner, name)
	if plat != "" {
		_, vi, err := h.svc.GetVersionByName(ctx, q.a, ref, v, packages.ViaRegistry)
		if err != nil {
			if errors.Is(err, packages.ErrVersionNotFound) {
				return notFound
			}
			return err
		}
		m, err := decodeVersionMetadata(vi.Metadata)
		if err != nil {
			return err
		}
		want := canonicalPlatform(plat)
		found := false
		for _, g := range m.Gems {
			found = found || g.Platform == want
		}
		switch {
		case !found:
			return packages.Errorf(packages.KindNotFound, "The version %s-%s does not exist.", version, want)
		case len(m.Gems) > 1:
			return packages.Errorf(packages.KindInvalid, "Version %s of %s has %d platforms: Packhub yanks a version with all its platforms, so yank it without --platform.", v, name, len(m.Gems))
		}
	}
	if _, err := h.svc.DeleteVersionsByName(ctx, q.a, ref, v); err != nil {
		if errors.Is(err, packages.ErrVersionNotFound) {
			return notFound
		}
		return err
	}
	return writeText(q.w, http.StatusOK, fmt.Sprintf("Successfully deleted gem: %s (%s)\n", name, v))
}

// otherClaims lists the other gems and versions a gem's file name could
// be read as: NAME-VERSION[-PLATFORM] split at each other "-".
func otherClaims(spec *gemSpec) []packages.FileClaim {
	full := spec.fullName()
	var out []packages.FileClaim
	for i := 0; i < len(full); i++ {
		if full[i] != '-' || full[:i] == spec.Name {
			continue
		}
		name, rest := full[:i], full[i+1:]
		version, _, _ := strings.Cut(rest, "-")
		if !validGemName(name) || version == "" || !isDigitByte(version[0]) {
			continue
		}
		out = append(out, packages.FileClaim{Package: name, Version: version, File: spec.File})
	}
	return out
}

func isDigitByte(c byte) bool { return c >= '0' && c <= '9' }
