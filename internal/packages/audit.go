package packages

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Audit actions besides those of packages (types.go).
const (
	ActionVisibility  = "package.visibility" // a package's visibility changed
	ActionAccess      = "package.access"     // a user's role on a package changed
	ActionTokenCreate = "token.create"
	ActionTokenUse    = "token.use" // first use, then at most once per token and TokenUseInterval
	ActionTokenRevoke = "token.revoke"
	ActionSignIn      = "user.sign_in"
	ActionPolicyRun   = "policy.run"
)

// TokenUseInterval is how often the use of one token is recorded at most:
// its first use, then at most one event per token and interval.
const TokenUseInterval = time.Hour

// RequestInfo is what the audit log records of the request behind a
// change: the client's address, its User-Agent and the request id of the
// server's logs. The server middleware puts it in every request's context.
type RequestInfo struct {
	IP        string
	UserAgent string
	RequestID string
}

type requestInfoKey struct{}

// WithRequestInfo returns ctx carrying ri.
func WithRequestInfo(ctx context.Context, ri RequestInfo) context.Context {
	return context.WithValue(ctx, requestInfoKey{}, ri)
}

// RequestInfoFrom returns the RequestInfo ctx carries; the zero value for
// work no request asked for (admin commands, background jobs).
func RequestInfoFrom(ctx context.Context) RequestInfo {
	ri, _ := ctx.Value(requestInfoKey{}).(RequestInfo)
	return ri
}

// AuditFilter selects audit events, newest first.
type AuditFilter struct {
	ActorID   int64  // 0: anyone
	Action    string // "": every action
	PackageID int64  // 0: every package
	Since     time.Time
	Limit     int // <= 0: no limit
	Offset    int
}

// AuditStore is the part of the Store that reads the audit log.
type AuditStore interface {
	// ListAuditEvents returns the events f selects, newest first, and how
	// many it selects in all.
	ListAuditEvents(ctx context.Context, f AuditFilter) ([]Event, int, error)
	// LastTokenEvent returns the newest event of an action by a token, nil if
	// there is none.
	LastTokenEvent(ctx context.Context, tokenID int64, action string) (*Event, error)
}

// record writes an audit event in tx with the actor, its token and the
// request behind it, and queues the webhook deliveries it causes for pkg
// (nil: none).
func (s *Service) record(ctx context.Context, tx Store, a *Actor, pkg *Package, e *Event) error {
	if !a.Anonymous() {
		e.ActorID = a.UserID()
		if a.Token != nil {
			e.TokenID = a.Token.ID
		}
	}
	ri := RequestInfoFrom(ctx)
	e.IP, e.UserAgent, e.RequestID = ri.IP, truncate(ri.UserAgent, 512), ri.RequestID
	if e.CreatedAt.IsZero() {
		e.CreatedAt = s.now()
	}
	if err := tx.AddEvent(ctx, e); err != nil {
		return fmt.Errorf("record %s: %w", e.Action, err)
	}
	return s.enqueueHooks(ctx, tx, pkg, e)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func detailJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// recordTokenUse records the use of a's token: its first use, then at
// most once per TokenUseInterval, so that a busy token adds one row an
// hour rather than one a request. A failure is logged, never returned:
// the request goes on.
func (s *Service) recordTokenUse(ctx context.Context, a *Actor) {
	last, err := s.store.LastTokenEvent(ctx, a.Token.ID, ActionTokenUse)
	if err != nil {
		s.opts.Logger.WarnContext(ctx, "audit token use", "token_id", a.Token.ID, "err", err)
		return
	}
	if last != nil && s.now().Sub(last.CreatedAt) < TokenUseInterval {
		return
	}
	if err := s.record(ctx, s.store, a, nil, &Event{Action: ActionTokenUse}); err != nil {
		s.opts.Logger.WarnContext(ctx, "audit token use", "token_id", a.Token.ID, "err", err)
	}
}

// RecordPolicyRun records a run of a retention or cleanup policy: what it
// is (name) and what it did (any JSON-able summary), by actor (nil: the
// server itself).
func (s *Service) RecordPolicyRun(ctx context.Context, a *Actor, name string, summary any) error {
	return s.record(ctx, s.store, a, nil, &Event{Action: ActionPolicyRun,
		Detail: detailJSON(map[string]any{"policy": name, "summary": summary})})
}

// AuditRequest selects audit events for AuditEvents.
type AuditRequest struct {
	Actor   string // login; "": anyone
	Action  string
	Package string // OWNER/TYPE/NAME; "": every package
	Since   time.Time
	Page    Page
}

// AuditEvent is an event with the logins and the package it names.
type AuditEvent struct {
	Event
	Actor   string // login; "" for the system
	Package string // OWNER/TYPE/NAME; "" when none
}

// AuditEvents returns the audit events req selects, newest first, with
// how many it selects in all. Only site administrators read the audit log
// (a nil actor is the server's own administrator, the CLI); anyone else
// gets KindNotFound, as GitHub answers enterprise administration
// endpoints.
func (s *Service) AuditEvents(ctx context.Context, a *Actor, req AuditRequest, admin bool) ([]AuditEvent, int, error) {
	if !admin {
		if a.Anonymous() {
			return nil, 0, Errorf(KindUnauthenticated, MsgRequiresAuthentication)
		}
		if !a.User.SiteAdmin {
			return nil, 0, Errorf(KindNotFound, "Not Found")
		}
	}
	f := AuditFilter{Action: req.Action, Since: req.Since}
	f.Limit, f.Offset = req.Page.limitOffset()
	if req.Actor != "" {
		o, err := s.ownerByLogin(ctx, req.Actor)
		if err != nil {
			return []AuditEvent{}, 0, nil
		}
		f.ActorID = o.ID
	}
	if req.Package != "" {
		id, ok, err := s.packageIDByName(ctx, req.Package)
		if err != nil {
			return nil, 0, err
		}
		if !ok {
			return []AuditEvent{}, 0, nil
		}
		f.PackageID = id
	}
	evs, total, err := s.store.ListAuditEvents(ctx, f)
	if err != nil {
		return nil, 0, fmt.Errorf("list audit events: %w", err)
	}
	out := make([]AuditEvent, 0, len(evs))
	logins := map[int64]string{}
	names := map[int64]string{}
	for _, e := range evs {
		ae := AuditEvent{Event: e}
		if e.ActorID != 0 {
			if _, ok := logins[e.ActorID]; !ok {
				if o, err := s.store.GetOwnerByID(ctx, e.ActorID); err == nil {
					logins[e.ActorID] = o.Login
				}
			}
			ae.Actor = logins[e.ActorID]
		}
		if e.PackageID != 0 {
			if _, ok := names[e.PackageID]; !ok {
				names[e.PackageID] = s.packageName(ctx, e.PackageID)
			}
			ae.Package = names[e.PackageID]
		}
		out = append(out, ae)
	}
	return out, total, nil
}

// packageName is OWNER/TYPE/NAME of a package by id, "" once purged.
func (s *Service) packageName(ctx context.Context, id int64) string {
	p, err := s.store.GetPackageByID(ctx, id)
	if err != nil {
		return ""
	}
	o, err := s.store.GetOwnerByID(ctx, p.OwnerID)
	if err != nil {
		return ""
	}
	return o.Login + "/" + string(p.Type) + "/" + p.Name
}

// packageIDByName finds the package OWNER/TYPE/NAME names, active or the
// most recently deleted.
func (s *Service) packageIDByName(ctx context.Context, name string) (int64, bool, error) {
	parts := strings.SplitN(name, "/", 3)
	if len(parts) != 3 {
		return 0, false, Errorf(KindInvalid, "package must be OWNER/TYPE/NAME, got %q", name)
	}
	o, err := s.ownerByLogin(ctx, parts[0])
	if err != nil {
		return 0, false, nil
	}
	p, err := s.store.GetPackage(ctx, o.ID, Type(parts[1]), parts[2], AnyState)
	if err != nil {
		if IsNotFound(err) {
			return 0, false, nil
		}
		return 0, false, fmt.Errorf("get package: %w", err)
	}
	return p.ID, true, nil
}
