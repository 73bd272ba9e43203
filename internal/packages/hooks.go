package packages

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// ScopeAdminOrgHook is the token scope that manages an organization's
// webhooks, as on GitHub.
const ScopeAdminOrgHook = "admin:org_hook"

// ScopeAdminRepoHook is the token scope that manages a repository's
// webhooks, as on GitHub; the repo scope does too.
const ScopeAdminRepoHook = "admin:repo_hook"

// Webhook event names Packhub delivers, as GitHub names them.
const (
	HookEventPackage         = "package"
	HookEventRegistryPackage = "registry_package"
	HookEventPing            = "ping"
	HookEventAll             = "*"
)

// Webhook actions of the package events: GitHub's published and updated,
// and Packhub's own deleted and restored.
const (
	HookActionPublished = "published"
	HookActionUpdated   = "updated"
	HookActionDeleted   = "deleted"
	HookActionRestored  = "restored"
)

// Hook is a webhook of an organization, or of a repository: where and how
// the events of the organization's packages, or of the packages linked to
// the repository, are delivered.
type Hook struct {
	ID      int64
	OwnerID int64 // the organization, or the repository's owner
	// RepositoryID is the repository of a repository's webhook; 0 for an
	// organization's.
	RepositoryID int64
	Name         string // always "web"
	Events       []string
	Active       bool
	// Config, as GitHub's webhook config: the URL, the content type
	// ("json" or "form"), the secret signing each payload ("" for none)
	// and insecure_ssl ("0" or "1").
	URL         string
	ContentType string
	Secret      string
	InsecureSSL string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Subscribes reports whether the hook takes an event.
func (h *Hook) Subscribes(event string) bool {
	for _, e := range h.Events {
		if e == event || e == HookEventAll {
			return true
		}
	}
	return false
}

// DeliveryState says where a delivery is in its life.
type DeliveryState string

// Delivery states.
const (
	DeliveryPending   DeliveryState = "pending"   // to be sent (again) at NextAttemptAt
	DeliveryDelivered DeliveryState = "delivered" // the receiver answered 2xx
	DeliveryFailed    DeliveryState = "failed"    // every attempt failed
)

// Delivery is one payload for one hook: an entry of the outbox, written in
// the transaction of the change it reports, and the record of its
// attempts.
type Delivery struct {
	ID      int64
	HookID  int64
	EventID int64 // the audit event it reports; 0 for a ping
	// SenderID is who caused it (the event's actor, or who pinged).
	SenderID int64
	// GUID is X-GitHub-Delivery: shared by the deliveries of one event to
	// every hook, and by redeliveries.
	GUID         string
	Event        string // package, registry_package or ping
	Action       string // "" for a ping
	Redelivery   bool
	RepositoryID int64 // the package's repository, 0 when none
	// Payload is the JSON body, rendered at the first attempt and kept, so
	// that retries and redeliveries send the same bytes.
	Payload       []byte
	State         DeliveryState
	Attempts      int
	NextAttemptAt time.Time
	LeaseUntil    *time.Time // a worker holds it until then
	DeliveredAt   *time.Time // the last attempt
	Duration      float64    // seconds the last attempt took
	Status        string     // GitHub's words: "OK", "Invalid HTTP Response: 500", "failed to connect"
	StatusCode    int        // 0 when no answer came
	// RequestHeaders are the headers the last attempt sent;
	// ResponseHeaders and ResponseBody (bounded) what came back.
	RequestHeaders  map[string]string
	ResponseHeaders map[string]string
	ResponseBody    string
	CreatedAt       time.Time
}

// DeliveryFilter selects a hook's deliveries, newest first.
type DeliveryFilter struct {
	HookID int64
	Before int64 // only ids below it; 0: from the newest
	Limit  int
	// Status: "" for all, "success" for status codes 200-399, "failure"
	// for the others.
	Status string
}

// HookStore is the part of the Store that keeps webhooks and their
// deliveries.
type HookStore interface {
	CreateHook(ctx context.Context, h *Hook) error // sets ID, CreatedAt, UpdatedAt
	// GetHook, ListHooks and DeleteHook work on the hooks of an
	// organization (repoID 0) or of a repository of ownerID; another
	// holder's hook is ErrNotFound.
	GetHook(ctx context.Context, ownerID, repoID, id int64) (*Hook, error)
	GetHookByID(ctx context.Context, id int64) (*Hook, error)
	ListHooks(ctx context.Context, ownerID, repoID int64) ([]Hook, error) // by id
	// PackageHooks lists, by id, the hooks a package of ownerID linked to
	// repository repoID (0: none) reports to: its owner's own and its
	// repository's.
	PackageHooks(ctx context.Context, ownerID, repoID int64) ([]Hook, error)
	UpdateHook(ctx context.Context, h *Hook) error                   // the hook of h's owner and repository
	DeleteHook(ctx context.Context, ownerID, repoID, id int64) error // with its deliveries

	// AddDelivery records a delivery to send; it sets ID and CreatedAt.
	AddDelivery(ctx context.Context, d *Delivery) error
	// ClaimDeliveries leases up to limit pending deliveries due at now
	// (and not leased, or whose lease ran out) until leaseUntil, counting
	// an attempt for each. Workers sharing the database never claim one
	// delivery at once.
	ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]Delivery, error)
	// FinishAttempt records the outcome of an attempt of a claimed
	// delivery and releases it: payload, state, next attempt, status and
	// what was sent and received. It reports false (and changes nothing)
	// when the claim was lost: another worker claimed it since.
	FinishAttempt(ctx context.Context, d *Delivery) (bool, error)
	GetDelivery(ctx context.Context, hookID, id int64) (*Delivery, error)
	ListDeliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, error)
	// DeleteFinishedDeliveries deletes the deliveries that are no longer
	// pending (delivered, or failed for good) and were created before
	// before; it returns how many.
	DeleteFinishedDeliveries(ctx context.Context, before time.Time) (int, error)

	// GetEvent returns one event of the audit trail.
	GetEvent(ctx context.Context, id int64) (*Event, error)
}

// HookConfigInput is a change of a webhook's config; nil fields stay.
type HookConfigInput struct {
	URL         *string
	ContentType *string
	Secret      *string
	InsecureSSL *string
}

// HookInput creates or changes a webhook; nil fields take their default
// (create) or stay (update).
type HookInput struct {
	Name   *string
	Events []string // nil: not given
	Active *bool
	Config *HookConfigInput
}

var hookEventPattern = regexp.MustCompile(`^(\*|[a-z][a-z_]{0,63})$`)

// HookTarget names whose webhooks an operation is on: an organization's
// (Repo empty) or a repository's.
type HookTarget struct {
	Owner string // the organization, or the repository's owner
	Repo  string // the repository's name; "" for the organization's own
}

// OrgHooks names an organization's webhooks.
func OrgHooks(org string) HookTarget { return HookTarget{Owner: org} }

// RepoHooks names a repository's webhooks.
func RepoHooks(owner, repo string) HookTarget { return HookTarget{Owner: owner, Repo: repo} }

// hookHolder is the organization or repository a webhook operation is on.
type hookHolder struct {
	owner  *Owner
	repoID int64 // 0 for an organization's webhooks
}

// hookHolder returns the holder of the webhooks t names, when a may
// manage them: for an organization, an admin of it with a token carrying
// admin:org_hook; for a repository, an admin of it (its owner, an admin
// of its organization, an admin collaborator) with a token carrying
// admin:repo_hook or repo; a site admin with such a token either way.
// Anyone else, and a missing organization or repository, get
// KindNotFound, as GitHub answers.
func (s *Service) hookHolder(ctx context.Context, a *Actor, t HookTarget) (hookHolder, error) {
	if a.Anonymous() {
		return hookHolder{}, Errorf(KindUnauthenticated, MsgRequiresAuthentication)
	}
	notFound := Errorf(KindNotFound, "Not Found")
	o, err := s.ownerByLogin(ctx, t.Owner)
	if err != nil {
		return hookHolder{}, err
	}
	if t.Repo == "" {
		if o.Type != OrgOwner || !a.HasScope(ScopeAdminOrgHook) {
			return hookHolder{}, notFound
		}
		if a.User.SiteAdmin {
			return hookHolder{owner: o}, nil
		}
		role, err := s.store.GetOrgRole(ctx, o.ID, a.User.ID)
		if err != nil {
			return hookHolder{}, fmt.Errorf("org role: %w", err)
		}
		if role != OrgAdmin {
			return hookHolder{}, notFound
		}
		return hookHolder{owner: o}, nil
	}
	if !a.HasScope(ScopeAdminRepoHook) && !a.HasScope(ScopeRepo) {
		return hookHolder{}, notFound
	}
	if !ValidRepositoryName(t.Repo) {
		return hookHolder{}, notFound
	}
	repo, err := s.store.GetRepository(ctx, o.ID, t.Repo)
	if err != nil {
		return hookHolder{}, notFoundOr(err, "Not Found")
	}
	h := hookHolder{owner: o, repoID: repo.ID}
	if a.User.SiteAdmin {
		return h, nil
	}
	orgRole := NoOrgRole
	if o.Type == OrgOwner {
		if orgRole, err = s.store.GetOrgRole(ctx, o.ID, a.User.ID); err != nil {
			return hookHolder{}, fmt.Errorf("org role: %w", err)
		}
	}
	role, err := repoRole(ctx, s.store, a, o, repo.ID, orgRole)
	if err != nil {
		return hookHolder{}, err
	}
	if role != RoleAdmin {
		return hookHolder{}, notFound
	}
	return h, nil
}

// applyHookInput validates in and applies it to h.
func applyHookInput(h *Hook, in HookInput, create bool) error {
	if in.Name != nil && *in.Name != "web" {
		return Errorf(KindInvalid, "Name must be web.")
	}
	if in.Events != nil {
		var events []string
		seen := map[string]bool{}
		for _, e := range in.Events {
			if !hookEventPattern.MatchString(e) {
				return Errorf(KindInvalid, "Invalid event: %q.", e)
			}
			if !seen[e] {
				seen[e] = true
				events = append(events, e)
			}
		}
		if len(events) == 0 {
			return Errorf(KindInvalid, "Events must not be empty.")
		}
		h.Events = events
	}
	if in.Active != nil {
		h.Active = *in.Active
	}
	if in.Config == nil {
		if create {
			return Errorf(KindInvalid, "Config must contain a URL.")
		}
		return nil
	}
	return applyHookConfig(h, *in.Config, create)
}

func applyHookConfig(h *Hook, c HookConfigInput, requireURL bool) error {
	if c.URL != nil {
		u, err := url.Parse(*c.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(*c.URL) > 2048 {
			return Errorf(KindInvalid, "Config url must be an absolute http or https URL.")
		}
		h.URL = *c.URL
	} else if requireURL && h.URL == "" {
		return Errorf(KindInvalid, "Config must contain a URL.")
	}
	if c.ContentType != nil {
		switch *c.ContentType {
		case "json", "form":
			h.ContentType = *c.ContentType
		default:
			return Errorf(KindInvalid, "Config content_type must be json or form.")
		}
	}
	if c.Secret != nil {
		if len(*c.Secret) > 1024 {
			return Errorf(KindInvalid, "Config secret is too long.")
		}
		h.Secret = *c.Secret
	}
	if c.InsecureSSL != nil {
		switch *c.InsecureSSL {
		case "0", "1":
			h.InsecureSSL = *c.InsecureSSL
		default:
			return Errorf(KindInvalid, "Config insecure_ssl must be 0 or 1.")
		}
	}
	return nil
}

// CreateHook creates a webhook of an organization. As on GitHub, events
// default to ["push"], active to true, content_type to form.
func (s *Service) CreateHook(ctx context.Context, a *Actor, t HookTarget, in HookInput) (*Hook, error) {
	hh, err := s.hookHolder(ctx, a, t)
	if err != nil {
		return nil, err
	}
	if in.Name == nil {
		return nil, Errorf(KindInvalid, "Name must be web.")
	}
	h := &Hook{OwnerID: hh.owner.ID, RepositoryID: hh.repoID, Name: "web", Events: []string{"push"}, Active: true, ContentType: "form", InsecureSSL: "0"}
	if err := applyHookInput(h, in, true); err != nil {
		return nil, err
	}
	now := s.now()
	h.CreatedAt, h.UpdatedAt = now, now
	if err := s.store.CreateHook(ctx, h); err != nil {
		return nil, fmt.Errorf("create hook: %w", err)
	}
	return h, nil
}

// ListHooks lists an organization's or a repository's webhooks, one page,
// with the total.
func (s *Service) ListHooks(ctx context.Context, a *Actor, t HookTarget, page Page) ([]Hook, int, error) {
	hh, err := s.hookHolder(ctx, a, t)
	if err != nil {
		return nil, 0, err
	}
	hs, err := s.store.ListHooks(ctx, hh.owner.ID, hh.repoID)
	if err != nil {
		return nil, 0, fmt.Errorf("list hooks: %w", err)
	}
	total := len(hs)
	limit, offset := page.limitOffset()
	if limit > 0 {
		hs = hs[min(offset, total):min(offset+limit, total)]
	}
	return hs, total, nil
}

// GetHook returns one webhook of an organization or a repository.
func (s *Service) GetHook(ctx context.Context, a *Actor, t HookTarget, id int64) (*Hook, error) {
	hh, err := s.hookHolder(ctx, a, t)
	if err != nil {
		return nil, err
	}
	return s.hookOf(ctx, hh, id)
}

func (s *Service) hookOf(ctx context.Context, hh hookHolder, id int64) (*Hook, error) {
	h, err := s.store.GetHook(ctx, hh.owner.ID, hh.repoID, id)
	if err != nil {
		return nil, notFoundOr(err, "Not Found")
	}
	return h, nil
}

// UpdateHook changes a webhook of an organization or a repository.
func (s *Service) UpdateHook(ctx context.Context, a *Actor, t HookTarget, id int64, in HookInput) (*Hook, error) {
	return s.changeHook(ctx, a, t, id, func(h *Hook) error { return applyHookInput(h, in, false) })
}

// UpdateHookConfig changes the config of a webhook of an organization or
// a repository.
func (s *Service) UpdateHookConfig(ctx context.Context, a *Actor, t HookTarget, id int64, c HookConfigInput) (*Hook, error) {
	return s.changeHook(ctx, a, t, id, func(h *Hook) error { return applyHookConfig(h, c, false) })
}

func (s *Service) changeHook(ctx context.Context, a *Actor, t HookTarget, id int64, change func(*Hook) error) (*Hook, error) {
	hh, err := s.hookHolder(ctx, a, t)
	if err != nil {
		return nil, err
	}
	var h *Hook
	err = s.store.WithTx(ctx, func(tx Store) error {
		if h, err = tx.GetHook(ctx, hh.owner.ID, hh.repoID, id); err != nil {
			return notFoundOr(err, "Not Found")
		}
		if err := change(h); err != nil {
			return err
		}
		h.UpdatedAt = s.now()
		return tx.UpdateHook(ctx, h)
	})
	if err != nil {
		return nil, err
	}
	return h, nil
}

// DeleteHook deletes a webhook of an organization or a repository, with
// its deliveries.
func (s *Service) DeleteHook(ctx context.Context, a *Actor, t HookTarget, id int64) error {
	hh, err := s.hookHolder(ctx, a, t)
	if err != nil {
		return err
	}
	if err := s.store.DeleteHook(ctx, hh.owner.ID, hh.repoID, id); err != nil {
		return notFoundOr(err, "Not Found")
	}
	return nil
}

// PingHook queues a ping to a webhook, active or not.
func (s *Service) PingHook(ctx context.Context, a *Actor, t HookTarget, id int64) error {
	hh, err := s.hookHolder(ctx, a, t)
	if err != nil {
		return err
	}
	h, err := s.hookOf(ctx, hh, id)
	if err != nil {
		return err
	}
	now := s.now()
	d := &Delivery{HookID: h.ID, SenderID: a.UserID(), GUID: NewGUID(), Event: HookEventPing,
		State: DeliveryPending, NextAttemptAt: now, CreatedAt: now}
	if err := s.store.AddDelivery(ctx, d); err != nil {
		return fmt.Errorf("queue ping: %w", err)
	}
	return nil
}

// ListDeliveries lists a webhook's deliveries, newest first, before the
// delivery id before (0: from the newest).
func (s *Service) ListDeliveries(ctx context.Context, a *Actor, t HookTarget, hookID int64, f DeliveryFilter) ([]Delivery, error) {
	hh, err := s.hookHolder(ctx, a, t)
	if err != nil {
		return nil, err
	}
	if _, err := s.hookOf(ctx, hh, hookID); err != nil {
		return nil, err
	}
	f.HookID = hookID
	ds, err := s.store.ListDeliveries(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	return ds, nil
}

// GetDelivery returns one delivery of a webhook, with the webhook.
func (s *Service) GetDelivery(ctx context.Context, a *Actor, t HookTarget, hookID, id int64) (*Hook, *Delivery, error) {
	hh, err := s.hookHolder(ctx, a, t)
	if err != nil {
		return nil, nil, err
	}
	h, err := s.hookOf(ctx, hh, hookID)
	if err != nil {
		return nil, nil, err
	}
	d, err := s.store.GetDelivery(ctx, hookID, id)
	if err != nil {
		return nil, nil, notFoundOr(err, "Not Found")
	}
	return h, d, nil
}

// Redeliver queues a delivery again, as a new delivery with the same GUID
// and payload, marked as a redelivery.
func (s *Service) Redeliver(ctx context.Context, a *Actor, t HookTarget, hookID, id int64) (*Delivery, error) {
	_, old, err := s.GetDelivery(ctx, a, t, hookID, id)
	if err != nil {
		return nil, err
	}
	now := s.now()
	d := &Delivery{HookID: old.HookID, EventID: old.EventID, SenderID: old.SenderID, GUID: old.GUID, Event: old.Event,
		Action: old.Action, Redelivery: true, RepositoryID: old.RepositoryID, Payload: old.Payload,
		State: DeliveryPending, NextAttemptAt: now, CreatedAt: now}
	if err := s.store.AddDelivery(ctx, d); err != nil {
		return nil, fmt.Errorf("queue redelivery: %w", err)
	}
	return d, nil
}

// hookAction is the webhook action an audit action reports; "" for none.
func hookAction(action string) string {
	switch action {
	case ActionPublish:
		return HookActionPublished
	case ActionFilePut:
		return HookActionUpdated
	case ActionDeletePackage, ActionDeleteVersion:
		return HookActionDeleted
	case ActionRestorePackage, ActionRestoreVersion:
		return HookActionRestored
	}
	return ""
}

// enqueueHooks writes, in the transaction of the change, a delivery of
// the package and registry_package events e reports to every active hook
// that takes them, of the package's owner (an organization) and of the
// repository the package is linked to: the outbox the delivery worker
// sends from.
func (s *Service) enqueueHooks(ctx context.Context, tx Store, pkg *Package, e *Event) error {
	action := hookAction(e.Action)
	if action == "" || pkg == nil {
		return nil
	}
	hooks, err := tx.PackageHooks(ctx, pkg.OwnerID, pkg.RepositoryID)
	if err != nil {
		return fmt.Errorf("hooks: %w", err)
	}
	guids := map[string]string{}
	for i := range hooks {
		h := &hooks[i]
		if !h.Active {
			continue
		}
		for _, event := range []string{HookEventPackage, HookEventRegistryPackage} {
			if !h.Subscribes(event) {
				continue
			}
			if guids[event] == "" {
				guids[event] = NewGUID()
			}
			d := &Delivery{HookID: h.ID, EventID: e.ID, SenderID: e.ActorID, GUID: guids[event], Event: event, Action: action,
				RepositoryID: pkg.RepositoryID, State: DeliveryPending, NextAttemptAt: e.CreatedAt, CreatedAt: e.CreatedAt}
			if err := tx.AddDelivery(ctx, d); err != nil {
				return fmt.Errorf("queue delivery: %w", err)
			}
		}
	}
	return nil
}

// NewGUID returns a random version 4 UUID, as X-GitHub-Delivery carries.
func NewGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return strings.Join([]string{h[0:8], h[8:12], h[12:16], h[16:20], h[20:32]}, "-")
}
