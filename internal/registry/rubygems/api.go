package rubygems

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/packhub/packhub/internal/packages"
)

// rubygems.org's JSON API for one gem: api/v1/gems/NAME.json (the latest
// version) and api/v1/versions/NAME.json (every version). They show live
// download counts, so they are rendered from the versions on each request.

// versionSpec is one platform gem of an active version.
type versionSpec struct {
	v    *packages.VersionInfo
	spec *gemSpec
}

// activeSpecs reads the platform gems of a gem's active versions, newest
// version first.
func (h *handler) activeSpecs(q *request, name string) (*packages.PackageInfo, []versionSpec, error) {
	if !validGemName(name) {
		return nil, nil, packages.ErrPackageNotFound
	}
	pi, vs, err := h.svc.ListAllVersions(q.r.Context(), q.a, gemRef(q.owner, name))
	if err != nil {
		return nil, nil, err
	}
	if pi.Name != name {
		return nil, nil, packages.ErrPackageNotFound
	}
	var out []versionSpec
	for i := range vs {
		m, err := decodeVersionMetadata(vs[i].Metadata)
		if err != nil {
			return nil, nil, err
		}
		for _, s := range m.Gems {
			out = append(out, versionSpec{v: &vs[i], spec: s})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if c := packages.CompareGemVersions(out[i].spec.Version, out[j].spec.Version); c != 0 {
			return c > 0
		}
		return out[i].spec.Platform < out[j].spec.Platform
	})
	return pi, out, nil
}

type depJSON struct {
	Name         string `json:"name"`
	Requirements string `json:"requirements"`
}

type gemJSON struct {
	Name             string            `json:"name"`
	Downloads        int64             `json:"downloads"`
	Version          string            `json:"version"`
	VersionCreatedAt string            `json:"version_created_at"`
	VersionDownloads int64             `json:"version_downloads"`
	Platform         string            `json:"platform"`
	Authors          string            `json:"authors"`
	Info             string            `json:"info"`
	Licenses         []string          `json:"licenses"`
	Metadata         map[string]string `json:"metadata"`
	Yanked           bool              `json:"yanked"`
	SHA              string            `json:"sha"`
	ProjectURI       string            `json:"project_uri"`
	GemURI           string            `json:"gem_uri"`
	HomepageURI      *string           `json:"homepage_uri"`
	WikiURI          *string           `json:"wiki_uri"`
	DocumentationURI *string           `json:"documentation_uri"`
	MailingListURI   *string           `json:"mailing_list_uri"`
	SourceCodeURI    *string           `json:"source_code_uri"`
	BugTrackerURI    *string           `json:"bug_tracker_uri"`
	ChangelogURI     *string           `json:"changelog_uri"`
	FundingURI       *string           `json:"funding_uri"`
	Dependencies     struct {
		Development []depJSON `json:"development"`
		Runtime     []depJSON `json:"runtime"`
	} `json:"dependencies"`
}

// rubyTime formats a time as rubygems.org's JSON does.
func rubyTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// gemJSON serves api/v1/gems/NAME.json: the latest release (the latest
// prerelease when there is none), its pure-Ruby gem when it has one.
func (h *handler) gemJSON(q *request, name string) error {
	pi, specs, err := h.activeSpecs(q, name)
	if err != nil {
		return err
	}
	if len(specs) == 0 {
		return packages.ErrVersionNotFound
	}
	latest := specs[0]
	for _, vs := range specs {
		if !packages.GemPrerelease(vs.spec.Version) {
			latest = vs
			break
		}
	}
	for _, vs := range specs {
		if vs.spec.Version == latest.spec.Version && vs.spec.Platform == rubyPlatform {
			latest = vs
		}
	}
	s := latest.spec
	base := h.baseURL(q.r) + Prefix + "/" + url.PathEscape(pi.Owner.Login)
	out := gemJSON{
		Name:             s.Name,
		Downloads:        pi.DownloadCount,
		Version:          s.Version,
		VersionCreatedAt: rubyTime(latest.v.CreatedAt),
		VersionDownloads: latest.v.DownloadCount,
		Platform:         s.Platform,
		Authors:          strings.Join(s.Authors, ", "),
		Info:             firstOf(s.Description, s.Summary),
		Licenses:         nonNil(s.Licenses),
		Metadata:         nonNilMap(s.Metadata),
		SHA:              s.SHA256,
		ProjectURI:       base + "/api/v1/gems/" + url.PathEscape(s.Name) + ".json",
		GemURI:           base + "/gems/" + url.PathEscape(s.File),
		HomepageURI:      optional(s.Homepage),
		WikiURI:          optional(s.Metadata["wiki_uri"]),
		DocumentationURI: optional(s.Metadata["documentation_uri"]),
		MailingListURI:   optional(s.Metadata["mailing_list_uri"]),
		SourceCodeURI:    optional(s.Metadata["source_code_uri"]),
		BugTrackerURI:    optional(s.Metadata["bug_tracker_uri"]),
		ChangelogURI:     optional(s.Metadata["changelog_uri"]),
		FundingURI:       optional(s.Metadata["funding_uri"]),
	}
	out.Dependencies.Development, out.Dependencies.Runtime = []depJSON{}, []depJSON{}
	for _, d := range s.Dependencies {
		j := depJSON{Name: d.Name, Requirements: requirementString(d.Requirements)}
		if d.Type == "development" {
			out.Dependencies.Development = append(out.Dependencies.Development, j)
		} else {
			out.Dependencies.Runtime = append(out.Dependencies.Runtime, j)
		}
	}
	return writeJSON(q.w, http.StatusOK, out)
}

type versionJSON struct {
	Authors         string            `json:"authors"`
	BuiltAt         string            `json:"built_at"`
	CreatedAt       string            `json:"created_at"`
	Description     string            `json:"description"`
	DownloadsCount  int64             `json:"downloads_count"`
	Metadata        map[string]string `json:"metadata"`
	Number          string            `json:"number"`
	Summary         string            `json:"summary"`
	Platform        string            `json:"platform"`
	RubyGemsVersion string            `json:"rubygems_version"`
	RubyVersion     string            `json:"ruby_version"`
	Prerelease      bool              `json:"prerelease"`
	Licenses        []string          `json:"licenses"`
	Requirements    []string          `json:"requirements"`
	SHA             string            `json:"sha"`
}

// versionsJSON serves api/v1/versions/NAME.json: every platform gem of
// every active version, newest first.
func (h *handler) versionsJSON(q *request, name string) error {
	_, specs, err := h.activeSpecs(q, name)
	if err != nil {
		return err
	}
	out := make([]versionJSON, 0, len(specs))
	for _, vs := range specs {
		s := vs.spec
		out = append(out, versionJSON{
			Authors:         strings.Join(s.Authors, ", "),
			BuiltAt:         rubyTime(s.Date),
			CreatedAt:       rubyTime(vs.v.CreatedAt),
			Description:     s.Description,
			DownloadsCount:  vs.v.DownloadCount,
			Metadata:        nonNilMap(s.Metadata),
			Number:          s.Version,
			Summary:         s.Summary,
			Platform:        s.Platform,
			RubyGemsVersion: requirementString(orAny(s.RequiredRubyGems)),
			RubyVersion:     requirementString(orAny(s.RequiredRuby)),
			Prerelease:      packages.GemPrerelease(s.Version),
			Licenses:        nonNil(s.Licenses),
			Requirements:    []string{},
			SHA:             s.SHA256,
		})
	}
	return writeJSON(q.w, http.StatusOK, out)
}

func orAny(r [][2]string) [][2]string {
	if len(r) == 0 {
		return [][2]string{{">=", "0"}}
	}
	return r
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return writeRaw(w, status, "application/json; charset=utf-8", b)
}
