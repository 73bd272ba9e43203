package packages

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Retention policies: rules an owner sets on its packages of one type,
// which the retention job applies on a schedule (RunRetention).
//
// A policy selects versions to delete with its delete rules, all of those
// it sets at once (a version is selected when it matches every one):
//
//   - OlderThan: published longer ago than that;
//   - Untagged: carrying no tag (container tags, npm dist-tags; versions
//     of the other types have none);
//   - RemovePattern: its name or one of its tags matches;
//   - KeepNewest alone (none of the above): every version.
//
// Of the selected versions it keeps, and never deletes:
//
//   - the KeepNewest newest: the highest in the type's version order where
//     the type has one (Maven, RubyGems, NuGet), else the last published;
//   - those whose name or a tag matches KeepPattern;
//   - those a version that stays needs (an image index's platform
//     manifests, Spec.Requires), and those whose subject (OCI referrers:
//     signatures, attestations) is a version that stays;
//   - those of a public package with more downloads than the download
//     limit, which nobody may delete;
//   - what the type's last-version rule (Spec.LastVersion, as for a delete
//     through the REST API) keeps: the newest version when every one would
//     go, or for containers the newest tagged version when every tagged one
//     would go (with what it needs).
//
// What remains is soft-deleted, as an administrator's delete would be,
// restorable through the REST API for the restore window. KeepBuilds, for
// types whose versions accumulate builds (Maven SNAPSHOTs, Spec.Builds),
// deletes the files of all but the newest KeepBuilds builds of every
// version the policy leaves in place: files have no soft delete, so these
// cannot be restored; the dry run lists them first.

// RetentionPolicy is one owner's rules for its packages of one type.
type RetentionPolicy struct {
	ID      int64
	OwnerID int64
	Type    Type
	// Name is a pattern of the package names the policy applies to; ""
	// applies it to every package of the type.
	Name          string
	KeepNewest    int
	OlderThan     time.Duration
	Untagged      bool
	KeepPattern   string
	RemovePattern string
	KeepBuilds    int
	CreatedBy     int64 // 0: the site's administrator
	CreatedAt     time.Time
}

// deletesVersions reports whether the policy has a rule that deletes
// versions (KeepBuilds deletes files only).
func (p *RetentionPolicy) deletesVersions() bool {
	return p.KeepNewest > 0 || p.OlderThan > 0 || p.Untagged || p.RemovePattern != ""
}

// compiledPolicy is a policy with its patterns parsed.
type compiledPolicy struct {
	*RetentionPolicy
	name, keep, remove Pattern
}

// compile parses and checks a policy against the types the service knows;
// errors are of KindInvalid.
func (s *Service) compile(p *RetentionPolicy) (*compiledPolicy, error) {
	sp, ok := s.specs.Get(p.Type)
	if !ok {
		return nil, Errorf(KindInvalid, "unknown package type %q (known: %s)", p.Type, s.typeNames())
	}
	switch {
	case p.KeepNewest < 0 || p.KeepBuilds < 0 || p.OlderThan < 0:
		return nil, Errorf(KindInvalid, "keep_newest, keep_builds and older_than must not be negative")
	case !p.deletesVersions() && p.KeepBuilds == 0:
		return nil, Errorf(KindInvalid, "a retention policy needs a rule that deletes: keep_newest, older_than, untagged, remove_pattern or keep_builds")
	case p.KeepBuilds > 0 && sp.Builds == nil:
		return nil, Errorf(KindInvalid, "keep_builds applies to package types whose versions have builds (Maven SNAPSHOTs), not to %s", p.Type)
	case p.OlderThan > 0 && p.OlderThan < time.Minute:
		return nil, Errorf(KindInvalid, "older_than must be at least a minute")
	}
	c := &compiledPolicy{RetentionPolicy: p}
	for _, pat := range []struct {
		field string
		src   string
		dst   *Pattern
	}{{"name", p.Name, &c.name}, {"keep_pattern", p.KeepPattern, &c.keep}, {"remove_pattern", p.RemovePattern, &c.remove}} {
		parsed, err := ParsePattern(pat.src)
		if err != nil {
			return nil, Wrap(KindInvalid, pat.field+": "+PublicMessage(err, "invalid pattern"), err)
		}
		*pat.dst = parsed
	}
	return c, nil
}

func (s *Service) typeNames() string {
	var names []string
	for _, t := range s.specs.Types() {
		names = append(names, string(t))
	}
	return strings.Join(names, ", ")
}

// appliesTo reports whether the policy covers a package.
func (c *compiledPolicy) appliesTo(pkg *Package) bool {
	if pkg.Type != c.Type {
		return false
	}
	// Package names are case-insensitive: so is their pattern.
	return c.Name == "" || c.name.Match(pkg.Name) || c.name.Match(strings.ToLower(pkg.Name))
}

// KeptVersion is a version a policy's delete rules select but another rule
// keeps, and why.
type KeptVersion struct {
	Version VersionInfo
	Reason  string
}

// verdict is what a policy decides for one package's active versions.
type verdict struct {
	remove []VersionInfo
	kept   []KeptVersion // selected, but kept
	stay   map[int64]bool
}

// evaluate applies a policy's version rules to the active versions of one
// package (any order). It only decides; nothing is deleted.
func (s *Service) evaluate(c *compiledPolicy, sp *Spec, pkg *Package, vs []VersionInfo, now time.Time) verdict {
	v := verdict{stay: map[int64]bool{}}
	if !c.deletesVersions() || len(vs) == 0 {
		for _, x := range vs {
			v.stay[x.ID] = true
		}
		return v
	}
	newest := slices.Clone(vs)
	slices.SortFunc(newest, func(a, b VersionInfo) int {
		if sp.CompareVersions != nil {
			if d := sp.CompareVersions(b.Name, a.Name); d != 0 {
				return d
			}
		} else if d := b.CreatedAt.Compare(a.CreatedAt); d != 0 {
			return d
		}
		return cmp.Compare(b.ID, a.ID)
	})
	selectors := c.OlderThan > 0 || c.Untagged || c.RemovePattern != ""
	reason := map[int64]string{} // why a selected version is kept
	var selected []VersionInfo
	for rank, x := range newest {
		names := append([]string{x.Name}, x.Tags...)
		sel := !selectors ||
			((c.OlderThan == 0 || now.Sub(x.CreatedAt) > c.OlderThan) &&
				(!c.Untagged || len(x.Tags) == 0) &&
				(c.RemovePattern == "" || c.remove.MatchAny(names...)))
		if !sel {
			v.stay[x.ID] = true
			continue
		}
		selected = append(selected, x)
		switch {
		case rank < c.KeepNewest:
			reason[x.ID] = fmt.Sprintf("one of the %d newest", c.KeepNewest)
		case c.KeepPattern != "" && c.keep.MatchAny(names...):
			reason[x.ID] = "matches the keep pattern"
		case pkg.Visibility == Public && x.DownloadCount > s.opts.DownloadLimit:
			reason[x.ID] = fmt.Sprintf("more than %d downloads", s.opts.DownloadLimit)
		}
		if reason[x.ID] != "" {
			v.stay[x.ID] = true
		}
	}
	closure := func() {
		byName := make(map[string]VersionInfo, len(vs))
		for _, x := range vs {
			byName[x.Name] = x
		}
		for changed := true; changed; {
			changed = false
			for _, x := range vs {
				if v.stay[x.ID] {
					if sp.Requires != nil {
						for _, n := range sp.Requires(&x.Version) {
							if y, ok := byName[n]; ok && !v.stay[y.ID] {
								v.stay[y.ID], reason[y.ID], changed = true, "needed by "+x.Name, true
							}
						}
					}
					continue
				}
				if x.Subject != "" {
					if y, ok := byName[x.Subject]; ok && v.stay[y.ID] {
						v.stay[x.ID], reason[x.ID], changed = true, "refers to "+y.Name+", which stays", true
					}
				}
			}
		}
	}
	closure()
	// The type's last-version rule, as for a delete through the REST API.
	switch sp.LastVersion {
	case LastVersionRefused, LastVersionDeletesPackage:
		if len(v.stay) == 0 {
			for _, x := range newest {
				v.stay[x.ID], reason[x.ID] = true, "the last version"
				break
			}
		}
	case LastTaggedVersionRefused:
		tagged, staysTagged := false, false
		for _, x := range vs {
			if len(x.Tags) > 0 {
				tagged = true
				staysTagged = staysTagged || v.stay[x.ID]
			}
		}
		if tagged && !staysTagged {
			for _, x := range newest {
				if len(x.Tags) > 0 {
					v.stay[x.ID], reason[x.ID] = true, "the last tagged version"
					break
				}
			}
			closure()
		}
	}
	for _, x := range selected {
		if v.stay[x.ID] {
			v.kept = append(v.kept, KeptVersion{Version: x, Reason: reason[x.ID]})
		} else {
			v.remove = append(v.remove, x)
		}
	}
	return v
}

// ---- Managing policies ---------------------------------------------------

// RetentionOwner names the owner whose policies a request manages, as the
// REST paths do: /orgs/{org} (OrgPath) or /user (SelfPath).
type RetentionOwner struct {
	Login string // "" for SelfPath
	Scope OwnerScope
}

// retentionOwner resolves the owner and checks that the caller
// administers it: the user itself, or an admin of the organization. The
// token needs read:packages to list and, as policies delete, also
// delete:packages to change them.
func (s *Service) retentionOwner(ctx context.Context, a *Actor, ro RetentionOwner, change bool) (*Owner, error) {
	op := OpRead
	if change {
		op = OpDelete
	}
	if err := s.checkScopes(a, op, ""); err != nil {
		return nil, err
	}
	owner, err := resolveOwner(ctx, s.store, a, PackageRef{Owner: ro.Login, Scope: ro.Scope})
	if err != nil {
		return nil, err
	}
	if owner.ID == a.User.ID {
		return owner, nil
	}
	if owner.Type == OrgOwner {
		role, err := s.store.GetOrgRole(ctx, owner.ID, a.User.ID)
		if err != nil {
			return nil, fmt.Errorf("org role: %w", err)
		}
		if role == OrgAdmin {
			return owner, nil
		}
	}
	return nil, Errorf(KindForbidden, "You must be an admin of %s to manage its retention policies.", owner.Login)
}

// RetentionPolicies lists an owner's policies, for the owner or an admin
// of the organization.
func (s *Service) RetentionPolicies(ctx context.Context, a *Actor, ro RetentionOwner) ([]RetentionPolicy, error) {
	owner, err := s.retentionOwner(ctx, a, ro, false)
	if err != nil {
		return nil, err
	}
	return s.store.ListRetentionPolicies(ctx, owner.ID)
}

// AddRetentionPolicy adds a policy to an owner, for the owner or an admin
// of the organization. Only the rule fields of p are read.
func (s *Service) AddRetentionPolicy(ctx context.Context, a *Actor, ro RetentionOwner, p RetentionPolicy) (*RetentionPolicy, error) {
	owner, err := s.retentionOwner(ctx, a, ro, true)
	if err != nil {
		return nil, err
	}
	return s.addRetentionPolicy(ctx, owner, a.UserID(), p)
}

// RemoveRetentionPolicy removes one of an owner's policies, for the owner
// or an admin of the organization; a policy of another owner is
// KindNotFound.
func (s *Service) RemoveRetentionPolicy(ctx context.Context, a *Actor, ro RetentionOwner, id int64) error {
	owner, err := s.retentionOwner(ctx, a, ro, true)
	if err != nil {
		return err
	}
	return s.removeRetentionPolicy(ctx, owner.ID, id)
}

// AdminRetentionPolicies lists the policies of the owner with that login,
// or of every owner for "", for the site's administrator (the CLI).
func (s *Service) AdminRetentionPolicies(ctx context.Context, ownerLogin string) ([]RetentionPolicy, error) {
	var id int64
	if ownerLogin != "" {
		o, err := s.ownerByLogin(ctx, ownerLogin)
		if err != nil {
			return nil, Errorf(KindNotFound, "owner %q not found", ownerLogin)
		}
		id = o.ID
	}
	return s.store.ListRetentionPolicies(ctx, id)
}

// AdminAddRetentionPolicy adds a policy to the owner with that login, for
// the site's administrator (the CLI).
func (s *Service) AdminAddRetentionPolicy(ctx context.Context, ownerLogin string, p RetentionPolicy) (*RetentionPolicy, error) {
	o, err := s.ownerByLogin(ctx, ownerLogin)
	if err != nil {
		return nil, Errorf(KindNotFound, "owner %q not found", ownerLogin)
	}
	return s.addRetentionPolicy(ctx, o, 0, p)
}

// AdminRemoveRetentionPolicy removes a policy by id, for the site's
// administrator (the CLI).
func (s *Service) AdminRemoveRetentionPolicy(ctx context.Context, id int64) error {
	return s.removeRetentionPolicy(ctx, 0, id)
}

func (s *Service) addRetentionPolicy(ctx context.Context, owner *Owner, by int64, p RetentionPolicy) (*RetentionPolicy, error) {
	p.ID, p.OwnerID, p.CreatedBy, p.CreatedAt = 0, owner.ID, by, s.now()
	if _, err := s.compile(&p); err != nil {
		return nil, err
	}
	if err := s.store.CreateRetentionPolicy(ctx, &p); err != nil {
		return nil, fmt.Errorf("create retention policy: %w", err)
	}
	return &p, nil
}

// removeRetentionPolicy removes a policy of ownerID (0: of anyone).
func (s *Service) removeRetentionPolicy(ctx context.Context, ownerID, id int64) error {
	missing := Errorf(KindNotFound, "retention policy %d not found", id)
	p, err := s.store.GetRetentionPolicy(ctx, id)
	if err != nil {
		if IsNotFound(err) {
			return missing
		}
		return fmt.Errorf("get retention policy: %w", err)
	}
	if ownerID != 0 && p.OwnerID != ownerID {
		return missing
	}
	if err := s.store.DeleteRetentionPolicy(ctx, id); err != nil {
		return notFoundOr(err, missing.Message)
	}
	return nil
}

// ---- Running policies ----------------------------------------------------

// RetentionDeletion is a version a policy deleted (or, in a dry run,
// would delete).
type RetentionDeletion struct {
	PolicyID int64
	Package  PackageInfo
	Version  VersionInfo
}

// RetentionKept is a version a policy selected but kept, and why.
type RetentionKept struct {
	PolicyID int64
	Package  PackageInfo
	KeptVersion
}

// RetentionFile is a file of an older build a policy deleted (or would).
type RetentionFile struct {
	PolicyID int64
	Package  PackageInfo
	Version  Version
	Build    string
	File     string
}

// RetentionReport is what a run did, or with DryRun, would do.
type RetentionReport struct {
	DryRun   bool
	Skipped  bool // another replica holds the retention lock; nothing was done
	Policies int
	Packages int // packages the policies covered
	Versions []RetentionDeletion
	Kept     []RetentionKept
	Files    []RetentionFile
	// Errors lists what went wrong with one package; the run goes on with
	// the others.
	Errors []string
}

// ActionRetentionRun is the event of one retention run (package 0).
const ActionRetentionRun = "retention.run"

// retentionBatch bounds each listing of packages.
const retentionBatch = 200

// RunRetention applies every retention policy (of one owner, when
// ownerLogin is not ""). With dryRun it deletes nothing and reports what
// it would delete. A real run takes the cluster-wide retention lock where
// the store has one, so that one replica at a time runs it. Every run is
// recorded as a retention.run event.
func (s *Service) RunRetention(ctx context.Context, ownerLogin string, dryRun bool) (*RetentionReport, error) {
	rep := &RetentionReport{DryRun: dryRun}
	if l, ok := s.store.(Locker); ok && !dryRun {
		unlock, got, err := l.TryLock(ctx, "packhub.retention")
		if err != nil {
			return rep, fmt.Errorf("retention lock: %w", err)
		}
		if !got {
			rep.Skipped = true
			return rep, nil
		}
		defer unlock()
	}
	// The download rule must see the downloads still held in memory.
	if err := s.FlushDownloads(ctx); err != nil {
		return rep, fmt.Errorf("count downloads: %w", err)
	}
	policies, err := s.AdminRetentionPolicies(ctx, ownerLogin)
	if err != nil {
		return rep, err
	}
	for i := range policies {
		if err := s.runPolicy(ctx, &policies[i], rep); err != nil {
			return rep, err
		}
		rep.Policies++
	}
	detail, _ := json.Marshal(struct {
		DryRun   bool `json:"dry_run"`
		Policies int  `json:"policies"`
		Packages int  `json:"packages"`
		Versions int  `json:"versions"`
		Kept     int  `json:"kept"`
		Files    int  `json:"files"`
		Errors   int  `json:"errors"`
	}{dryRun, rep.Policies, rep.Packages, len(rep.Versions), len(rep.Kept), len(rep.Files), len(rep.Errors)})
	if err := s.record(ctx, s.store, nil, nil, &Event{Action: ActionRetentionRun, Detail: string(detail), CreatedAt: s.now()}); err != nil {
		return rep, fmt.Errorf("record the run: %w", err)
	}
	return rep, nil
}

// runPolicy applies one policy to each package it covers.
func (s *Service) runPolicy(ctx context.Context, p *RetentionPolicy, rep *RetentionReport) error {
	c, err := s.compile(p)
	if err != nil {
		// Written by another build that knew other types, say.
		rep.Errors = append(rep.Errors, fmt.Sprintf("policy %d: %s", p.ID, PublicMessage(err, err.Error())))
		return nil
	}
	owner, err := s.store.GetOwnerByID(ctx, p.OwnerID)
	if err != nil {
		return fmt.Errorf("policy %d owner: %w", p.ID, err)
	}
	sp := s.specs.spec(p.Type)
	for offset := 0; ; offset += retentionBatch {
		pkgs, _, err := s.store.ListPackages(ctx, PackageFilter{OwnerID: owner.ID, Type: p.Type, State: Active, Limit: retentionBatch, Offset: offset})
		if err != nil {
			return fmt.Errorf("list packages: %w", err)
		}
		for i := range pkgs {
			if !c.appliesTo(&pkgs[i]) {
				continue
			}
			rep.Packages++
			if err := s.retainPackage(ctx, c, sp, owner, &pkgs[i], rep); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				rep.Errors = append(rep.Errors, fmt.Sprintf("policy %d, %s/%s: %s", p.ID, owner.Login, pkgs[i].Name, PublicMessage(err, err.Error())))
			}
		}
		if len(pkgs) < retentionBatch {
			return nil
		}
	}
}

// activeVersions lists a package's active versions with their tags.
func (s *Service) activeVersions(ctx context.Context, st Store, pkgID int64) ([]VersionInfo, error) {
	vs, _, err := st.ListVersions(ctx, VersionFilter{PackageID: pkgID, State: Active})
	if err != nil {
		return nil, fmt.Errorf("list versions: %w", err)
	}
	ids := make([]int64, len(vs))
	for i, v := range vs {
		ids[i] = v.ID
	}
	tags, err := st.TagsByVersion(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("tags: %w", err)
	}
	out := make([]VersionInfo, len(vs))
	for i, v := range vs {
		out[i] = VersionInfo{Version: v, Tags: tags[v.ID]}
	}
	return out, nil
}

// retainPackage applies a policy to one package, in one transaction with
// the package's row locked, so that the last-version rule sees what a
// concurrent publish or delete did. A dry run decides in the same way,
// outside a transaction, and changes nothing.
func (s *Service) retainPackage(ctx context.Context, c *compiledPolicy, sp *Spec, owner *Owner, pkg *Package, rep *RetentionReport) error {
	var deleted []*Version
	var rv []RetentionDeletion
	var rk []RetentionKept
	var rf []RetentionFile
	apply := func(tx Store) error {
		fresh, err := lockFresh(ctx, tx, pkg, Active)
		if err != nil {
			return err
		}
		pi := PackageInfo{Package: *fresh, Owner: owner}
		vs, err := s.activeVersions(ctx, tx, fresh.ID)
		if err != nil {
			return err
		}
		v := s.evaluate(c, sp, fresh, vs, s.now())
		for _, x := range v.kept {
			rk = append(rk, RetentionKept{PolicyID: c.ID, Package: pi, KeptVersion: x})
		}
		for _, x := range v.remove {
			rv = append(rv, RetentionDeletion{PolicyID: c.ID, Package: pi, Version: x})
			deleted = append(deleted, &x.Version)
		}
		if len(deleted) > 0 && !rep.DryRun {
			if err := s.retentionDelete(ctx, tx, c, fresh, deleted, sp.LastVersion); err != nil {
				return err
			}
		}
		if c.KeepBuilds > 0 && sp.Builds != nil {
			for _, x := range vs {
				if !v.stay[x.ID] || (c.KeepPattern != "" && c.keep.MatchAny(append([]string{x.Name}, x.Tags...)...)) {
					continue
				}
				files, err := s.retainBuilds(ctx, tx, c, sp, pi, &x.Version, rep.DryRun)
				if err != nil {
					return err
				}
				rf = append(rf, files...)
			}
		}
		return nil
	}
	var err error
	if rep.DryRun {
		// Only reads: no transaction, which on SQLite would hold up
		// every writer.
		err = apply(s.store)
	} else {
		err = s.store.WithTx(ctx, apply)
	}
	if err != nil {
		if errors.Is(err, ErrPackageNotFound) {
			return nil // deleted meanwhile
		}
		return err
	}
	rep.Versions, rep.Kept, rep.Files = append(rep.Versions, rv...), append(rep.Kept, rk...), append(rep.Files, rf...)
	if !rep.DryRun {
		for _, v := range deleted {
			s.runHook(ctx, sp.Hooks.OnDelete, pkg, v)
		}
	}
	return nil
}

// retentionDelete soft-deletes versions in tx as the system, the type's
// last-version rule checked once more by the delete itself.
func (s *Service) retentionDelete(ctx context.Context, tx Store, c *compiledPolicy, pkg *Package, vs []*Version, policy LastVersionPolicy) error {
	if policy == LastVersionDeletesPackage {
		policy = LastVersionRefused // a policy deletes versions, never the package
	}
	_, err := s.deleteVersions(ctx, tx, nil, pkg, vs, policy, c.ID)
	return err
}

// retainBuilds deletes (or in a dry run lists) the files of the builds of
// one version older than the policy's KeepBuilds newest, with a
// file.delete event each. A public version over the download limit keeps
// its files, as a delete of them would be refused.
func (s *Service) retainBuilds(ctx context.Context, tx Store, c *compiledPolicy, sp *Spec, pi PackageInfo, v *Version, dryRun bool) ([]RetentionFile, error) {
	if pi.Visibility == Public && v.DownloadCount > s.opts.DownloadLimit {
		return nil, nil
	}
	files, err := tx.ListFiles(ctx, v.ID)
	if err != nil {
		return nil, fmt.Errorf("list files: %w", err)
	}
	builds := sp.Builds(v.Name, files)
	if len(builds) <= c.KeepBuilds {
		return nil, nil
	}
	digests := make(map[string]string, len(files))
	for _, f := range files {
		digests[f.Name] = f.Digest
	}
	var out []RetentionFile
	now := s.now()
	for _, b := range builds[c.KeepBuilds:] {
		for _, name := range b.Files {
			out = append(out, RetentionFile{PolicyID: c.ID, Package: pi, Version: *v, Build: b.Name, File: name})
			if dryRun {
				continue
			}
			if err := tx.DeleteFile(ctx, v.ID, name); err != nil {
				return nil, fmt.Errorf("delete file %s: %w", name, err)
			}
			detail, _ := json.Marshal(struct {
				Name   string `json:"name"`
				Digest string `json:"digest"`
				Policy int64  `json:"retention_policy"`
			}{name, digests[name], c.ID})
			if err := s.record(ctx, tx, nil, nil, &Event{Action: ActionFileDelete, PackageID: pi.ID, VersionID: v.ID, Detail: string(detail), CreatedAt: now}); err != nil {
				return nil, err
			}
		}
	}
	if dryRun || len(out) == 0 {
		return out, nil
	}
	v.UpdatedAt = now
	if err := tx.UpdateVersion(ctx, v); err != nil {
		return nil, fmt.Errorf("touch version: %w", err)
	}
	p := pi.Package
	p.UpdatedAt = now
	if err := tx.UpdatePackage(ctx, &p); err != nil {
		return nil, fmt.Errorf("touch package: %w", err)
	}
	return out, nil
}
