package packages

import "strings"

// Token scopes of personal access tokens (classic) that Packhub knows.
const (
	ScopeReadPackages   = "read:packages"
	ScopeWritePackages  = "write:packages"
	ScopeDeletePackages = "delete:packages"
	ScopeRepo           = "repo"
)

// KnownScopes lists the scopes a token may carry.
var KnownScopes = []string{ScopeReadPackages, ScopeWritePackages, ScopeDeletePackages, ScopeRepo, ScopeAdminOrgHook, ScopeAdminRepoHook}

// Actor is an authenticated caller. A nil *Actor is an anonymous caller.
type Actor struct {
	User  *Owner
	Token *Token
}

// Anonymous reports whether a is the anonymous caller.
func (a *Actor) Anonymous() bool { return a == nil || a.User == nil }

// UserID returns the caller's id, 0 for anonymous.
func (a *Actor) UserID() int64 {
	if a.Anonymous() {
		return 0
	}
	return a.User.ID
}

// HasScope reports whether the actor's token grants scope. As on GitHub,
// write:packages includes read:packages.
func (a *Actor) HasScope(scope string) bool {
	if a.Anonymous() || a.Token == nil {
		return false
	}
	for _, s := range a.Token.Scopes {
		if s == scope || (scope == ScopeReadPackages && s == ScopeWritePackages) {
			return true
		}
	}
	return false
}

// ScopeHeader returns the token's scopes as GitHub's X-OAuth-Scopes header
// writes them.
func (a *Actor) ScopeHeader() string {
	if a.Anonymous() || a.Token == nil {
		return ""
	}
	return strings.Join(a.Token.Scopes, ", ")
}

// ValidScope reports whether s is a scope Packhub knows.
func ValidScope(s string) bool {
	for _, k := range KnownScopes {
		if k == s {
			return true
		}
	}
	return false
}
