package oci

import (
	"regexp"
	"strings"

	"github.com/packhub/packhub/internal/packages"
)

// maxNameLength bounds a repository name, as Docker's reference grammar
// does.
const maxNameLength = 255

// namePattern is the distribution spec's grammar for a repository name.
var namePattern = regexp.MustCompile(`^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$`)

// tagPattern is the distribution spec's grammar for a tag.
var tagPattern = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)

// Name is a repository name split into what the packages service knows.
type Name struct {
	// Full is the name as the client wrote it: OWNER/IMAGE for container
	// images, OWNER/REPO/IMAGE for docker images.
	Full string
	// Ref names the package: the owner, and the image (with any further
	// path segments) as the package name.
	Ref packages.PackageRef
	// Repository is "OWNER/REPO" for docker images, "" for container
	// images.
	Repository string
}

// ParseName parses a repository name for a registry of type typ. Container
// names are OWNER/IMAGE, where IMAGE may contain "/"; docker names are
// OWNER/REPO/IMAGE, where IMAGE may contain "/". OWNER must be a login.
func ParseName(typ packages.Type, full string) (Name, error) {
	if len(full) > maxNameLength || !namePattern.MatchString(full) {
		return Name{}, errorf(codeNameInvalid, "invalid repository name %q", truncate(full))
	}
	parts := strings.Split(full, "/")
	min := 2
	if typ == packages.TypeDocker {
		min = 3
	}
	if len(parts) < min {
		if typ == packages.TypeDocker {
			return Name{}, errorf(codeNameInvalid, "repository name must be OWNER/REPOSITORY/IMAGE")
		}
		return Name{}, errorf(codeNameInvalid, "repository name must be OWNER/IMAGE")
	}
	if !packages.ValidLogin(parts[0]) {
		return Name{}, errorf(codeNameInvalid, "%q is not a user or organization name", truncate(parts[0]))
	}
	n := Name{Full: full, Ref: packages.PackageRef{Owner: parts[0], Scope: packages.AnyOwner, Type: typ}}
	if typ == packages.TypeDocker {
		n.Repository = parts[0] + "/" + parts[1]
		n.Ref.Name = strings.Join(parts[2:], "/")
	} else {
		n.Ref.Name = strings.Join(parts[1:], "/")
	}
	return n, nil
}

// validTag reports whether s is a valid tag.
func validTag(s string) bool { return tagPattern.MatchString(s) }

// truncate shortens s for an error message.
func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
