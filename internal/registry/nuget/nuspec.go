package nuget

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/packages/nugetver"
)

// Manifest is what Packhub keeps of a package's .nuspec: the version's
// metadata, stored as JSON with the version and rendered into the
// registration, catalog and search documents.
type Manifest struct {
	ID      string `json:"id"`
	Version string `json:"version"` // normalised, in the case the package wrote it
	// SemVer2 is set when the version or a dependency's range needs
	// SemVer 2.0.0, or the version had build metadata.
	SemVer2 bool `json:"semVer2,omitempty"`
	// OriginalVersion is the version as the .nuspec wrote it, when it
	// differs from Version.
	OriginalVersion          string            `json:"originalVersion,omitempty"`
	Title                    string            `json:"title,omitempty"`
	Authors                  string            `json:"authors,omitempty"`
	Owners                   string            `json:"owners,omitempty"`
	Description              string            `json:"description,omitempty"`
	Summary                  string            `json:"summary,omitempty"`
	ReleaseNotes             string            `json:"releaseNotes,omitempty"`
	Copyright                string            `json:"copyright,omitempty"`
	Language                 string            `json:"language,omitempty"`
	Tags                     []string          `json:"tags,omitempty"`
	ProjectURL               string            `json:"projectUrl,omitempty"`
	IconURL                  string            `json:"iconUrl,omitempty"`
	LicenseURL               string            `json:"licenseUrl,omitempty"`
	LicenseExpression        string            `json:"licenseExpression,omitempty"`
	LicenseFile              string            `json:"licenseFile,omitempty"`
	RequireLicenseAcceptance bool              `json:"requireLicenseAcceptance,omitempty"`
	MinClientVersion         string            `json:"minClientVersion,omitempty"`
	DevelopmentDependency    bool              `json:"developmentDependency,omitempty"`
	Readme                   string            `json:"readme,omitempty"` // path of the readme in the package
	Repository               *Repository       `json:"repository,omitempty"`
	PackageTypes             []PackageType     `json:"packageTypes,omitempty"`
	DependencyGroups         []DependencyGroup `json:"dependencyGroups,omitempty"`
}

// Repository is the .nuspec's <repository>.
type Repository struct {
	Type   string `json:"type,omitempty"`
	URL    string `json:"url,omitempty"`
	Branch string `json:"branch,omitempty"`
	Commit string `json:"commit,omitempty"`
}

// PackageType is one of the .nuspec's <packageType>s.
type PackageType struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

// DependencyGroup is the dependencies of one target framework ("" for
// every framework).
type DependencyGroup struct {
	TargetFramework string       `json:"targetFramework,omitempty"`
	Dependencies    []Dependency `json:"dependencies,omitempty"`
}

// Dependency is one dependency, with its range normalised.
type Dependency struct {
	ID    string `json:"id"`
	Range string `json:"range"`
}

// PackageTypeNames returns the package's types, Dependency when it names
// none.
func (m *Manifest) PackageTypeNames() []string {
	if len(m.PackageTypes) == 0 {
		return []string{"Dependency"}
	}
	out := make([]string, len(m.PackageTypes))
	for i, p := range m.PackageTypes {
		out[i] = p.Name
	}
	return out
}

// IsSymbolsPackage reports whether the manifest is a symbol package's.
func (m *Manifest) IsSymbolsPackage() bool {
	for _, p := range m.PackageTypes {
		if strings.EqualFold(p.Name, "SymbolsPackage") {
			return true
		}
	}
	return false
}

// Prerelease reports whether the version is a prerelease.
func (m *Manifest) Prerelease() bool { return strings.Contains(m.Version, "-") }

// The .nuspec as XML. Element names match whatever namespace the file
// declares (the schema has had several).
type nuspecXML struct {
	XMLName  xml.Name `xml:"package"`
	Metadata struct {
		MinClientVersion         string `xml:"minClientVersion,attr"`
		ID                       string `xml:"id"`
		Version                  string `xml:"version"`
		Title                    string `xml:"title"`
		Authors                  string `xml:"authors"`
		Owners                   string `xml:"owners"`
		Description              string `xml:"description"`
		Summary                  string `xml:"summary"`
		ReleaseNotes             string `xml:"releaseNotes"`
		Copyright                string `xml:"copyright"`
		Language                 string `xml:"language"`
		Tags                     string `xml:"tags"`
		ProjectURL               string `xml:"projectUrl"`
		IconURL                  string `xml:"iconUrl"`
		LicenseURL               string `xml:"licenseUrl"`
		RequireLicenseAcceptance string `xml:"requireLicenseAcceptance"`
		DevelopmentDependency    string `xml:"developmentDependency"`
		Readme                   string `xml:"readme"`
		License                  struct {
			Type  string `xml:"type,attr"`
			Value string `xml:",chardata"`
		} `xml:"license"`
		Repository struct {
			Type   string `xml:"type,attr"`
			URL    string `xml:"url,attr"`
			Branch string `xml:"branch,attr"`
			Commit string `xml:"commit,attr"`
		} `xml:"repository"`
		PackageTypes struct {
			PackageType []struct {
				Name    string `xml:"name,attr"`
				Version string `xml:"version,attr"`
			} `xml:"packageType"`
		} `xml:"packageTypes"`
		Dependencies struct {
			Dependency []dependencyXML `xml:"dependency"`
			Group      []struct {
				TargetFramework string          `xml:"targetFramework,attr"`
				Dependency      []dependencyXML `xml:"dependency"`
			} `xml:"group"`
		} `xml:"dependencies"`
	} `xml:"metadata"`
}

type dependencyXML struct {
	ID      string `xml:"id,attr"`
	Version string `xml:"version,attr"`
}

// Limits of a .nuspec.
const (
	maxNuspecSize     = 1 << 20
	maxIDLength       = 100
	maxDependencies   = 10000
	maxFieldLength    = 64 << 10
	maxDependencyGrps = 1000
)

// idPattern is NuGet's rule for package ids.
var idPattern = regexp.MustCompile(`^\w+([.-]\w+)*$`)

// ValidID reports whether id may name a NuGet package.
func ValidID(id string) bool { return len(id) <= maxIDLength && idPattern.MatchString(id) }

// nuspecErr is the error of a .nuspec that is not valid.
func nuspecErr(format string, args ...any) error {
	return packages.Errorf(packages.KindInvalid, "invalid .nuspec: %s", fmt.Sprintf(format, args...))
}

// ParseNuspec reads a .nuspec: its id and version must be valid, and so
// must every dependency's id and range. Whitespace around values is
// trimmed; tags are split on spaces, commas and semicolons.
func ParseNuspec(data []byte) (*Manifest, error) {
	if len(data) > maxNuspecSize {
		return nil, nuspecErr("larger than %d bytes", maxNuspecSize)
	}
	var x nuspecXML
	dec := xml.NewDecoder(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	dec.CharsetReader = func(charset string, in io.Reader) (io.Reader, error) {
		if strings.EqualFold(charset, "utf-8") || strings.EqualFold(charset, "us-ascii") {
			return in, nil
		}
		return nil, fmt.Errorf("encoding %q is not supported: use UTF-8", charset)
	}
	if err := dec.Decode(&x); err != nil {
		return nil, nuspecErr("not a valid package manifest: %v", err)
	}
	md := &x.Metadata
	m := &Manifest{
		ID:               strings.TrimSpace(md.ID),
		MinClientVersion: strings.TrimSpace(md.MinClientVersion),
		Title:            strings.TrimSpace(md.Title),
		Authors:          strings.TrimSpace(md.Authors),
		Owners:           strings.TrimSpace(md.Owners),
		Description:      strings.TrimSpace(md.Description),
		Summary:          strings.TrimSpace(md.Summary),
		ReleaseNotes:     strings.TrimSpace(md.ReleaseNotes),
		Copyright:        strings.TrimSpace(md.Copyright),
		Language:         strings.TrimSpace(md.Language),
		ProjectURL:       strings.TrimSpace(md.ProjectURL),
		IconURL:          strings.TrimSpace(md.IconURL),
		LicenseURL:       strings.TrimSpace(md.LicenseURL),
		Readme:           strings.TrimSpace(md.Readme),
	}
	if m.ID == "" {
		return nil, nuspecErr("the package has no id")
	}
	if !ValidID(m.ID) {
		return nil, nuspecErr("%q is not a valid package id: use letters, digits, '_', and single '.' or '-' between them, at most %d characters", m.ID, maxIDLength)
	}
	raw := strings.TrimSpace(md.Version)
	if raw == "" {
		return nil, nuspecErr("the package has no version")
	}
	v, err := nugetver.Parse(raw)
	if err != nil {
		return nil, nuspecErr("%q is not a valid version", raw)
	}
	m.Version = v.String()
	m.SemVer2 = v.IsSemVer2()
	if raw != m.Version {
		m.OriginalVersion = raw
	}
	for _, s := range []string{m.Title, m.Authors, m.Owners, m.Description, m.Summary, m.ReleaseNotes, m.Copyright, m.ProjectURL, m.IconURL, m.LicenseURL} {
		if len(s) > maxFieldLength {
			return nil, nuspecErr("a metadata field is longer than %d bytes", maxFieldLength)
		}
	}
	m.RequireLicenseAcceptance = strings.EqualFold(strings.TrimSpace(md.RequireLicenseAcceptance), "true")
	m.DevelopmentDependency = strings.EqualFold(strings.TrimSpace(md.DevelopmentDependency), "true")
	m.Tags = strings.FieldsFunc(md.Tags, func(r rune) bool { return r == ' ' || r == ',' || r == ';' || r == '\t' || r == '\n' || r == '\r' })
	switch lic := strings.TrimSpace(md.License.Value); strings.ToLower(strings.TrimSpace(md.License.Type)) {
	case "expression":
		m.LicenseExpression = lic
	case "file":
		m.LicenseFile = lic
	}
	if r := md.Repository; r.URL != "" || r.Type != "" {
		m.Repository = &Repository{Type: strings.TrimSpace(r.Type), URL: strings.TrimSpace(r.URL), Branch: strings.TrimSpace(r.Branch), Commit: strings.TrimSpace(r.Commit)}
	}
	for _, pt := range md.PackageTypes.PackageType {
		name := strings.TrimSpace(pt.Name)
		if name == "" {
			return nil, nuspecErr("a package type has no name")
		}
		m.PackageTypes = append(m.PackageTypes, PackageType{Name: name, Version: strings.TrimSpace(pt.Version)})
	}
	deps := md.Dependencies
	if len(deps.Group) > maxDependencyGrps {
		return nil, nuspecErr("more than %d dependency groups", maxDependencyGrps)
	}
	count := len(deps.Dependency)
	if len(deps.Dependency) > 0 {
		g, err := parseDependencyGroup("", deps.Dependency, m)
		if err != nil {
			return nil, err
		}
		m.DependencyGroups = append(m.DependencyGroups, g)
	}
	for _, grp := range deps.Group {
		count += len(grp.Dependency)
		if count > maxDependencies {
			return nil, nuspecErr("more than %d dependencies", maxDependencies)
		}
		g, err := parseDependencyGroup(strings.TrimSpace(grp.TargetFramework), grp.Dependency, m)
		if err != nil {
			return nil, err
		}
		m.DependencyGroups = append(m.DependencyGroups, g)
	}
	return m, nil
}

func parseDependencyGroup(framework string, deps []dependencyXML, m *Manifest) (DependencyGroup, error) {
	if len(deps) > maxDependencies {
		return DependencyGroup{}, nuspecErr("more than %d dependencies", maxDependencies)
	}
	g := DependencyGroup{TargetFramework: framework}
	for _, d := range deps {
		id := strings.TrimSpace(d.ID)
		if !ValidID(id) {
			return DependencyGroup{}, nuspecErr("dependency %q is not a valid package id", id)
		}
		r, err := nugetver.ParseRange(d.Version)
		if err != nil {
			return DependencyGroup{}, nuspecErr("the version range %q of dependency %s is not valid", d.Version, id)
		}
		if r.IsSemVer2() {
			m.SemVer2 = true
		}
		g.Dependencies = append(g.Dependencies, Dependency{ID: id, Range: r.String()})
	}
	return g, nil
}

// repositoryName returns the OWNER/REPO a repository URL names (the last
// two segments of its path, without .git), or "".
func repositoryName(m *Manifest) string {
	if m.Repository == nil || m.Repository.URL == "" {
		return ""
	}
	u, err := url.Parse(m.Repository.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "git" && u.Scheme != "ssh") {
		return ""
	}
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(segs) < 2 {
		return ""
	}
	owner, repo := segs[len(segs)-2], strings.TrimSuffix(segs[len(segs)-1], ".git")
	if owner == "" || repo == "" {
		return ""
	}
	return owner + "/" + repo
}
