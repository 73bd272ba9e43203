package restapi

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/packhub/packhub/internal/packages"
)

// The audit log, for site administrators: GET /admin/events (and
// /api/v3/admin/events), newest first, paged with page and per_page and
// GitHub's Link header, filtered by actor (login), action, package
// (OWNER/TYPE/NAME) and since (RFC 3339). GitHub serves no such endpoint;
// its entries follow the fields of GitHub's audit log (@timestamp and
// created_at in milliseconds, action, actor, actor_ip, user_agent). Anyone
// but a site administrator gets 404, as GitHub Enterprise Server answers
// its administration endpoints.

func (s *server) adminRoutes() []route {
	return []route{
		{"GET /admin/events", "https://docs.github.com/enterprise-server/rest/enterprise-admin", s.adminEvents},
	}
}

// auditEntryJSON is one entry of the audit log.
type auditEntryJSON struct {
	Timestamp  int64           `json:"@timestamp"`
	DocumentID string          `json:"_document_id"`
	ID         int64           `json:"id"`
	Action     string          `json:"action"`
	Actor      string          `json:"actor,omitempty"`
	ActorID    int64           `json:"actor_id,omitempty"`
	ActorIP    string          `json:"actor_ip,omitempty"`
	UserAgent  string          `json:"user_agent,omitempty"`
	RequestID  string          `json:"request_id,omitempty"`
	TokenID    int64           `json:"token_id,omitempty"`
	Package    string          `json:"package,omitempty"`
	PackageID  int64           `json:"package_id,omitempty"`
	VersionID  int64           `json:"version_id,omitempty"`
	Data       json.RawMessage `json:"data,omitempty"`
	CreatedAt  int64           `json:"created_at"`
}

// AuditEntry renders an audit event as the audit log shows it, for the
// REST API and the CLI alike.
func AuditEntry(e *packages.AuditEvent) any { return auditEntry(e) }

func auditEntry(e *packages.AuditEvent) *auditEntryJSON {
	ms := e.CreatedAt.UnixMilli()
	out := &auditEntryJSON{Timestamp: ms, DocumentID: strconv.FormatInt(e.ID, 10), ID: e.ID, Action: e.Action,
		Actor: e.Actor, ActorID: e.ActorID, ActorIP: e.IP, UserAgent: e.UserAgent, RequestID: e.RequestID,
		TokenID: e.TokenID, Package: e.Package, PackageID: e.PackageID, VersionID: e.VersionID, CreatedAt: ms}
	switch {
	case e.Detail == "":
	case json.Valid([]byte(e.Detail)):
		out.Data = json.RawMessage(e.Detail)
	default:
		b, _ := json.Marshal(map[string]string{"detail": e.Detail})
		out.Data = b
	}
	return out
}

func (s *server) adminEvents(c *call) {
	q := c.r.URL.Query()
	req := packages.AuditRequest{Actor: q.Get("actor"), Action: q.Get("action"), Package: q.Get("package"), Page: pageOf(q)}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			c.badRequest("Invalid since: use an RFC 3339 time such as 2026-01-02T15:04:05Z.")
			return
		}
		req.Since = t
	}
	evs, total, err := s.svc.AuditEvents(c.r.Context(), c.actor, req, false)
	if err != nil {
		c.fail(err)
		return
	}
	out := make([]*auditEntryJSON, 0, len(evs))
	for i := range evs {
		out = append(out, auditEntry(&evs[i]))
	}
	c.setLink(req.Page, total)
	c.ok(out)
}
