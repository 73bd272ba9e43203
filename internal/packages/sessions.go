package packages

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Session is a signed-in browser of the web pages. It is made from a
// personal access token and is only as good as that token: revoking or
// expiring the token ends it, and it acts with the token's scopes. Only the
// SHA-256 hash of the cookie's secret is kept.
type Session struct {
	ID         int64
	Hash       string // hex SHA-256 of the secret the cookie carries
	UserID     int64
	TokenID    int64
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
}

// SessionLifetime is how long a session lasts at most; it ends sooner when
// its token expires.
const SessionLifetime = 30 * 24 * time.Hour

// sessionPrefix marks a session secret, so that one is recognised in logs
// and never taken for a token.
const sessionPrefix = "phs_"

// MsgSignInScope is the refusal of a token that cannot read packages.
const MsgSignInScope = "This token cannot sign in: it needs the read:packages scope."

// SignIn opens a session for the user of a personal access token. The
// token must be valid and carry read:packages (write:packages includes
// it). It returns the secret for the session's cookie, which is never
// stored, with the session and its actor. The sign-in is an event of the
// audit log, with the request behind it in ctx.
func (s *Service) SignIn(ctx context.Context, token string) (string, *Session, *Actor, error) {
	a, err := s.Authenticate(ctx, strings.TrimSpace(token))
	if err != nil {
		return "", nil, nil, err
	}
	if !a.HasScope(ScopeReadPackages) {
		return "", nil, nil, Errorf(KindForbidden, MsgSignInScope)
	}
	var buf [32]byte
	if _, err := rand.Read(buf[:]); err != nil {
		return "", nil, nil, fmt.Errorf("session secret: %w", err)
	}
	secret := sessionPrefix + base64.RawURLEncoding.EncodeToString(buf[:])
	now := s.now()
	exp := now.Add(SessionLifetime)
	if a.Token.ExpiresAt != nil && a.Token.ExpiresAt.Before(exp) {
		exp = *a.Token.ExpiresAt
	}
	sess := &Session{Hash: hashSession(secret), UserID: a.User.ID, TokenID: a.Token.ID, CreatedAt: now, LastSeenAt: now, ExpiresAt: exp}
	err = s.store.WithTx(ctx, func(tx Store) error {
		if err := tx.CreateSession(ctx, sess); err != nil {
			return fmt.Errorf("create session: %w", err)
		}
		return s.record(ctx, tx, a, nil, &Event{Action: ActionSignIn, CreatedAt: now})
	})
	if err != nil {
		return "", nil, nil, err
	}
	return secret, sess, a, nil
}

// SessionActor resolves a session's secret to its session and actor. A
// secret no session has, a session that has expired or was signed out,
// and a session whose token was revoked or has expired are all
// KindBadCredentials. Like a registry bearer token, a session reads its
// token again on every request, so a revocation by another process is
// seen at once.
func (s *Service) SessionActor(ctx context.Context, secret string) (*Session, *Actor, error) {
	bad := Errorf(KindBadCredentials, MsgBadCredentials)
	if !looksLikeSession(secret) {
		return nil, nil, bad
	}
	sess, err := s.store.GetSessionByHash(ctx, hashSession(secret))
	if err != nil {
		if IsNotFound(err) {
			return nil, nil, bad
		}
		return nil, nil, fmt.Errorf("look up session: %w", err)
	}
	now := s.now()
	if !now.Before(sess.ExpiresAt) {
		return nil, nil, bad
	}
	a, err := s.AuthenticateTokenID(ctx, sess.TokenID, sess.UserID)
	if err != nil {
		return nil, nil, err
	}
	if now.Sub(sess.LastSeenAt) > time.Minute {
		if err := s.store.TouchSession(ctx, sess.ID, now); err != nil {
			s.opts.Logger.WarnContext(ctx, "touch session", "session_id", sess.ID, "err", err)
		}
		sess.LastSeenAt = now
	}
	return sess, a, nil
}

// SignOut ends the session a secret names; a secret that names none is
// not an error (signing out twice signs out).
func (s *Service) SignOut(ctx context.Context, secret string) error {
	if !looksLikeSession(secret) {
		return nil
	}
	if err := s.store.DeleteSession(ctx, hashSession(secret)); err != nil && !IsNotFound(err) {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

func hashSession(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// looksLikeSession reports whether s has the shape of a session secret:
// the prefix and 32 bytes in unpadded base64url.
func looksLikeSession(s string) bool {
	rest, ok := strings.CutPrefix(s, sessionPrefix)
	if !ok || len(rest) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(rest)
	return err == nil
}
