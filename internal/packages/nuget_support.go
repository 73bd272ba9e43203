package packages

import (
	"context"
	"fmt"
)

// What registries whose feeds belong to one owner (NuGet's
// /nuget/OWNER/index.json) need beyond the operations every front shares.

// SearchOwnerRequest selects packages of one type in one owner's
// namespace by name.
type SearchOwnerRequest struct {
	Owner string
	Type  Type
	// NameContains is a case-insensitive part of the name; "" matches
	// every package.
	NameContains string
	// Limit and Offset page the result (Limit <= 0: no limit).
	Limit, Offset int
}

// SearchOwnerPackages lists the active packages of one type in one owner's
// namespace whose names contain a text, as a registry's search does: only
// what the caller may read through a registry (public packages for an
// anonymous caller, or for a token without read:packages), ordered by id,
// with the total count. An unknown owner has no packages.
func (s *Service) SearchOwnerPackages(ctx context.Context, a *Actor, req SearchOwnerRequest) ([]PackageInfo, int, error) {
	owner, err := resolveOwner(ctx, s.store, a, PackageRef{Owner: req.Owner, Scope: AnyOwner, Type: req.Type})
	if err != nil {
		if IsNotFound(err) {
			return nil, 0, nil
		}
		return nil, 0, err
	}
	reader := a
	if s.checkScopes(a, OpRead, req.Type) != nil {
		// Without read:packages only public packages are readable, as
		// for registry reads.
		reader = nil
	}
	rb, err := s.readableBy(ctx, s.store, reader, owner)
	if err != nil {
		return nil, 0, err
	}
	f := PackageFilter{OwnerID: owner.ID, Type: req.Type, State: Active, NameContains: req.NameContains,
		Readable: rb, Limit: req.Limit, Offset: req.Offset}
	pkgs, total, err := s.store.ListPackages(ctx, f)
	if err != nil {
		return nil, 0, fmt.Errorf("search packages: %w", err)
	}
	out := make([]PackageInfo, 0, len(pkgs))
	repos := map[int64]*PackageInfo{}
	for i := range pkgs {
		pi, err := s.info(ctx, s.store, owner, &pkgs[i], repos)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, *pi)
	}
	return out, total, nil
}

// NormalizeVersion returns the canonical name of a version of a type, as
// the type's spec gives it: what Publish should be given, so that one
// version has one name however a client writes it. A name that is not a
// version of the type is KindInvalid.
func (s *Service) NormalizeVersion(t Type, name string) (string, error) {
	return s.specs.spec(t).Normalize(name)
}

// CompareVersions orders two canonical version names of a type by its
// spec; a type without an order compares names bytewise.
func (s *Service) CompareVersions(t Type, a, b string) int {
	if cmp := s.specs.spec(t).CompareVersions; cmp != nil {
		return cmp(a, b)
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
