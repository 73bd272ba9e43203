package packages

import (
	"context"
	"time"
)

// Store is the metadata store. Implementations return ErrNotFound (or an
// error wrapping it) for missing rows and ErrConflict for unique violations.
// Methods that can see soft-deleted rows take a State.
type Store interface {
	// WithTx runs fn with a Store bound to one transaction, committed when fn
	// returns nil and rolled back otherwise. Calls on the outer Store inside
	// fn are not part of the transaction.
	WithTx(ctx context.Context, fn func(tx Store) error) error
	Close() error

	// Owners (users and organizations share one id space).
	CreateOwner(ctx context.Context, o *Owner) error // sets ID, CreatedAt, UpdatedAt
	GetOwnerByLogin(ctx context.Context, login string) (*Owner, error)
	GetOwnerByID(ctx context.Context, id int64) (*Owner, error)
	SetOrgMember(ctx context.Context, orgID, userID int64, role OrgRole) error    // NoOrgRole removes
	GetOrgRole(ctx context.Context, orgID, userID int64) (OrgRole, error)         // NoOrgRole if not a member
	ListMemberships(ctx context.Context, userID int64) (map[int64]OrgRole, error) // org id -> role

	// Repositories.
	CreateRepository(ctx context.Context, r *Repository) error
	GetRepository(ctx context.Context, ownerID int64, name string) (*Repository, error) // name case-insensitive
	GetRepositoryByID(ctx context.Context, id int64) (*Repository, error)
	SetCollaborator(ctx context.Context, repoID, userID int64, role Role) error // NoRole removes
	GetCollaboratorRole(ctx context.Context, repoID, userID int64) (Role, error)
	// RemoveGrants removes every role userID holds on packages and
	// repositories of ownerID (package grants, collaborator roles).
	RemoveGrants(ctx context.Context, ownerID, userID int64) error

	// Tokens.
	CreateToken(ctx context.Context, t *Token) error
	GetTokenByHash(ctx context.Context, hash string) (*Token, error) // revoked tokens too
	GetTokenByID(ctx context.Context, id int64) (*Token, error)      // revoked tokens too
	ListTokens(ctx context.Context, userID int64) ([]Token, error)   // by id, revoked tokens too
	TouchToken(ctx context.Context, id int64, at time.Time) error
	// RevokeToken sets a token's RevokedAt to at, unless it is revoked
	// already (the first revocation's time stays).
	RevokeToken(ctx context.Context, id int64, at time.Time) error

	// Packages. Names are unique per (owner, type) case-insensitively among
	// active packages only.
	CreatePackage(ctx context.Context, p *Package) error
	GetPackage(ctx context.Context, ownerID int64, typ Type, name string, state State) (*Package, error)
	GetPackageByID(ctx context.Context, id int64) (*Package, error)
	ListPackages(ctx context.Context, f PackageFilter) ([]Package, int, error) // page and total count
	UpdatePackage(ctx context.Context, p *Package) error                       // visibility, repository, updated/deleted fields
	HardDeletePackage(ctx context.Context, id int64) error                     // with its versions, files, tags, grants, blob links
	SetPackageAccess(ctx context.Context, packageID, userID int64, role Role) error
	GetPackageAccess(ctx context.Context, packageID, userID int64) (Role, error)

	// Versions. Names are unique per package among active versions only.
	CreateVersion(ctx context.Context, v *Version) error
	GetVersion(ctx context.Context, packageID, versionID int64) (*Version, error) // any state
	GetVersionByName(ctx context.Context, packageID int64, name string, state State) (*Version, error)
	ListVersions(ctx context.Context, f VersionFilter) ([]Version, int, error)
	UpdateVersion(ctx context.Context, v *Version) error // metadata, description, license, updated/deleted fields
	HardDeleteVersion(ctx context.Context, id int64) error
	VersionStats(ctx context.Context, packageID int64) (VersionStats, error) // over active versions
	IncrementDownloads(ctx context.Context, packageID, versionID int64) error

	// Files. A version's file names are unique: AddFile returns
	// ErrConflict for a name the version has already.
	AddFile(ctx context.Context, f *File) error
	// ReplaceFile records f, replacing the version's file of the same name
	// if it has one (that row keeps its id and takes f's digest, size,
	// media type and CreatedAt). It sets f.ID and f.CreatedAt and returns
	// the digest of the file it replaced, "" if there was none.
	ReplaceFile(ctx context.Context, f *File) (previous string, err error)
	DeleteFile(ctx context.Context, versionID int64, name string) error // ErrNotFound if the version has no such file
	ListFiles(ctx context.Context, versionID int64) ([]File, error)
	GetFile(ctx context.Context, versionID int64, name string) (*File, error)

	// Tags (container tags, npm dist-tags). A tag names one version.
	SetTag(ctx context.Context, packageID int64, name string, versionID int64) error
	DeleteTag(ctx context.Context, packageID int64, name string) error
	GetTag(ctx context.Context, packageID int64, name string) (*Tag, error)
	ListTags(ctx context.Context, packageID int64, after string, limit int) ([]Tag, error) // by name; limit <= 0 means all
	TagsByVersion(ctx context.Context, versionIDs []int64) (map[int64][]string, error)     // names sorted
	DeleteVersionTags(ctx context.Context, versionID int64) error

	// Referrers: active versions of a package whose Subject is digest.
	ListReferrers(ctx context.Context, packageID int64, digest string) ([]Version, error)

	// Blobs known to the registry, and which packages may read them.
	// PutBlob records a blob; when it is recorded already, its time is
	// moved forward to b.CreatedAt (a blob pushed again restarts its grace
	// period before garbage collection).
	PutBlob(ctx context.Context, b *Blob) error
	GetBlob(ctx context.Context, digest string) (*Blob, error)
	// SetBlobChecksums records a blob's checksums; ErrNotFound when the
	// blob is not recorded. PutBlob records them too when b has them, and
	// keeps known ones when it has not.
	SetBlobChecksums(ctx context.Context, digest string, c Checksums) error
	// BlobsWithoutChecksums lists recorded blobs whose checksums are not
	// known, in digest order, after the digest after ("" for the first).
	BlobsWithoutChecksums(ctx context.Context, after string, limit int) ([]Blob, error)
	LinkBlob(ctx context.Context, packageID int64, digest string) error // no-op when linked
	BlobLinked(ctx context.Context, packageID int64, digest string) (bool, error)
	// UnreferencedBlobs lists blobs created before olderThan that no file,
	// no package link and no pending blob refers to.
	UnreferencedBlobs(ctx context.Context, olderThan time.Time, limit int) ([]Blob, error)
	// ForgetBlob deletes a blob's record only if it is still older than
	// olderThan and nothing refers to it, in one statement; it reports
	// whether it did. Garbage collection deletes the bytes only then.
	ForgetBlob(ctx context.Context, digest string, olderThan time.Time) (bool, error)
	// TouchBlob moves a recorded blob's time forward to at, as PutBlob
	// does, but records nothing: it reports whether the blob is recorded.
	TouchBlob(ctx context.Context, digest string, at time.Time) (bool, error)

	// Pending blobs: blobs one user pushed to a name that has no package
	// yet (OCI layers pushed before the first manifest). They count as
	// references for garbage collection until they expire.
	// LinkPendingBlob records one, or moves its time forward to at.
	LinkPendingBlob(ctx context.Context, k PendingKey, digest string, at time.Time) error
	// PendingBlobs reports whether k holds a pending blob (held), and whether
	// digest is one of them.
	PendingBlobs(ctx context.Context, k PendingKey, digest string) (held, linked bool, err error)
	// ClaimPendingBlobs links k's pending blobs to a package and forgets
	// them as pending.
	ClaimPendingBlobs(ctx context.Context, k PendingKey, packageID int64) error
	// ExpirePendingBlobs forgets pending blobs last linked before t and
	// returns how many it forgot.
	ExpirePendingBlobs(ctx context.Context, before time.Time) (int, error)

	// Purge: soft-deleted packages and versions deleted before cutoff,
	// at most limit (limit <= 0: all).
	ListPurgeablePackages(ctx context.Context, cutoff time.Time, limit int) ([]Package, error)
	ListPurgeableVersions(ctx context.Context, cutoff time.Time, limit int) ([]Version, error)

	AddEvent(ctx context.Context, e *Event) error
	ListEvents(ctx context.Context, packageID int64) ([]Event, error) // oldest first

	HookStore  // webhooks and their deliveries (hooks.go)
	AuditStore // the audit log (audit.go)
}

// PendingKey names the blobs one user pushed to a name (owner, type,
// package name, compared case-insensitively) that has no package yet.
type PendingKey struct {
	OwnerID int64
	Type    Type
	Name    string
	UserID  int64
}

// PackageFilter selects packages for ListPackages. Results are ordered by
// id ascending.
type PackageFilter struct {
	OwnerID      int64        // 0: every owner
	Type         Type         // "": every type
	Visibilities []Visibility // empty: any visibility
	State        State
	NameContains string // case-insensitive substring; "" matches all
	// Readable restricts the result to what one caller may read. Nil means
	// no restriction (the caller may read everything the other fields
	// select).
	Readable *ReadableBy
	Limit    int // <= 0: no limit
	Offset   int
}

// ReadableBy describes who is reading, for PackageFilter. A package is
// readable when it is public; or internal and its owner is an organization
// the reader is a member of; or the reader owns it or has a package_access
// grant; or it is owned by an organization the reader administers. A
// package of a RepositoryScoped type is also readable by its
// repository's collaborators, by anyone when the repository is public, and
// by members of the owning organization when the repository is internal.
type ReadableBy struct {
	UserID int64 // 0: anonymous, public packages only
	// OrgMemberOf lists organizations the reader is a member of: their
	// internal packages are readable, and so are packages of their
	// repositories of internal visibility.
	OrgMemberOf []int64
	// OrgAdminOf lists organizations whose every package the reader may read.
	OrgAdminOf []int64
	// RepositoryScoped lists the package types whose packages take read
	// access from their repository.
	RepositoryScoped []Type
}

// VersionFilter selects versions for ListVersions, newest first (id
// descending).
type VersionFilter struct {
	PackageID int64
	State     State
	// DeletedAfter, when set, keeps only versions deleted after it (the
	// ones still inside the restore window).
	DeletedAfter time.Time
	Limit        int
	Offset       int
}

// VersionStats summarizes a package's active versions.
type VersionStats struct {
	Count         int
	TaggedCount   int   // versions with at least one tag
	MaxDownloads  int64 // the most downloads of any one version
	LastUpdatedAt time.Time
}

// Locker is an optional power of a Store: a lock every replica shares, so
// that one of them at a time runs a background job. The service checks for
// it at run time.
type Locker interface {
	// TryLock takes the named lock without waiting; ok is false when
	// another holder has it.
	TryLock(ctx context.Context, name string) (unlock func(), ok bool, err error)
}

// PackageLocker is an optional power of a Store bound to a transaction:
// locking a package's row until the transaction ends, so that concurrent
// writes to one package (a publish and a delete, two version deletes) run
// one after the other. SQLite serialises every write transaction already.
type PackageLocker interface {
	LockPackage(ctx context.Context, id int64) error
}

// Auditor is an optional power of a Store: what a consistency check
// (packhub fsck) reads, in batches and without locks, so that it runs
// beside a serving registry, and the narrow repairs it makes. Every read
// is one statement; every repair changes one row (or one blob's rows) and
// only while the row is still as the check saw it.
type Auditor interface {
	// AuditTotals counts what a check goes through, for its progress.
	AuditTotals(ctx context.Context) (AuditTotals, error)
	// AuditBlobs lists recorded blobs with their checksums, in digest
	// order, after the digest after ("" for the first).
	AuditBlobs(ctx context.Context, after string, limit int) ([]Blob, error)
	// AuditFiles lists file rows in id order after afterID, whatever the
	// state of their version, with the version's package (0 when the
	// version row is missing).
	AuditFiles(ctx context.Context, afterID int64, limit int) ([]AuditFile, error)
	// AuditFile reads one file row by id; ErrNotFound when it is gone.
	AuditFile(ctx context.Context, id int64) (*AuditFile, error)
	// AuditLinks lists the links of blobs to packages (what a package may
	// read), in (package, digest) order after after.
	AuditLinks(ctx context.Context, after BlobLink, limit int) ([]BlobLink, error)
	// AuditCounters lists packages in id order after afterID with their
	// kept counters and the same counts taken from the rows, in one
	// statement.
	AuditCounters(ctx context.Context, afterID int64, limit int) ([]PackageCounters, error)
	// BlobReferences counts what refers to a digest.
	BlobReferences(ctx context.Context, digest string) (BlobReferences, error)

	// RecountPackage sets a package's version count from its active
	// versions and raises its download count to the sum of its versions'
	// where it is below, with the package's row locked.
	RecountPackage(ctx context.Context, id int64) error
	// SetFileSize sets the size of a file row that still holds digest; it
	// reports whether it did.
	SetFileSize(ctx context.Context, id int64, digest string, size int64) (bool, error)
	// DeleteFileIf deletes a file row that still holds digest; it reports
	// whether it did.
	DeleteFileIf(ctx context.Context, id int64, digest string) (bool, error)
	// FixBlob records a blob with the size and checksums given, replacing
	// what its record says.
	FixBlob(ctx context.Context, b Blob) error
	// DropBlob forgets a blob whose bytes are lost: its record, its links to
	// packages and its pending pushes, unless a file row still refers to
	// it. It reports whether it removed anything.
	DropBlob(ctx context.Context, digest string) (bool, error)
}

// AuditTotals counts the rows a consistency check reads.
type AuditTotals struct {
	Blobs     int   // recorded blobs
	BlobBytes int64 // their recorded sizes, summed
	Files     int
	Links     int
	Packages  int
}

// AuditFile is a file row with where it belongs.
type AuditFile struct {
	File
	PackageID      int64 // 0 when the version row is missing
	VersionDeleted bool
}

// BlobLink is one blob linked to a package.
type BlobLink struct {
	PackageID int64
	Digest    string
}

// PackageCounters are a package's kept counters beside the counts taken
// from its versions.
type PackageCounters struct {
	PackageID int64
	// VersionCount is the kept number of active versions; ActiveVersions
	// the number counted.
	VersionCount, ActiveVersions int
	// DownloadCount is the package's kept download count (downloads of the
	// package and of every version it had); VersionDownloads the sum of
	// its versions' counts, which it cannot be below.
	DownloadCount, VersionDownloads int64
}

// BlobReferences counts what refers to one digest.
type BlobReferences struct {
	Files   int // file rows
	Links   int // packages it is linked to
	Pending int // pending pushes
}

// Any reports whether anything refers to the blob.
func (r BlobReferences) Any() bool { return r.Files+r.Links+r.Pending > 0 }
