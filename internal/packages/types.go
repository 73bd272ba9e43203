// Package packages holds Packhub's domain: the types every layer shares, the
// interfaces of the metadata and blob stores, and the Service that enforces
// the rules of GitHub Packages. Protocol fronts talk only to the Service.
package packages

import (
	"encoding/json"
	"time"
)

// Type is a package ecosystem, as named by GitHub's REST API.
type Type string

// The six package types GitHub's REST API knows; BuiltinSpecs describes them.
const (
	TypeNpm       Type = "npm"
	TypeMaven     Type = "maven"
	TypeRubyGems  Type = "rubygems"
	TypeDocker    Type = "docker"
	TypeNuGet     Type = "nuget"
	TypeContainer Type = "container"
)

// Visibility of a package or repository.
type Visibility string

// Visibilities.
const (
	Public   Visibility = "public"
	Private  Visibility = "private"
	Internal Visibility = "internal"
)

// ParseVisibility returns the Visibility named s and whether s names one.
func ParseVisibility(s string) (Visibility, bool) {
	switch Visibility(s) {
	case Public, Private, Internal:
		return Visibility(s), true
	}
	return "", false
}

// OwnerType distinguishes users from organizations; the values are GitHub's.
type OwnerType string

// Owner types.
const (
	UserOwner OwnerType = "User"
	OrgOwner  OwnerType = "Organization"
)

// Owner is a user or an organization; both share one id space.
type Owner struct {
	ID        int64
	Login     string
	Type      OwnerType
	Name      string
	Email     string
	SiteAdmin bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// OrgRole is a user's role in an organization.
type OrgRole string

// Organization roles; NoOrgRole means not a member.
const (
	NoOrgRole OrgRole = ""
	OrgMember OrgRole = "member"
	OrgAdmin  OrgRole = "admin"
)

// Role is a permission level on a package or repository. Roles are ordered:
// a higher role includes every lower one.
type Role int

// Roles, weakest first.
const (
	NoRole Role = iota
	RoleRead
	RoleWrite
	RoleAdmin
)

// String returns the role's GitHub name (read, write, admin) or "none".
func (r Role) String() string {
	switch r {
	case RoleRead:
		return "read"
	case RoleWrite:
		return "write"
	case RoleAdmin:
		return "admin"
	}
	return "none"
}

// ParseRole parses read, write or admin.
func ParseRole(s string) (Role, bool) {
	switch s {
	case "read":
		return RoleRead, true
	case "write":
		return RoleWrite, true
	case "admin":
		return RoleAdmin, true
	}
	return NoRole, false
}

// Repository is a code repository that repository-scoped packages (Maven,
// docker) belong to and that any package may be linked to.
type Repository struct {
	ID          int64
	OwnerID     int64
	Name        string
	Description string
	Visibility  Visibility
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Token is a personal access token (classic). Only its SHA-256 hash is kept.
type Token struct {
	ID         int64
	UserID     int64
	Hash       string // hex SHA-256 of the plaintext
	Scopes     []string
	Note       string
	ExpiresAt  *time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time // set once an administrator revokes it
	CreatedAt  time.Time
}

// Usable reports whether the token may authenticate at now: it is neither
// revoked nor expired. A token expires at its ExpiresAt exactly.
func (t *Token) Usable(now time.Time) bool {
	if t.RevokedAt != nil {
		return false
	}
	return t.ExpiresAt == nil || now.Before(*t.ExpiresAt)
}

// Package is a named package of one type in one owner's namespace.
type Package struct {
	ID            int64
	OwnerID       int64
	Type          Type
	Name          string
	Visibility    Visibility
	RepositoryID  int64 // 0 when not linked
	DownloadCount int64
	// VersionCount is the number of active versions; filled by GetPackage,
	// GetPackageByID and ListPackages, ignored on writes.
	VersionCount int
	// Revision changes whenever one of the package's versions (other than
	// its download count) or tags changes, whichever process made the
	// change; filled by reads, ignored on writes. With UpdatedAt it tells a
	// cache of rendered registry documents whether an entry is current.
	Revision  int64
	CreatedAt time.Time
	UpdatedAt time.Time
	DeletedAt *time.Time
	DeletedBy int64 // 0 when not deleted
}

// Version is one published version of a package. For container and docker
// packages the name is the manifest digest.
type Version struct {
	ID            int64
	PackageID     int64
	Name          string
	Metadata      json.RawMessage // type-specific JSON owned by the front; may be nil
	Description   string
	License       string
	Subject       string // digest this version refers to (OCI referrers); "" if none
	DownloadCount int64
	CreatedAt     time.Time
	UpdatedAt     time.Time
	DeletedAt     *time.Time
	DeletedBy     int64
}

// File is one stored file of a version: an npm tarball, a jar or pom, a .gem,
// a .nupkg, an OCI manifest.
type File struct {
	ID        int64
	VersionID int64
	Name      string
	Digest    string // "sha256:<hex>" of the blob holding the bytes
	Size      int64
	MediaType string
	CreatedAt time.Time

	// readable is set on a File the service returns to a caller it has
	// authorised to read it; only such a File opens (OpenFileBlob).
	readable bool
}

// Tag points a name at a version of a package: container tags, npm dist-tags.
type Tag struct {
	PackageID int64
	Name      string
	VersionID int64
	UpdatedAt time.Time
}

// Blob is a content-addressed byte sequence known to the metadata store.
type Blob struct {
	Digest    string
	Size      int64
	CreatedAt time.Time
	Checksums Checksums // zero until known
}

// Event is one entry of the audit trail.
type Event struct {
	ID        int64
	ActorID   int64 // 0 for anonymous or the system
	Action    string
	PackageID int64
	VersionID int64
	Detail    string
	CreatedAt time.Time
	// What the audit log keeps of the request behind the event: the
	// token it came with (0: none), the client's address and User-Agent,
	// and the request id of the server's logs.
	TokenID   int64
	IP        string
	UserAgent string
	RequestID string
}

// Event actions.
const (
	ActionPublish        = "publish"
	ActionDeletePackage  = "package.delete"
	ActionRestorePackage = "package.restore"
	ActionDeleteVersion  = "version.delete"
	ActionRestoreVersion = "version.restore"
	ActionPurge          = "purge"
	ActionFilePut        = "file.put"    // a file put into a version, except those of a Publish that creates the version
	ActionFileDelete     = "file.delete" // a file deleted from a version
)

// State selects live or soft-deleted rows. Every query that can see deleted
// rows takes one, so the filter cannot be forgotten.
type State int

// States.
const (
	Active State = iota
	Deleted
	AnyState
)
