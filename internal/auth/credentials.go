package auth

import (
	"net/http"
	"strings"
)

// Credential is what a request presented in its Authorization header.
type Credential struct {
	Scheme string // "bearer", "token", "basic" or "raw"
	User   string // Basic user name, when Scheme is "basic"
	Secret string // the token (or Basic password)
}

// FromRequest extracts the credential of r. It accepts
// "Bearer TOKEN", "token TOKEN", Basic with the token as password (any user
// name), and a bare token (RubyGems sends its API key so). ok is false when
// the request carries no Authorization header or an empty one.
func FromRequest(r *http.Request) (c Credential, ok bool) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h == "" {
		return Credential{}, false
	}
	scheme, rest, found := strings.Cut(h, " ")
	rest = strings.TrimSpace(rest)
	switch strings.ToLower(scheme) {
	case "bearer":
		if found && rest != "" {
			return Credential{Scheme: "bearer", Secret: rest}, true
		}
	case "token":
		if found && rest != "" {
			return Credential{Scheme: "token", Secret: rest}, true
		}
	case "basic":
		if user, pass, okb := r.BasicAuth(); okb {
			return Credential{Scheme: "basic", User: user, Secret: pass}, true
		}
	default:
		if !found {
			return Credential{Scheme: "raw", Secret: h}, true
		}
	}
	// A header is present but unusable: report it so the caller can say
	// "Bad credentials" rather than "Requires authentication".
	return Credential{Scheme: strings.ToLower(scheme)}, true
}
