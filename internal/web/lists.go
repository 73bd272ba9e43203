package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/packhub/packhub/internal/packages"
)

// perPage is the length of every list's page.
const perPage = 30

// maxPage bounds the page number a package list takes, as the REST API
// bounds its package lists (page × per_page ≤ 10,000); maxVersionPage
// bounds a list of versions, which the REST API does not bound.
const (
	maxPage        = 10000 / perPage
	maxVersionPage = 1 << 24
)

// pageParam reads ?page=, 1 when absent or not a positive number.
func pageParam(q url.Values) int { return pageParamMax(q, "page", maxPage) }

// versionPageParam reads the page of a list of versions.
func versionPageParam(q url.Values, param string) int { return pageParamMax(q, param, maxVersionPage) }

func pageParamMax(q url.Values, param string, limit int) int {
	n, err := strconv.Atoi(q.Get(param))
	if err != nil || n < 1 {
		return 1
	}
	return min(n, limit)
}

// pager is a list's navigation.
type pager struct {
	Page, Pages, Total int
	Prev, Next         string // URLs; "" when there is none
}

func newPager(r *http.Request, page, total int) pager {
	return pagerFor(r, "page", maxPage, page, total)
}

// pagerFor pages with the query parameter param, up to page limit,
// keeping the other parameters.
func pagerFor(r *http.Request, param string, limit, page, total int) pager {
	pages := max((total+perPage-1)/perPage, 1)
	p := pager{Page: page, Pages: pages, Total: total}
	link := func(n int) string {
		q := r.URL.Query()
		q.Del("notice")
		if n == 1 {
			q.Del(param)
		} else {
			q.Set(param, strconv.Itoa(n))
		}
		if len(q) == 0 {
			return r.URL.Path
		}
		return r.URL.Path + "?" + q.Encode()
	}
	if page > 1 {
		p.Prev = link(min(page-1, pages))
	}
	if page < pages && page < limit {
		p.Next = link(page + 1)
	}
	return p
}

// pkgItem is one package in a list.
type pkgItem struct {
	Name       string
	Type       string
	TypeLabel  string
	Owner      string
	OwnerURL   string
	URL        string
	Visibility string
	Versions   int
	Downloads  int64
	Updated    time.Time
	Repository string // OWNER/NAME, "" when none
	RepoURL    string
}

// nsOf is the path namespace of an owner: users or orgs.
func nsOf(o *packages.Owner) string {
	if o.Type == packages.OrgOwner {
		return "orgs"
	}
	return "users"
}

// ownerURL is an owner's list of packages.
func ownerURL(o *packages.Owner) string { return "/" + nsOf(o) + "/" + o.Login + "/packages" }

// pkgBase is the common prefix of a package's version and settings pages.
func pkgBase(pi *packages.PackageInfo) string {
	return ownerURL(pi.Owner) + "/" + string(pi.Type) + "/" + url.PathEscape(pi.Name)
}

// pkgURL is a package's page, as the REST API's html_url names it.
func pkgURL(pi *packages.PackageInfo) string {
	return ownerURL(pi.Owner) + "/" + string(pi.Type) + "/package/" + url.PathEscape(pi.Name)
}

func versionURL(pi *packages.PackageInfo, id int64) string {
	return pkgBase(pi) + "/" + strconv.FormatInt(id, 10)
}

func repoURL(pi *packages.PackageInfo) string {
	if pi.Repository == nil || pi.RepositoryOwner == nil {
		return ""
	}
	return "/" + pi.RepositoryOwner.Login + "/" + pi.Repository.Name + "/packages"
}

func itemOf(pi *packages.PackageInfo) pkgItem {
	it := pkgItem{
		Name: pi.Name, Type: string(pi.Type), TypeLabel: viewOf(pi.Type).label,
		Owner: pi.Owner.Login, OwnerURL: ownerURL(pi.Owner), URL: pkgURL(pi),
		Visibility: string(pi.Visibility), Versions: pi.VersionCount, Downloads: pi.DownloadCount, Updated: pi.UpdatedAt,
	}
	if pi.Repository != nil && pi.RepositoryOwner != nil {
		it.Repository = pi.RepositoryOwner.Login + "/" + pi.Repository.Name
		it.RepoURL = repoURL(pi)
	}
	return it
}

func itemsOf(ps []packages.PackageInfo) []pkgItem {
	out := make([]pkgItem, len(ps))
	for i := range ps {
		out[i] = itemOf(&ps[i])
	}
	return out
}

// option is one choice of a filter.
type option struct {
	Value, Label string
	Selected     bool
}

// filters are a list's type and visibility filters, as chosen.
type filters struct {
	Query       string
	Type        packages.Type
	Visibility  packages.Visibility
	Types       []option
	Visibilites []option
}

func (h *handler) filters(q url.Values, withVisibility bool) filters {
	f := filters{Query: strings.TrimSpace(q.Get("q"))}
	if t, ok := h.svc.Specs().Parse(q.Get("type")); ok {
		f.Type = t
	}
	f.Types = append(f.Types, option{Value: "", Label: "All types", Selected: f.Type == ""})
	for _, t := range h.svc.Specs().Types() {
		f.Types = append(f.Types, option{Value: string(t), Label: viewOf(t).label, Selected: t == f.Type})
	}
	if withVisibility {
		if v, ok := packages.ParseVisibility(q.Get("visibility")); ok {
			f.Visibility = v
		}
		f.Visibilites = []option{{Value: "", Label: "Any visibility", Selected: f.Visibility == ""}}
		for _, v := range []packages.Visibility{packages.Public, packages.Private, packages.Internal} {
			f.Visibilites = append(f.Visibilites, option{Value: string(v), Label: string(v), Selected: v == f.Visibility})
		}
	}
	return f
}

type exploreView struct {
	Filters  filters
	Packages []pkgItem
	Pager    pager
}

// explore lists public packages, across owners, with search and a type
// filter: what an anonymous visitor may read.
func (h *handler) explore(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := h.filters(q, false)
	page := pageParam(q)
	ps, total, err := h.svc.SearchPackages(r.Context(), nil, f.Type, f.Query, packages.Page{Page: page, PerPage: perPage})
	if err != nil {
		h.fail(w, r, viewerOf(r), err)
		return
	}
	h.render(w, r, http.StatusOK, "explore", "Explore packages", exploreView{Filters: f, Packages: itemsOf(ps), Pager: newPager(r, page, total)})
}

type ownerView struct {
	Owner      *packages.Owner
	Kind       string // "user" or "organization"
	Filters    filters
	Packages   []pkgItem
	Pager      pager
	DeletedURL string // the owner's deleted packages, for who may restore them
}

// ownerPage is GitHub's /OWNER: the owner's packages.
func (h *handler) ownerPage(w http.ResponseWriter, r *http.Request) {
	o, err := h.svc.Owner(r.Context(), r.PathValue("owner"))
	if err != nil {
		h.fail(w, r, viewerOf(r), err)
		return
	}
	scope := packages.UserPath
	if o.Type == packages.OrgOwner {
		scope = packages.OrgPath
	}
	h.ownerList(w, r, o.Login, scope)
}

func (h *handler) listPage(scope packages.OwnerScope) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { h.ownerList(w, r, r.PathValue("login"), scope) }
}

func (h *handler) ownerList(w http.ResponseWriter, r *http.Request, login string, scope packages.OwnerScope) {
	v := viewerOf(r)
	ctx := r.Context()
	o, err := h.svc.Owner(ctx, login)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	if scope == packages.OrgPath && o.Type != packages.OrgOwner {
		h.notFound(w, r)
		return
	}
	q := r.URL.Query()
	f := h.filters(q, true)
	page := pageParam(q)
	ps, total, err := h.svc.ListPackages(ctx, v.actor, packages.ListPackagesRequest{
		Owner: o.Login, Scope: scope, Type: f.Type, Visibility: f.Visibility,
		Page: packages.Page{Page: page, PerPage: perPage}, Via: packages.ViaWeb,
	})
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	view := ownerView{Owner: o, Kind: "user", Filters: f, Packages: itemsOf(ps), Pager: newPager(r, page, total)}
	if o.Type == packages.OrgOwner {
		view.Kind = "organization"
	}
	if !v.actor.Anonymous() {
		// Offered to those the service shows deleted packages to.
		if _, _, err := h.svc.DeletedPackages(ctx, v.actor, packages.ListPackagesRequest{Owner: o.Login, Scope: scope, Page: packages.Page{Page: 1, PerPage: 1}}); err == nil {
			view.DeletedURL = ownerURL(o) + "/deleted"
		}
	}
	h.render(w, r, http.StatusOK, "owner", o.Login+"'s packages", view)
}

type repoView struct {
	Owner    *packages.Owner
	Repo     string
	Filters  filters
	Packages []pkgItem
	Pager    pager
}

// repoPage is GitHub's /OWNER/REPO/packages: the packages linked to a
// repository.
func (h *handler) repoPage(w http.ResponseWriter, r *http.Request) {
	v := viewerOf(r)
	full := r.PathValue("owner") + "/" + r.PathValue("repo")
	q := r.URL.Query()
	f := h.filters(q, false)
	page := pageParam(q)
	repo, owner, ps, total, err := h.svc.RepositoryPackages(r.Context(), v.actor, full, f.Type, packages.Page{Page: page, PerPage: perPage})
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	name := owner.Login + "/" + repo.Name
	h.render(w, r, http.StatusOK, "repo", name+" packages", repoView{Owner: owner, Repo: name, Filters: f, Packages: itemsOf(ps), Pager: newPager(r, page, total)})
}

// repoPackage is GitHub's /OWNER/REPO/packages/ID, the html_url of a
// package linked to its repository: it sends the browser to the package's
// page (or, with ?version=, the version's).
func (h *handler) repoPackage(w http.ResponseWriter, r *http.Request) {
	v := viewerOf(r)
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		h.notFound(w, r)
		return
	}
	pi, err := h.svc.RepositoryPackage(r.Context(), v.actor, r.PathValue("owner")+"/"+r.PathValue("repo"), id)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	target := pkgURL(pi)
	if name := r.URL.Query().Get("version"); name != "" {
		ref := packages.PackageRef{Owner: pi.Owner.Login, Scope: packages.UserPath, Type: pi.Type, Name: pi.Name}
		_, vi, err := h.svc.GetVersionByName(r.Context(), v.actor, ref, name, packages.ViaWeb)
		if err != nil {
			h.fail(w, r, v, err)
			return
		}
		target = versionURL(pi, vi.ID)
	}
	http.Redirect(w, r, target, http.StatusFound)
}

type deletedItem struct {
	pkgItem
	Deleted      time.Time
	RestoreUntil time.Time
	Restorable   bool
	Reason       string
	RestoreURL   string
}

type deletedView struct {
	Owner    *packages.Owner
	Filters  filters
	Packages []deletedItem
	Pager    pager
}

// deletedPage lists an owner's packages deleted in the restore window,
// with a Restore button for each the viewer may restore now.
func (h *handler) deletedPage(scope packages.OwnerScope) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := viewerOf(r)
		ctx := r.Context()
		o, err := h.svc.Owner(ctx, r.PathValue("login"))
		if err != nil {
			h.fail(w, r, v, err)
			return
		}
		q := r.URL.Query()
		f := h.filters(q, false)
		page := pageParam(q)
		dps, total, err := h.svc.DeletedPackages(ctx, v.actor, packages.ListPackagesRequest{
			Owner: o.Login, Scope: scope, Type: f.Type, Page: packages.Page{Page: page, PerPage: perPage}})
		if err != nil {
			h.fail(w, r, v, err)
			return
		}
		view := deletedView{Owner: o, Filters: f, Pager: newPager(r, page, total)}
		for i := range dps {
			dp := &dps[i]
			it := deletedItem{pkgItem: itemOf(&dp.PackageInfo), RestoreUntil: dp.RestoreUntil, Restorable: dp.Restorable, Reason: dp.Reason,
				RestoreURL: ownerURL(o) + "/deleted/" + string(dp.Type) + "/" + url.PathEscape(dp.Name) + "/restore"}
			it.URL = ""
			if dp.DeletedAt != nil {
				it.Deleted = *dp.DeletedAt
			}
			view.Packages = append(view.Packages, it)
		}
		h.render(w, r, http.StatusOK, "deleted", "Deleted packages of "+o.Login, view)
	}
}
