package restapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/packhub/packhub/internal/packages"
)

// Organization and repository webhooks, as GitHub's "orgs/webhooks" and
// "repos/webhooks" operations serve them. An organization's need an admin
// of the organization with a token carrying admin:org_hook; a
// repository's an admin of the repository with a token carrying
// admin:repo_hook or repo; a site admin may do either. Anyone else gets
// 404.

const (
	docsHooks     = "https://docs.github.com/rest/orgs/webhooks#"
	docsRepoHooks = "https://docs.github.com/rest/repos/webhooks#"
)

// hookRoutes serves each hook operation for an organization's hooks and
// for a repository's, each named as GitHub's documentation names it.
func (s *server) hookRoutes() []route {
	ops := []struct {
		method, path string // path below the hooks' collection
		org, repo    string // the operation's anchor in each documentation page
		handle       func(*call)
	}{
		{"GET", "", "list-organization-webhooks", "list-repository-webhooks", s.listHooks},
		{"POST", "", "create-an-organization-webhook", "create-a-repository-webhook", s.createHook},
		{"GET", "/{hook_id}", "get-an-organization-webhook", "get-a-repository-webhook", s.getHook},
		{"PATCH", "/{hook_id}", "update-an-organization-webhook", "update-a-repository-webhook", s.updateHook},
		{"DELETE", "/{hook_id}", "delete-an-organization-webhook", "delete-a-repository-webhook", s.deleteHook},
		{"GET", "/{hook_id}/config", "get-a-webhook-configuration-for-an-organization", "get-a-webhook-configuration-for-a-repository", s.getHookConfig},
		{"PATCH", "/{hook_id}/config", "update-a-webhook-configuration-for-an-organization", "update-a-webhook-configuration-for-a-repository", s.updateHookConfig},
		{"GET", "/{hook_id}/deliveries", "list-deliveries-for-an-organization-webhook", "list-deliveries-for-a-repository-webhook", s.listDeliveries},
		{"GET", "/{hook_id}/deliveries/{delivery_id}", "get-a-webhook-delivery-for-an-organization-webhook", "get-a-delivery-for-a-repository-webhook", s.getDelivery},
		{"POST", "/{hook_id}/deliveries/{delivery_id}/attempts", "redeliver-a-delivery-for-an-organization-webhook", "redeliver-a-delivery-for-a-repository-webhook", s.redeliver},
		{"POST", "/{hook_id}/pings", "ping-an-organization-webhook", "ping-a-repository-webhook", s.pingHook},
	}
	var out []route
	for _, op := range ops {
		out = append(out,
			route{op.method + " /orgs/{org}/hooks" + op.path, docsHooks + op.org, op.handle},
			route{op.method + " /repos/{owner}/{repo}/hooks" + op.path, docsRepoHooks + op.repo, op.handle})
	}
	// A repository's hook has GitHub's push test too.
	return append(out, route{"POST /repos/{owner}/{repo}/hooks/{hook_id}/tests", docsRepoHooks + "test-the-push-repository-webhook", s.testHook})
}

// maxHookBody bounds the JSON body of a hook request.
const maxHookBody = 64 << 10

// hookID reads a numeric path parameter; anything else is 404, as no hook
// or delivery has such an id.
func (c *call) idParam(name string) (int64, bool) {
	id, err := strconv.ParseInt(c.r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		c.notFound()
		return 0, false
	}
	return id, true
}

// hookTarget is whose webhooks the request's path names.
func (c *call) hookTarget() packages.HookTarget {
	if org := c.r.PathValue("org"); org != "" {
		return packages.OrgHooks(org)
	}
	return packages.RepoHooks(c.r.PathValue("owner"), c.r.PathValue("repo"))
}

// hookCall starts a hook operation: the scope header, and the hook id
// when the path has one.
func (c *call) hookCall(withID bool) (int64, bool) {
	scopes := packages.ScopeAdminOrgHook
	if c.hookTarget().Repo != "" {
		scopes = packages.ScopeAdminRepoHook + ", " + packages.ScopeRepo
	}
	c.w.Header().Set("X-Accepted-OAuth-Scopes", scopes)
	if !withID {
		return 0, true
	}
	return c.idParam("hook_id")
}

// decodeBody reads a JSON object body into v; an empty body is {} when
// optional. A body that is not JSON is GitHub's 400 "Problems parsing
// JSON".
func (c *call) decodeBody(v any, optional bool) bool {
	b, err := io.ReadAll(http.MaxBytesReader(c.w, c.r.Body, maxHookBody))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			c.error(http.StatusRequestEntityTooLarge, "Payload Too Large")
			return false
		}
		c.badRequest("Problems parsing JSON")
		return false
	}
	if len(strings.TrimSpace(string(b))) == 0 && optional {
		return true
	}
	if err := json.Unmarshal(b, v); err != nil {
		c.badRequest("Problems parsing JSON")
		return false
	}
	return true
}

// sslFlag is insecure_ssl, which GitHub takes as a string or a number.
type sslFlag struct{ v *string }

func (f *sslFlag) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		f.v = &s
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	s = n.String()
	f.v = &s
	return nil
}

type hookConfigBody struct {
	URL         *string `json:"url"`
	ContentType *string `json:"content_type"`
	Secret      *string `json:"secret"`
	InsecureSSL sslFlag `json:"insecure_ssl"`
}

func (b *hookConfigBody) input() *packages.HookConfigInput {
	if b == nil {
		return nil
	}
	return &packages.HookConfigInput{URL: b.URL, ContentType: b.ContentType, Secret: b.Secret, InsecureSSL: b.InsecureSSL.v}
}

type hookBody struct {
	Name   *string         `json:"name"`
	Config *hookConfigBody `json:"config"`
	Events []string        `json:"events"`
	Active *bool           `json:"active"`
}

func (b *hookBody) input() packages.HookInput {
	return packages.HookInput{Name: b.Name, Events: b.Events, Active: b.Active, Config: b.Config.input()}
}

func (s *server) listHooks(c *call) {
	if _, ok := c.hookCall(false); !ok {
		return
	}
	page := pageOf(c.r.URL.Query())
	hs, total, err := s.svc.ListHooks(c.r.Context(), c.actor, c.hookTarget(), page)
	if err != nil {
		c.failValidation(err)
		return
	}
	out := make([]*hookJSON, 0, len(hs))
	for i := range hs {
		out = append(out, c.links().hook(c.hookTarget(), &hs[i]))
	}
	c.setLink(page, total)
	c.ok(out)
}

func (s *server) createHook(c *call) {
	if _, ok := c.hookCall(false); !ok {
		return
	}
	var body hookBody
	if !c.decodeBody(&body, false) {
		return
	}
	t := c.hookTarget()
	h, err := s.svc.CreateHook(c.r.Context(), c.actor, t, body.input())
	if err != nil {
		c.failValidation(err)
		return
	}
	out := c.links().hook(t, h)
	c.w.Header().Set("Location", out.URL)
	c.writeJSON(http.StatusCreated, out)
}

func (s *server) getHook(c *call) {
	id, ok := c.hookCall(true)
	if !ok {
		return
	}
	h, err := s.svc.GetHook(c.r.Context(), c.actor, c.hookTarget(), id)
	if err != nil {
		c.failValidation(err)
		return
	}
	c.ok(c.links().hook(c.hookTarget(), h))
}

func (s *server) updateHook(c *call) {
	id, ok := c.hookCall(true)
	if !ok {
		return
	}
	var body hookBody
	if !c.decodeBody(&body, true) {
		return
	}
	h, err := s.svc.UpdateHook(c.r.Context(), c.actor, c.hookTarget(), id, body.input())
	if err != nil {
		c.failValidation(err)
		return
	}
	c.ok(c.links().hook(c.hookTarget(), h))
}

func (s *server) deleteHook(c *call) {
	id, ok := c.hookCall(true)
	if !ok {
		return
	}
	if err := s.svc.DeleteHook(c.r.Context(), c.actor, c.hookTarget(), id); err != nil {
		c.failValidation(err)
		return
	}
	c.noContent()
}

func (s *server) getHookConfig(c *call) {
	id, ok := c.hookCall(true)
	if !ok {
		return
	}
	h, err := s.svc.GetHook(c.r.Context(), c.actor, c.hookTarget(), id)
	if err != nil {
		c.failValidation(err)
		return
	}
	c.ok(hookConfig(h))
}

func (s *server) updateHookConfig(c *call) {
	id, ok := c.hookCall(true)
	if !ok {
		return
	}
	var body hookConfigBody
	if !c.decodeBody(&body, true) {
		return
	}
	h, err := s.svc.UpdateHookConfig(c.r.Context(), c.actor, c.hookTarget(), id, *body.input())
	if err != nil {
		c.failValidation(err)
		return
	}
	c.ok(hookConfig(h))
}

func (s *server) pingHook(c *call) {
	id, ok := c.hookCall(true)
	if !ok {
		return
	}
	if err := s.svc.PingHook(c.r.Context(), c.actor, c.hookTarget(), id); err != nil {
		c.failValidation(err)
		return
	}
	c.noContent()
}

// testHook is GitHub's push test of a repository's hook, which sends the
// repository's latest push to a hook that takes push events and answers
// 204 without sending anything to one that does not. Packhub has no
// pushes to send, so it answers 204 for any hook it finds.
func (s *server) testHook(c *call) {
	id, ok := c.hookCall(true)
	if !ok {
		return
	}
	if _, err := s.svc.GetHook(c.r.Context(), c.actor, c.hookTarget(), id); err != nil {
		c.failValidation(err)
		return
	}
	c.noContent()
}

// listDeliveries pages with a cursor, as GitHub does: cursor is the id
// of the first delivery of the page (the newest come first), and the
// Link header names the next page's.
func (s *server) listDeliveries(c *call) {
	id, ok := c.hookCall(true)
	if !ok {
		return
	}
	q := c.r.URL.Query()
	perPage := min(pageParam(q, "per_page", defaultPerPage), maxPerPage)
	f := packages.DeliveryFilter{Limit: perPage + 1}
	if cur := q.Get("cursor"); cur != "" {
		n, err := strconv.ParseInt(cur, 10, 64)
		if err != nil || n <= 0 {
			c.badRequest("Invalid cursor.")
			return
		}
		f.Before = n + 1
	}
	switch st := q.Get("status"); st {
	case "", "success", "failure":
		f.Status = st
	default:
		c.badRequest("Invalid status: must be one of success, failure.")
		return
	}
	ds, err := s.svc.ListDeliveries(c.r.Context(), c.actor, c.hookTarget(), id, f)
	if err != nil {
		c.failValidation(err)
		return
	}
	if len(ds) > perPage {
		next := ds[perPage].ID
		ds = ds[:perPage]
		c.w.Header().Set("Link", "<"+c.cursorURL(next)+`>; rel="next"`)
	}
	out := make([]*deliveryItemJSON, 0, len(ds))
	for i := range ds {
		out = append(out, deliveryItem(&ds[i]))
	}
	c.ok(out)
}

// cursorURL is the request's URL with cursor set to id.
func (c *call) cursorURL(id int64) string {
	q := c.r.URL.Query()
	q.Set("cursor", strconv.FormatInt(id, 10))
	base := strings.TrimSuffix(c.links().api, "/api/v3")
	return base + c.r.URL.EscapedPath() + "?" + q.Encode()
}

func (s *server) getDelivery(c *call) {
	id, ok := c.hookCall(true)
	if !ok {
		return
	}
	did, ok := c.idParam("delivery_id")
	if !ok {
		return
	}
	h, d, err := s.svc.GetDelivery(c.r.Context(), c.actor, c.hookTarget(), id, did)
	if err != nil {
		c.failValidation(err)
		return
	}
	c.ok(deliveryFull(h, d))
}

func (s *server) redeliver(c *call) {
	id, ok := c.hookCall(true)
	if !ok {
		return
	}
	did, ok := c.idParam("delivery_id")
	if !ok {
		return
	}
	if _, err := s.svc.Redeliver(c.r.Context(), c.actor, c.hookTarget(), id, did); err != nil {
		c.failValidation(err)
		return
	}
	c.writeJSON(http.StatusAccepted, struct{}{})
}

// ---- Shapes ----------------------------------------------------------------

// hookConfigJSON is GitHub's webhook-config. The secret is never shown:
// "********" stands for one that is set.
type hookConfigJSON struct {
	URL         string `json:"url"`
	ContentType string `json:"content_type"`
	InsecureSSL string `json:"insecure_ssl"`
	Secret      string `json:"secret,omitempty"`
}

func hookConfig(h *packages.Hook) hookConfigJSON {
	c := hookConfigJSON{URL: h.URL, ContentType: h.ContentType, InsecureSSL: h.InsecureSSL}
	if h.Secret != "" {
		c.Secret = "********"
	}
	return c
}

// hookJSON is GitHub's org-hook, or with TestURL and LastResponse its
// hook (of a repository).
type hookJSON struct {
	Type          string            `json:"type"`
	ID            int64             `json:"id"`
	Name          string            `json:"name"`
	Active        bool              `json:"active"`
	Events        []string          `json:"events"`
	Config        hookConfigJSON    `json:"config"`
	UpdatedAt     string            `json:"updated_at"`
	CreatedAt     string            `json:"created_at"`
	URL           string            `json:"url"`
	TestURL       string            `json:"test_url,omitempty"`
	PingURL       string            `json:"ping_url"`
	DeliveriesURL string            `json:"deliveries_url"`
	LastResponse  *hookResponseJSON `json:"last_response,omitempty"`
}

// hookResponseJSON is GitHub's hook-response: Packhub reports no last
// response on a hook (its deliveries carry theirs).
type hookResponseJSON struct {
	Code    *int    `json:"code"`
	Status  *string `json:"status"`
	Message *string `json:"message"`
}

func (l links) hook(t packages.HookTarget, h *packages.Hook) *hookJSON {
	events := h.Events
	if events == nil {
		events = []string{}
	}
	out := &hookJSON{
		Type: "Organization", ID: h.ID, Name: h.Name, Active: h.Active, Events: events, Config: hookConfig(h),
		UpdatedAt: timestamp(h.UpdatedAt), CreatedAt: timestamp(h.CreatedAt),
	}
	if t.Repo == "" {
		out.URL = l.api + "/orgs/" + t.Owner + "/hooks/" + strconv.FormatInt(h.ID, 10)
	} else {
		out.Type = "Repository"
		out.URL = l.api + "/repos/" + t.Owner + "/" + t.Repo + "/hooks/" + strconv.FormatInt(h.ID, 10)
		out.TestURL = out.URL + "/test"
		out.LastResponse = &hookResponseJSON{}
	}
	out.PingURL, out.DeliveriesURL = out.URL+"/pings", out.URL+"/deliveries"
	return out
}

// deliveryItemJSON is GitHub's hook-delivery-item.
type deliveryItemJSON struct {
	ID             int64   `json:"id"`
	GUID           string  `json:"guid"`
	DeliveredAt    string  `json:"delivered_at"`
	Redelivery     bool    `json:"redelivery"`
	Duration       float64 `json:"duration"`
	Status         string  `json:"status"`
	StatusCode     int     `json:"status_code"`
	Event          string  `json:"event"`
	Action         *string `json:"action"`
	InstallationID *int64  `json:"installation_id"`
	RepositoryID   *int64  `json:"repository_id"`
	ThrottledAt    *string `json:"throttled_at"`
}

func deliveryItem(d *packages.Delivery) *deliveryItemJSON {
	at := d.CreatedAt
	if d.DeliveredAt != nil {
		at = *d.DeliveredAt
	}
	status := d.Status
	if status == "" {
		status = "Pending"
	}
	out := &deliveryItemJSON{ID: d.ID, GUID: d.GUID, DeliveredAt: timestamp(at), Redelivery: d.Redelivery,
		Duration: d.Duration, Status: status, StatusCode: d.StatusCode, Event: d.Event, Action: nullable(d.Action)}
	if d.RepositoryID != 0 {
		out.RepositoryID = &d.RepositoryID
	}
	return out
}

// deliveryJSON is GitHub's hook-delivery.
type deliveryJSON struct {
	deliveryItemJSON
	URL      string              `json:"url"`
	Request  deliveryRequestJSON `json:"request"`
	Response deliveryAnswerJSON  `json:"response"`
}

type deliveryRequestJSON struct {
	Headers map[string]string `json:"headers"`
	Payload json.RawMessage   `json:"payload"`
}

type deliveryAnswerJSON struct {
	Headers map[string]string `json:"headers"`
	Payload *string           `json:"payload"`
}

func deliveryFull(h *packages.Hook, d *packages.Delivery) *deliveryJSON {
	out := &deliveryJSON{deliveryItemJSON: *deliveryItem(d), URL: h.URL}
	out.Request.Headers = d.RequestHeaders
	out.Request.Payload = json.RawMessage("null")
	if len(d.Payload) > 0 && json.Valid(d.Payload) {
		out.Request.Payload = d.Payload
	}
	out.Response.Headers = d.ResponseHeaders
	if d.StatusCode != 0 {
		out.Response.Payload = &d.ResponseBody
	}
	return out
}
