package packages

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/packhub/packhub/internal/auth"
)

// Options tune the Service's rules.
type Options struct {
	// RestoreWindow is how long a deleted package or version can be
	// restored, and after which the purge job removes it. Default 30 days.
	RestoreWindow time.Duration
	// DownloadLimit is the download count above which a public package or
	// version cannot be deleted. Default 5000.
	DownloadLimit int64
	// BlobGracePeriod protects blobs younger than this from garbage
	// collection, so that a push in progress never loses a blob. Default 1h.
	BlobGracePeriod time.Duration
	// UploadMaxAge is how long an upload session may stay idle before the
	// purge job removes it. Default 24h.
	UploadMaxAge time.Duration
	// DeliveryRetention is how long the record of a finished webhook
	// delivery (delivered, or failed for good) is kept, for the
	// deliveries endpoints and redelivery, before the purge job removes
	// it. Default 30 days.
	DeliveryRetention time.Duration
	// Now is the clock; tests inject one. Default time.Now.
	Now func() time.Time
	// Logger receives the service's logs. Default slog.Default().
	Logger *slog.Logger
	// Specs are the package types the service knows. Required.
	Specs *Specs
	// Observer is told what the service did, for metrics. Nil: nobody.
	Observer Observer
}

// Service enforces GitHub Packages' rules over a metadata store and a blob
// store. Every protocol front goes through it.
type Service struct {
	store Store
	blobs BlobStore
	opts  Options
	specs *Specs

	downloads downloadCounter // see CountDownload
	types     typeCache       // package types, for Observer
}

// NewService returns a Service over store and blobs, for the package types
// opts.Specs describes.
func NewService(store Store, blobs BlobStore, opts Options) *Service {
	if opts.Specs == nil {
		panic("packages.NewService: Options.Specs is required")
	}
	if opts.RestoreWindow <= 0 {
		opts.RestoreWindow = 30 * 24 * time.Hour
	}
	if opts.DownloadLimit <= 0 {
		opts.DownloadLimit = 5000
	}
	if opts.BlobGracePeriod <= 0 {
		opts.BlobGracePeriod = time.Hour
	}
	if opts.UploadMaxAge <= 0 {
		opts.UploadMaxAge = 24 * time.Hour
	}
	if opts.DeliveryRetention <= 0 {
		opts.DeliveryRetention = 30 * 24 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Service{store: store, blobs: blobs, opts: opts, specs: opts.Specs}
}

// Specs returns the package types the service knows.
func (s *Service) Specs() *Specs { return s.specs }

// Spec returns the spec of a type; ok is false for a type the service does
// not know.
func (s *Service) Spec(t Type) (*Spec, bool) { return s.specs.Get(t) }

func (s *Service) now() time.Time { return s.opts.Now().UTC() }

var loginPattern = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9]|-[A-Za-z0-9]){0,38}$`)

// ValidLogin reports whether login is GitHub-shaped: letters, digits and
// single hyphens, not at the ends, 39 characters at most.
func ValidLogin(login string) bool { return len(login) <= 39 && loginPattern.MatchString(login) }

var repoNamePattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)

// ValidRepositoryName reports whether name is a valid repository name.
func ValidRepositoryName(name string) bool {
	return repoNamePattern.MatchString(name) && name != "." && name != ".."
}

// ---- Accounts ------------------------------------------------------------

// CreateUser creates a user.
func (s *Service) CreateUser(ctx context.Context, login string, siteAdmin bool) (*Owner, error) {
	return s.createOwner(ctx, login, UserOwner, siteAdmin)
}

func (s *Service) createOwner(ctx context.Context, login string, typ OwnerType, siteAdmin bool) (*Owner, error) {
	if !ValidLogin(login) {
		return nil, Errorf(KindInvalid, "login %q is not valid: use letters, digits and single hyphens, not at the ends, at most 39 characters", login)
	}
	o := &Owner{Login: login, Type: typ, SiteAdmin: siteAdmin}
	if err := s.store.CreateOwner(ctx, o); err != nil {
		if IsConflict(err) {
			return nil, Errorf(KindConflict, "login %q is already taken", login)
		}
		return nil, fmt.Errorf("create owner %s: %w", login, err)
	}
	return o, nil
}

// CreateOrg creates an organization with adminLogin as its first admin.
func (s *Service) CreateOrg(ctx context.Context, login, adminLogin string) (*Owner, error) {
	var org *Owner
	err := s.store.WithTx(ctx, func(tx Store) error {
		admin, err := userByLogin(ctx, tx, adminLogin)
		if err != nil {
			return err
		}
		txs := &Service{store: tx, blobs: s.blobs, opts: s.opts, specs: s.specs}
		org, err = txs.createOwner(ctx, login, OrgOwner, false)
		if err != nil {
			return err
		}
		return tx.SetOrgMember(ctx, org.ID, admin.ID, OrgAdmin)
	})
	return org, err
}

// AddOrgMember adds (or changes the role of) a member of an organization.
func (s *Service) AddOrgMember(ctx context.Context, orgLogin, userLogin string, role OrgRole) error {
	if role != OrgMember && role != OrgAdmin {
		return Errorf(KindInvalid, "role must be member or admin")
	}
	org, err := s.ownerByLogin(ctx, orgLogin)
	if err != nil {
		return err
	}
	if org.Type != OrgOwner {
		return Errorf(KindInvalid, "%s is not an organization", org.Login)
	}
	user, err := userByLogin(ctx, s.store, userLogin)
	if err != nil {
		return err
	}
	return s.store.SetOrgMember(ctx, org.ID, user.ID, role)
}

// RemoveOrgMember removes a user from an organization, with every role
// the user holds on the organization's packages and repositories (package
// grants, including the one the creator of a package gets, and
// collaborator roles): a removed member keeps no access to the
// organization beyond what anyone has. Permissions are read from the store
// on every request, so this takes effect at once, for registry bearer
// tokens too. A user who is not a member is KindNotFound.
func (s *Service) RemoveOrgMember(ctx context.Context, orgLogin, userLogin string) error {
	org, err := s.ownerByLogin(ctx, orgLogin)
	if err != nil {
		return err
	}
	if org.Type != OrgOwner {
		return Errorf(KindInvalid, "%s is not an organization", org.Login)
	}
	user, err := userByLogin(ctx, s.store, userLogin)
	if err != nil {
		return err
	}
	return s.store.WithTx(ctx, func(tx Store) error {
		role, err := tx.GetOrgRole(ctx, org.ID, user.ID)
		if err != nil {
			return fmt.Errorf("org role: %w", err)
		}
		if role == NoOrgRole {
			return Errorf(KindNotFound, "%s is not a member of %s", user.Login, org.Login)
		}
		if err := tx.SetOrgMember(ctx, org.ID, user.ID, NoOrgRole); err != nil {
			return fmt.Errorf("remove org member: %w", err)
		}
		if err := tx.RemoveGrants(ctx, org.ID, user.ID); err != nil {
			return fmt.Errorf("remove grants: %w", err)
		}
		return nil
	})
}

// CreateRepository creates the repository "OWNER/NAME".
func (s *Service) CreateRepository(ctx context.Context, fullName string, vis Visibility) (*Repository, error) {
	ownerLogin, name, ok := strings.Cut(fullName, "/")
	if !ok || !ValidRepositoryName(name) {
		return nil, Errorf(KindInvalid, "repository must be OWNER/NAME, got %q", fullName)
	}
	if _, ok := ParseVisibility(string(vis)); !ok {
		return nil, Errorf(KindInvalid, "visibility must be public, private or internal")
	}
	owner, err := s.ownerByLogin(ctx, ownerLogin)
	if err != nil {
		return nil, err
	}
	if vis == Internal && owner.Type != OrgOwner {
		return nil, Errorf(KindInvalid, "only an organization's repository can be internal")
	}
	r := &Repository{OwnerID: owner.ID, Name: name, Visibility: vis}
	if err := s.store.CreateRepository(ctx, r); err != nil {
		if IsConflict(err) {
			return nil, Errorf(KindConflict, "repository %s already exists", fullName)
		}
		return nil, fmt.Errorf("create repository %s: %w", fullName, err)
	}
	return r, nil
}

// AddCollaborator gives a user a role on a repository "OWNER/NAME".
func (s *Service) AddCollaborator(ctx context.Context, fullName, userLogin string, role Role) error {
	repo, _, err := s.repositoryByFullName(ctx, fullName)
	if err != nil {
		return err
	}
	user, err := userByLogin(ctx, s.store, userLogin)
	if err != nil {
		return err
	}
	return s.store.SetCollaborator(ctx, repo.ID, user.ID, role)
}

// CreateToken issues a personal access token for a user. It returns the
// plaintext, which is never stored.
func (s *Service) CreateToken(ctx context.Context, userLogin string, scopes []string, note string, expiresIn time.Duration) (string, *Token, error) {
	user, err := userByLogin(ctx, s.store, userLogin)
	if err != nil {
		return "", nil, err
	}
	seen := map[string]bool{}
	var clean []string
	for _, sc := range scopes {
		sc = strings.TrimSpace(sc)
		if sc == "" || seen[sc] {
			continue
		}
		if !ValidScope(sc) {
			return "", nil, Errorf(KindInvalid, "unknown scope %q (known: %s)", sc, strings.Join(KnownScopes, ", "))
		}
		seen[sc] = true
		clean = append(clean, sc)
	}
	plain, hash, err := auth.NewToken()
	if err != nil {
		return "", nil, err
	}
	t := &Token{UserID: user.ID, Hash: hash, Scopes: clean, Note: note}
	if expiresIn > 0 {
		exp := s.now().Add(expiresIn)
		t.ExpiresAt = &exp
	}
	err = s.store.WithTx(ctx, func(tx Store) error {
		if err := tx.CreateToken(ctx, t); err != nil {
			return fmt.Errorf("create token: %w", err)
		}
		return s.record(ctx, tx, nil, nil, &Event{Action: ActionTokenCreate,
			Detail: detailJSON(map[string]any{"token_id": t.ID, "user": user.Login, "scopes": clean, "note": note})})
	})
	if err != nil {
		return "", nil, err
	}
	return plain, t, nil
}

// Authenticate resolves a token to an Actor. An unknown, malformed or
// expired token is KindBadCredentials.
func (s *Service) Authenticate(ctx context.Context, token string) (*Actor, error) {
	bad := Errorf(KindBadCredentials, MsgBadCredentials)
	if !auth.LooksLikeToken(token) {
		return nil, bad
	}
	t, err := s.store.GetTokenByHash(ctx, auth.HashToken(token))
	if err != nil {
		if IsNotFound(err) {
			return nil, bad
		}
		return nil, fmt.Errorf("look up token: %w", err)
	}
	now := s.now()
	if !t.Usable(now) {
		return nil, bad
	}
	user, err := s.store.GetOwnerByID(ctx, t.UserID)
	if err != nil {
		return nil, fmt.Errorf("token owner: %w", err)
	}
	a := &Actor{User: user, Token: t}
	// Record use at most once a minute, so that a token check stays one
	// read; the audit log hears of it then too (and keeps one event an
	// hour at most).
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) > time.Minute {
		if err := s.store.TouchToken(ctx, t.ID, now); err != nil {
			s.opts.Logger.WarnContext(ctx, "touch token", "token_id", t.ID, "err", err)
		}
		t.LastUsedAt = &now
		s.recordTokenUse(ctx, a)
	}
	return a, nil
}

// AuthenticateTokenID resolves the personal access token a registry
// bearer token was minted from, by id, to an Actor: a bearer token is only
// as good as that token, so it stops working the moment the token expires
// or is revoked. userID is the user the bearer token names; a token of
// another user, a missing, revoked or expired token is KindBadCredentials.
// It costs one read of the token by primary key (and one of its user) per
// request, and caches nothing, so that a revocation by another process is
// seen on the very next request.
func (s *Service) AuthenticateTokenID(ctx context.Context, tokenID, userID int64) (*Actor, error) {
	bad := Errorf(KindBadCredentials, MsgBadCredentials)
	if tokenID <= 0 || userID <= 0 {
		return nil, bad
	}
	t, err := s.store.GetTokenByID(ctx, tokenID)
	if err != nil {
		if IsNotFound(err) {
			return nil, bad
		}
		return nil, fmt.Errorf("look up token: %w", err)
	}
	if t.UserID != userID || !t.Usable(s.now()) {
		return nil, bad
	}
	user, err := s.store.GetOwnerByID(ctx, t.UserID)
	if err != nil {
		if IsNotFound(err) {
			return nil, bad
		}
		return nil, fmt.Errorf("token owner: %w", err)
	}
	return &Actor{User: user, Token: t}, nil
}

// ListTokens returns a user's personal access tokens, oldest first,
// revoked and expired ones included. Only hashes are stored, so no secret
// is among them.
func (s *Service) ListTokens(ctx context.Context, userLogin string) ([]Token, error) {
	user, err := userByLogin(ctx, s.store, userLogin)
	if err != nil {
		return nil, err
	}
	ts, err := s.store.ListTokens(ctx, user.ID)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return ts, nil
}

// RevokeToken revokes a personal access token by id. The token, and every
// registry bearer token minted from it, stops working on the next request.
// Revoking a revoked token changes nothing. It returns the token and its
// user.
func (s *Service) RevokeToken(ctx context.Context, id int64) (*Token, *Owner, error) {
	if err := s.store.RevokeToken(ctx, id, s.now()); err != nil {
		return nil, nil, notFoundOr(err, fmt.Sprintf("token %d not found", id))
	}
	if err := s.record(ctx, s.store, nil, nil, &Event{Action: ActionTokenRevoke, Detail: detailJSON(map[string]any{"token_id": id})}); err != nil {
		return nil, nil, err
	}
	t, err := s.store.GetTokenByID(ctx, id)
	if err != nil {
		return nil, nil, notFoundOr(err, fmt.Sprintf("token %d not found", id))
	}
	user, err := s.store.GetOwnerByID(ctx, t.UserID)
	if err != nil {
		return nil, nil, fmt.Errorf("token owner: %w", err)
	}
	return t, user, nil
}

// Owner returns a user or organization by login.
func (s *Service) Owner(ctx context.Context, login string) (*Owner, error) {
	return s.ownerByLogin(ctx, login)
}

// OwnerByID returns a user or organization by id.
func (s *Service) OwnerByID(ctx context.Context, id int64) (*Owner, error) {
	o, err := s.store.GetOwnerByID(ctx, id)
	if err != nil {
		return nil, notFoundOr(err, "Not Found")
	}
	return o, nil
}

// RepositoryByID returns a repository and its owner.
func (s *Service) RepositoryByID(ctx context.Context, id int64) (*Repository, *Owner, error) {
	r, err := s.store.GetRepositoryByID(ctx, id)
	if err != nil {
		return nil, nil, notFoundOr(err, "Not Found")
	}
	o, err := s.store.GetOwnerByID(ctx, r.OwnerID)
	if err != nil {
		return nil, nil, fmt.Errorf("repository owner: %w", err)
	}
	return r, o, nil
}

func (s *Service) ownerByLogin(ctx context.Context, login string) (*Owner, error) {
	if !ValidLogin(login) {
		return nil, Errorf(KindNotFound, "Not Found")
	}
	o, err := s.store.GetOwnerByLogin(ctx, login)
	if err != nil {
		return nil, notFoundOr(err, "Not Found")
	}
	return o, nil
}

func userByLogin(ctx context.Context, st Store, login string) (*Owner, error) {
	if !ValidLogin(login) {
		return nil, Errorf(KindNotFound, "user %q not found", login)
	}
	o, err := st.GetOwnerByLogin(ctx, login)
	if err != nil {
		return nil, notFoundOr(err, fmt.Sprintf("user %q not found", login))
	}
	if o.Type != UserOwner {
		return nil, Errorf(KindInvalid, "%s is an organization, not a user", login)
	}
	return o, nil
}

func (s *Service) repositoryByFullName(ctx context.Context, fullName string) (*Repository, *Owner, error) {
	ownerLogin, name, ok := strings.Cut(fullName, "/")
	if !ok {
		return nil, nil, Errorf(KindInvalid, "repository must be OWNER/NAME, got %q", fullName)
	}
	owner, err := s.ownerByLogin(ctx, ownerLogin)
	if err != nil {
		return nil, nil, err
	}
	r, err := s.store.GetRepository(ctx, owner.ID, name)
	if err != nil {
		return nil, nil, notFoundOr(err, fmt.Sprintf("repository %s not found", fullName))
	}
	return r, owner, nil
}

// notFoundOr turns a store's not-found into a KindNotFound with msg, and
// wraps anything else.
func notFoundOr(err error, msg string) error {
	if IsNotFound(err) {
		return Wrap(KindNotFound, msg, err)
	}
	return err
}
