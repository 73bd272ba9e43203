package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/packhub/packhub/internal/packages"
)

// maxForm bounds a form's body: the pages' forms are a few fields.
const maxForm = 64 << 10

// parseForm reads a POST's form within maxForm and checks its CSRF token;
// it answers the request itself and returns false when either fails.
func (h *handler) parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		h.render(w, r, http.StatusBadRequest, "error", "Bad Request", errorView{Code: http.StatusBadRequest, Message: "The form could not be read."})
		return false
	}
	if !h.checkCSRF(r, viewerOf(r)) {
		h.render(w, r, http.StatusForbidden, "error", "Forbidden", errorView{Code: http.StatusForbidden,
			Message: "The form has expired or did not come from this site. Go back, reload the page and try again."})
		return false
	}
	return true
}

// localPath returns p if it is a path on this site, else "/": a sign-in
// never sends the browser elsewhere.
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") || strings.ContainsAny(p, "\r\n\\") {
		return "/"
	}
	if u, err := url.Parse(p); err != nil || u.Host != "" || u.Scheme != "" {
		return "/"
	}
	return p
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

type loginView struct {
	Return string
}

func (h *handler) loginPage(w http.ResponseWriter, r *http.Request) {
	ret := localPath(r.URL.Query().Get("return"))
	if viewerOf(r).user() != nil {
		http.Redirect(w, r, ret, http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, "login", "Sign in", loginView{Return: ret})
}

func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	ret := localPath(r.PostFormValue("return"))
	secret, sess, _, err := h.svc.SignIn(r.Context(), r.PostFormValue("token"))
	if err != nil {
		code, msg := http.StatusUnauthorized, "That token is not valid: it is unknown, revoked or expired."
		switch packages.KindOf(err) {
		case packages.KindBadCredentials:
		case packages.KindForbidden:
			code, msg = http.StatusForbidden, packages.PublicMessage(err, packages.MsgSignInScope)
		default:
			h.fail(w, r, viewerOf(r), err)
			return
		}
		h.renderPage(w, r, code, "login", &page{Title: "Sign in", Error: msg, Data: loginView{Return: ret}})
		return
	}
	h.setCookie(w, r, sessionCookie, secret, sess.ExpiresAt)
	h.clearCookie(w, r, formCookie)
	http.Redirect(w, r, ret, http.StatusSeeOther)
}

func (h *handler) logout(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	v := viewerOf(r)
	if err := h.svc.SignOut(r.Context(), v.secret); err != nil {
		h.fail(w, r, v, err)
		return
	}
	h.clearCookie(w, r, sessionCookie)
	http.Redirect(w, r, "/?notice=signed-out", http.StatusSeeOther)
}
