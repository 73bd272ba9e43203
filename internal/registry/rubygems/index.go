package rubygems

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/packhub/packhub/internal/packages"
)

// The compact index (/versions, /info/NAME, /names), the legacy Marshal
// indexes and the quick gemspecs are rendered from documents kept per
// process: one per gem, keyed by the package's revision (which the
// database moves on every change to its versions), and one per owner and
// set of gems the caller may read, keyed by those gems' revisions. A
// request costs the lookups that check access and the listing of the
// owner's readable gems; nothing is rendered again until a gem changes.

// versionMetadata is what a gem version keeps in its metadata: the gemspec
// of each of its platforms, in the order they were pushed.
type versionMetadata struct {
	Gems []*gemSpec `json:"gems"`
}

func decodeVersionMetadata(raw json.RawMessage) (*versionMetadata, error) {
	var m versionMetadata
	if len(raw) == 0 {
		return &m, nil
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("gem version metadata: %w", err)
	}
	return &m, nil
}

// histLine is one line of /versions: what one event did to one gem.
type histLine struct {
	event int64 // the event's id: lines of all gems are merged by it
	text  string
}

// gemDoc is one gem's documents.
type gemDoc struct {
	key   gemKey // what it is cached under
	name  string
	specs []*gemSpec // active, in the order of the info file
	// byFull finds an active platform gem by its full name.
	byFull map[string]*gemSpec
	info   []byte // /info/NAME
	sums   digests
	lines  []histLine

	mu    sync.Mutex
	quick map[string][]byte // full name -> quick/Marshal.4.8 gemspec.rz
}

// digests of a rendered body.
type digests struct {
	md5    string // hex; the body's ETag and /versions checksum
	sha256 []byte
}

func digestsOf(b []byte) digests {
	m := md5.Sum(b)
	s := sha256.Sum256(b)
	return digests{md5: hex.EncodeToString(m[:]), sha256: s[:]}
}

// infoLine renders one platform gem's line of /info/NAME:
// VERSION[-PLATFORM] DEP:REQ&REQ,...|checksum:SHA256[,ruby:REQ][,rubygems:REQ]
func infoLine(s *gemSpec) string {
	var b strings.Builder
	b.WriteString(versionToken(s))
	b.WriteByte(' ')
	for i, d := range s.runtimeDeps() {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(d.Name)
		b.WriteByte(':')
		b.WriteString(requirementList(d.Requirements))
	}
	b.WriteString("|checksum:")
	b.WriteString(s.SHA256)
	if r := requirementList(s.RequiredRuby); r != ">= 0" {
		b.WriteString(",ruby:" + r)
	}
	if r := requirementList(s.RequiredRubyGems); r != ">= 0" {
		b.WriteString(",rubygems:" + r)
	}
	return b.String()
}

// versionToken is VERSION or VERSION-PLATFORM.
func versionToken(s *gemSpec) string {
	if s.Platform == rubyPlatform {
		return s.Version
	}
	return s.Version + "-" + s.Platform
}

func requirementList(reqs [][2]string) string {
	if len(reqs) == 0 {
		return ">= 0"
	}
	parts := make([]string, len(reqs))
	for i, r := range reqs {
		parts[i] = r[0] + " " + r[1]
	}
	return strings.Join(parts, "&")
}

// infoBuilder keeps the info file of the replayed state and its MD5,
// extending the hash as lines are added and hashing again only after a
// removal, so that replaying a long history stays linear.
type infoBuilder struct {
	specs []*gemSpec
	body  bytes.Buffer
	hash  hash.Hash
}

func newInfoBuilder() *infoBuilder {
	ib := &infoBuilder{hash: md5.New()}
	ib.reset()
	return ib
}

func (ib *infoBuilder) reset() {
	ib.body.Reset()
	ib.hash.Reset()
	ib.write("---\n")
}

func (ib *infoBuilder) write(s string) {
	ib.body.WriteString(s)
	ib.hash.Write([]byte(s))
}

func (ib *infoBuilder) add(s *gemSpec) {
	ib.specs = append(ib.specs, s)
	ib.write(infoLine(s) + "\n")
}

func (ib *infoBuilder) remove(drop map[*gemSpec]bool) {
	kept := ib.specs[:0]
	for _, s := range ib.specs {
		if !drop[s] {
			kept = append(kept, s)
		}
	}
	ib.specs = kept
	ib.reset()
	for _, s := range ib.specs {
		ib.write(infoLine(s) + "\n")
	}
}

func (ib *infoBuilder) md5() string { return hex.EncodeToString(ib.hash.Sum(nil)) }

// newGemDoc replays a gem's history into its documents. Each publish, each
// platform pushed, each yank and each restore is one line of /versions,
// with the checksum the info file had after it: so /versions only grows as
// the gem changes, as rubygems.org's does. What the events do not explain
// (versions written without them) is put right by lines at the end, so
// that the lines always add up to the versions that are active.
func newGemDoc(name string, versions []packages.Version, events []packages.Event) (*gemDoc, error) {
	type ver struct {
		v      *packages.Version
		specs  []*gemSpec
		byFile map[string]*gemSpec
		active []*gemSpec // its platform gems in the replayed state
		on     bool
		put    map[string]bool // files a file.put event names
	}
	byID := map[int64]*ver{}
	for i := range versions {
		m, err := decodeVersionMetadata(versions[i].Metadata)
		if err != nil {
			return nil, err
		}
		vv := &ver{v: &versions[i], byFile: map[string]*gemSpec{}, put: map[string]bool{}}
		for _, s := range m.Gems {
			if s == nil || s.Name == "" {
				continue
			}
			vv.specs = append(vv.specs, s)
			vv.byFile[s.File] = s
		}
		byID[versions[i].ID] = vv
	}
	for _, e := range events {
		if f, ok := packages.EventFile(&e); ok && e.Action == packages.ActionFilePut {
			if vv := byID[e.VersionID]; vv != nil {
				vv.put[f] = true
			}
		}
	}
	d := &gemDoc{name: name, byFull: map[string]*gemSpec{}, quick: map[string][]byte{}}
	ib := newInfoBuilder()
	emit := func(event int64, tokens []string) {
		if len(tokens) > 0 {
			d.lines = append(d.lines, histLine{event: event, text: name + " " + strings.Join(tokens, ",") + " " + ib.md5()})
		}
	}
	activate := func(vv *ver, ss []*gemSpec) []string {
		var tokens []string
		for _, s := range ss {
			if contains(vv.active, s) {
				continue
			}
			vv.active = append(vv.active, s)
			ib.add(s)
			tokens = append(tokens, versionToken(s))
		}
		return tokens
	}
	deactivate := func(vv *ver) []string {
		drop := map[*gemSpec]bool{}
		var tokens []string
		for _, s := range vv.active {
			drop[s] = true
			tokens = append(tokens, "-"+versionToken(s))
		}
		vv.active = nil
		ib.remove(drop)
		return tokens
	}
	var last int64
	for _, e := range events {
		last = max(last, e.ID)
		vv := byID[e.VersionID]
		if vv == nil {
			continue
		}
		switch e.Action {
		case packages.ActionPublish:
			vv.on = true
			var initial []*gemSpec
			for _, s := range vv.specs {
				if !vv.put[s.File] {
					initial = append(initial, s)
				}
			}
			emit(e.ID, activate(vv, initial))
		case packages.ActionFilePut:
			f, _ := packages.EventFile(&e)
			if s := vv.byFile[f]; s != nil && vv.on {
				emit(e.ID, activate(vv, []*gemSpec{s}))
			}
		case packages.ActionDeleteVersion:
			if vv.on {
				vv.on = false
				emit(e.ID, deactivate(vv))
			}
		case packages.ActionRestoreVersion:
			if !vv.on {
				vv.on = true
				emit(e.ID, activate(vv, vv.specs))
			}
		}
	}
	// Put right what the events do not explain.
	ids := make([]int64, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		vv := byID[id]
		live := vv.v.DeletedAt == nil
		switch {
		case live && len(vv.active) < len(vv.specs):
			vv.on = true
			emit(last, activate(vv, vv.specs))
		case !live && len(vv.active) > 0:
			vv.on = false
			emit(last, deactivate(vv))
		}
	}
	d.specs = ib.specs
	for _, s := range d.specs {
		d.byFull[s.fullName()] = s
	}
	d.info = append([]byte(nil), ib.body.Bytes()...)
	d.sums = digestsOf(d.info)
	return d, nil
}

func contains(ss []*gemSpec, s *gemSpec) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// size estimates the bytes a document holds.
func (d *gemDoc) size() int {
	n := len(d.info) + 256
	for _, l := range d.lines {
		n += len(l.text) + 32
	}
	n += len(d.specs) * 1024
	return n
}

// quickSpec returns the quick/Marshal.4.8 gemspec of one platform gem,
// rendering it the first time.
func (d *gemDoc) quickSpec(s *gemSpec) ([]byte, int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	full := s.fullName()
	if b, ok := d.quick[full]; ok {
		return b, 0
	}
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	zw.Write(marshal(specValue(s)))
	zw.Close()
	b := buf.Bytes()
	d.quick[full] = b
	return b, len(b)
}

// sortedSpecs returns the active platform gems by version, then platform.
func (d *gemDoc) sortedSpecs() []*gemSpec {
	out := append([]*gemSpec(nil), d.specs...)
	sort.SliceStable(out, func(i, j int) bool {
		if c := packages.CompareGemVersions(out[i].Version, out[j].Version); c != 0 {
			return c < 0
		}
		return out[i].Platform < out[j].Platform
	})
	return out
}

// ownerDoc is the owner-wide index of the gems one caller may read.
type ownerDoc struct {
	versions     []byte // /versions
	versionsSums digests
	names        []byte // /names
	namesSums    digests
	gems         map[string]*gemDoc // by name
	// full finds an active platform gem by its full name.
	full map[string]*gemDoc

	mu     sync.Mutex
	legacy map[string][]byte // specs.4.8.gz and the like
}

// newOwnerDoc merges the gems' documents into the owner's indexes.
func newOwnerDoc(created time.Time, docs []*gemDoc) *ownerDoc {
	od := &ownerDoc{gems: map[string]*gemDoc{}, full: map[string]*gemDoc{}, legacy: map[string][]byte{}}
	var lines []histLine
	var names []string
	for _, d := range docs {
		od.gems[d.name] = d
		lines = append(lines, d.lines...)
		if len(d.specs) > 0 {
			names = append(names, d.name)
		}
		for full := range d.byFull {
			od.full[full] = d
		}
	}
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].event < lines[j].event })
	var b bytes.Buffer
	b.WriteString("created_at: " + created.UTC().Format(time.RFC3339) + "\n---\n")
	for _, l := range lines {
		b.WriteString(l.text)
		b.WriteByte('\n')
	}
	od.versions = b.Bytes()
	od.versionsSums = digestsOf(od.versions)
	sort.Strings(names)
	var nb bytes.Buffer
	nb.WriteString("---\n")
	for _, n := range names {
		nb.WriteString(n + "\n")
	}
	od.names = nb.Bytes()
	od.namesSums = digestsOf(od.names)
	return od
}

func (od *ownerDoc) size() int {
	return len(od.versions) + len(od.names) + 64*len(od.gems) + len(od.full)*32
}

// lookup finds an active platform gem by its full name.
func (od *ownerDoc) lookup(full string) (*gemDoc, *gemSpec) {
	d := od.full[full]
	if d == nil {
		return nil, nil
	}
	return d, d.byFull[full]
}

// Legacy index names.
const (
	specsIndex      = "specs.4.8.gz"
	latestIndex     = "latest_specs.4.8.gz"
	prereleaseIndex = "prerelease_specs.4.8.gz"
)

// legacyIndex renders specs.4.8.gz, latest_specs.4.8.gz or
// prerelease_specs.4.8.gz the first time it is asked for: a gzipped
// Marshal array of [name, Gem::Version, platform].
func (od *ownerDoc) legacyIndex(name string) ([]byte, int) {
	od.mu.Lock()
	defer od.mu.Unlock()
	if b, ok := od.legacy[name]; ok {
		return b, 0
	}
	names := make([]string, 0, len(od.gems))
	for n := range od.gems {
		names = append(names, n)
	}
	sort.Strings(names)
	var entries rbArray
	for _, n := range names {
		specs := od.gems[n].sortedSpecs()
		switch name {
		case latestIndex:
			latest := map[string]*gemSpec{}
			var order []string
			for _, s := range specs {
				if packages.GemPrerelease(s.Version) {
					continue
				}
				if _, ok := latest[s.Platform]; !ok {
					order = append(order, s.Platform)
				}
				latest[s.Platform] = s
			}
			for _, p := range order {
				entries = append(entries, tupleValue(latest[p]))
			}
		default:
			for _, s := range specs {
				if packages.GemPrerelease(s.Version) == (name == prereleaseIndex) {
					entries = append(entries, tupleValue(s))
				}
			}
		}
	}
	b := gzipBytes(marshal(entries))
	od.legacy[name] = b
	return b, len(b)
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// gemKey identifies one gem document: the package and what moves when it
// changes.
type gemKey struct {
	pkgID    int64
	revision int64
	updated  int64
}

func gemKeyOf(p *packages.Package) gemKey {
	return gemKey{pkgID: p.ID, revision: p.Revision, updated: p.UpdatedAt.UnixNano()}
}

// ownerKey identifies one owner document: a digest of the owner and of
// the keys of the gems in it.
type ownerKey [sha256.Size]byte

func ownerKeyOf(owner *packages.Owner, pkgs []packages.Package) ownerKey {
	h := sha256.New()
	var buf [8]byte
	put := func(x int64) {
		binary.LittleEndian.PutUint64(buf[:], uint64(x))
		h.Write(buf[:])
	}
	put(owner.ID)
	put(owner.CreatedAt.Unix())
	for i := range pkgs {
		k := gemKeyOf(&pkgs[i])
		put(k.pkgID)
		put(k.revision)
		put(k.updated)
	}
	var k ownerKey
	copy(k[:], h.Sum(nil))
	return k
}

// indexes holds the documents of the front.
type indexes struct {
	gems   *lru[gemKey, *gemDoc]
	owners *lru[ownerKey, *ownerDoc]
	files  *fileHints
}

func newIndexes(size int) *indexes {
	return &indexes{gems: newLRU[gemKey, *gemDoc](size / 2), owners: newLRU[ownerKey, *ownerDoc](size / 2), files: &fileHints{}}
}

// gemFile is what a .gem's file name stands for.
type gemFile struct {
	name, version, file, sha256 string
}

// maxFileHints bounds the file names remembered; past it they are
// forgotten all at once.
const maxFileHints = 100000

// fileHints remembers which gem and version a downloaded file name is of,
// so that a download costs the service's checks alone. A hint only says
// where to look: the service decides whether the caller may read the
// file, and a hint whose file has gone is looked up again.
type fileHints struct {
	mu sync.Mutex
	m  map[string]gemFile
}

func (fh *fileHints) get(owner, full string) (gemFile, bool) {
	fh.mu.Lock()
	defer fh.mu.Unlock()
	f, ok := fh.m[strings.ToLower(owner)+"/"+full]
	return f, ok
}

func (fh *fileHints) put(owner, full string, f gemFile) {
	fh.mu.Lock()
	defer fh.mu.Unlock()
	if fh.m == nil || len(fh.m) >= maxFileHints {
		fh.m = map[string]gemFile{}
	}
	fh.m[strings.ToLower(owner)+"/"+full] = f
}

// gemDoc returns the document of one gem, given its package as a
// request read it.
func (h *handler) gemDoc(ctx context.Context, a *packages.Actor, owner string, p *packages.Package) (*gemDoc, error) {
	key := gemKeyOf(p)
	if d, ok := h.idx.gems.get(key); ok {
		return d, nil
	}
	return h.idx.gems.fill(key, func() (*gemDoc, int, error) {
		_, vs, events, err := h.svc.PackageHistory(ctx, a, gemRef(owner, p.Name))
		if err != nil {
			return nil, 0, err
		}
		d, err := newGemDoc(p.Name, vs, events)
		if err != nil {
			return nil, 0, err
		}
		d.key = key
		return d, d.size(), nil
	})
}

// ownerDoc returns the owner-wide index of the gems the caller may read.
func (h *handler) ownerDoc(ctx context.Context, a *packages.Actor, owner string) (*ownerDoc, ownerKey, error) {
	o, pkgs, err := h.svc.OwnerPackages(ctx, a, owner, packages.TypeRubyGems)
	if err != nil {
		return nil, ownerKey{}, err
	}
	key := ownerKeyOf(o, pkgs)
	if od, ok := h.idx.owners.get(key); ok {
		return od, key, nil
	}
	od, err := h.idx.owners.fill(key, func() (*ownerDoc, int, error) {
		docs := make([]*gemDoc, 0, len(pkgs))
		for i := range pkgs {
			d, err := h.gemDoc(ctx, a, o.Login, &pkgs[i])
			if packages.IsNotFound(err) || packages.KindOf(err) == packages.KindUnauthenticated {
				// Deleted, or made private, since the listing.
				continue
			}
			if err != nil {
				return nil, 0, err
			}
			docs = append(docs, d)
		}
		od := newOwnerDoc(o.CreatedAt, docs)
		return od, od.size(), nil
	})
	return od, key, err
}
