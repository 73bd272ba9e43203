package metrics

import (
	"context"
	"time"

	"github.com/packhub/packhub/internal/packages"
)

// fullStore is what the SQL store is: the Store with every optional power
// the service and the jobs look for. The decorator keeps them all, so that
// wrapping the store changes nothing but the timing; a store without all
// of them is not wrapped (InstrumentStore says so).
type fullStore interface {
	packages.Store
	packages.Locker
	packages.PackageLocker
	packages.DownloadAdder
	packages.RegistryLookuper
	packages.BlobUnlinker
	packages.Auditor
}

// store times every operation of a metadata store, its optional powers
// included, and of the transactions it opens.
type store struct {
	full
	m *Metrics
}

// full is fullStore under a name that embeds without clashing with the
// decorator's own methods.
type full = fullStore

// InstrumentStore returns st timed into m's packhub_store_operation_*
// metrics. A store lacking one of the optional powers the SQL store has is
// returned as it is, with ok false: wrapping it would hide or fake a power
// the service checks for.
func InstrumentStore(st packages.Store, m *Metrics) (packages.Store, bool) {
	f, ok := st.(fullStore)
	if !ok {
		return st, false
	}
	w := &store{full: f, m: m}
	if r, ok := st.(probedStore); ok {
		return &probed{store: w, probes: r}, true
	}
	return w, true
}

// probedStore is the powers of an opened database that its transactions
// lack: the health checks' probes (a ping, the migrations its database
// lacks) and refreshing the planner's statistics.
type probedStore interface {
	Ping(ctx context.Context) error
	PendingMigrations(ctx context.Context) ([]string, error)
	// Analyze refreshes the query planner's statistics.
	Analyze(ctx context.Context) error
}

// probed is the decorator of a probed store: the probes pass through,
// timed like every other operation.
type probed struct {
	*store
	probes probedStore
}

func (p *probed) Ping(ctx context.Context) (err error) {
	defer p.time("Ping", time.Now(), &err)
	return p.probes.Ping(ctx)
}

func (p *probed) Analyze(ctx context.Context) (err error) {
	defer p.time("Analyze", time.Now(), &err)
	return p.probes.Analyze(ctx)
}

func (p *probed) PendingMigrations(ctx context.Context) (r0 []string, err error) {
	defer p.time("PendingMigrations", time.Now(), &err)
	return p.probes.PendingMigrations(ctx)
}

func (s *store) time(op string, start time.Time, err *error) {
	observe(s.m.storeTime, s.m.storeErrors, op, start, *err)
}

// WithTx runs fn with the transaction's store timed too; the operation
// "WithTx" is the whole transaction.
func (s *store) WithTx(ctx context.Context, fn func(tx packages.Store) error) (err error) {
	defer s.time("WithTx", time.Now(), &err)
	return s.full.WithTx(ctx, func(tx packages.Store) error {
		if f, ok := tx.(fullStore); ok {
			return fn(&store{full: f, m: s.m})
		}
		return fn(tx)
	})
}

func (s *store) CreateOwner(ctx context.Context, o *packages.Owner) (err error) {
	defer s.time("CreateOwner", time.Now(), &err)
	return s.full.CreateOwner(ctx, o)
}

func (s *store) GetOwnerByLogin(ctx context.Context, login string) (r0 *packages.Owner, err error) {
	defer s.time("GetOwnerByLogin", time.Now(), &err)
	return s.full.GetOwnerByLogin(ctx, login)
}

func (s *store) GetOwnerByID(ctx context.Context, id int64) (r0 *packages.Owner, err error) {
	defer s.time("GetOwnerByID", time.Now(), &err)
	return s.full.GetOwnerByID(ctx, id)
}

func (s *store) SetOrgMember(ctx context.Context, orgID, userID int64, role packages.OrgRole) (err error) {
	defer s.time("SetOrgMember", time.Now(), &err)
	return s.full.SetOrgMember(ctx, orgID, userID, role)
}

func (s *store) GetOrgRole(ctx context.Context, orgID, userID int64) (r0 packages.OrgRole, err error) {
	defer s.time("GetOrgRole", time.Now(), &err)
	return s.full.GetOrgRole(ctx, orgID, userID)
}

func (s *store) ListMemberships(ctx context.Context, userID int64) (r0 map[int64]packages.OrgRole, err error) {
	defer s.time("ListMemberships", time.Now(), &err)
	return s.full.ListMemberships(ctx, userID)
}

func (s *store) CreateRepository(ctx context.Context, r *packages.Repository) (err error) {
	defer s.time("CreateRepository", time.Now(), &err)
	return s.full.CreateRepository(ctx, r)
}

func (s *store) GetRepository(ctx context.Context, ownerID int64, name string) (r0 *packages.Repository, err error) {
	defer s.time("GetRepository", time.Now(), &err)
	return s.full.GetRepository(ctx, ownerID, name)
}

func (s *store) GetRepositoryByID(ctx context.Context, id int64) (r0 *packages.Repository, err error) {
	defer s.time("GetRepositoryByID", time.Now(), &err)
	return s.full.GetRepositoryByID(ctx, id)
}

func (s *store) SetCollaborator(ctx context.Context, repoID, userID int64, role packages.Role) (err error) {
	defer s.time("SetCollaborator", time.Now(), &err)
	return s.full.SetCollaborator(ctx, repoID, userID, role)
}

func (s *store) GetCollaboratorRole(ctx context.Context, repoID, userID int64) (r0 packages.Role, err error) {
	defer s.time("GetCollaboratorRole", time.Now(), &err)
	return s.full.GetCollaboratorRole(ctx, repoID, userID)
}

func (s *store) RemoveGrants(ctx context.Context, ownerID, userID int64) (err error) {
	defer s.time("RemoveGrants", time.Now(), &err)
	return s.full.RemoveGrants(ctx, ownerID, userID)
}

func (s *store) CreateToken(ctx context.Context, t *packages.Token) (err error) {
	defer s.time("CreateToken", time.Now(), &err)
	return s.full.CreateToken(ctx, t)
}

func (s *store) GetTokenByHash(ctx context.Context, hash string) (r0 *packages.Token, err error) {
	defer s.time("GetTokenByHash", time.Now(), &err)
	return s.full.GetTokenByHash(ctx, hash)
}

func (s *store) GetTokenByID(ctx context.Context, id int64) (r0 *packages.Token, err error) {
	defer s.time("GetTokenByID", time.Now(), &err)
	return s.full.GetTokenByID(ctx, id)
}

func (s *store) ListTokens(ctx context.Context, userID int64) (r0 []packages.Token, err error) {
	defer s.time("ListTokens", time.Now(), &err)
	return s.full.ListTokens(ctx, userID)
}

func (s *store) TouchToken(ctx context.Context, id int64, at time.Time) (err error) {
	defer s.time("TouchToken", time.Now(), &err)
	return s.full.TouchToken(ctx, id, at)
}

func (s *store) RevokeToken(ctx context.Context, id int64, at time.Time) (err error) {
	defer s.time("RevokeToken", time.Now(), &err)
	return s.full.RevokeToken(ctx, id, at)
}

func (s *store) CreatePackage(ctx context.Context, p *packages.Package) (err error) {
	defer s.time("CreatePackage", time.Now(), &err)
	return s.full.CreatePackage(ctx, p)
}

func (s *store) GetPackage(ctx context.Context, ownerID int64, typ packages.Type, name string, state packages.State) (r0 *packages.Package, err error) {
	defer s.time("GetPackage", time.Now(), &err)
	return s.full.GetPackage(ctx, ownerID, typ, name, state)
}

func (s *store) GetPackageByID(ctx context.Context, id int64) (r0 *packages.Package, err error) {
	defer s.time("GetPackageByID", time.Now(), &err)
	return s.full.GetPackageByID(ctx, id)
}

func (s *store) ListPackages(ctx context.Context, f packages.PackageFilter) (r0 []packages.Package, r1 int, err error) {
	defer s.time("ListPackages", time.Now(), &err)
	return s.full.ListPackages(ctx, f)
}

func (s *store) UpdatePackage(ctx context.Context, p *packages.Package) (err error) {
	defer s.time("UpdatePackage", time.Now(), &err)
	return s.full.UpdatePackage(ctx, p)
}

func (s *store) HardDeletePackage(ctx context.Context, id int64) (err error) {
	defer s.time("HardDeletePackage", time.Now(), &err)
	return s.full.HardDeletePackage(ctx, id)
}

func (s *store) SetPackageAccess(ctx context.Context, packageID, userID int64, role packages.Role) (err error) {
	defer s.time("SetPackageAccess", time.Now(), &err)
	return s.full.SetPackageAccess(ctx, packageID, userID, role)
}

func (s *store) GetPackageAccess(ctx context.Context, packageID, userID int64) (r0 packages.Role, err error) {
	defer s.time("GetPackageAccess", time.Now(), &err)
	return s.full.GetPackageAccess(ctx, packageID, userID)
}

func (s *store) CreateVersion(ctx context.Context, v *packages.Version) (err error) {
	defer s.time("CreateVersion", time.Now(), &err)
	return s.full.CreateVersion(ctx, v)
}

func (s *store) GetVersion(ctx context.Context, packageID, versionID int64) (r0 *packages.Version, err error) {
	defer s.time("GetVersion", time.Now(), &err)
	return s.full.GetVersion(ctx, packageID, versionID)
}

func (s *store) GetVersionByName(ctx context.Context, packageID int64, name string, state packages.State) (r0 *packages.Version, err error) {
	defer s.time("GetVersionByName", time.Now(), &err)
	return s.full.GetVersionByName(ctx, packageID, name, state)
}

func (s *store) ListVersions(ctx context.Context, f packages.VersionFilter) (r0 []packages.Version, r1 int, err error) {
	defer s.time("ListVersions", time.Now(), &err)
	return s.full.ListVersions(ctx, f)
}

func (s *store) UpdateVersion(ctx context.Context, v *packages.Version) (err error) {
	defer s.time("UpdateVersion", time.Now(), &err)
	return s.full.UpdateVersion(ctx, v)
}

func (s *store) HardDeleteVersion(ctx context.Context, id int64) (err error) {
	defer s.time("HardDeleteVersion", time.Now(), &err)
	return s.full.HardDeleteVersion(ctx, id)
}

func (s *store) VersionStats(ctx context.Context, packageID int64) (r0 packages.VersionStats, err error) {
	defer s.time("VersionStats", time.Now(), &err)
	return s.full.VersionStats(ctx, packageID)
}

func (s *store) IncrementDownloads(ctx context.Context, packageID, versionID int64) (err error) {
	defer s.time("IncrementDownloads", time.Now(), &err)
	return s.full.IncrementDownloads(ctx, packageID, versionID)
}

func (s *store) AddFile(ctx context.Context, f *packages.File) (err error) {
	defer s.time("AddFile", time.Now(), &err)
	return s.full.AddFile(ctx, f)
}

func (s *store) ReplaceFile(ctx context.Context, f *packages.File) (previous string, err error) {
	defer s.time("ReplaceFile", time.Now(), &err)
	return s.full.ReplaceFile(ctx, f)
}

func (s *store) DeleteFile(ctx context.Context, versionID int64, name string) (err error) {
	defer s.time("DeleteFile", time.Now(), &err)
	return s.full.DeleteFile(ctx, versionID, name)
}

func (s *store) ListFiles(ctx context.Context, versionID int64) (r0 []packages.File, err error) {
	defer s.time("ListFiles", time.Now(), &err)
	return s.full.ListFiles(ctx, versionID)
}

func (s *store) GetFile(ctx context.Context, versionID int64, name string) (r0 *packages.File, err error) {
	defer s.time("GetFile", time.Now(), &err)
	return s.full.GetFile(ctx, versionID, name)
}

func (s *store) SetTag(ctx context.Context, packageID int64, name string, versionID int64) (err error) {
	defer s.time("SetTag", time.Now(), &err)
	return s.full.SetTag(ctx, packageID, name, versionID)
}

func (s *store) DeleteTag(ctx context.Context, packageID int64, name string) (err error) {
	defer s.time("DeleteTag", time.Now(), &err)
	return s.full.DeleteTag(ctx, packageID, name)
}

func (s *store) GetTag(ctx context.Context, packageID int64, name string) (r0 *packages.Tag, err error) {
	defer s.time("GetTag", time.Now(), &err)
	return s.full.GetTag(ctx, packageID, name)
}

func (s *store) ListTags(ctx context.Context, packageID int64, after string, limit int) (r0 []packages.Tag, err error) {
	defer s.time("ListTags", time.Now(), &err)
	return s.full.ListTags(ctx, packageID, after, limit)
}

func (s *store) TagsByVersion(ctx context.Context, versionIDs []int64) (r0 map[int64][]string, err error) {
	defer s.time("TagsByVersion", time.Now(), &err)
	return s.full.TagsByVersion(ctx, versionIDs)
}

func (s *store) DeleteVersionTags(ctx context.Context, versionID int64) (err error) {
	defer s.time("DeleteVersionTags", time.Now(), &err)
	return s.full.DeleteVersionTags(ctx, versionID)
}

func (s *store) ListReferrers(ctx context.Context, packageID int64, digest string) (r0 []packages.Version, err error) {
	defer s.time("ListReferrers", time.Now(), &err)
	return s.full.ListReferrers(ctx, packageID, digest)
}

func (s *store) PutBlob(ctx context.Context, b *packages.Blob) (err error) {
	defer s.time("PutBlob", time.Now(), &err)
	return s.full.PutBlob(ctx, b)
}

func (s *store) GetBlob(ctx context.Context, digest string) (r0 *packages.Blob, err error) {
	defer s.time("GetBlob", time.Now(), &err)
	return s.full.GetBlob(ctx, digest)
}

func (s *store) SetBlobChecksums(ctx context.Context, digest string, c packages.Checksums) (err error) {
	defer s.time("SetBlobChecksums", time.Now(), &err)
	return s.full.SetBlobChecksums(ctx, digest, c)
}

func (s *store) BlobsWithoutChecksums(ctx context.Context, after string, limit int) (r0 []packages.Blob, err error) {
	defer s.time("BlobsWithoutChecksums", time.Now(), &err)
	return s.full.BlobsWithoutChecksums(ctx, after, limit)
}

func (s *store) LinkBlob(ctx context.Context, packageID int64, digest string) (err error) {
	defer s.time("LinkBlob", time.Now(), &err)
	return s.full.LinkBlob(ctx, packageID, digest)
}

func (s *store) BlobLinked(ctx context.Context, packageID int64, digest string) (r0 bool, err error) {
	defer s.time("BlobLinked", time.Now(), &err)
	return s.full.BlobLinked(ctx, packageID, digest)
}

func (s *store) UnreferencedBlobs(ctx context.Context, olderThan time.Time, limit int) (r0 []packages.Blob, err error) {
	defer s.time("UnreferencedBlobs", time.Now(), &err)
	return s.full.UnreferencedBlobs(ctx, olderThan, limit)
}

func (s *store) ForgetBlob(ctx context.Context, digest string, olderThan time.Time) (r0 bool, err error) {
	defer s.time("ForgetBlob", time.Now(), &err)
	return s.full.ForgetBlob(ctx, digest, olderThan)
}

func (s *store) TouchBlob(ctx context.Context, digest string, at time.Time) (r0 bool, err error) {
	defer s.time("TouchBlob", time.Now(), &err)
	return s.full.TouchBlob(ctx, digest, at)
}

func (s *store) LinkPendingBlob(ctx context.Context, k packages.PendingKey, digest string, at time.Time) (err error) {
	defer s.time("LinkPendingBlob", time.Now(), &err)
	return s.full.LinkPendingBlob(ctx, k, digest, at)
}

func (s *store) PendingBlobs(ctx context.Context, k packages.PendingKey, digest string) (held, linked bool, err error) {
	defer s.time("PendingBlobs", time.Now(), &err)
	return s.full.PendingBlobs(ctx, k, digest)
}

func (s *store) ClaimPendingBlobs(ctx context.Context, k packages.PendingKey, packageID int64) (err error) {
	defer s.time("ClaimPendingBlobs", time.Now(), &err)
	return s.full.ClaimPendingBlobs(ctx, k, packageID)
}

func (s *store) ExpirePendingBlobs(ctx context.Context, before time.Time) (r0 int, err error) {
	defer s.time("ExpirePendingBlobs", time.Now(), &err)
	return s.full.ExpirePendingBlobs(ctx, before)
}

func (s *store) ListPurgeablePackages(ctx context.Context, cutoff time.Time, limit int) (r0 []packages.Package, err error) {
	defer s.time("ListPurgeablePackages", time.Now(), &err)
	return s.full.ListPurgeablePackages(ctx, cutoff, limit)
}

func (s *store) ListPurgeableVersions(ctx context.Context, cutoff time.Time, limit int) (r0 []packages.Version, err error) {
	defer s.time("ListPurgeableVersions", time.Now(), &err)
	return s.full.ListPurgeableVersions(ctx, cutoff, limit)
}

func (s *store) AddEvent(ctx context.Context, e *packages.Event) (err error) {
	defer s.time("AddEvent", time.Now(), &err)
	return s.full.AddEvent(ctx, e)
}

func (s *store) ListEvents(ctx context.Context, packageID int64) (r0 []packages.Event, err error) {
	defer s.time("ListEvents", time.Now(), &err)
	return s.full.ListEvents(ctx, packageID)
}

func (s *store) CreateRetentionPolicy(ctx context.Context, p *packages.RetentionPolicy) (err error) {
	defer s.time("CreateRetentionPolicy", time.Now(), &err)
	return s.full.CreateRetentionPolicy(ctx, p)
}

func (s *store) GetRetentionPolicy(ctx context.Context, id int64) (r0 *packages.RetentionPolicy, err error) {
	defer s.time("GetRetentionPolicy", time.Now(), &err)
	return s.full.GetRetentionPolicy(ctx, id)
}

func (s *store) ListRetentionPolicies(ctx context.Context, ownerID int64) (r0 []packages.RetentionPolicy, err error) {
	defer s.time("ListRetentionPolicies", time.Now(), &err)
	return s.full.ListRetentionPolicies(ctx, ownerID)
}

func (s *store) DeleteRetentionPolicy(ctx context.Context, id int64) (err error) {
	defer s.time("DeleteRetentionPolicy", time.Now(), &err)
	return s.full.DeleteRetentionPolicy(ctx, id)
}

func (s *store) TryLock(ctx context.Context, name string) (unlock func(), ok bool, err error) {
	defer s.time("TryLock", time.Now(), &err)
	return s.full.TryLock(ctx, name)
}

func (s *store) LockPackage(ctx context.Context, id int64) (err error) {
	defer s.time("LockPackage", time.Now(), &err)
	return s.full.LockPackage(ctx, id)
}

func (s *store) AuditTotals(ctx context.Context) (r0 packages.AuditTotals, err error) {
	defer s.time("AuditTotals", time.Now(), &err)
	return s.full.AuditTotals(ctx)
}

func (s *store) AuditBlobs(ctx context.Context, after string, limit int) (r0 []packages.Blob, err error) {
	defer s.time("AuditBlobs", time.Now(), &err)
	return s.full.AuditBlobs(ctx, after, limit)
}

func (s *store) AuditFiles(ctx context.Context, afterID int64, limit int) (r0 []packages.AuditFile, err error) {
	defer s.time("AuditFiles", time.Now(), &err)
	return s.full.AuditFiles(ctx, afterID, limit)
}

func (s *store) AuditFile(ctx context.Context, id int64) (r0 *packages.AuditFile, err error) {
	defer s.time("AuditFile", time.Now(), &err)
	return s.full.AuditFile(ctx, id)
}

func (s *store) AuditLinks(ctx context.Context, after packages.BlobLink, limit int) (r0 []packages.BlobLink, err error) {
	defer s.time("AuditLinks", time.Now(), &err)
	return s.full.AuditLinks(ctx, after, limit)
}

func (s *store) AuditCounters(ctx context.Context, afterID int64, limit int) (r0 []packages.PackageCounters, err error) {
	defer s.time("AuditCounters", time.Now(), &err)
	return s.full.AuditCounters(ctx, afterID, limit)
}

func (s *store) BlobReferences(ctx context.Context, digest string) (r0 packages.BlobReferences, err error) {
	defer s.time("BlobReferences", time.Now(), &err)
	return s.full.BlobReferences(ctx, digest)
}

func (s *store) RecountPackage(ctx context.Context, id int64) (err error) {
	defer s.time("RecountPackage", time.Now(), &err)
	return s.full.RecountPackage(ctx, id)
}

func (s *store) SetFileSize(ctx context.Context, id int64, digest string, size int64) (r0 bool, err error) {
	defer s.time("SetFileSize", time.Now(), &err)
	return s.full.SetFileSize(ctx, id, digest, size)
}

func (s *store) DeleteFileIf(ctx context.Context, id int64, digest string) (r0 bool, err error) {
	defer s.time("DeleteFileIf", time.Now(), &err)
	return s.full.DeleteFileIf(ctx, id, digest)
}

func (s *store) FixBlob(ctx context.Context, b packages.Blob) (err error) {
	defer s.time("FixBlob", time.Now(), &err)
	return s.full.FixBlob(ctx, b)
}

func (s *store) DropBlob(ctx context.Context, digest string) (r0 bool, err error) {
	defer s.time("DropBlob", time.Now(), &err)
	return s.full.DropBlob(ctx, digest)
}

func (s *store) AddDownloads(ctx context.Context, packageID, versionID, n int64) (err error) {
	defer s.time("AddDownloads", time.Now(), &err)
	return s.full.AddDownloads(ctx, packageID, versionID, n)
}

func (s *store) LookupRegistry(ctx context.Context, q packages.RegistryLookup) (r0 *packages.RegistryRow, err error) {
	defer s.time("LookupRegistry", time.Now(), &err)
	return s.full.LookupRegistry(ctx, q)
}

func (s *store) UnlinkBlob(ctx context.Context, packageID int64, digest string) (err error) {
	defer s.time("UnlinkBlob", time.Now(), &err)
	return s.full.UnlinkBlob(ctx, packageID, digest)
}
