package oci

import (
	"sync"
	"time"

	"github.com/packhub/packhub/internal/auth"
)

// verifiedTokens remembers the claims of bearer tokens whose signature,
// issuer and audience were checked, by the exact token text, so that a
// client reusing its token costs a map lookup instead of a JWT parse. The
// lifetime is checked again on every request; a token not seen before (or
// no longer remembered) is verified in full.
type verifiedTokens struct {
	mu sync.Mutex
	m  map[string]*auth.RegistryClaims
}

// maxVerifiedTokens bounds the tokens remembered; past it the map starts
// over.
const maxVerifiedTokens = 4096

func (v *verifiedTokens) verify(t *auth.RegistryTokens, token string) (*auth.RegistryClaims, error) {
	v.mu.Lock()
	c, ok := v.m[token]
	v.mu.Unlock()
	if ok && current(c, time.Now()) {
		return c, nil
	}
	c, err := t.Verify(token)
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	if v.m == nil || len(v.m) >= maxVerifiedTokens {
		v.m = map[string]*auth.RegistryClaims{}
	}
	v.m[token] = c
	v.mu.Unlock()
	return c, nil
}

// current reports whether claims are within their lifetime at now, as
// RegistryTokens.Verify checks it.
func current(c *auth.RegistryClaims, now time.Time) bool {
	if c.ExpiresAt == nil || !now.Before(c.ExpiresAt.Time) {
		return false
	}
	return c.NotBefore == nil || !now.Before(c.NotBefore.Time)
}
