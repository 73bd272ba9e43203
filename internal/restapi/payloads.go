package restapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/packhub/packhub/internal/packages"
)

// Webhook payloads, in GitHub's shapes: the package and registry_package
// events (published, updated, and Packhub's deleted and restored), and
// ping.

// Payloads renders webhook payloads for the delivery worker.
type Payloads struct {
	svc *packages.Service
	l   links
}

// NewPayloads returns the payload renderer over svc; baseURL is the
// server's external URL, without a trailing slash.
func NewPayloads(svc *packages.Service, baseURL string) *Payloads {
	base := strings.TrimRight(baseURL, "/")
	return &Payloads{svc: svc, l: links{api: base + "/api/v3", html: base}}
}

// Payload renders the JSON body of a delivery.
func (p *Payloads) Payload(ctx context.Context, d *packages.Delivery) ([]byte, error) {
	sub, err := p.svc.DeliverySubject(ctx, d)
	if err != nil {
		return nil, err
	}
	var v any
	if d.Event == packages.HookEventPing {
		v = p.ping(sub)
	} else {
		v = p.packageEvent(d, sub)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("render payload: %w", err)
	}
	return b, nil
}

// toMap turns a shape into a JSON object to trim or extend.
func toMap(v any) map[string]any {
	b, _ := json.Marshal(v)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

// hookUser is the user of webhook payloads: simple-user without
// user_view_type.
func (l links) hookUser(o *packages.Owner) map[string]any {
	m := toMap(l.simpleUser(o))
	delete(m, "user_view_type")
	return m
}

// hookOrganization is the organization of webhook payloads.
func (l links) hookOrganization(o *packages.Owner) map[string]any {
	full := toMap(l.organization(o))
	m := map[string]any{}
	for _, k := range []string{"login", "id", "node_id", "url", "repos_url", "events_url", "hooks_url", "issues_url",
		"members_url", "public_members_url", "avatar_url", "description"} {
		m[k] = full[k]
	}
	return m
}

// hookRepository is the repository of webhook payloads: GitHub's full
// repository shape.
func (l links) hookRepository(r *packages.Repository, owner *packages.Owner) map[string]any {
	m := toMap(l.repository(r, owner, Version20221128))
	m["owner"] = l.hookUser(owner)
	full := owner.Login + "/" + r.Name
	host := hostOf(l.html)
	m["git_url"] = "git://" + host + "/" + full + ".git"
	m["ssh_url"] = "git@" + host + ":" + full + ".git"
	m["clone_url"] = l.html + "/" + full + ".git"
	m["svn_url"] = l.html + "/" + full
	m["homepage"] = nil
	m["size"] = 0
	m["language"] = nil
	m["mirror_url"] = nil
	m["license"] = nil
	m["forks"] = 0
	m["open_issues"] = 0
	m["watchers"] = 0
	m["is_template"] = false
	m["web_commit_signoff_required"] = false
	m["custom_properties"] = map[string]any{}
	return m
}

func hostOf(base string) string {
	if u, err := url.Parse(base); err == nil && u.Host != "" {
		return u.Host
	}
	return base
}

func (p *Payloads) ping(sub *packages.DeliverySubject) map[string]any {
	t := packages.OrgHooks(sub.Owner.Login)
	if sub.Repository != nil {
		t = packages.RepoHooks(sub.Owner.Login, sub.Repository.Name)
	}
	m := map[string]any{
		"zen":     "Keep it logically awesome.",
		"hook_id": sub.Hook.ID,
		"hook":    p.l.hook(t, sub.Hook),
	}
	if sub.Repository != nil {
		m["repository"] = p.l.hookRepository(sub.Repository, sub.Owner)
	}
	if sub.Owner.Type == packages.OrgOwner {
		m["organization"] = p.l.hookOrganization(sub.Owner)
	}
	if sub.Sender != nil {
		m["sender"] = p.l.hookUser(sub.Sender)
	}
	return m
}

// packageEvent is the payload of a package or registry_package event.
func (p *Payloads) packageEvent(d *packages.Delivery, sub *packages.DeliverySubject) map[string]any {
	pi := sub.Package
	spec, ok := p.svc.Spec(pi.Type)
	if !ok {
		spec = &packages.Spec{Type: pi.Type}
	}
	typ := spec.WebhookType
	if typ == "" {
		typ = string(pi.Type)
	}
	pu := p.l.packageURLs(pi, spec)
	var description any
	pkg := map[string]any{
		"id":           pi.ID,
		"name":         pi.Name,
		"namespace":    pi.Owner.Login,
		"ecosystem":    typ,
		"package_type": typ,
		"html_url":     pu.html,
		"created_at":   timestamp(pi.CreatedAt),
		"updated_at":   timestamp(pi.UpdatedAt),
		"owner":        p.l.hookUser(pi.Owner),
		"registry": map[string]any{
			"about_url": "https://docs.github.com/packages/learn-github-packages/introduction-to-github-packages",
			"name":      "Packhub " + typ + " registry",
			"type":      typ,
			"url":       p.l.html,
			"vendor":    "Packhub",
		},
		"package_version": nil,
	}
	if v := sub.Version; v != nil {
		description = v.Description
		pkg["package_version"] = p.version(pi, spec, pu, v, sub)
	}
	pkg["description"] = description
	key := "package"
	if d.Event == packages.HookEventRegistryPackage {
		key = "registry_package"
	}
	m := map[string]any{"action": d.Action, key: pkg}
	if pi.Repository != nil && pi.RepositoryOwner != nil {
		m["repository"] = p.l.hookRepository(pi.Repository, pi.RepositoryOwner)
	}
	if pi.Owner.Type == packages.OrgOwner {
		m["organization"] = p.l.hookOrganization(pi.Owner)
	}
	if sub.Sender != nil {
		m["sender"] = p.l.hookUser(sub.Sender)
	} else {
		m["sender"] = p.l.hookUser(pi.Owner)
	}
	return m
}

func (p *Payloads) version(pi *packages.PackageInfo, spec *packages.Spec, pu packageURLs, v *packages.VersionInfo, sub *packages.DeliverySubject) map[string]any {
	versionAPI := pu.api + "/versions/" + strconv.FormatInt(v.ID, 10)
	files := make([]map[string]any, 0, len(sub.FileList))
	for _, f := range sub.FileList {
		download := versionAPI
		if spec.FileURL != nil {
			download = spec.FileURL(p.l.html, pi.Owner.Login, &pi.Package, &v.Version, &f.File)
		}
		sha256 := f.Checksums.SHA256
		if sha256 == "" {
			sha256 = strings.TrimPrefix(f.Digest, "sha256:")
		}
		files = append(files, map[string]any{
			"download_url": download,
			"id":           f.ID,
			"name":         f.Name,
			"sha256":       sha256,
			"sha1":         f.Checksums.SHA1,
			"md5":          f.Checksums.MD5,
			"content_type": f.MediaType,
			"state":        "uploaded",
			"size":         f.Size,
			"created_at":   timestamp(f.CreatedAt),
			"updated_at":   timestamp(f.CreatedAt),
		})
	}
	install := ""
	if spec.InstallCommand != nil {
		install = spec.InstallCommand(hostOf(p.l.html), pi.Owner.Login, &pi.Package, v)
	}
	out := map[string]any{
		"id":                   v.ID,
		"version":              v.Name,
		"summary":              v.Description,
		"name":                 v.Name,
		"description":          v.Description,
		"html_url":             pu.versionHTML(v),
		"created_at":           timestamp(v.CreatedAt),
		"updated_at":           timestamp(v.UpdatedAt),
		"metadata":             []any{},
		"package_files":        files,
		"package_url":          versionAPI,
		"installation_command": install,
	}
	if sub.Sender != nil {
		out["author"] = p.l.hookUser(sub.Sender)
	}
	return out
}
