package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/packhub/packhub/internal/packages"
)

// Cookies. The session cookie carries the session's secret; the form
// cookie carries a random value that ties the sign-in form's CSRF token to
// the browser before there is a session.
const (
	sessionCookie = "packhub_session"
	formCookie    = "packhub_form"
	csrfField     = "csrf"
)

// viewer is who is looking at a page: an anonymous visitor (actor nil) or
// a signed-in user with the session's secret.
type viewer struct {
	actor  *packages.Actor
	secret string // the session's secret; "" when anonymous
	form   string // the form cookie's value, for an anonymous visitor's forms
}

// user is the signed-in user, nil for an anonymous visitor.
func (v *viewer) user() *packages.Owner {
	if v == nil || v.actor.Anonymous() {
		return nil
	}
	return v.actor.User
}

type viewerKey struct{}

func viewerOf(r *http.Request) *viewer {
	if v, ok := r.Context().Value(viewerKey{}).(*viewer); ok {
		return v
	}
	return &viewer{}
}

// withViewer finds the request's viewer from its session cookie. A cookie
// the service does not take (signed out, expired, its token revoked) is
// cleared and the request goes on anonymously. An anonymous visitor gets a
// form cookie, so that the sign-in form can carry a CSRF token.
func (h *handler) withViewer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := &viewer{}
		if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
			_, a, err := h.svc.SessionActor(r.Context(), c.Value)
			switch {
			case err == nil:
				v.actor, v.secret = a, c.Value
			case packages.KindOf(err) == packages.KindBadCredentials:
				h.clearCookie(w, r, sessionCookie)
			default:
				h.fail(w, r, v, err)
				return
			}
		}
		if v.secret == "" {
			if c, err := r.Cookie(formCookie); err == nil && validFormValue(c.Value) {
				v.form = c.Value
			} else {
				v.form = randomValue()
				h.setCookie(w, r, formCookie, v.form, time.Time{})
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), viewerKey{}, v)))
	})
}

// csrfToken is the token every form of the page carries: tied to the
// session when there is one, else to the form cookie.
func (h *handler) csrfToken(v *viewer) string {
	if v.secret != "" {
		return h.mac("session:" + v.secret)
	}
	return h.mac("form:" + v.form)
}

// checkCSRF reports whether a POST carries the CSRF token of its viewer.
func (h *handler) checkCSRF(r *http.Request, v *viewer) bool {
	got := r.PostFormValue(csrfField)
	if got == "" || (v.secret == "" && v.form == "") {
		return false
	}
	return hmac.Equal([]byte(got), []byte(h.csrfToken(v)))
}

func (h *handler) mac(msg string) string {
	m := hmac.New(sha256.New, h.csrfKey)
	m.Write([]byte(msg))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// secure reports whether cookies must be Secure: the server is reached
// over TLS.
func (h *handler) secure(r *http.Request) bool { return h.opts.SecureCookies || r.TLS != nil }

func (h *handler) setCookie(w http.ResponseWriter, r *http.Request, name, value string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", Expires: expires,
		HttpOnly: true, Secure: h.secure(r), SameSite: http.SameSiteLaxMode,
	})
}

func (h *handler) clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: h.secure(r), SameSite: http.SameSiteLaxMode,
	})
}

func randomValue() string {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("web: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// validFormValue reports whether a form cookie has the shape randomValue
// gives it.
func validFormValue(s string) bool {
	if len(s) != 32 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}
