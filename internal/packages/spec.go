package packages

import (
	"context"
	"fmt"
	"slices"
)

// Scoping says where a package type's permissions come from.
type Scoping int

// Scopings.
const (
	// Granular types take per-package grants (read, write, admin) and
	// may be linked to a repository for show.
	Granular Scoping = iota
	// RepositoryScoped types belong to a repository and take the caller's
	// role on it; their tokens also need the repo scope.
	RepositoryScoped
)

// LastVersionPolicy says what a delete that would remove a package's last
// version does.
type LastVersionPolicy int

// Last-version policies.
const (
	// LastVersionRefused refuses: delete the package instead.
	LastVersionRefused LastVersionPolicy = iota
	// LastTaggedVersionRefused refuses to delete the last version that
	// carries a tag; untagged versions go freely (containers).
	LastTaggedVersionRefused
	// LastVersionDeletesPackage deletes the package with its last version
	// (npm unpublish of the only version).
	LastVersionDeletesPackage
	// LastVersionAllowed deletes the version and keeps the package, which
	// may then hold no version (an OCI repository after a manifest DELETE).
	LastVersionAllowed
)

// Spec describes one package type to the Service: everything that differs
// from one type to another, so that no other code switches on the type.
// Adding a package type is writing one Spec and one protocol front.
type Spec struct {
	// Type is the name the REST API uses (package_type).
	Type Type
	// Scoping says where permissions come from.
	Scoping Scoping
	// LastVersion applies to version deletes through the REST API.
	LastVersion LastVersionPolicy
	// RegistryLastVersion applies to deletes by name through the type's
	// own protocol (DeleteVersionByName): npm unpublish, an OCI manifest
	// DELETE, gem yank, nuget delete.
	RegistryLastVersion LastVersionPolicy
	// NormalizeVersion returns the canonical form of a version name, or an
	// error of KindInvalid when the name is not a version of this type.
	// Nil keeps names as they are.
	NormalizeVersion func(name string) (string, error)
	// CompareVersions orders two canonical version names (negative when a
	// comes before b). Nil: versions have no order of their own.
	CompareVersions func(a, b string) int
	// Metadata returns the type's part of a version's REST metadata: the
	// key beside package_type and its value (containers: "container" and
	// their tags). An empty key adds nothing.
	Metadata func(v *VersionInfo) (key string, value any)
	// PageOnOwner keeps the package's web page on its owner's page even
	// when it is linked to a repository (containers); the others live on
	// their repository's page once linked.
	PageOnOwner bool
	// Hooks react to changes of the type's packages after they commit.
	Hooks Hooks
	// Webhook payloads: the package_type and ecosystem they name (""
	// names Type), the download URL of a file of a version under the
	// server's base URL (nil: the version's REST URL), and the command
	// that installs a version, given the server's host (nil: none).
	WebhookType    string
	FileURL        func(base, owner string, pkg *Package, v *Version, f *File) string
	InstallCommand func(host, owner string, pkg *Package, v *VersionInfo) string
}

// Hooks are a type's reactions to the service's changes of its packages.
// Each runs after the change has committed; v is nil for a change to a
// whole package. A nil hook does nothing.
type Hooks struct {
	OnDelete  func(ctx context.Context, pkg *Package, v *Version)
	OnRestore func(ctx context.Context, pkg *Package, v *Version)
	OnPurge   func(ctx context.Context, pkg *Package, v *Version)
}

// Granular reports whether the type takes per-package grants.
func (sp *Spec) Granular() bool { return sp.Scoping == Granular }

// Normalize returns the canonical name of a version of this type.
func (sp *Spec) Normalize(name string) (string, error) {
	if sp.NormalizeVersion == nil {
		return name, nil
	}
	return sp.NormalizeVersion(name)
}

// Specs is the set of package types a Service knows.
type Specs struct {
	byType map[Type]*Spec
	order  []Type
}

// NewSpecs returns the set of the given types; a type given twice or
// without a name is an error.
func NewSpecs(specs ...Spec) (*Specs, error) {
	s := &Specs{byType: make(map[Type]*Spec, len(specs))}
	for i := range specs {
		sp := specs[i]
		if sp.Type == "" {
			return nil, fmt.Errorf("package type spec %d has no type", i)
		}
		if _, dup := s.byType[sp.Type]; dup {
			return nil, fmt.Errorf("package type %s is specified twice", sp.Type)
		}
		s.byType[sp.Type] = &sp
		s.order = append(s.order, sp.Type)
	}
	return s, nil
}

// MustSpecs is NewSpecs for a fixed list known to be valid; it panics on
// an invalid one.
func MustSpecs(specs ...Spec) *Specs {
	s, err := NewSpecs(specs...)
	if err != nil {
		panic(err)
	}
	return s
}

// With returns a copy of s with further types added.
func (s *Specs) With(specs ...Spec) (*Specs, error) {
	all := make([]Spec, 0, len(s.order)+len(specs))
	for _, t := range s.order {
		all = append(all, *s.byType[t])
	}
	return NewSpecs(append(all, specs...)...)
}

// Get returns the spec of a type.
func (s *Specs) Get(t Type) (*Spec, bool) {
	sp, ok := s.byType[t]
	return sp, ok
}

// Parse returns the type named name and whether the set has it.
func (s *Specs) Parse(name string) (Type, bool) {
	if _, ok := s.byType[Type(name)]; ok {
		return Type(name), true
	}
	return "", false
}

// Types lists the types in the order they were given.
func (s *Specs) Types() []Type { return slices.Clone(s.order) }

// RepositoryScoped lists the repository-scoped types.
func (s *Specs) RepositoryScoped() []Type {
	var out []Type
	for _, t := range s.order {
		if s.byType[t].Scoping == RepositoryScoped {
			out = append(out, t)
		}
	}
	return out
}

// spec returns the spec of a type the service knows. A package of an
// unknown type can only come from a database written by another build;
// it is treated as granular with GitHub's default rules.
func (s *Specs) spec(t Type) *Spec {
	if sp, ok := s.byType[t]; ok {
		return sp
	}
	return &Spec{Type: t}
}
