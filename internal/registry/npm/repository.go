package npm

import (
	"encoding/json"
	"net/url"
	"strings"
)

// repositoryName returns "OWNER/REPO" from a package.json "repository"
// field, or "" when it names none. It accepts a string or an object with a
// "url", as a shorthand ("OWNER/REPO", "github:OWNER/REPO"), an scp-style
// git address ("git@HOST:OWNER/REPO.git") or a URL whose path is
// /OWNER/REPO, after basePath (the path of Packhub's base URL) when it
// starts with it. The packages service links the package only when that
// repository exists and belongs to the package's owner.
func repositoryName(raw json.RawMessage, basePath string) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		var obj struct {
			URL       string `json:"url"`
			Directory string `json:"directory"`
		}
		if err := json.Unmarshal(raw, &obj); err != nil {
			return ""
		}
		s = obj.URL
	}
	return parseRepositoryURL(s, basePath)
}

func parseRepositoryURL(s, basePath string) string {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 2048 {
		return ""
	}
	for _, p := range []string{"github:", "gitlab:", "bitbucket:"} {
		if strings.HasPrefix(s, p) {
			return ownerRepo(strings.TrimPrefix(s, p))
		}
	}
	s = strings.TrimPrefix(s, "git+")
	if !strings.Contains(s, "://") {
		// scp-like: git@host:owner/repo.git
		if at := strings.Index(s, "@"); at >= 0 {
			if _, rest, ok := strings.Cut(s[at+1:], ":"); ok {
				return ownerRepo(rest)
			}
			return ""
		}
		// Shorthand: owner/repo.
		return ownerRepo(s)
	}
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	p := u.Path
	if bp := strings.TrimSuffix(basePath, "/"); bp != "" && strings.HasPrefix(p, bp+"/") {
		p = strings.TrimPrefix(p, bp)
	}
	return ownerRepo(p)
}

// ownerRepo turns "owner/repo(.git)" (with optional slashes around) into
// "owner/repo", or "" when it is not that shape.
func ownerRepo(p string) string {
	p = strings.Trim(p, "/")
	p = strings.TrimSuffix(p, ".git")
	owner, repo, ok := strings.Cut(p, "/")
	if !ok || owner == "" || repo == "" || strings.Contains(repo, "/") {
		return ""
	}
	return owner + "/" + repo
}
