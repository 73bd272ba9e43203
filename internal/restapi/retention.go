package restapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/packhub/packhub/internal/packages"
)

// Retention policies of an owner's packages, a Packhub extension beside
// GitHub's operations: GET and POST /orgs/{org}/packages/retention-policies
// and /user/packages/retention-policies, DELETE …/retention-policies/{id}.
// Only the user, or an admin of the organization, manages them.

const docsRetention = "https://github.com/packhub/packhub/blob/main/docs/registries/rest-api.md#retention-policies"

// maxPolicyBody bounds a policy's JSON.
const maxPolicyBody = 64 << 10

// policyJSON is a policy as the API writes and reads it.
type policyJSON struct {
	ID            int64   `json:"id"`
	PackageType   string  `json:"package_type"`
	Name          string  `json:"name"`
	KeepNewest    int     `json:"keep_newest"`
	OlderThan     *string `json:"older_than"`
	Untagged      bool    `json:"untagged"`
	KeepPattern   string  `json:"keep_pattern"`
	RemovePattern string  `json:"remove_pattern"`
	KeepBuilds    int     `json:"keep_builds"`
	CreatedAt     string  `json:"created_at"`
}

func policyJSONOf(p *packages.RetentionPolicy) policyJSON {
	out := policyJSON{ID: p.ID, PackageType: string(p.Type), Name: p.Name, KeepNewest: p.KeepNewest, Untagged: p.Untagged,
		KeepPattern: p.KeepPattern, RemovePattern: p.RemovePattern, KeepBuilds: p.KeepBuilds, CreatedAt: timestamp(p.CreatedAt)}
	if p.OlderThan > 0 {
		age := packages.FormatAge(p.OlderThan)
		out.OlderThan = &age
	}
	return out
}

// policyRequest is the body of a POST.
type policyRequest struct {
	PackageType   string  `json:"package_type"`
	Name          string  `json:"name"`
	KeepNewest    int     `json:"keep_newest"`
	OlderThan     *string `json:"older_than"`
	Untagged      bool    `json:"untagged"`
	KeepPattern   string  `json:"keep_pattern"`
	RemovePattern string  `json:"remove_pattern"`
	KeepBuilds    int     `json:"keep_builds"`
}

// errPolicyJSON is a body that is not one JSON object of policyRequest's
// fields.
var errPolicyJSON = errors.New("problems parsing JSON")

// parsePolicy reads a policy from a request body: one JSON object, no
// unknown member. A rule the service refuses is its to say.
func parsePolicy(body []byte) (packages.RetentionPolicy, error) {
	var req policyRequest
	if t := bytes.TrimSpace(body); len(t) == 0 || t[0] != '{' {
		return packages.RetentionPolicy{}, errPolicyJSON
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return packages.RetentionPolicy{}, errPolicyJSON
	}
	if len(bytes.TrimSpace(body[dec.InputOffset():])) > 0 {
		return packages.RetentionPolicy{}, errPolicyJSON
	}
	p := packages.RetentionPolicy{Type: packages.Type(req.PackageType), Name: req.Name, KeepNewest: req.KeepNewest, Untagged: req.Untagged,
		KeepPattern: req.KeepPattern, RemovePattern: req.RemovePattern, KeepBuilds: req.KeepBuilds}
	if req.OlderThan != nil && *req.OlderThan != "" {
		d, err := packages.ParseAge(*req.OlderThan)
		if err != nil {
			return packages.RetentionPolicy{}, err
		}
		p.OlderThan = d
	}
	return p, nil
}

func retentionOwner(c *call, scope packages.OwnerScope) packages.RetentionOwner {
	return packages.RetentionOwner{Login: c.ownerParam(scope), Scope: scope}
}

func (s *server) listPolicies(scope packages.OwnerScope) func(*call) {
	return func(c *call) {
		c.acceptScopes(packages.OpRead, "")
		ps, err := s.svc.RetentionPolicies(c.r.Context(), c.actor, retentionOwner(c, scope))
		if err != nil {
			c.fail(err)
			return
		}
		out := make([]policyJSON, 0, len(ps))
		for i := range ps {
			out = append(out, policyJSONOf(&ps[i]))
		}
		c.ok(out)
	}
}

func (s *server) addPolicy(scope packages.OwnerScope) func(*call) {
	return func(c *call) {
		c.acceptScopes(packages.OpDelete, "")
		if c.actor.Anonymous() {
			c.fail(packages.Errorf(packages.KindUnauthenticated, packages.MsgRequiresAuthentication))
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(c.w, c.r.Body, maxPolicyBody))
		if err != nil {
			c.error(http.StatusRequestEntityTooLarge, "The policy is larger than 64 KiB.")
			return
		}
		p, err := parsePolicy(body)
		if errors.Is(err, errPolicyJSON) {
			c.badRequest("Problems parsing JSON")
			return
		}
		if err != nil {
			c.fail(err)
			return
		}
		added, err := s.svc.AddRetentionPolicy(c.r.Context(), c.actor, retentionOwner(c, scope), p)
		if err != nil {
			c.fail(err)
			return
		}
		c.writeJSON(http.StatusCreated, policyJSONOf(added))
	}
}

func (s *server) removePolicy(scope packages.OwnerScope) func(*call) {
	return func(c *call) {
		c.acceptScopes(packages.OpDelete, "")
		id, err := strconv.ParseInt(c.r.PathValue("policy_id"), 10, 64)
		if err != nil || id <= 0 {
			c.notFound()
			return
		}
		if err := s.svc.RemoveRetentionPolicy(c.r.Context(), c.actor, retentionOwner(c, scope), id); err != nil {
			c.fail(err)
			return
		}
		c.noContent()
	}
}
