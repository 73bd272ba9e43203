package nuget

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/packhub/packhub/internal/packages"
)

// The legacy gallery: as much of NuGet's v2 OData feed as `nuget list`
// needs (NuGet.exe lists a v3 source only through it). Search() runs the
// same search as the v3 search resource.

const (
	pathLegacy = "/api/v2" // the LegacyGallery/2.0.0 resource
	atomNS     = "http://www.w3.org/2005/Atom"
	dataNS     = "http://schemas.microsoft.com/ado/2007/08/dataservices"
	metaNS     = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"
)

// legacyServiceDocument serves the v2 feed's service document: NuGet
// reads only that it answers.
func (h *handler) legacyServiceDocument(w http.ResponseWriter, r *http.Request, f feed) error {
	base := f.base + pathLegacy
	doc := `<?xml version="1.0" encoding="utf-8"?>
<service xml:base="` + xmlEscape(base) + `" xmlns="http://www.w3.org/2007/app" xmlns:atom="http://www.w3.org/2005/Atom">
  <workspace><atom:title>Default</atom:title><collection href="Packages"><atom:title>Packages</atom:title></collection></workspace>
</service>
`
	return writeXML(w, r, []byte(doc))
}

// legacyMetadata serves the v2 feed's metadata document, which tells
// NuGet that the feed has Search() and IsAbsoluteLatestVersion.
func (h *handler) legacyMetadata(w http.ResponseWriter, r *http.Request) error {
	doc := `<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="1.0" xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx">
  <edmx:DataServices m:DataServiceVersion="2.0" xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata">
    <Schema Namespace="NuGetGallery.OData" xmlns="http://schemas.microsoft.com/ado/2006/04/edm">
      <EntityType Name="V2FeedPackage" m:HasStream="true">
        <Key><PropertyRef Name="Id" /><PropertyRef Name="Version" /></Key>
        <Property Name="Id" Type="Edm.String" Nullable="false" />
        <Property Name="Version" Type="Edm.String" Nullable="false" />
        <Property Name="NormalizedVersion" Type="Edm.String" />
        <Property Name="Title" Type="Edm.String" />
        <Property Name="Authors" Type="Edm.String" />
        <Property Name="Description" Type="Edm.String" />
        <Property Name="Summary" Type="Edm.String" />
        <Property Name="Tags" Type="Edm.String" />
        <Property Name="Dependencies" Type="Edm.String" />
        <Property Name="DownloadCount" Type="Edm.Int32" Nullable="false" />
        <Property Name="VersionDownloadCount" Type="Edm.Int32" Nullable="false" />
        <Property Name="IsLatestVersion" Type="Edm.Boolean" Nullable="false" />
        <Property Name="IsAbsoluteLatestVersion" Type="Edm.Boolean" Nullable="false" />
        <Property Name="IsPrerelease" Type="Edm.Boolean" Nullable="false" />
        <Property Name="Listed" Type="Edm.Boolean" Nullable="false" />
        <Property Name="Published" Type="Edm.DateTime" Nullable="false" />
      </EntityType>
      <EntityContainer Name="V2FeedContext" m:IsDefaultEntityContainer="true">
        <EntitySet Name="Packages" EntityType="NuGetGallery.OData.V2FeedPackage" />
        <FunctionImport Name="Search" ReturnType="Collection(NuGetGallery.OData.V2FeedPackage)" EntitySet="Packages">
          <Parameter Name="searchTerm" Type="Edm.String" FixedLength="false" Unicode="false" />
          <Parameter Name="targetFramework" Type="Edm.String" FixedLength="false" Unicode="false" />
          <Parameter Name="includePrerelease" Type="Edm.Boolean" Nullable="false" />
        </FunctionImport>
      </EntityContainer>
    </Schema>
  </edmx:DataServices>
</edmx:Edmx>
`
	return writeXMLAs(w, r, "application/xml; charset=utf-8", []byte(doc))
}

func xmlEscape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func writeXML(w http.ResponseWriter, r *http.Request, body []byte) error {
	return writeXMLAs(w, r, "application/atom+xml; charset=utf-8", body)
}

func writeXMLAs(w http.ResponseWriter, r *http.Request, contentType string, body []byte) error {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
	return nil
}

// odataString unquotes an OData string literal ('it”s' is it's).
func odataString(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'' {
		s = strings.ReplaceAll(s[1:len(s)-1], "''", "'")
	}
	return s
}

// xmlWriter writes the feed's XML: elements with escaped text.
type xmlWriter struct{ strings.Builder }

func (x *xmlWriter) elem(name, text string) {
	x.WriteString("<" + name + ">" + xmlEscape(text) + "</" + name + ">")
}

// typed writes an OData property of an Edm type.
func (x *xmlWriter) typed(name, typ, value string) {
	x.WriteString("<d:" + name + ` m:type="` + typ + `">` + xmlEscape(value) + "</d:" + name + ">")
}

func edmTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000") }

// v2Dependencies writes dependencies as the v2 feed does:
// id:range:framework, separated by '|'.
func v2Dependencies(m *Manifest) string {
	var parts []string
	for _, g := range m.DependencyGroups {
		if len(g.Dependencies) == 0 {
			parts = append(parts, "::"+g.TargetFramework)
		}
		for _, d := range g.Dependencies {
			parts = append(parts, d.ID+":"+d.Range+":"+g.TargetFramework)
		}
	}
	return strings.Join(parts, "|")
}

// legacySearch serves Search(): searchTerm, $filter (IsLatestVersion or
// IsAbsoluteLatestVersion: one entry per package; none: every version),
// includePrerelease, semVerLevel, $skip and $top.
func (h *handler) legacySearch(w http.ResponseWriter, r *http.Request, a *packages.Actor, f feed) error {
	if err := requireCredentials(a); err != nil {
		return err
	}
	q := r.URL.Query()
	sq := searchQuery{take: 30}
	for _, t := range strings.Fields(odataString(q.Get("searchTerm"))) {
		sq.terms = append(sq.terms, strings.ToLower(t))
	}
	sq.prerelease, _ = strconv.ParseBool(q.Get("includePrerelease"))
	if lvl := q.Get("semVerLevel"); lvl != "" {
		if v, err := strconv.Atoi(strings.SplitN(lvl, ".", 2)[0]); err == nil && v >= 2 {
			sq.semVer2 = true
		}
	}
	filter := strings.TrimSpace(q.Get("$filter"))
	switch filter {
	case "", "IsLatestVersion", "IsAbsoluteLatestVersion":
	default:
		return packages.Errorf(packages.KindInvalid, "The filter %q is not supported: use IsLatestVersion or IsAbsoluteLatestVersion.", filter)
	}
	if filter == "IsLatestVersion" {
		sq.prerelease = false
	}
	skip, _ := strconv.Atoi(q.Get("$skip"))
	top, err := strconv.Atoi(q.Get("$top"))
	if err != nil || top < 0 {
		top = 30
	}
	skip, top = min(max(skip, 0), maxSkip), min(top, maxTake)
	hits, err := h.find(r, a, f, sq)
	if err != nil {
		return err
	}
	type item struct {
		ht             *hit
		v              *feedVersion
		latest, stable bool
	}
	var items []item
	for i := range hits {
		ht := &hits[i]
		latest := ht.versions[len(ht.versions)-1]
		var stable *feedVersion
		for _, v := range ht.versions {
			if !v.m.Prerelease() {
				stable = v
			}
		}
		if filter != "" {
			items = append(items, item{ht: ht, v: latest, latest: true, stable: latest == stable})
			continue
		}
		for _, v := range ht.versions {
			items = append(items, item{ht: ht, v: v, latest: v == latest, stable: v == stable})
		}
	}
	base := f.base + pathLegacy
	var x xmlWriter
	x.WriteString(xml.Header)
	x.WriteString(`<feed xml:base="` + xmlEscape(base) + `" xmlns="` + atomNS + `" xmlns:d="` + dataNS + `" xmlns:m="` + metaNS + `">`)
	x.elem("id", base+"/Search")
	x.WriteString(`<title type="text">Search</title>`)
	x.elem("updated", time.Now().UTC().Format(time.RFC3339))
	for _, it := range page(items, skip, top) {
		m, v := it.v.m, it.v
		u := urls{base: f.base, id: strings.ToLower(it.ht.doc.pkg.Name)}
		var total int64
		for _, o := range it.ht.doc.versions {
			total += o.downloads
		}
		x.WriteString("<entry>")
		x.elem("id", fmt.Sprintf("%s/Packages(Id='%s',Version='%s')", base, m.ID, m.Version))
		x.WriteString(`<category term="NuGetGallery.OData.V2FeedPackage" scheme="http://schemas.microsoft.com/ado/2007/08/dataservices/scheme" />`)
		x.WriteString(`<title type="text">` + xmlEscape(m.ID) + `</title>`)
		x.WriteString(`<summary type="text">` + xmlEscape(m.Summary) + `</summary>`)
		x.elem("updated", v.published.UTC().Format(time.RFC3339))
		x.WriteString("<author>")
		for _, name := range splitList(m.Authors) {
			x.elem("name", name)
		}
		x.WriteString("</author>")
		x.WriteString(`<content type="application/zip" src="` + xmlEscape(u.content(v.name)) + `" />`)
		x.WriteString("<m:properties>")
		for _, p := range [][2]string{{"Id", m.ID}, {"Version", m.Version}, {"NormalizedVersion", m.Version}, {"Title", m.Title},
			{"Authors", m.Authors}, {"Description", m.Description}, {"Summary", m.Summary}, {"Tags", strings.Join(m.Tags, " ")},
			{"ProjectUrl", m.ProjectURL}, {"IconUrl", m.IconURL}, {"LicenseUrl", m.LicenseURL}, {"Dependencies", v2Dependencies(m)}} {
			x.elem("d:"+p[0], p[1])
		}
		x.typed("DownloadCount", "Edm.Int32", strconv.FormatInt(total, 10))
		x.typed("VersionDownloadCount", "Edm.Int32", strconv.FormatInt(v.downloads, 10))
		x.typed("IsLatestVersion", "Edm.Boolean", strconv.FormatBool(it.stable))
		x.typed("IsAbsoluteLatestVersion", "Edm.Boolean", strconv.FormatBool(it.latest))
		x.typed("IsPrerelease", "Edm.Boolean", strconv.FormatBool(m.Prerelease()))
		x.typed("Listed", "Edm.Boolean", "true")
		x.typed("RequireLicenseAcceptance", "Edm.Boolean", strconv.FormatBool(m.RequireLicenseAcceptance))
		for _, name := range []string{"Published", "Created", "LastUpdated"} {
			x.typed(name, "Edm.DateTime", edmTime(v.published))
		}
		x.WriteString("</m:properties></entry>")
	}
	x.WriteString("</feed>\n")
	return writeXML(w, r, []byte(x.String()))
}
