package oci

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/packhub/packhub/internal/auth"
	"github.com/packhub/packhub/internal/packages"
)

// Registry actions, as bearer token scopes name them.
const (
	actionPull   = "pull"
	actionPush   = "push"
	actionDelete = "delete"
)

// caller is who sent a request and what a bearer token allows it.
type caller struct {
	actor *packages.Actor
	// claims is set for a registry bearer token; nil means the request
	// carried a personal access token or nothing, and only the service's
	// rules apply.
	claims *auth.RegistryClaims
	// bearer is set when the request carried a registry bearer token,
	// even an anonymous one.
	bearer bool
}

func (c *caller) anonymous() bool { return c.actor.Anonymous() }

// allows reports whether the caller's bearer token (if any) grants one of
// actions on name.
func (c *caller) allows(name string, actions ...string) bool {
	if c.claims == nil {
		return true
	}
	for _, a := range actions {
		if c.claims.Allows(name, a) {
			return true
		}
	}
	return false
}

// scope formats a challenge scope.
func scope(name string, actions ...string) string {
	return "repository:" + name + ":" + strings.Join(actions, ",")
}

// authenticate identifies the caller. A request without credentials is
// anonymous; bad credentials are a 401 whose challenge asks for scope.
func (h *handler) authenticate(r *http.Request, scope string) (*caller, error) {
	cred, ok := auth.FromRequest(r)
	if !ok {
		return &caller{}, nil
	}
	bad := func(err error) error {
		e := errorf(codeUnauthorized, "%s", packages.MsgBadCredentials)
		e.scope, e.cause = scope, err
		return e
	}
	if cred.Scheme == "bearer" && auth.LooksLikeJWT(cred.Secret) {
		claims, err := h.verified.verify(h.tokens, cred.Secret)
		if err != nil {
			return nil, bad(err)
		}
		c := &caller{claims: claims, bearer: true}
		if claims.UserID != 0 {
			// The bearer token is only as good as the personal access
			// token it was minted from: the service checks that one on
			// every request.
			a, err := h.svc.AuthenticateTokenID(r.Context(), claims.TokenID, claims.UserID)
			if err != nil {
				if packages.KindOf(err) == packages.KindBadCredentials {
					return nil, bad(err)
				}
				return nil, err
			}
			c.actor = a
		}
		return c, nil
	}
	if cred.Secret == "" {
		return nil, bad(errors.New("unusable authorization header"))
	}
	a, err := h.svc.Authenticate(r.Context(), cred.Secret)
	if err != nil {
		if k := packages.KindOf(err); k == packages.KindBadCredentials || k == packages.KindUnauthenticated {
			return nil, bad(err)
		}
		return nil, err
	}
	return &caller{actor: a}, nil
}

// need authenticates the caller and checks that its bearer token grants
// one of actions on name; challenge is the action list a 401 asks for.
func (h *handler) need(r *http.Request, name Name, challenge []string, actions ...string) (*caller, error) {
	return h.needScope(r, name, scope(name.Full, challenge...), actions...)
}

// needScope is need with the whole scope a 401 asks for, which may name
// more repositories than name (a mount's source).
func (h *handler) needScope(r *http.Request, name Name, sc string, actions ...string) (*caller, error) {
	c, err := h.authenticate(r, sc)
	if err != nil {
		return nil, err
	}
	// Anonymous callers may read public packages without a token; anything
	// else needs credentials, asked for with the right scope at once.
	anonWrite := c.claims == nil && c.anonymous() && !slices.Contains(actions, actionPull)
	if anonWrite || !c.allows(name.Full, actions...) {
		e := errorf(codeUnauthorized, "authentication required")
		e.scope, e.insufficient = sc, !c.anonymous()
		return nil, e
	}
	return c, nil
}

// challenge is the WWW-Authenticate value of a 401.
func (h *handler) challenge(scope string, insufficient bool) string {
	v := fmt.Sprintf(`Bearer realm=%q,service=%q`, h.realm, h.service)
	if scope != "" {
		v += fmt.Sprintf(`,scope=%q`, scope)
	}
	if insufficient {
		v += `,error="insufficient_scope"`
	}
	return v
}

// tokenResponse is what /token answers, in both the Docker and the OAuth2
// spelling.
type tokenResponse struct {
	Token       string `json:"token"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
	IssuedAt    string `json:"issued_at"`
}

// serveToken exchanges credentials (Basic with a personal access token as
// password, any user name; or none) for a bearer token carrying what the
// service allows of the requested scopes.
func (h *handler) serveToken(w http.ResponseWriter, r *http.Request) {
	var secret string
	var scopes []string
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if cred, ok := auth.FromRequest(r); ok {
			secret = cred.Secret
			if secret == "" {
				secret = "-" // present but unusable: bad credentials
			}
		}
		scopes = r.URL.Query()["scope"]
	case http.MethodPost:
		// OAuth2 password grant (containerd tries it first).
		if err := r.ParseForm(); err != nil {
			h.tokenError(w, r, http.StatusBadRequest, "invalid_request", "malformed form")
			return
		}
		if gt := r.PostForm.Get("grant_type"); gt != "password" {
			h.tokenError(w, r, http.StatusBadRequest, "unsupported_grant_type", "only the password grant is supported")
			return
		}
		secret = r.PostForm.Get("password")
		if secret == "" {
			secret = "-"
		}
		scopes = r.PostForm["scope"]
	default:
		w.Header().Set("Allow", "GET, POST")
		h.tokenError(w, r, http.StatusMethodNotAllowed, "UNSUPPORTED", "method not allowed")
		return
	}
	var actor *packages.Actor
	if secret != "" {
		a, err := h.svc.Authenticate(r.Context(), secret)
		if err != nil {
			k := packages.KindOf(err)
			if k != packages.KindBadCredentials && k != packages.KindUnauthenticated {
				h.log.ErrorContext(r.Context(), "token authentication failed", "err", err)
				h.tokenError(w, r, http.StatusInternalServerError, "UNKNOWN", "internal server error")
				return
			}
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Basic realm=%q`, h.realm))
			h.tokenError(w, r, http.StatusUnauthorized, codeUnauthorized, packages.MsgBadCredentials)
			return
		}
		actor = a
	}
	claims := auth.RegistryClaims{Access: []auth.RegistryAccess{}}
	subject := ""
	if !actor.Anonymous() {
		subject = actor.User.Login
		claims.UserID = actor.User.ID
		if actor.Token != nil {
			claims.TokenID = actor.Token.ID
			claims.Scopes = actor.Token.Scopes
		}
	}
	for _, s := range scopes {
		for _, one := range strings.Fields(s) {
			acc, ok := h.grant(r.Context(), actor, one)
			if ok {
				claims.Access = append(claims.Access, acc)
			}
		}
	}
	tok, issued, err := h.tokens.Issue(subject, claims)
	if err != nil {
		h.log.ErrorContext(r.Context(), "issue registry token", "err", err)
		h.tokenError(w, r, http.StatusInternalServerError, "UNKNOWN", "internal server error")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(tokenResponse{
		Token: tok, AccessToken: tok,
		ExpiresIn: int(h.tokens.TTL() / time.Second),
		IssuedAt:  issued.Format(time.RFC3339),
	})
}

func (h *handler) tokenError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors":            []errorEntry{{Code: code, Message: msg}},
		"error":             code,
		"error_description": msg,
	})
}

// grant decides what a token gets of one requested scope
// ("repository:NAME:pull,push"): only what the service allows.
func (h *handler) grant(ctx context.Context, a *packages.Actor, s string) (auth.RegistryAccess, bool) {
	typ, rest, ok := strings.Cut(s, ":")
	if !ok {
		return auth.RegistryAccess{}, false
	}
	if i := strings.IndexByte(typ, '('); i >= 0 { // repository(plugin)
		typ = typ[:i]
	}
	i := strings.LastIndexByte(rest, ':')
	if i < 0 {
		return auth.RegistryAccess{}, false
	}
	resource, actionList := rest[:i], strings.Split(rest[i+1:], ",")
	switch typ {
	case "registry":
		// The catalog lists only what the caller may read, whoever asks.
		if resource == "catalog" {
			return auth.RegistryAccess{Type: "registry", Name: "catalog", Actions: []string{"*"}}, true
		}
		return auth.RegistryAccess{}, false
	case "repository":
	default:
		return auth.RegistryAccess{}, false
	}
	name, err := ParseName(h.typ, resource)
	if err != nil {
		return auth.RegistryAccess{}, false
	}
	want := map[string]bool{}
	for _, act := range actionList {
		if act == "*" {
			want[actionPull], want[actionPush], want[actionDelete] = true, true, true
			continue
		}
		want[strings.TrimSpace(act)] = true
	}
	var got []string
	canPush := false
	if want[actionPush] {
		canPush = !a.Anonymous() && h.svc.CanPublish(ctx, a, name.Ref, name.Repository) == nil && h.repositoryMatches(ctx, a, name)
		if canPush && want[actionPush] {
			got = append(got, actionPush)
		}
	}
	if want[actionPull] {
		if canPush || h.canRead(ctx, a, name) {
			got = append(got, actionPull)
		}
	}
	if want[actionDelete] {
		if pi, err := h.svc.GetPackage(ctx, a, name.Ref, packages.OpDelete, packages.ViaRegistry); err == nil && h.inRepository(ctx, pi, name) {
			got = append(got, actionDelete)
		}
	}
	if len(got) == 0 {
		return auth.RegistryAccess{}, false
	}
	slices.Sort(got)
	return auth.RegistryAccess{Type: "repository", Name: name.Full, Actions: got}, true
}

// canRead reports whether a token for a may pull name: the package is
// readable, or, for a signed-in caller, there is no package it can see
// there. The registry then answers a pull NAME_UNKNOWN, for a package the
// caller may not see as for a missing one (and serves a new name's blobs
// to their pusher). Anonymous callers get pull on readable packages only,
// so that their clients are asked to sign in for anything else.
func (h *handler) canRead(ctx context.Context, a *packages.Actor, name Name) bool {
	pi, err := h.svc.GetPackage(ctx, a, name.Ref, packages.OpRead, packages.ViaRegistry)
	if err == nil {
		return h.inRepository(ctx, pi, name) || !a.Anonymous()
	}
	return packages.IsPackageNotFound(err) && !a.Anonymous()
}

// repositoryMatches reports whether an existing docker package of that
// name belongs to the name's repository (true when there is none).
func (h *handler) repositoryMatches(ctx context.Context, a *packages.Actor, name Name) bool {
	if name.Repository == "" {
		return true
	}
	pi, err := h.svc.GetPackage(ctx, a, name.Ref, packages.OpRead, packages.ViaRegistry)
	if err != nil {
		return true
	}
	return h.inRepository(ctx, pi, name)
}

// inRepository reports whether a package belongs to the repository a
// docker name gives; always true for container names.
func (h *handler) inRepository(_ context.Context, pi *packages.PackageInfo, name Name) bool {
	if name.Repository == "" {
		return true
	}
	if pi.Repository == nil || pi.RepositoryOwner == nil {
		return false
	}
	return strings.EqualFold(pi.RepositoryOwner.Login+"/"+pi.Repository.Name, name.Repository)
}
