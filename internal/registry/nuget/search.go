package nuget

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/packhub/packhub/internal/packages"
)

// Search limits, as nuget.org has them.
const (
	defaultTake   = 20
	maxTake       = 1000
	maxSkip       = 3000
	maxCandidates = 10000 // packages of one feed a search looks at
)

// searchQuery is a parsed search or autocomplete request.
type searchQuery struct {
	terms       []string // lower case; each must be part of the id
	exactID     string   // id:X or packageid:X
	skip, take  int
	prerelease  bool
	semVer2     bool
	packageType string
}

func parseSearch(q url.Values) searchQuery {
	sq := searchQuery{take: defaultTake}
	for _, t := range strings.Fields(q.Get("q")) {
		field, value, ok := strings.Cut(t, ":")
		switch f := strings.ToLower(field); {
		case ok && (f == "id" || f == "packageid") && value != "":
			sq.exactID = strings.Trim(value, `"`)
		case ok && value == "":
		default:
			sq.terms = append(sq.terms, strings.ToLower(strings.Trim(t, `"`)))
		}
	}
	if n, err := strconv.Atoi(q.Get("skip")); err == nil && n > 0 {
		sq.skip = min(n, maxSkip)
	}
	if n, err := strconv.Atoi(q.Get("take")); err == nil && n >= 0 {
		sq.take = min(n, maxTake)
	}
	sq.prerelease, _ = strconv.ParseBool(q.Get("prerelease"))
	if lvl := q.Get("semVerLevel"); lvl != "" {
		if v, err := strconv.Atoi(strings.SplitN(lvl, ".", 2)[0]); err == nil && v >= 2 {
			sq.semVer2 = true
		}
	}
	sq.packageType = strings.TrimSpace(q.Get("packageType"))
	return sq
}

// allows reports whether a version passes the query's filters.
func (sq *searchQuery) allows(v *feedVersion) bool {
	return (sq.prerelease || !v.m.Prerelease()) && (sq.semVer2 || !v.m.SemVer2)
}

// requireCredentials answers an anonymous search with the 401 challenge.
// NuGet sends a source's credentials only when challenged, and a search
// answered anonymously would show a client that has credentials only the
// public packages, silently. With credentials, a search shows what they
// may read (public packages for a token without read:packages).
func requireCredentials(a *packages.Actor) error {
	if a.Anonymous() {
		return packages.Errorf(packages.KindUnauthenticated, packages.MsgRequiresAuthentication)
	}
	return nil
}

// hasType reports whether a version is of the query's package type.
func (sq *searchQuery) hasType(v *feedVersion) bool {
	return sq.packageType == "" || slices.ContainsFunc(v.m.PackageTypeNames(), func(n string) bool { return strings.EqualFold(n, sq.packageType) })
}

// hit is one package a search found, with the versions it shows.
type hit struct {
	doc      *feedDoc
	versions []*feedVersion // lowest first
}

// find runs a search over the feed: the packages the caller may read
// whose id matches, that have a version the filters let through, ordered
// by id.
func (h *handler) find(r *http.Request, a *packages.Actor, f feed, sq searchQuery) ([]hit, error) {
	ctx := r.Context()
	text := sq.exactID
	if text == "" && len(sq.terms) > 0 {
		text = sq.terms[0]
	}
	pis, _, err := h.svc.SearchOwnerPackages(ctx, a, packages.SearchOwnerRequest{Owner: f.owner, Type: packages.TypeNuGet, NameContains: text, Limit: maxCandidates})
	if err != nil {
		return nil, err
	}
	var out []hit
	for i := range pis {
		pi := &pis[i]
		name := strings.ToLower(pi.Name)
		if sq.exactID != "" && !strings.EqualFold(pi.Name, sq.exactID) {
			continue
		}
		if slices.ContainsFunc(sq.terms, func(t string) bool { return !strings.Contains(name, t) }) {
			continue
		}
		e, err := h.entryOf(ctx, a, f, pi)
		if err != nil {
			if packages.IsNotFound(err) {
				continue // deleted since it was listed
			}
			return nil, err
		}
		ht := hit{doc: e.doc}
		for j := range e.doc.versions {
			if v := &e.doc.versions[j]; sq.allows(v) {
				ht.versions = append(ht.versions, v)
			}
		}
		if len(ht.versions) == 0 || !sq.hasType(ht.versions[len(ht.versions)-1]) {
			continue
		}
		out = append(out, ht)
	}
	slices.SortFunc(out, func(a, b hit) int { return strings.Compare(strings.ToLower(a.doc.id), strings.ToLower(b.doc.id)) })
	return out, nil
}

func page[T any](s []T, skip, take int) []T {
	if skip >= len(s) {
		return nil
	}
	return s[skip:min(len(s), skip+take)]
}

type (
	searchResult struct {
		TotalHits int           `json:"totalHits"`
		Data      []searchEntry `json:"data"`
	}
	searchEntry struct {
		ID             string          `json:"@id"`
		Type           string          `json:"@type"`
		Registration   string          `json:"registration"`
		PackageID      string          `json:"id"`
		Version        string          `json:"version"`
		Description    string          `json:"description"`
		Summary        string          `json:"summary"`
		Title          string          `json:"title"`
		IconURL        string          `json:"iconUrl"`
		LicenseURL     string          `json:"licenseUrl"`
		ProjectURL     string          `json:"projectUrl"`
		Tags           []string        `json:"tags"`
		Authors        []string        `json:"authors"`
		Owners         []string        `json:"owners"`
		TotalDownloads int64           `json:"totalDownloads"`
		Verified       bool            `json:"verified"`
		PackageTypes   []searchType    `json:"packageTypes"`
		Versions       []searchVersion `json:"versions"`
	}
	searchType struct {
		Name string `json:"name"`
	}
	searchVersion struct {
		Version   string `json:"version"`
		Downloads int64  `json:"downloads"`
		ID        string `json:"@id"`
	}
)

// search serves the search resource: q, skip, take, prerelease,
// semVerLevel and packageType, over the packages of the feed the caller
// may read.
func (h *handler) search(w http.ResponseWriter, r *http.Request, a *packages.Actor, f feed) error {
	if err := requireCredentials(a); err != nil {
		return err
	}
	sq := parseSearch(r.URL.Query())
	hits, err := h.find(r, a, f, sq)
	if err != nil {
		return err
	}
	hubPath := pathRegistration
	if sq.semVer2 {
		hubPath = pathRegGzSemVer2
	}
	res := searchResult{TotalHits: len(hits), Data: []searchEntry{}}
	for _, ht := range page(hits, sq.skip, sq.take) {
		latest := ht.versions[len(ht.versions)-1]
		m := latest.m
		u := urls{base: f.base, hub: hubPath, id: strings.ToLower(ht.doc.pkg.Name)}
		e := searchEntry{
			ID: u.regIndex(), Type: "Package", Registration: u.regIndex(),
			PackageID: ht.doc.id, Version: m.Version, Description: m.Description, Summary: m.Summary,
			Title: m.Title, IconURL: m.IconURL, LicenseURL: m.LicenseURL, ProjectURL: m.ProjectURL,
			Tags: m.Tags, Authors: splitList(m.Authors), Owners: []string{ht.doc.pkg.Owner.Login},
		}
		if e.Tags == nil {
			e.Tags = []string{}
		}
		for _, n := range m.PackageTypeNames() {
			e.PackageTypes = append(e.PackageTypes, searchType{Name: n})
		}
		for _, v := range ht.versions {
			e.TotalDownloads += v.downloads
			e.Versions = append(e.Versions, searchVersion{Version: v.m.Version, Downloads: v.downloads, ID: u.leaf(v.name)})
		}
		res.Data = append(res.Data, e)
	}
	return serveDoc(w, r, mustJSON(res), false)
}

func splitList(s string) []string {
	out := []string{}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// autocomplete serves the autocomplete resource: package ids matching q,
// or with id the versions of one package.
func (h *handler) autocomplete(w http.ResponseWriter, r *http.Request, a *packages.Actor, f feed) error {
	if err := requireCredentials(a); err != nil {
		return err
	}
	q := r.URL.Query()
	sq := parseSearch(q)
	res := struct {
		TotalHits int      `json:"totalHits"`
		Data      []string `json:"data"`
	}{Data: []string{}}
	if id := strings.TrimSpace(q.Get("id")); id != "" {
		e, err := h.entry(r.Context(), a, f, id)
		switch {
		case packages.IsNotFound(err) || packages.KindOf(err) == packages.KindUnauthenticated:
		case err != nil:
			return err
		default:
			for i := range e.doc.versions {
				if v := &e.doc.versions[i]; sq.allows(v) {
					res.Data = append(res.Data, v.m.Version)
				}
			}
		}
		res.TotalHits = len(res.Data)
		return serveDoc(w, r, mustJSON(res), false)
	}
	hits, err := h.find(r, a, f, sq)
	if err != nil {
		return err
	}
	res.TotalHits = len(hits)
	for _, ht := range page(hits, sq.skip, sq.take) {
		res.Data = append(res.Data, ht.doc.id)
	}
	return serveDoc(w, r, mustJSON(res), false)
}
