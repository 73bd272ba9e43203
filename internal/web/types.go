package web

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html/template"
	"net/url"
	"strings"

	"github.com/packhub/packhub/internal/packages"
)

// What the pages show differently from one package type to another: its
// label, the install instructions its clients take, and where its README
// is kept. The table is the only place the pages tell types apart; a type
// without an entry gets a page without install instructions.
type typeView struct {
	label string
	// install returns the instructions for installing one version.
	install func(in installInput) []snippet
	// readme says where a version keeps its README (Markdown).
	readme readmeSource
	// metaDescription reads a description a version's metadata keeps
	// when Version.Description is empty (container annotations).
	metaDescription func(meta json.RawMessage) string
}

// readmeSource is where a type keeps a version's README.
type readmeSource struct {
	// fromMetadata reads it from the version's metadata.
	fromMetadata func(meta json.RawMessage) string
	// file names the version's file that holds it.
	file string
}

var typeViews = map[packages.Type]typeView{
	packages.TypeContainer: {label: "Container", install: containerInstall, metaDescription: ociDescription},
	packages.TypeDocker:    {label: "Docker", install: dockerInstall, metaDescription: ociDescription},
	packages.TypeNpm:       {label: "npm", install: npmInstall, readme: readmeSource{fromMetadata: npmReadme}},
	packages.TypeMaven:     {label: "Maven", install: mavenInstall},
	packages.TypeRubyGems:  {label: "RubyGems", install: gemInstall, readme: readmeSource{fromMetadata: gemReadme}},
	packages.TypeNuGet:     {label: "NuGet", install: nugetInstall, readme: readmeSource{file: "readme"}},
}

func viewOf(t packages.Type) typeView {
	if tv, ok := typeViews[t]; ok {
		return tv
	}
	return typeView{label: string(t)}
}

// installInput is what install instructions are made of.
type installInput struct {
	BaseURL string // the server's external URL, no trailing slash
	Host    string // BaseURL's host[:port]
	// DockerHost is the docker listener's host[:port], "" when off.
	DockerHost string
	Owner      string
	Name       string
	Version    string
	Tag        string // a tag of the version, "" when it has none
	// Repository is the linked repository's "OWNER/NAME", "" when none.
	Repository string
	// FileNames are the names of the version's files.
	FileNames []string
	// Private: the package is not public, so its clients need a token.
	Private bool
}

// snippet is one block of install instructions.
type snippet struct {
	ID    string // the element id, for the copy button
	Title string
	Note  template.HTML // trusted text written here, never user input
	Text  string
}

// tokenNote tells where the token goes.
const tokenNote = template.HTML(`Set <code>PACKHUB_TOKEN</code> to a personal access token with <code>read:packages</code>.`)

func containerInstall(in installInput) []snippet {
	return pullInstall(in.Host, in.Host+"/"+strings.ToLower(in.Owner)+"/"+in.Name, in)
}

// dockerInstall names the image OWNER/REPO/IMAGE on the docker listener.
func dockerInstall(in installInput) []snippet {
	if in.DockerHost == "" || in.Repository == "" {
		return nil
	}
	return pullInstall(in.DockerHost, in.DockerHost+"/"+strings.ToLower(in.Repository)+"/"+in.Name, in)
}

func pullInstall(host, ref string, in installInput) []snippet {
	if in.Tag != "" {
		ref += ":" + in.Tag
	} else {
		ref += "@" + in.Version
	}
	var out []snippet
	if in.Private {
		out = append(out, snippet{ID: "install-login", Title: "Sign in", Note: tokenNote,
			Text: fmt.Sprintf("echo \"$PACKHUB_TOKEN\" | docker login %s -u USERNAME --password-stdin", host)})
	}
	return append(out, snippet{ID: "install-pull", Title: "Pull the image", Text: "docker pull " + ref})
}

func npmInstall(in installInput) []snippet {
	scope := strings.ToLower(in.Owner)
	rc := fmt.Sprintf("@%s:registry=%s/npm/\n", scope, in.BaseURL)
	if in.Private {
		rc += fmt.Sprintf("//%s/npm/:_authToken=${PACKHUB_TOKEN}\n", in.Host)
	}
	s := []snippet{{ID: "install-npmrc", Title: ".npmrc", Text: rc}}
	if in.Private {
		s[0].Note = tokenNote
	}
	return append(s, snippet{ID: "install-npm", Title: "Install", Text: fmt.Sprintf("npm install @%s/%s@%s", scope, in.Name, in.Version)})
}

// mavenCoordinates splits a Maven package's name, GROUP.ARTIFACT, using
// the version's file names (ARTIFACT-VERSION...) to find where the
// artifact id starts: both may contain dots.
func mavenCoordinates(name string, files []string) (group, artifact string) {
	for i := 0; i < len(name); i++ {
		if name[i] != '.' {
			continue
		}
		cand := name[i+1:]
		for _, f := range files {
			if strings.HasPrefix(f, cand+"-") {
				return name[:i], cand
			}
		}
	}
	if i := strings.LastIndexByte(name, '.'); i > 0 {
		return name[:i], name[i+1:]
	}
	return name, name
}

func mavenInstall(in installInput) []snippet {
	if in.Repository == "" {
		return nil
	}
	group, artifact := mavenCoordinates(in.Name, in.FileNames)
	repoURL := in.BaseURL + "/maven/" + in.Repository + "/"
	out := []snippet{
		{ID: "install-dependency", Title: "pom.xml: dependency", Text: fmt.Sprintf(
			"<dependency>\n  <groupId>%s</groupId>\n  <artifactId>%s</artifactId>\n  <version>%s</version>\n</dependency>\n",
			xmlText(group), xmlText(artifact), xmlText(in.Version))},
		{ID: "install-repository", Title: "pom.xml: repository", Text: fmt.Sprintf(
			"<repositories>\n  <repository>\n    <id>packhub</id>\n    <url>%s</url>\n  </repository>\n</repositories>\n", xmlText(repoURL))},
	}
	if in.Private {
		out = append(out, snippet{ID: "install-settings", Title: "settings.xml: credentials", Note: tokenNote, Text: "<settings>\n  <servers>\n    <server>\n      <id>packhub</id>\n      <username>USERNAME</username>\n      <password>${env.PACKHUB_TOKEN}</password>\n    </server>\n  </servers>\n</settings>\n"})
	}
	return out
}

func gemInstall(in installInput) []snippet {
	source := in.BaseURL + "/rubygems/" + in.Owner + "/"
	gemSource := source
	if in.Private {
		if u, err := url.Parse(source); err == nil {
			gemSource = u.Scheme + "://USERNAME:${PACKHUB_TOKEN}@" + u.Host + u.Path
		}
	}
	s := []snippet{
		{ID: "install-gem", Title: "Install", Text: fmt.Sprintf("gem install %s --version %s --clear-sources --source \"%s\"", in.Name, in.Version, gemSource)},
		{ID: "install-gemfile", Title: "Gemfile", Text: fmt.Sprintf("source \"%s\" do\n  gem \"%s\", \"%s\"\nend\n", source, in.Name, in.Version)},
	}
	if in.Private {
		s[0].Note = tokenNote
		s = append(s, snippet{ID: "install-bundler", Title: "Bundler credentials", Note: tokenNote,
			Text: fmt.Sprintf("bundle config set --global %s \"USERNAME:$PACKHUB_TOKEN\"", source)})
	}
	return s
}

func nugetInstall(in installInput) []snippet {
	feed := in.BaseURL + "/nuget/" + in.Owner + "/index.json"
	cfg := "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<configuration>\n  <packageSources>\n    <clear />\n" +
		fmt.Sprintf("    <add key=\"packhub\" value=\"%s\" />\n  </packageSources>\n", xmlText(feed))
	if in.Private {
		cfg += "  <packageSourceCredentials>\n    <packhub>\n      <add key=\"Username\" value=\"USERNAME\" />\n" +
			"      <add key=\"ClearTextPassword\" value=\"%PACKHUB_TOKEN%\" />\n    </packhub>\n  </packageSourceCredentials>\n"
	}
	cfg += "</configuration>\n"
	s := []snippet{
		{ID: "install-dotnet", Title: "Install", Text: fmt.Sprintf("dotnet add package %s --version %s", in.Name, in.Version)},
		{ID: "install-nugetconfig", Title: "nuget.config", Text: cfg},
	}
	if in.Private {
		s[1].Note = tokenNote
	}
	return s
}

func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func npmReadme(meta json.RawMessage) string {
	var m struct {
		Readme string `json:"readme"`
	}
	if json.Unmarshal(meta, &m) != nil {
		return ""
	}
	return m.Readme
}

// gemReadme is a gem's long description, which is what a gem shows as
// its README: the gem keeps no other.
func gemReadme(meta json.RawMessage) string {
	var m struct {
		Gems []struct {
			Description string `json:"description"`
		} `json:"gems"`
	}
	if json.Unmarshal(meta, &m) != nil {
		return ""
	}
	for _, g := range m.Gems {
		if g.Description != "" {
			return g.Description
		}
	}
	return ""
}

// ociMetadata is what the OCI registry keeps with a manifest (see
// internal/registry/oci VersionMetadata).
type ociMetadata struct {
	MediaType    string            `json:"media_type"`
	Size         int64             `json:"size"`
	ArtifactType string            `json:"artifact_type"`
	Annotations  map[string]string `json:"annotations"`
	Manifests    []string          `json:"manifests"`
}

func parseOCIMetadata(meta json.RawMessage) ociMetadata {
	var m ociMetadata
	_ = json.Unmarshal(meta, &m)
	return m
}

func ociDescription(meta json.RawMessage) string {
	return parseOCIMetadata(meta).Annotations["org.opencontainers.image.description"]
}
