package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/packhub/packhub/internal/packages"
)

type grantRow struct {
	Login string
	Role  string
}

type settingsView struct {
	Item        pkgItem
	PackageURL  string
	Base        string // prefix of the settings forms' URLs
	Visibility  string
	Choices     []option
	Granular    bool
	Grants      []grantRow
	Versions    []versionRow
	Pager       pager
	Deleted     []versionRow
	CanRestore  bool
	DeletedPage pager
}

// settingsPage shows a package's settings to those who may administer it:
// visibility, access grants, its versions with Delete, its deleted
// versions with Restore, and the package's delete.
func (h *handler) settingsPage(scope packages.OwnerScope) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { h.settings(w, r, scope, http.StatusOK, "") }
}

// settings renders the settings page with code and an error message
// ("" for none).
func (h *handler) settings(w http.ResponseWriter, r *http.Request, scope packages.OwnerScope, code int, message string) {
	v := viewerOf(r)
	ctx := r.Context()
	ref, ok := h.packageRef(r, scope)
	if !ok {
		h.notFound(w, r)
		return
	}
	if err := h.svc.Allowed(ctx, v.actor, ref, packages.OpDelete, packages.ViaWeb); err != nil {
		h.fail(w, r, v, err)
		return
	}
	q := r.URL.Query()
	pg := versionPageParam(q, "page")
	pi, vs, total, err := h.svc.ListVersionSummaries(ctx, v.actor, ref, packages.Active, packages.Page{Page: pg, PerPage: perPage}, packages.ViaWeb)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	ref.Name = pi.Name
	dpage := versionPageParam(q, "deleted")
	_, dvs, dtotal, err := h.svc.ListVersionSummaries(ctx, v.actor, ref, packages.Deleted, packages.Page{Page: dpage, PerPage: perPage}, packages.ViaWeb)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	view := settingsView{Item: itemOf(pi), PackageURL: pkgURL(pi), Base: pkgURL(pi) + "/settings", Visibility: string(pi.Visibility),
		Granular: h.svc.Granular(pi.Type), Versions: h.rowsOf(pi, vs), Pager: pagerFor(r, "page", maxVersionPage, pg, total),
		Deleted: h.rowsOf(pi, dvs), DeletedPage: pagerFor(r, "deleted", maxVersionPage, dpage, dtotal)}
	for _, c := range h.svc.VisibilityChoices(pi) {
		view.Choices = append(view.Choices, option{Value: string(c), Label: string(c), Selected: c == pi.Visibility})
	}
	view.CanRestore = h.svc.Allowed(ctx, v.actor, ref, packages.OpRestore, packages.ViaWeb) == nil
	if view.Granular {
		gs, err := h.svc.PackageGrants(ctx, v.actor, ref)
		if err != nil {
			h.fail(w, r, v, err)
			return
		}
		for _, g := range gs {
			view.Grants = append(view.Grants, grantRow{Login: g.User.Login, Role: g.Role.String()})
		}
	}
	h.renderPage(w, r, code, "settings", &page{Title: "Settings of " + pi.Name, Error: message, Data: view})
}

// afterChange answers a settings form: back to where the change shows,
// with a notice, or the settings page with the service's refusal.
func (h *handler) afterChange(w http.ResponseWriter, r *http.Request, scope packages.OwnerScope, err error, target, notice string) {
	if err == nil {
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&"
		}
		http.Redirect(w, r, target+sep+"notice="+notice, http.StatusSeeOther)
		return
	}
	switch packages.KindOf(err) {
	case packages.KindInvalid, packages.KindConflict:
		h.settings(w, r, scope, http.StatusBadRequest, packages.PublicMessage(err, "The change was refused."))
	case packages.KindForbidden:
		h.settings(w, r, scope, http.StatusForbidden, packages.PublicMessage(err, "You may not do this."))
	default:
		h.fail(w, r, viewerOf(r), err)
	}
}

// settingsTarget is the settings page of the package a form's path names.
func settingsTarget(r *http.Request, scope packages.OwnerScope) string {
	ns := "users"
	if scope == packages.OrgPath {
		ns = "orgs"
	}
	return "/" + ns + "/" + r.PathValue("login") + "/packages/" + r.PathValue("type") + "/package/" + url.PathEscape(r.PathValue("name")) + "/settings"
}

func (h *handler) setVisibility(scope packages.OwnerScope) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !h.parseForm(w, r) {
			return
		}
		ref, ok := h.packageRef(r, scope)
		if !ok {
			h.notFound(w, r)
			return
		}
		err := h.svc.SetPackageVisibility(r.Context(), viewerOf(r).actor, ref, packages.Visibility(r.PostFormValue("visibility")))
		h.afterChange(w, r, scope, err, settingsTarget(r, scope), "visibility")
	}
}

func (h *handler) setAccess(scope packages.OwnerScope) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !h.parseForm(w, r) {
			return
		}
		ref, ok := h.packageRef(r, scope)
		if !ok {
			h.notFound(w, r)
			return
		}
		role, ok := packages.ParseRole(r.PostFormValue("role"))
		if !ok && r.PostFormValue("role") != "none" {
			h.settings(w, r, scope, http.StatusBadRequest, "Choose a role: read, write or admin.")
			return
		}
		login := strings.TrimSpace(r.PostFormValue("user"))
		err := h.svc.GrantPackageAccess(r.Context(), viewerOf(r).actor, ref, login, role)
		if packages.IsNotFound(err) && !packages.IsPackageNotFound(err) {
			// The user named is missing, not the package.
			h.settings(w, r, scope, http.StatusBadRequest, "There is no user "+strconv.Quote(login)+".")
			return
		}
		h.afterChange(w, r, scope, err, settingsTarget(r, scope), "access")
	}
}

func (h *handler) deletePackage(scope packages.OwnerScope) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !h.parseForm(w, r) {
			return
		}
		v := viewerOf(r)
		ref, ok := h.packageRef(r, scope)
		if !ok {
			h.notFound(w, r)
			return
		}
		pi, err := h.svc.GetPackage(r.Context(), v.actor, ref, packages.OpRead, packages.ViaWeb)
		if err != nil {
			h.fail(w, r, v, err)
			return
		}
		if r.PostFormValue("confirm") != pi.Name {
			h.settings(w, r, scope, http.StatusBadRequest, "Type the package's name, "+pi.Name+", to delete it.")
			return
		}
		err = h.svc.DeletePackage(r.Context(), v.actor, ref, packages.ViaWeb)
		h.afterChange(w, r, scope, err, ownerURL(pi.Owner), "deleted")
	}
}

func (h *handler) versionAction(scope packages.OwnerScope, notice string, act func(h *handler, r *http.Request, ref packages.PackageRef, id int64) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !h.parseForm(w, r) {
			return
		}
		ref, ok := h.packageRef(r, scope)
		if !ok {
			h.notFound(w, r)
			return
		}
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			h.notFound(w, r)
			return
		}
		h.afterChange(w, r, scope, act(h, r, ref, id), settingsTarget(r, scope), notice)
	}
}

func (h *handler) deleteVersion(scope packages.OwnerScope) http.HandlerFunc {
	return h.versionAction(scope, "v-deleted", func(h *handler, r *http.Request, ref packages.PackageRef, id int64) error {
		return h.svc.DeleteVersion(r.Context(), viewerOf(r).actor, ref, id, packages.ViaWeb)
	})
}

func (h *handler) restoreVersion(scope packages.OwnerScope) http.HandlerFunc {
	return h.versionAction(scope, "v-restored", func(h *handler, r *http.Request, ref packages.PackageRef, id int64) error {
		return h.svc.RestoreVersion(r.Context(), viewerOf(r).actor, ref, id, packages.ViaWeb)
	})
}

// restorePackage restores a deleted package from the owner's deleted
// packages.
func (h *handler) restorePackage(scope packages.OwnerScope) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !h.parseForm(w, r) {
			return
		}
		v := viewerOf(r)
		ref, ok := h.packageRef(r, scope)
		if !ok {
			h.notFound(w, r)
			return
		}
		if err := h.svc.RestorePackage(r.Context(), v.actor, ref, packages.ViaWeb); err != nil {
			switch packages.KindOf(err) {
			case packages.KindInvalid, packages.KindConflict, packages.KindForbidden:
				code := http.StatusBadRequest
				if packages.KindOf(err) == packages.KindForbidden {
					code = http.StatusForbidden
				}
				h.render(w, r, code, "error", "Not restored", errorView{Code: code, Message: packages.PublicMessage(err, "The package could not be restored.")})
			default:
				h.fail(w, r, v, err)
			}
			return
		}
		pi, err := h.svc.GetPackage(r.Context(), v.actor, ref, packages.OpRead, packages.ViaWeb)
		if err != nil {
			h.fail(w, r, v, err)
			return
		}
		http.Redirect(w, r, pkgURL(pi)+"?notice=restored", http.StatusSeeOther)
	}
}
