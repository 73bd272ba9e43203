package nuget

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path"
	"strings"

	"github.com/packhub/packhub/internal/blob"
	"github.com/packhub/packhub/internal/packages"
)

// multipartSlack is what a push body may carry beyond the package: the
// multipart framing and any small field parts.
const multipartSlack = 1 << 20

// spooled is a pushed file written to a temporary file, for the random
// access a zip needs.
type spooled struct {
	file   *os.File
	size   int64
	digest string
}

func (s *spooled) remove() {
	if s == nil || s.file == nil {
		return
	}
	name := s.file.Name()
	s.file.Close()
	os.Remove(name)
}

// receive streams the file part of a NuGet push (a multipart/form-data
// body, chunked as NuGet sends it) to a temporary file of at most max
// bytes, hashing it on the way. Parts without a file name are skipped.
func (h *handler) receive(r *http.Request, body io.Reader, max int64) (*spooled, error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") || params["boundary"] == "" {
		return nil, packages.Errorf(packages.KindInvalid, "A push is a multipart/form-data body with the package as a file part.")
	}
	mr := multipart.NewReader(body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil, packages.Errorf(packages.KindInvalid, "The request has no package file part.")
		}
		if err != nil {
			return nil, bodyError(err)
		}
		if part.FileName() == "" {
			part.Close()
			continue
		}
		tmp, err := os.CreateTemp(h.opts.TempDir, "packhub-nuget-*.nupkg")
		if err != nil {
			return nil, fmt.Errorf("spool package: %w", err)
		}
		s := &spooled{file: tmp}
		hash := blob.NewHash()
		n, err := io.Copy(io.MultiWriter(tmp, hash), io.LimitReader(part, max+1))
		s.size = n
		if err != nil {
			s.remove()
			return nil, bodyError(err)
		}
		if n > max {
			s.remove()
			return nil, packages.Errorf(packages.KindTooLarge, "The package is larger than the limit of %d bytes.", max)
		}
		s.digest = blob.FromHash(hash)
		return s, nil
	}
}

// bodyError classifies an error reading a request body: over the limit,
// or a body that broke off or is not valid multipart.
func bodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return packages.Errorf(packages.KindTooLarge, "The request body is too large.")
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("spool package: %w", err)
	}
	return packages.Wrap(packages.KindInvalid, "The multipart body is not valid.", err)
}

// push takes a package (or, with symbols, a symbol package) as NuGet
// pushes it: PUT of a multipart body. The package is spooled and read in
// full before anything is stored; a package that fails to read leaves
// nothing. Its bytes, .nuspec and readme are uploaded, then published as
// one version; an existing version is a conflict.
func (h *handler) push(w http.ResponseWriter, r *http.Request, a *packages.Actor, f feed, symbols bool) error {
	// Refuse early, before reading what may be a large body.
	if err := h.svc.CheckScopes(a, packages.OpWrite, packages.TypeNuGet); err != nil {
		return err
	}
	max := h.opts.MaxPackageSize
	if r.ContentLength > max+multipartSlack {
		return packages.Errorf(packages.KindTooLarge, "The request body is too large.")
	}
	ctx := r.Context()
	s, err := h.receive(r, http.MaxBytesReader(w, r.Body, max+multipartSlack), max)
	if err != nil {
		return err
	}
	defer s.remove()
	pkg, err := ReadNupkg(s.file, s.size, ReadLimits{MaxUnpacked: h.opts.MaxUnpackedSize})
	if err != nil {
		return err
	}
	m := pkg.Manifest
	canon, err := h.svc.NormalizeVersion(packages.TypeNuGet, m.Version)
	if err != nil {
		return err
	}
	ref := f.ref(m.ID)
	if symbols {
		return h.pushSymbols(w, r, a, ref, canon, s, m)
	}
	if m.IsSymbolsPackage() {
		return packages.Errorf(packages.KindInvalid, "%s %s is a symbol package: push it to the symbol package endpoint.", m.ID, m.Version)
	}
	repository := repositoryName(m)
	upload := func(body io.Reader, expected string) (string, int64, error) {
		return h.svc.Upload(ctx, a, packages.UploadRequest{Package: ref, Repository: repository, Body: body, Expected: expected})
	}
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewind package: %w", err)
	}
	d, n, err := upload(s.file, s.digest)
	if err != nil {
		return err
	}
	files := []packages.File{{Name: nupkgFile(m.ID, canon), Digest: d, Size: n, MediaType: "application/octet-stream"}}
	if d, n, err = upload(bytes.NewReader(pkg.Nuspec), ""); err != nil {
		return err
	}
	files = append(files, packages.File{Name: nuspecFile(m.ID), Digest: d, Size: n, MediaType: "application/xml"})
	if pkg.Readme != nil {
		if d, n, err = upload(bytes.NewReader(pkg.Readme), ""); err != nil {
			return err
		}
		files = append(files, packages.File{Name: readmeFile, Digest: d, Size: n, MediaType: readmeType(m.Readme)})
	}
	meta, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("version metadata: %w", err)
	}
	license := m.LicenseExpression
	if license == "" {
		license = m.LicenseURL
	}
	_, err = h.svc.Publish(ctx, a, packages.PublishRequest{
		Package: ref, Version: canon, Metadata: meta, Description: m.Description, License: license,
		Files: files, Repository: repository, IfExists: packages.ExistsConflict,
	})
	if err != nil {
		if packages.IsConflict(err) {
			return packages.Wrap(packages.KindConflict, fmt.Sprintf("The feed already contains %s %s.", m.ID, m.Version), err)
		}
		return err
	}
	w.WriteHeader(http.StatusCreated)
	return nil
}

func readmeType(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".md", ".markdown":
		return "text/markdown; charset=utf-8"
	}
	return "text/plain; charset=utf-8"
}

// pushSymbols attaches a symbol package to the version it was built
// with, which must exist. The same symbol package pushed again changes
// nothing; another one for the same version is a conflict.
func (h *handler) pushSymbols(w http.ResponseWriter, r *http.Request, a *packages.Actor, ref packages.PackageRef, canon string, s *spooled, m *Manifest) error {
	if !m.IsSymbolsPackage() {
		return packages.Errorf(packages.KindInvalid, "%s %s is not a symbol package: its .nuspec has no SymbolsPackage package type.", m.ID, m.Version)
	}
	ctx := r.Context()
	// The version must exist: checked first so that symbols for a
	// missing one are not uploaded at all.
	if _, _, err := h.svc.GetVersionByName(ctx, a, ref, canon, packages.ViaRegistry); err != nil {
		return err
	}
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewind symbol package: %w", err)
	}
	d, _, err := h.svc.Upload(ctx, a, packages.UploadRequest{Package: ref, Body: s.file, Expected: s.digest})
	if err != nil {
		return err
	}
	_, err = h.svc.PutFile(ctx, a, packages.PutFileRequest{
		Package: ref, Version: canon, IfExists: packages.FileKeepIfSame,
		File: packages.File{Name: snupkgFile(m.ID, canon), Digest: d, MediaType: "application/octet-stream"},
	})
	if err != nil {
		if packages.IsConflict(err) {
			return packages.Wrap(packages.KindConflict, fmt.Sprintf("The feed already has another symbol package for %s %s.", m.ID, m.Version), err)
		}
		return err
	}
	w.WriteHeader(http.StatusCreated)
	return nil
}

// delete deletes one version, as nuget delete asks: through the service's
// delete, so that the version can be restored over the REST API.
func (h *handler) delete(w http.ResponseWriter, r *http.Request, a *packages.Actor, f feed, id, version string) error {
	if !ValidID(id) {
		return packages.ErrPackageNotFound
	}
	if _, err := h.svc.DeleteVersionsByName(r.Context(), a, f.ref(id), version); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
