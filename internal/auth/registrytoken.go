package auth

import (
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// RegistryAccess is one grant of a registry bearer token: the actions a
// caller may take on one resource, as the Docker token protocol writes it
// ({"type":"repository","name":"owner/image","actions":["pull","push"]}).
type RegistryAccess struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// Allows reports whether the grant includes action ("*" includes every
// action).
func (a RegistryAccess) Allows(action string) bool {
	return slices.Contains(a.Actions, action) || slices.Contains(a.Actions, "*")
}

// RegistryClaims are the claims of a registry bearer token.
type RegistryClaims struct {
	jwt.RegisteredClaims
	// UserID is the caller's owner id; 0 for an anonymous token.
	UserID int64 `json:"uid,omitempty"`
	// TokenID is the id of the personal access token the bearer token was
	// exchanged for; 0 for an anonymous token.
	TokenID int64 `json:"tid,omitempty"`
	// Scopes are the personal access token's scopes when the bearer token
	// was issued.
	Scopes []string `json:"scp,omitempty"`
	// Access lists what the token grants.
	Access []RegistryAccess `json:"access"`
}

// Allows reports whether the claims grant action on the repository name.
func (c *RegistryClaims) Allows(name, action string) bool {
	for _, a := range c.Access {
		if a.Type == "repository" && strings.EqualFold(a.Name, name) && a.Allows(action) {
			return true
		}
	}
	return false
}

// ErrRegistryToken is returned for a registry bearer token that is
// malformed, badly signed, expired or meant for another service.
var ErrRegistryToken = errors.New("invalid registry token")

// RegistryTokens issues and verifies the short-lived bearer tokens of the
// OCI registries: HMAC-SHA256 JWTs signed with a key every replica shares.
type RegistryTokens struct {
	key     []byte
	service string
	ttl     time.Duration
	now     func() time.Time
}

// NewRegistryTokens returns an issuer for service (the registry's host, as
// the WWW-Authenticate challenge names it). An empty key is replaced by a
// random one, which only suits a single process. A ttl <= 0 means five
// minutes.
func NewRegistryTokens(key []byte, service string, ttl time.Duration) *RegistryTokens {
	if len(key) == 0 {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			panic(fmt.Sprintf("registry token key: %v", err))
		}
	}
	if ttl <= 0 {
		ttl = 5 * time.Minute
	}
	return &RegistryTokens{key: slices.Clone(key), service: service, ttl: ttl, now: time.Now}
}

// TTL returns how long issued tokens live.
func (t *RegistryTokens) TTL() time.Duration { return t.ttl }

// Issue signs a token for subject (a login, "" for anonymous) carrying the
// given claims; the registered claims are filled in here. It returns the
// token and its issue time.
func (t *RegistryTokens) Issue(subject string, c RegistryClaims) (string, time.Time, error) {
	now := t.now().UTC().Truncate(time.Second)
	id := make([]byte, 12)
	if _, err := rand.Read(id); err != nil {
		return "", time.Time{}, fmt.Errorf("token id: %w", err)
	}
	c.RegisteredClaims = jwt.RegisteredClaims{
		Issuer:    t.service,
		Subject:   subject,
		Audience:  jwt.ClaimStrings{t.service},
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)),
		ExpiresAt: jwt.NewNumericDate(now.Add(t.ttl)),
		ID:        fmt.Sprintf("%x", id),
	}
	if c.Access == nil {
		c.Access = []RegistryAccess{}
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, &c).SignedString(t.key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign registry token: %w", err)
	}
	return s, now, nil
}

// Verify checks a token's signature, lifetime, issuer and audience, and
// returns its claims. Every failure is ErrRegistryToken.
func (t *RegistryTokens) Verify(token string) (*RegistryClaims, error) {
	var c RegistryClaims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return t.key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(t.service),
		jwt.WithAudience(t.service),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(t.now),
	)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRegistryToken, err)
	}
	return &c, nil
}

// LooksLikeJWT reports whether s has the three dot-separated parts of a
// JWT, to tell a registry bearer token from a personal access token.
func LooksLikeJWT(s string) bool {
	return strings.Count(s, ".") == 2 && !strings.HasPrefix(s, TokenPrefix)
}
