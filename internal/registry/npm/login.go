package npm

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/packhub/packhub/internal/auth"
	"github.com/packhub/packhub/internal/packages"
)

// couchUserPrefix starts the last segment of npm's legacy login URL,
// /-/user/org.couchdb.user:NAME.
const couchUserPrefix = "org.couchdb.user:"

// user serves /-/user/...: npm's legacy login and its logout. They come
// before the request's own credentials are checked, since a login carries
// its credentials in its body and a logout must work with a token that no
// longer does.
func (h *handler) user(w http.ResponseWriter, r *http.Request, segs []string) error {
	switch {
	case len(segs) >= 1 && strings.HasPrefix(segs[0], couchUserPrefix) && (len(segs) == 1 || (len(segs) == 3 && segs[1] == "-rev")):
		if r.Method != http.MethodPut {
			return methodNotAllowed()
		}
		return h.login(w, r, strings.TrimPrefix(segs[0], couchUserPrefix))
	case len(segs) == 2 && segs[0] == "token":
		if r.Method != http.MethodDelete {
			return methodNotAllowed()
		}
		// npm logout: the token is a personal access token, which may
		// serve elsewhere; logging out of npm only drops it from .npmrc.
		return writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	}
	return errNotFound
}

// login handles PUT /-/user/org.couchdb.user:NAME: npm login (and npm
// adduser) with --auth-type=legacy. As with GitHub's npm registry, the user
// name is the user's login and the password a personal access token of
// that user; the answer gives npm that token to write into .npmrc. No
// account is created.
func (h *handler) login(w http.ResponseWriter, r *http.Request, name string) error {
	var body struct {
		Name     string `json:"name"`
		Password string `json:"password"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&body); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return packages.Errorf(packages.KindInvalid, "the login document must be a JSON object with a name and a password")
	}
	if name == "" {
		return errNotFound
	}
	if body.Name != "" && !strings.EqualFold(body.Name, name) {
		return packages.Errorf(packages.KindInvalid, "the login document names another user than its URL")
	}
	token := body.Password
	if token == "" {
		if c, ok := auth.FromRequest(r); ok {
			token = c.Secret
		}
	}
	if token == "" {
		return packages.Errorf(packages.KindUnauthenticated, "npm login needs your user name and a personal access token as the password")
	}
	a, err := h.svc.AuthenticateLogin(r.Context(), name, token)
	if err != nil {
		if packages.KindOf(err) == packages.KindBadCredentials {
			return packages.Wrap(packages.KindBadCredentials,
				strings.TrimSuffix(packages.PublicMessage(err, packages.MsgBadCredentials), ".")+". Log in with your user name and a personal access token as the password.", err)
		}
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{
		"ok":    true,
		"id":    couchUserPrefix + a.User.Login,
		"token": token,
	})
}
