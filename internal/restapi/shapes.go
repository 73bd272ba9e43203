package restapi

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strconv"
	"time"

	"github.com/packhub/packhub/internal/packages"
)

// This file renders GitHub's JSON shapes. Field order follows the examples
// of GitHub's OpenAPI description, so that bodies read like GitHub's.

// links builds the URLs of bodies: api is BaseURL+"/api/v3", html BaseURL.
type links struct {
	api, html string
}

func (c *call) links() links {
	base := c.s.base
	if base == "" {
		scheme := "http"
		if c.r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + c.r.Host
	}
	return links{api: base + "/api/v3", html: base}
}

// timestamp renders t as GitHub does: RFC 3339, UTC, seconds.
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// nodeID makes a node id in GitHub's legacy format ("04:User1", base64).
func nodeID(typ string, id int64) string {
	return base64.StdEncoding.EncodeToString([]byte("0" + strconv.Itoa(len(typ)) + ":" + typ + strconv.FormatInt(id, 10)))
}

func ownerNodeID(o *packages.Owner) string {
	if o.Type == packages.OrgOwner {
		return nodeID("Organization", o.ID)
	}
	return nodeID("User", o.ID)
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// simpleUser is GitHub's simple-user.
type simpleUser struct {
	Login             string `json:"login"`
	ID                int64  `json:"id"`
	NodeID            string `json:"node_id"`
	AvatarURL         string `json:"avatar_url"`
	GravatarID        string `json:"gravatar_id"`
	URL               string `json:"url"`
	HTMLURL           string `json:"html_url"`
	FollowersURL      string `json:"followers_url"`
	FollowingURL      string `json:"following_url"`
	GistsURL          string `json:"gists_url"`
	StarredURL        string `json:"starred_url"`
	SubscriptionsURL  string `json:"subscriptions_url"`
	OrganizationsURL  string `json:"organizations_url"`
	ReposURL          string `json:"repos_url"`
	EventsURL         string `json:"events_url"`
	ReceivedEventsURL string `json:"received_events_url"`
	Type              string `json:"type"`
	UserViewType      string `json:"user_view_type"`
	SiteAdmin         bool   `json:"site_admin"`
}

func (l links) avatar(id int64) string {
	return l.html + "/avatars/u/" + strconv.FormatInt(id, 10) + "?v=4"
}

func (l links) simpleUser(o *packages.Owner) *simpleUser {
	u := l.api + "/users/" + o.Login
	return &simpleUser{
		Login:             o.Login,
		ID:                o.ID,
		NodeID:            ownerNodeID(o),
		AvatarURL:         l.avatar(o.ID),
		GravatarID:        "",
		URL:               u,
		HTMLURL:           l.html + "/" + o.Login,
		FollowersURL:      u + "/followers",
		FollowingURL:      u + "/following{/other_user}",
		GistsURL:          u + "/gists{/gist_id}",
		StarredURL:        u + "/starred{/owner}{/repo}",
		SubscriptionsURL:  u + "/subscriptions",
		OrganizationsURL:  u + "/orgs",
		ReposURL:          u + "/repos",
		EventsURL:         u + "/events{/privacy}",
		ReceivedEventsURL: u + "/received_events",
		Type:              string(o.Type),
		UserViewType:      "public",
		SiteAdmin:         o.SiteAdmin,
	}
}

// publicUser is GitHub's public-user (GET /users/{username}).
type publicUser struct {
	simpleUser
	Name            *string `json:"name"`
	Company         *string `json:"company"`
	Blog            string  `json:"blog"`
	Location        *string `json:"location"`
	Email           *string `json:"email"`
	Hireable        *bool   `json:"hireable"`
	Bio             *string `json:"bio"`
	TwitterUsername *string `json:"twitter_username"`
	PublicRepos     int     `json:"public_repos"`
	PublicGists     int     `json:"public_gists"`
	Followers       int     `json:"followers"`
	Following       int     `json:"following"`
	CreatedAt       string  `json:"created_at"`
	UpdatedAt       string  `json:"updated_at"`
}

func (l links) publicUser(o *packages.Owner) *publicUser {
	return &publicUser{
		simpleUser: *l.simpleUser(o),
		Name:       nullable(o.Name),
		CreatedAt:  timestamp(o.CreatedAt),
		UpdatedAt:  timestamp(o.UpdatedAt),
	}
}

// privateUser is GitHub's private-user (GET /user).
type privateUser struct {
	publicUser
	PrivateGists            int  `json:"private_gists"`
	TotalPrivateRepos       int  `json:"total_private_repos"`
	OwnedPrivateRepos       int  `json:"owned_private_repos"`
	DiskUsage               int  `json:"disk_usage"`
	Collaborators           int  `json:"collaborators"`
	TwoFactorAuthentication bool `json:"two_factor_authentication"`
}

func (l links) privateUser(o *packages.Owner) *privateUser {
	p := &privateUser{publicUser: *l.publicUser(o)}
	p.UserViewType = "private"
	p.Email = nullable(o.Email)
	return p
}

// organizationFull is GitHub's organization-full (GET /orgs/{org}).
type organizationFull struct {
	Login                   string  `json:"login"`
	ID                      int64   `json:"id"`
	NodeID                  string  `json:"node_id"`
	URL                     string  `json:"url"`
	ReposURL                string  `json:"repos_url"`
	EventsURL               string  `json:"events_url"`
	HooksURL                string  `json:"hooks_url"`
	IssuesURL               string  `json:"issues_url"`
	MembersURL              string  `json:"members_url"`
	PublicMembersURL        string  `json:"public_members_url"`
	AvatarURL               string  `json:"avatar_url"`
	Description             *string `json:"description"`
	Name                    string  `json:"name,omitempty"`
	IsVerified              bool    `json:"is_verified"`
	HasOrganizationProjects bool    `json:"has_organization_projects"`
	HasRepositoryProjects   bool    `json:"has_repository_projects"`
	PublicRepos             int     `json:"public_repos"`
	PublicGists             int     `json:"public_gists"`
	Followers               int     `json:"followers"`
	Following               int     `json:"following"`
	HTMLURL                 string  `json:"html_url"`
	CreatedAt               string  `json:"created_at"`
	UpdatedAt               string  `json:"updated_at"`
	ArchivedAt              *string `json:"archived_at"`
	Type                    string  `json:"type"`
}

func (l links) organization(o *packages.Owner) *organizationFull {
	u := l.api + "/orgs/" + o.Login
	return &organizationFull{
		Login:                   o.Login,
		ID:                      o.ID,
		NodeID:                  ownerNodeID(o),
		URL:                     u,
		ReposURL:                u + "/repos",
		EventsURL:               u + "/events",
		HooksURL:                u + "/hooks",
		IssuesURL:               u + "/issues",
		MembersURL:              u + "/members{/member}",
		PublicMembersURL:        u + "/public_members{/member}",
		AvatarURL:               l.avatar(o.ID),
		Name:                    o.Name,
		HasOrganizationProjects: true,
		HasRepositoryProjects:   true,
		HTMLURL:                 l.html + "/" + o.Login,
		CreatedAt:               timestamp(o.CreatedAt),
		UpdatedAt:               timestamp(o.UpdatedAt),
		Type:                    string(o.Type),
	}
}

// minimalRepository is GitHub's minimal-repository: every required field
// and the common optional ones.
type minimalRepository struct {
	ID               int64       `json:"id"`
	NodeID           string      `json:"node_id"`
	Name             string      `json:"name"`
	FullName         string      `json:"full_name"`
	Private          bool        `json:"private"`
	Owner            *simpleUser `json:"owner"`
	HTMLURL          string      `json:"html_url"`
	Description      *string     `json:"description"`
	Fork             bool        `json:"fork"`
	URL              string      `json:"url"`
	ForksURL         string      `json:"forks_url"`
	KeysURL          string      `json:"keys_url"`
	CollaboratorsURL string      `json:"collaborators_url"`
	TeamsURL         string      `json:"teams_url"`
	HooksURL         string      `json:"hooks_url"`
	IssueEventsURL   string      `json:"issue_events_url"`
	EventsURL        string      `json:"events_url"`
	AssigneesURL     string      `json:"assignees_url"`
	BranchesURL      string      `json:"branches_url"`
	TagsURL          string      `json:"tags_url"`
	BlobsURL         string      `json:"blobs_url"`
	GitTagsURL       string      `json:"git_tags_url"`
	GitRefsURL       string      `json:"git_refs_url"`
	TreesURL         string      `json:"trees_url"`
	StatusesURL      string      `json:"statuses_url"`
	LanguagesURL     string      `json:"languages_url"`
	StargazersURL    string      `json:"stargazers_url"`
	ContributorsURL  string      `json:"contributors_url"`
	SubscribersURL   string      `json:"subscribers_url"`
	SubscriptionURL  string      `json:"subscription_url"`
	CommitsURL       string      `json:"commits_url"`
	GitCommitsURL    string      `json:"git_commits_url"`
	CommentsURL      string      `json:"comments_url"`
	IssueCommentURL  string      `json:"issue_comment_url"`
	ContentsURL      string      `json:"contents_url"`
	CompareURL       string      `json:"compare_url"`
	MergesURL        string      `json:"merges_url"`
	ArchiveURL       string      `json:"archive_url"`
	DownloadsURL     string      `json:"downloads_url"`
	IssuesURL        string      `json:"issues_url"`
	PullsURL         string      `json:"pulls_url"`
	MilestonesURL    string      `json:"milestones_url"`
	NotificationsURL string      `json:"notifications_url"`
	LabelsURL        string      `json:"labels_url"`
	ReleasesURL      string      `json:"releases_url"`
	DeploymentsURL   string      `json:"deployments_url"`
	CreatedAt        string      `json:"created_at"`
	UpdatedAt        string      `json:"updated_at"`
	PushedAt         string      `json:"pushed_at"`
	Homepage         *string     `json:"homepage"`
	Language         *string     `json:"language"`
	HasIssues        bool        `json:"has_issues"`
	HasProjects      bool        `json:"has_projects"`
	// HasDownloads is dropped from API version 2026-03-10 on.
	HasDownloads    *bool    `json:"has_downloads,omitempty"`
	HasWiki         bool     `json:"has_wiki"`
	HasPages        bool     `json:"has_pages"`
	Archived        bool     `json:"archived"`
	Disabled        bool     `json:"disabled"`
	Visibility      string   `json:"visibility"`
	Topics          []string `json:"topics"`
	DefaultBranch   string   `json:"default_branch"`
	ForksCount      int      `json:"forks_count"`
	StargazersCount int      `json:"stargazers_count"`
	WatchersCount   int      `json:"watchers_count"`
	OpenIssuesCount int      `json:"open_issues_count"`
}

func (l links) repository(r *packages.Repository, owner *packages.Owner, version string) *minimalRepository {
	full := owner.Login + "/" + r.Name
	u := l.api + "/repos/" + full
	m := &minimalRepository{
		ID:               r.ID,
		NodeID:           nodeID("Repository", r.ID),
		Name:             r.Name,
		FullName:         full,
		Private:          r.Visibility != packages.Public,
		Owner:            l.simpleUser(owner),
		HTMLURL:          l.html + "/" + full,
		Description:      nullable(r.Description),
		URL:              u,
		ForksURL:         u + "/forks",
		KeysURL:          u + "/keys{/key_id}",
		CollaboratorsURL: u + "/collaborators{/collaborator}",
		TeamsURL:         u + "/teams",
		HooksURL:         u + "/hooks",
		IssueEventsURL:   u + "/issues/events{/number}",
		EventsURL:        u + "/events",
		AssigneesURL:     u + "/assignees{/user}",
		BranchesURL:      u + "/branches{/branch}",
		TagsURL:          u + "/tags",
		BlobsURL:         u + "/git/blobs{/sha}",
		GitTagsURL:       u + "/git/tags{/sha}",
		GitRefsURL:       u + "/git/refs{/sha}",
		TreesURL:         u + "/git/trees{/sha}",
		StatusesURL:      u + "/statuses/{sha}",
		LanguagesURL:     u + "/languages",
		StargazersURL:    u + "/stargazers",
		ContributorsURL:  u + "/contributors",
		SubscribersURL:   u + "/subscribers",
		SubscriptionURL:  u + "/subscription",
		CommitsURL:       u + "/commits{/sha}",
		GitCommitsURL:    u + "/git/commits{/sha}",
		CommentsURL:      u + "/comments{/number}",
		IssueCommentURL:  u + "/issues/comments{/number}",
		ContentsURL:      u + "/contents/{+path}",
		CompareURL:       u + "/compare/{base}...{head}",
		MergesURL:        u + "/merges",
		ArchiveURL:       u + "/{archive_format}{/ref}",
		DownloadsURL:     u + "/downloads",
		IssuesURL:        u + "/issues{/number}",
		PullsURL:         u + "/pulls{/number}",
		MilestonesURL:    u + "/milestones{/number}",
		NotificationsURL: u + "/notifications{?since,all,participating}",
		LabelsURL:        u + "/labels{/name}",
		ReleasesURL:      u + "/releases{/id}",
		DeploymentsURL:   u + "/deployments",
		CreatedAt:        timestamp(r.CreatedAt),
		UpdatedAt:        timestamp(r.UpdatedAt),
		PushedAt:         timestamp(r.UpdatedAt),
		HasIssues:        true,
		HasProjects:      true,
		HasWiki:          true,
		Visibility:       string(r.Visibility),
		Topics:           []string{},
		DefaultBranch:    "main",
	}
	if version == Version20221128 {
		t := true
		m.HasDownloads = &t
	}
	return m
}

// packageJSON is GitHub's package.
type packageJSON struct {
	ID           int64              `json:"id"`
	Name         string             `json:"name"`
	PackageType  string             `json:"package_type"`
	Owner        *simpleUser        `json:"owner,omitempty"`
	VersionCount int                `json:"version_count"`
	Visibility   string             `json:"visibility"`
	URL          string             `json:"url"`
	CreatedAt    string             `json:"created_at"`
	UpdatedAt    string             `json:"updated_at"`
	Repository   *minimalRepository `json:"repository,omitempty"`
	HTMLURL      string             `json:"html_url"`
}

// packageURLs are the URLs of one package, shared by its versions.
type packageURLs struct {
	api  string // .../api/v3/{orgs|users}/LOGIN/packages/TYPE/NAME
	html string // the package's web page
	// versionHTML returns a version's web page.
	versionHTML func(v *packages.VersionInfo) string
}

// packageURLs follow GitHub's: a package of a user is always under
// /users/LOGIN, even when fetched through /user; a package linked to a
// repository in a repository-style registry lives on the repository's
// page, anything else on the owner's.
func (l links) packageURLs(pi *packages.PackageInfo, spec *packages.Spec) packageURLs {
	ns := "users"
	if pi.Owner.Type == packages.OrgOwner {
		ns = "orgs"
	}
	name := url.PathEscape(pi.Name)
	typ := string(pi.Type)
	pu := packageURLs{api: l.api + "/" + ns + "/" + pi.Owner.Login + "/packages/" + typ + "/" + name}
	if pi.Repository != nil && pi.RepositoryOwner != nil && !spec.PageOnOwner {
		pu.html = l.html + "/" + pi.RepositoryOwner.Login + "/" + pi.Repository.Name + "/packages/" + strconv.FormatInt(pi.ID, 10)
		pu.versionHTML = func(v *packages.VersionInfo) string {
			return pu.html + "?version=" + url.QueryEscape(v.Name)
		}
		return pu
	}
	pu.html = l.html + "/" + ns + "/" + pi.Owner.Login + "/packages/" + typ + "/package/" + name
	pu.versionHTML = func(v *packages.VersionInfo) string {
		return l.html + "/" + ns + "/" + pi.Owner.Login + "/packages/" + typ + "/" + name + "/" + strconv.FormatInt(v.ID, 10)
	}
	return pu
}

// spec returns the spec of a package's type. Packages of a type the
// service does not know never reach here (the service refuses to create
// them), but a zero spec renders them with GitHub's defaults.
func (c *call) spec(t packages.Type) *packages.Spec {
	if sp, ok := c.s.svc.Spec(t); ok {
		return sp
	}
	return &packages.Spec{Type: t}
}

func (c *call) packageJSON(pi *packages.PackageInfo) *packageJSON {
	l := c.links()
	pu := l.packageURLs(pi, c.spec(pi.Type))
	p := &packageJSON{
		ID:           pi.ID,
		Name:         pi.Name,
		PackageType:  string(pi.Type),
		Owner:        l.simpleUser(pi.Owner),
		VersionCount: pi.VersionCount,
		// GitHub's schema lists public and private only, but internal
		// packages are reported as "internal", as go-github documents.
		Visibility: string(pi.Visibility),
		URL:        pu.api,
		CreatedAt:  timestamp(pi.CreatedAt),
		UpdatedAt:  timestamp(pi.UpdatedAt),
		HTMLURL:    pu.html,
	}
	if pi.Repository != nil && pi.RepositoryOwner != nil {
		p.Repository = l.repository(pi.Repository, pi.RepositoryOwner, c.version)
	}
	return p
}

// versionJSON is GitHub's package-version.
type versionJSON struct {
	ID             int64           `json:"id"`
	Name           string          `json:"name"`
	URL            string          `json:"url"`
	PackageHTMLURL string          `json:"package_html_url"`
	License        string          `json:"license,omitempty"`
	CreatedAt      string          `json:"created_at"`
	UpdatedAt      string          `json:"updated_at"`
	DeletedAt      string          `json:"deleted_at,omitempty"`
	Description    string          `json:"description,omitempty"`
	HTMLURL        string          `json:"html_url"`
	Metadata       versionMetadata `json:"metadata"`
}

// versionMetadata is a version's metadata: its package type, and the
// type's own part under a key of the type's choosing, as its spec renders
// it ({"package_type":"container","container":{"tags":[…]}}).
type versionMetadata struct {
	PackageType string
	Key         string
	Value       any
}

func (m versionMetadata) MarshalJSON() ([]byte, error) {
	typ, err := json.Marshal(m.PackageType)
	if err != nil {
		return nil, err
	}
	out := append([]byte(`{"package_type":`), typ...)
	if m.Key != "" {
		key, err := json.Marshal(m.Key)
		if err != nil {
			return nil, err
		}
		val, err := json.Marshal(m.Value)
		if err != nil {
			return nil, err
		}
		out = append(append(append(append(out, ','), key...), ':'), val...)
	}
	return append(out, '}'), nil
}

func versionJSONOf(pi *packages.PackageInfo, spec *packages.Spec, pu packageURLs, v *packages.VersionInfo) *versionJSON {
	out := &versionJSON{
		ID:             v.ID,
		Name:           v.Name,
		URL:            pu.api + "/versions/" + strconv.FormatInt(v.ID, 10),
		PackageHTMLURL: pu.html,
		License:        v.License,
		CreatedAt:      timestamp(v.CreatedAt),
		UpdatedAt:      timestamp(v.UpdatedAt),
		Description:    v.Description,
		HTMLURL:        pu.versionHTML(v),
		Metadata:       versionMetadata{PackageType: string(pi.Type)},
	}
	if v.DeletedAt != nil {
		out.DeletedAt = timestamp(*v.DeletedAt)
	}
	if spec.Metadata != nil {
		out.Metadata.Key, out.Metadata.Value = spec.Metadata(v)
	}
	return out
}

func (c *call) versionsJSON(pi *packages.PackageInfo, vs []packages.VersionInfo) []*versionJSON {
	spec := c.spec(pi.Type)
	pu := c.links().packageURLs(pi, spec)
	out := make([]*versionJSON, 0, len(vs))
	for i := range vs {
		out = append(out, versionJSONOf(pi, spec, pu, &vs[i]))
	}
	return out
}

// rootJSON is GitHub's root (GET /): the URL templates of the API.
func (c *call) rootJSON() map[string]string {
	a := c.links().api
	return map[string]string{
		"current_user_url":                     a + "/user",
		"current_user_authorizations_html_url": c.links().html + "/settings/connections/applications{/client_id}",
		"authorizations_url":                   a + "/authorizations",
		"code_search_url":                      a + "/search/code?q={query}{&page,per_page,sort,order}",
		"commit_search_url":                    a + "/search/commits?q={query}{&page,per_page,sort,order}",
		"emails_url":                           a + "/user/emails",
		"emojis_url":                           a + "/emojis",
		"events_url":                           a + "/events",
		"feeds_url":                            a + "/feeds",
		"followers_url":                        a + "/user/followers",
		"following_url":                        a + "/user/following{/target}",
		"gists_url":                            a + "/gists{/gist_id}",
		"hub_url":                              a + "/hub",
		"issue_search_url":                     a + "/search/issues?q={query}{&page,per_page,sort,order}",
		"issues_url":                           a + "/issues",
		"keys_url":                             a + "/user/keys",
		"label_search_url":                     a + "/search/labels?q={query}&repository_id={repository_id}{&page,per_page}",
		"notifications_url":                    a + "/notifications",
		"organization_url":                     a + "/orgs/{org}",
		"organization_repositories_url":        a + "/orgs/{org}/repos{?type,page,per_page,sort}",
		"organization_teams_url":               a + "/orgs/{org}/teams",
		"public_gists_url":                     a + "/gists/public",
		"rate_limit_url":                       a + "/rate_limit",
		"repository_url":                       a + "/repos/{owner}/{repo}",
		"repository_search_url":                a + "/search/repositories?q={query}{&page,per_page,sort,order}",
		"current_user_repositories_url":        a + "/user/repos{?type,page,per_page,sort}",
		"starred_url":                          a + "/user/starred{/owner}{/repo}",
		"starred_gists_url":                    a + "/gists/starred",
		"topic_search_url":                     a + "/search/topics?q={query}{&page,per_page}",
		"user_url":                             a + "/users/{user}",
		"user_organizations_url":               a + "/user/orgs",
		"user_repositories_url":                a + "/users/{user}/repos{?type,page,per_page,sort}",
		"user_search_url":                      a + "/search/users?q={query}{&page,per_page,sort,order}",
	}
}
