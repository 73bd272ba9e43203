package packages

import (
	"context"
	"fmt"
	"strings"
)

// What registries whose URLs name a repository (Maven's
// /maven/OWNER/REPO/) need beyond the operations every front shares.

// InRepository reports whether the package belongs to the repository
// "OWNER/REPO" (case-insensitively, as GitHub compares names). A registry
// whose URL names a repository serves through it only that repository's
// packages.
func (pi *PackageInfo) InRepository(fullName string) bool {
	owner, name, ok := strings.Cut(fullName, "/")
	if !ok || pi.Repository == nil || pi.RepositoryOwner == nil {
		return false
	}
	return strings.EqualFold(pi.RepositoryOwner.Login, owner) && strings.EqualFold(pi.Repository.Name, name)
}

// PublicRepository reports whether "OWNER/REPO" names a public repository.
// It is false alike for a private, an internal and a missing repository,
// so that a registry may tell an anonymous caller "not found" for what
// anybody may know is missing (a public repository has no hidden
// packages) and ask for credentials for everything else.
func (s *Service) PublicRepository(ctx context.Context, fullName string) (bool, error) {
	owner, name, ok := strings.Cut(fullName, "/")
	if !ok || !ValidLogin(owner) || !ValidRepositoryName(name) {
		return false, nil
	}
	r, _, err := s.repositoryByFullName(ctx, fullName)
	switch {
	case err == nil:
		return r.Visibility == Public, nil
	case IsNotFound(err):
		return false, nil
	}
	return false, fmt.Errorf("repository %s: %w", fullName, err)
}

// OpenRegistryFile is OpenFile for the most frequent registry read, a
// download: the owner, the package, the version and its file are resolved
// in one statement where the store can (RegistryLookuper), and authorized
// as OpenFile authorizes them. It answers what OpenFile answers, except
// that the version carries no tags and the file no creation time when the
// store resolved them in one statement.
func (s *Service) OpenRegistryFile(ctx context.Context, a *Actor, req OpenFileRequest) (*FileContent, error) {
	name, err := s.specs.spec(req.Package.Type).Normalize(req.Version)
	if err != nil {
		return nil, ErrVersionNotFound
	}
	pi, v, f, err := s.RegistryManifest(ctx, a, req.Package, name, true, req.Name)
	if err != nil {
		return nil, err
	}
	rd, err := s.blobs.Open(ctx, f.Digest)
	if err != nil {
		return nil, fmt.Errorf("open blob %s of %s@%s: %w", f.Digest, req.Package, v.Name, err)
	}
	if req.CountDownload {
		s.CountDownload(pi.ID, v.ID)
	}
	return &FileContent{Package: pi, Version: &VersionInfo{Version: *v}, File: f, Reader: rd}, nil
}
