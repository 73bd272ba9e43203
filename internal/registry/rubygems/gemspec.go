package rubygems

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/packhub/packhub/internal/packages"
)

// A gem's metadata.gz is its Gem::Specification in YAML, with Ruby object
// tags (!ruby/object:Gem::Version and the like). It is read here as plain
// data: the tags a gemspec has are accepted and read as maps, nothing is
// instantiated, and any other tag, an alias or an anchor is refused.

// gemDep is one dependency of a gem.
type gemDep struct {
	Name         string      `json:"name"`
	Type         string      `json:"type"` // "runtime" or "development"
	Requirements [][2]string `json:"requirements"`
}

// gemSpec is what Packhub keeps of a gemspec: the facts its indexes and
// APIs serve, kept in the version's metadata (one per platform).
type gemSpec struct {
	Name                 string            `json:"name"`
	Version              string            `json:"version"`
	Platform             string            `json:"platform"`          // canonical, "ruby" for pure-Ruby gems
	OriginalPlatform     string            `json:"original_platform"` // as the gemspec wrote it
	Summary              string            `json:"summary,omitempty"`
	Description          string            `json:"description,omitempty"`
	Authors              []string          `json:"authors,omitempty"`
	Email                []string          `json:"email,omitempty"`
	Homepage             string            `json:"homepage,omitempty"`
	Licenses             []string          `json:"licenses,omitempty"`
	Metadata             map[string]string `json:"metadata,omitempty"`
	Dependencies         []gemDep          `json:"dependencies,omitempty"`
	RequiredRuby         [][2]string       `json:"required_ruby_version,omitempty"`
	RequiredRubyGems     [][2]string       `json:"required_rubygems_version,omitempty"`
	RubyGemsVersion      string            `json:"rubygems_version,omitempty"`
	SpecificationVersion int               `json:"specification_version,omitempty"`
	Date                 time.Time         `json:"date"`
	PostInstallMessage   string            `json:"post_install_message,omitempty"`
	// Of the .gem file, filled by the push.
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// fullName is NAME-VERSION, with -PLATFORM for platform gems: the name of
// the gem's file without .gem, as Gem::Specification#full_name.
func (s *gemSpec) fullName() string { return fullName(s.Name, s.Version, s.Platform) }

func fullName(name, version, plat string) string {
	if plat == "" || plat == rubyPlatform {
		return name + "-" + version
	}
	return name + "-" + version + "-" + plat
}

// Limits of the gemspec reader.
const (
	maxYAMLNodes       = 200000
	maxYAMLDepth       = 64
	maxStringLen       = 1 << 20
	maxDependencies    = 1000
	maxMetadataEntries = 100 // as rubygems.org's metadata rules allow
	maxMetadataKey     = 128
	maxMetadataValue   = 1024
)

// Tags a gemspec's YAML may carry; each is read as the plain data under it.
var allowedTags = map[string]bool{
	"!!str": true, "!!int": true, "!!float": true, "!!bool": true, "!!null": true,
	"!!timestamp": true, "!!binary": true, "!binary": true, "!!map": true, "!!seq": true,
	"!ruby/object:Gem::Specification":        true,
	"!ruby/object:Gem::Version":              true,
	"!ruby/object:Gem::Requirement":          true,
	"!ruby/object:Gem::Version::Requirement": true,
	"!ruby/object:Gem::Dependency":           true,
	"!ruby/object:Gem::Platform":             true,
}

// gemNamePattern is rubygems.org's rule for gem names.
var gemNamePattern = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// specError is a gemspec Packhub refuses.
func specError(format string, args ...any) error {
	return packages.Errorf(packages.KindInvalid, "The gem's specification is not valid: "+format, args...)
}

// parseGemspec reads a gemspec in YAML.
func parseGemspec(data []byte) (*gemSpec, error) {
	// Every node but the first follows one of these bytes, so their count
	// bounds the nodes the parser would build (and the memory it would
	// take) before it builds any.
	seps := 0
	for _, c := range data {
		switch c {
		case ',', '-', ':', '[', '{', '\n', '?', '*', '&', '!':
			seps++
		}
	}
	if seps > maxYAMLNodes {
		return nil, specError("it has more than %d YAML nodes", maxYAMLNodes)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, specError("it is empty")
		}
		return nil, specError("%s", yamlMessage(err))
	}
	var more yaml.Node
	if err := dec.Decode(&more); err != io.EOF {
		return nil, specError("it is not one YAML document")
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, specError("it is not one YAML document")
	}
	nodes := 0
	if err := checkYAML(doc.Content[0], 0, &nodes); err != nil {
		return nil, err
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode || root.Tag != "!ruby/object:Gem::Specification" {
		return nil, specError("it is not a Gem::Specification")
	}
	m := mapping(root)
	spec := &gemSpec{}
	var err error
	if spec.Name, err = scalar(m, "name"); err != nil {
		return nil, err
	}
	if !validGemName(spec.Name) {
		return nil, specError("%q is not a valid gem name", spec.Name)
	}
	raw, err := versionOf(m["version"])
	if err != nil {
		return nil, specError("version: %v", err)
	}
	if spec.Version, err = packages.NormalizeGemVersion(raw); err != nil {
		return nil, specError("%q is not a valid version", raw)
	}
	if spec.OriginalPlatform, err = platformOf(m["platform"]); err != nil {
		return nil, err
	}
	spec.Platform = canonicalPlatform(spec.OriginalPlatform)
	if spec.OriginalPlatform == "" {
		spec.OriginalPlatform = rubyPlatform
	}
	if spec.Platform == "" || !gemNamePattern.MatchString(spec.OriginalPlatform) || !gemNamePattern.MatchString(spec.Platform) {
		return nil, specError("%q is not a valid platform", spec.OriginalPlatform)
	}
	for _, f := range []struct {
		key string
		p   *string
	}{
		{"summary", &spec.Summary}, {"description", &spec.Description}, {"homepage", &spec.Homepage},
		{"rubygems_version", &spec.RubyGemsVersion}, {"post_install_message", &spec.PostInstallMessage},
	} {
		if *f.p, err = scalar(m, f.key); err != nil {
			return nil, err
		}
	}
	for _, f := range []struct {
		key string
		p   *[]string
	}{{"authors", &spec.Authors}, {"email", &spec.Email}, {"licenses", &spec.Licenses}} {
		if *f.p, err = strings1(m, f.key); err != nil {
			return nil, err
		}
	}
	if len(spec.Licenses) == 0 {
		if l, err := scalar(m, "license"); err == nil && l != "" {
			spec.Licenses = []string{l}
		}
	}
	if spec.Metadata, err = metadataOf(m["metadata"]); err != nil {
		return nil, err
	}
	if spec.Dependencies, err = dependenciesOf(m["dependencies"]); err != nil {
		return nil, err
	}
	if spec.RequiredRuby, err = requirementOf(m["required_ruby_version"]); err != nil {
		return nil, specError("required_ruby_version: %v", err)
	}
	if spec.RequiredRubyGems, err = requirementOf(m["required_rubygems_version"]); err != nil {
		return nil, specError("required_rubygems_version: %v", err)
	}
	if sv, err := scalar(m, "specification_version"); err == nil && sv != "" {
		n, err := strconv.Atoi(sv)
		if err != nil || n < 0 || n > 1000 {
			return nil, specError("specification_version %q is not a number", sv)
		}
		spec.SpecificationVersion = n
	} else if err != nil {
		return nil, err
	}
	date, err := scalar(m, "date")
	if err != nil {
		return nil, err
	}
	spec.Date = parseSpecDate(date)
	return spec, nil
}

// validGemName is rubygems.org's rule: letters, digits, ".", "-" and "_",
// with a letter in it, and not too long.
func validGemName(s string) bool {
	if s == "" || len(s) > 128 || !gemNamePattern.MatchString(s) {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool { return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') }) >= 0
}

// yamlMessage shortens a YAML error.
func yamlMessage(err error) string {
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

// checkYAML refuses aliases, anchors, unknown tags, and documents too deep
// or too large.
func checkYAML(n *yaml.Node, depth int, count *int) error {
	*count++
	if *count > maxYAMLNodes {
		return specError("it has more than %d YAML nodes", maxYAMLNodes)
	}
	if depth > maxYAMLDepth {
		return specError("it nests deeper than %d levels", maxYAMLDepth)
	}
	if n.Kind == yaml.AliasNode {
		return specError("YAML aliases are not allowed (line %d)", n.Line)
	}
	if n.Anchor != "" {
		return specError("YAML anchors are not allowed (line %d)", n.Line)
	}
	if tag := n.ShortTag(); !allowedTags[tag] {
		return specError("the YAML tag %q is not allowed (line %d)", tag, n.Line)
	}
	if n.Kind == yaml.ScalarNode && len(n.Value) > maxStringLen {
		return specError("a value is longer than %d bytes (line %d)", maxStringLen, n.Line)
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i < len(n.Content); i += 2 {
			if n.Content[i].Kind != yaml.ScalarNode {
				return specError("a mapping key is not a scalar (line %d)", n.Content[i].Line)
			}
		}
	}
	for _, c := range n.Content {
		if err := checkYAML(c, depth+1, count); err != nil {
			return err
		}
	}
	return nil
}

// mapping returns a mapping node's entries by key; later keys win, as in
// Psych.
func mapping(n *yaml.Node) map[string]*yaml.Node {
	m := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		m[n.Content[i].Value] = n.Content[i+1]
	}
	return m
}

// text returns a scalar's string, decoding !binary; null is "".
func text(n *yaml.Node) (string, error) {
	if n == nil {
		return "", nil
	}
	if n.Kind != yaml.ScalarNode {
		return "", fmt.Errorf("not a single value (line %d)", n.Line)
	}
	switch n.ShortTag() {
	case "!!null":
		return "", nil
	case "!!binary", "!binary":
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(n.Value), ""))
		if err != nil {
			return "", fmt.Errorf("bad base64 (line %d)", n.Line)
		}
		return string(b), nil
	}
	return n.Value, nil
}

func scalar(m map[string]*yaml.Node, key string) (string, error) {
	s, err := text(m[key])
	if err != nil {
		return "", specError("%s: %v", key, err)
	}
	return s, nil
}

// strings1 reads a list of strings, or one string as a list of one.
func strings1(m map[string]*yaml.Node, key string) ([]string, error) {
	n := m[key]
	if n == nil {
		return nil, nil
	}
	if n.Kind == yaml.ScalarNode {
		s, err := text(n)
		if err != nil {
			return nil, specError("%s: %v", key, err)
		}
		if s == "" {
			return nil, nil
		}
		return []string{s}, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, specError("%s is not a list", key)
	}
	out := make([]string, 0, len(n.Content))
	for _, c := range n.Content {
		s, err := text(c)
		if err != nil {
			return nil, specError("%s: %v", key, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// versionOf reads a Gem::Version (a map with "version") or a plain string.
func versionOf(n *yaml.Node) (string, error) {
	if n == nil {
		return "", fmt.Errorf("missing")
	}
	if n.Kind == yaml.MappingNode {
		if t := n.ShortTag(); t != "!ruby/object:Gem::Version" && t != "!!map" {
			return "", fmt.Errorf("not a Gem::Version (line %d)", n.Line)
		}
		return text(mapping(n)["version"])
	}
	return text(n)
}

// platformOf reads the platform: a string, or a Gem::Platform map of cpu,
// os and version.
func platformOf(n *yaml.Node) (string, error) {
	if n == nil {
		return "", nil
	}
	if n.Kind == yaml.MappingNode {
		m := mapping(n)
		var parts []string
		for _, k := range []string{"cpu", "os", "version"} {
			s, err := text(m[k])
			if err != nil {
				return "", specError("platform: %v", err)
			}
			if s != "" {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, "-"), nil
	}
	s, err := text(n)
	if err != nil {
		return "", specError("platform: %v", err)
	}
	return s, nil
}

// Requirement operators of Gem::Requirement.
var requirementOps = map[string]bool{"=": true, "!=": true, ">": true, "<": true, ">=": true, "<=": true, "~>": true}

// requirementOf reads a Gem::Requirement: a map whose "requirements" is a
// list of [operator, Gem::Version] pairs. A missing one is ">= 0".
func requirementOf(n *yaml.Node) ([][2]string, error) {
	if n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null") {
		return [][2]string{{">=", "0"}}, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("not a Gem::Requirement (line %d)", n.Line)
	}
	reqs := mapping(n)["requirements"]
	if reqs == nil || reqs.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("no requirements list (line %d)", n.Line)
	}
	if len(reqs.Content) > 64 {
		return nil, fmt.Errorf("more than 64 requirements (line %d)", n.Line)
	}
	out := make([][2]string, 0, len(reqs.Content))
	for _, r := range reqs.Content {
		if r.Kind != yaml.SequenceNode || len(r.Content) != 2 {
			return nil, fmt.Errorf("a requirement is not an [operator, version] pair (line %d)", r.Line)
		}
		op, err := text(r.Content[0])
		if err != nil {
			return nil, err
		}
		if !requirementOps[op] {
			return nil, fmt.Errorf("%q is not a requirement operator (line %d)", op, r.Line)
		}
		raw, err := versionOf(r.Content[1])
		if err != nil {
			return nil, err
		}
		v, err := packages.NormalizeGemVersion(raw)
		if err != nil {
			return nil, fmt.Errorf("%q is not a valid version (line %d)", raw, r.Line)
		}
		out = append(out, [2]string{op, v})
	}
	if len(out) == 0 {
		out = append(out, [2]string{">=", "0"})
	}
	return out, nil
}

// dependenciesOf reads the list of Gem::Dependency.
func dependenciesOf(n *yaml.Node) ([]gemDep, error) {
	if n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null") {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, specError("dependencies is not a list")
	}
	if len(n.Content) > maxDependencies {
		return nil, specError("more than %d dependencies", maxDependencies)
	}
	var out []gemDep
	for _, d := range n.Content {
		if d.Kind != yaml.MappingNode {
			return nil, specError("a dependency is not a Gem::Dependency (line %d)", d.Line)
		}
		m := mapping(d)
		name, err := text(m["name"])
		if err != nil || !validGemName(name) {
			return nil, specError("a dependency has no valid name (line %d)", d.Line)
		}
		typ, err := text(m["type"])
		if err != nil {
			return nil, specError("dependency %s: %v", name, err)
		}
		switch strings.TrimPrefix(typ, ":") {
		case "", "runtime":
			typ = "runtime"
		case "development":
			typ = "development"
		default:
			return nil, specError("dependency %s has type %q", name, typ)
		}
		req := m["requirement"]
		if req == nil {
			req = m["version_requirements"]
		}
		reqs, err := requirementOf(req)
		if err != nil {
			return nil, specError("dependency %s: %v", name, err)
		}
		out = append(out, gemDep{Name: name, Type: typ, Requirements: reqs})
	}
	return out, nil
}

// metadataOf reads the metadata map of strings, within rubygems.org's
// limits.
func metadataOf(n *yaml.Node) (map[string]string, error) {
	if n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null") {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, specError("metadata is not a map")
	}
	if len(n.Content)/2 > maxMetadataEntries {
		return nil, specError("metadata has more than %d entries", maxMetadataEntries)
	}
	out := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		v, err := text(n.Content[i+1])
		if err != nil {
			return nil, specError("metadata %s: %v", k, err)
		}
		if len(k) > maxMetadataKey || len(v) > maxMetadataValue {
			return nil, specError("metadata %s is longer than rubygems allows", truncate(k, 40))
		}
		out[k] = v
	}
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// parseSpecDate reads a gemspec's date ("2024-01-02 00:00:00.000000000 Z"
// or "2024-01-02"); an unreadable one is the epoch, as rubygems' date
// would be a fixed default.
func parseSpecDate(s string) time.Time {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02 15:04:05.999999999 Z", "2006-01-02 15:04:05.999999999 -07:00",
		"2006-01-02 15:04:05 Z", time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	if len(s) >= 10 {
		if t, err := time.Parse("2006-01-02", s[:10]); err == nil {
			return t.UTC()
		}
	}
	return time.Date(1980, 1, 2, 0, 0, 0, 0, time.UTC)
}

// requirementString is Gem::Requirement#to_s: ">= 1.0, < 2".
func requirementString(reqs [][2]string) string {
	parts := make([]string, len(reqs))
	for i, r := range reqs {
		parts[i] = r[0] + " " + r[1]
	}
	return strings.Join(parts, ", ")
}

// runtimeDeps returns the runtime dependencies, sorted by name.
func (s *gemSpec) runtimeDeps() []gemDep {
	var out []gemDep
	for _, d := range s.Dependencies {
		if d.Type == "runtime" {
			out = append(out, d)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
