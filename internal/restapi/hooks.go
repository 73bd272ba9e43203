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

// Organization webhooks, as GitHub's "orgs/webhooks" operations serve
// them. Every one needs an admin of the organization (or a site admin)
// with a token carrying admin:org_hook; anyone else gets 404.

const docsHooks = "https://docs.github.com/rest/orgs/webhooks#"

func (s *server) hookRoutes() []route {
	h := "/orgs/{org}/hooks"
	one := h + "/{hook_id}"
	return []route{
		{"GET " + h, docsHooks + "list-organization-webhooks", s.listHooks},
		{"POST " + h, docsHooks + "create-an-organization-webhook", s.createHook},
		{"GET " + one, docsHooks + "get-an-organization-webhook", s.getHook},
		{"PATCH " + one, docsHooks + "update-an-organization-webhook", s.updateHook},
		{"DELETE " + one, docsHooks + "delete-an-organization-webhook", s.deleteHook},
		{"GET " + one + "/config", docsHooks + "get-a-webhook-configuration-for-an-organization", s.getHookConfig},
		{"PATCH " + one + "/config", docsHooks + "update-a-webhook-configuration-for-an-organization", s.updateHookConfig},
		{"GET " + one + "/deliveries", docsHooks + "list-deliveries-for-an-organization-webhook", s.listDeliveries},
		{"GET " + one + "/deliveries/{delivery_id}", docsHooks + "get-a-webhook-delivery-for-an-organization-webhook", s.getDelivery},
		{"POST " + one + "/deliveries/{delivery_id}/attempts", docsHooks + "redeliver-a-delivery-for-an-organization-webhook", s.redeliver},
		{"POST " + one + "/pings", docsHooks + "ping-an-organization-webhook", s.pingHook},
	}
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

// hookCall starts a hook operation: the scope header, and the hook id
// when the path has one.
func (c *call) hookCall(withID bool) (int64, bool) {
	c.w.Header().Set("X-Accepted-OAuth-Scopes", packages.ScopeAdminOrgHook)
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
	hs, total, err := s.svc.ListHooks(c.r.Context(), c.actor, c.r.PathValue("org"), page)
	if err != nil {
		c.failValidation(err)
		return
	}
	out := make([]*orgHookJSON, 0, len(hs))
	for i := range hs {
		out = append(out, c.links().orgHook(c.r.PathValue("org"), &hs[i]))
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
	org := c.r.PathValue("org")
	h, err := s.svc.CreateHook(c.r.Context(), c.actor, org, body.input())
	if err != nil {
		c.failValidation(err)
		return
	}
	out := c.links().orgHook(org, h)
	c.w.Header().Set("Location", out.URL)
	c.writeJSON(http.StatusCreated, out)
}

func (s *server) getHook(c *call) {
	id, ok := c.hookCall(true)
	if !ok {
		return
	}
	h, err := s.svc.GetHook(c.r.Context(), c.actor, c.r.PathValue("org"), id)
	if err != nil {
		c.failValidation(err)
		return
	}
	c.ok(c.links().orgHook(c.r.PathValue("org"), h))
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
	h, err := s.svc.UpdateHook(c.r.Context(), c.actor, c.r.PathValue("org"), id, body.input())
	if err != nil {
		c.failValidation(err)
		return
	}
	c.ok(c.links().orgHook(c.r.PathValue("org"), h))
}

func (s *server) deleteHook(c *call) {
	id, ok := c.hookCall(true)
	if !ok {
		return
	}
	if err := s.svc.DeleteHook(c.r.Context(), c.actor, c.r.PathValue("org"), id); err != nil {
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
	h, err := s.svc.GetHook(c.r.Context(), c.actor, c.r.PathValue("org"), id)
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
	h, err := s.svc.UpdateHookConfig(c.r.Context(), c.actor, c.r.PathValue("org"), id, *body.input())
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
	if err := s.svc.PingHook(c.r.Context(), c.actor, c.r.PathValue("org"), id); err != nil {
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
	ds, err := s.svc.ListDeliveries(c.r.Context(), c.actor, c.r.PathValue("org"), id, f)
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
	org := c.r.PathValue("org")
	d, err := s.svc.GetDelivery(c.r.Context(), c.actor, org, id, did)
	if err != nil {
		c.failValidation(err)
		return
	}
	h, err := s.svc.GetHook(c.r.Context(), c.actor, org, id)
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
	if _, err := s.svc.Redeliver(c.r.Context(), c.actor, c.r.PathValue("org"), id, did); err != nil {
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

// orgHookJSON is GitHub's org-hook.
type orgHookJSON struct {
	Type          string         `json:"type"`
	ID            int64          `json:"id"`
	Name          string         `json:"name"`
	Active        bool           `json:"active"`
	Events        []string       `json:"events"`
	Config        hookConfigJSON `json:"config"`
	UpdatedAt     string         `json:"updated_at"`
	CreatedAt     string         `json:"created_at"`
	URL           string         `json:"url"`
	PingURL       string         `json:"ping_url"`
	DeliveriesURL string         `json:"deliveries_url"`
}

func (l links) orgHook(org string, h *packages.Hook) *orgHookJSON {
	u := l.api + "/orgs/" + org + "/hooks/" + strconv.FormatInt(h.ID, 10)
	events := h.Events
	if events == nil {
		events = []string{}
	}
	return &orgHookJSON{
		Type: "Organization", ID: h.ID, Name: h.Name, Active: h.Active, Events: events, Config: hookConfig(h),
		UpdatedAt: timestamp(h.UpdatedAt), CreatedAt: timestamp(h.CreatedAt),
		URL: u, PingURL: u + "/pings", DeliveriesURL: u + "/deliveries",
	}
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
