package maven

import (
	"bytes"
	"encoding/xml"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/packhub/packhub/internal/packages"
)

// maven-metadata.xml: Packhub renders it from what it holds (the
// package's active versions; a SNAPSHOT version's builds), so that a
// deploy, a delete or a restore shows at once and two concurrent deploys
// of different versions are both listed. What a client uploads is parsed
// and checked, and never stored: the server's view wins.

// metadataXML is a maven-metadata.xml document, at any level: an
// artifact's (versions), a SNAPSHOT version's (builds) or a group's
// (plugin prefixes).
type metadataXML struct {
	XMLName      xml.Name
	ModelVersion string `xml:"modelVersion,attr"`
	GroupID      string `xml:"groupId"`
	ArtifactID   string `xml:"artifactId"`
	Version      string `xml:"version"`
	Versioning   *struct {
		Latest      string   `xml:"latest"`
		Release     string   `xml:"release"`
		Versions    []string `xml:"versions>version"`
		LastUpdated string   `xml:"lastUpdated"`
		Snapshot    *struct {
			Timestamp   string `xml:"timestamp"`
			BuildNumber string `xml:"buildNumber"`
			LocalCopy   string `xml:"localCopy"`
		} `xml:"snapshot"`
		SnapshotVersions []struct {
			Classifier string `xml:"classifier"`
			Extension  string `xml:"extension"`
			Value      string `xml:"value"`
			Updated    string `xml:"updated"`
		} `xml:"snapshotVersions>snapshotVersion"`
	} `xml:"versioning"`
	Plugins []struct {
		Name       string `xml:"name"`
		Prefix     string `xml:"prefix"`
		ArtifactID string `xml:"artifactId"`
	} `xml:"plugins>plugin"`
}

// clientMetadata is what a client's upload says, once checked.
type clientMetadata struct {
	// groupLevel: the document lists plugin prefixes of a group and names
	// no artifact (maven-plugin deploys write one).
	groupLevel bool
	versions   []string // an artifact's versions
}

// parseMetadata parses and checks a maven-metadata.xml uploaded to l:
// well-formed, a <metadata> root, coordinates that agree with the path,
// versions, timestamps and build numbers of the right shape.
func parseMetadata(data []byte, l *location) (*clientMetadata, error) {
	var m metadataXML
	if err := decodeXML(data, &m); err != nil {
		return nil, syntaxErrorf("maven-metadata.xml is not valid XML: %s", err)
	}
	if m.XMLName.Local != "metadata" {
		return nil, syntaxErrorf("maven-metadata.xml's root element is <%s>, not <metadata>", m.XMLName.Local)
	}
	trim := func(s *string) { *s = strings.TrimSpace(*s) }
	trim(&m.GroupID)
	trim(&m.ArtifactID)
	trim(&m.Version)
	out := &clientMetadata{}
	if m.ArtifactID == "" && m.Versioning == nil && m.Version == "" {
		if l.target != targetArtifactMetadata {
			return nil, syntaxErrorf("maven-metadata.xml of a version must name its artifactId")
		}
		// A group's metadata: GROUP/maven-metadata.xml, which the path
		// layout reads as an artifact's.
		out.groupLevel = true
		return out, nil
	}
	group, artifact := l.group, l.artifact
	if m.GroupID != "" && m.GroupID != group {
		return nil, syntaxErrorf("maven-metadata.xml names groupId %q but is deployed to %q", m.GroupID, group)
	}
	if m.ArtifactID != artifact {
		return nil, syntaxErrorf("maven-metadata.xml names artifactId %q but is deployed to %q", m.ArtifactID, artifact)
	}
	switch l.target {
	case targetVersionMetadata:
		if m.Version != "" && m.Version != l.version {
			return nil, syntaxErrorf("maven-metadata.xml names version %q but is deployed to %q", m.Version, l.version)
		}
	default:
		if m.Version != "" && !packages.ValidMavenVersion(m.Version) {
			return nil, syntaxErrorf("maven-metadata.xml names version %q, which is not a Maven version", m.Version)
		}
	}
	v := m.Versioning
	if v == nil {
		return out, nil
	}
	for _, s := range []string{v.Latest, v.Release} {
		if s = strings.TrimSpace(s); s != "" && !packages.ValidMavenVersion(s) {
			return nil, syntaxErrorf("maven-metadata.xml names %q, which is not a Maven version", s)
		}
	}
	for _, s := range v.Versions {
		s = strings.TrimSpace(s)
		if !packages.ValidMavenVersion(s) {
			return nil, syntaxErrorf("maven-metadata.xml lists %q, which is not a Maven version", s)
		}
		if !slices.Contains(out.versions, s) {
			out.versions = append(out.versions, s)
		}
	}
	if s := strings.TrimSpace(v.LastUpdated); s != "" && !isTimestamp14(s) {
		return nil, syntaxErrorf("maven-metadata.xml's lastUpdated %q is not yyyyMMddHHmmss", s)
	}
	if sn := v.Snapshot; sn != nil {
		if ts := strings.TrimSpace(sn.Timestamp); ts != "" {
			if _, rest, ok := parseBuild(ts + "-1"); !ok || rest != "" {
				return nil, syntaxErrorf("maven-metadata.xml's snapshot timestamp %q is not yyyyMMdd.HHmmss", ts)
			}
		}
		if bn := strings.TrimSpace(sn.BuildNumber); bn != "" {
			if n, err := strconv.Atoi(bn); err != nil || n < 0 {
				return nil, syntaxErrorf("maven-metadata.xml's buildNumber %q is not a number", bn)
			}
		}
	}
	for _, sv := range v.SnapshotVersions {
		if s := strings.TrimSpace(sv.Value); s != "" && !packages.ValidMavenVersion(s) {
			return nil, syntaxErrorf("maven-metadata.xml lists snapshot version %q, which is not a Maven version", s)
		}
		if s := strings.TrimSpace(sv.Updated); s != "" && !isTimestamp14(s) {
			return nil, syntaxErrorf("maven-metadata.xml's updated %q is not yyyyMMddHHmmss", s)
		}
	}
	return out, nil
}

func isTimestamp14(s string) bool {
	if len(s) != 14 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// mavenTime formats t as metadata does: yyyyMMddHHmmss, UTC.
func mavenTime(t time.Time) string { return t.UTC().Format("20060102150405") }

const xmlHeader = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"

// xmlWriter writes indented elements with escaped text.
type xmlWriter struct{ bytes.Buffer }

func (w *xmlWriter) elem(indent int, name, text string) {
	w.WriteString(strings.Repeat("  ", indent))
	w.WriteString("<" + name + ">")
	xml.EscapeText(w, []byte(text))
	w.WriteString("</" + name + ">\n")
}

func (w *xmlWriter) open(indent int, name string) {
	w.WriteString(strings.Repeat("  ", indent) + "<" + name + ">\n")
}

func (w *xmlWriter) close(indent int, name string) {
	w.WriteString(strings.Repeat("  ", indent) + "</" + name + ">\n")
}

// renderArtifactMetadata renders an artifact's maven-metadata.xml from its
// versions in Maven's order: latest is the highest version, release the
// highest that is not a SNAPSHOT.
func renderArtifactMetadata(group, artifact string, versions []string, lastUpdated time.Time) []byte {
	var w xmlWriter
	w.WriteString(xmlHeader)
	w.WriteString("<metadata>\n")
	w.elem(1, "groupId", group)
	w.elem(1, "artifactId", artifact)
	w.open(1, "versioning")
	if n := len(versions); n > 0 {
		w.elem(2, "latest", versions[n-1])
	}
	for i := len(versions) - 1; i >= 0; i-- {
		if !isSnapshot(versions[i]) {
			w.elem(2, "release", versions[i])
			break
		}
	}
	w.open(2, "versions")
	for _, v := range versions {
		w.elem(3, "version", v)
	}
	w.close(2, "versions")
	w.elem(2, "lastUpdated", mavenTime(lastUpdated))
	w.close(1, "versioning")
	w.WriteString("</metadata>\n")
	return w.Bytes()
}

// snapshotEntry is one entry of a SNAPSHOT's snapshotVersions: the newest
// file of one classifier and extension.
type snapshotEntry struct {
	classifier, extension, value string
	updated                      time.Time
	build                        *build
}

// snapshotState is what a SNAPSHOT version's files say: its newest build
// and, per classifier and extension, its newest file.
type snapshotState struct {
	latest  *build
	entries []snapshotEntry // by classifier, then extension
	updated time.Time
}

// snapshotOf reads the builds of a SNAPSHOT version from its files. A file
// of a build is newer than a file without one (X-SNAPSHOT).
func snapshotOf(artifact, version string, files []packages.File) snapshotState {
	var st snapshotState
	byKey := map[string]*snapshotEntry{}
	for _, f := range files {
		af, ok := parseFileName(artifact, version, f.Name)
		if !ok {
			continue
		}
		if f.CreatedAt.After(st.updated) {
			st.updated = f.CreatedAt
		}
		if af.build != nil && (st.latest == nil || st.latest.less(*af.build)) {
			b := *af.build
			st.latest = &b
		}
		e := byKey[af.key()]
		if e != nil && !newer(af.build, e.build) {
			continue
		}
		value := version
		if af.build != nil {
			value = af.build.value(version)
		}
		byKey[af.key()] = &snapshotEntry{classifier: af.classifier, extension: af.extension, value: value, updated: f.CreatedAt, build: af.build}
	}
	for _, e := range byKey {
		st.entries = append(st.entries, *e)
	}
	slices.SortFunc(st.entries, func(a, b snapshotEntry) int {
		if c := strings.Compare(a.classifier, b.classifier); c != 0 {
			return c
		}
		return strings.Compare(a.extension, b.extension)
	})
	return st
}

// newer reports whether build a is newer than b; a file without a build
// is the oldest.
func newer(a, b *build) bool {
	switch {
	case a == nil:
		return false
	case b == nil:
		return true
	}
	return b.less(*a)
}

// renderVersionMetadata renders a SNAPSHOT version's maven-metadata.xml:
// its newest build (timestamp, buildNumber) and the newest file of each
// classifier and extension.
func renderVersionMetadata(group, artifact, version string, st snapshotState) []byte {
	var w xmlWriter
	w.WriteString(xmlHeader)
	w.WriteString(`<metadata modelVersion="1.1.0">` + "\n")
	w.elem(1, "groupId", group)
	w.elem(1, "artifactId", artifact)
	w.elem(1, "version", version)
	w.open(1, "versioning")
	w.open(2, "snapshot")
	if st.latest != nil {
		w.elem(3, "timestamp", st.latest.timestamp)
		w.elem(3, "buildNumber", strconv.Itoa(st.latest.number))
	} else {
		w.elem(3, "localCopy", "false")
	}
	w.close(2, "snapshot")
	w.elem(2, "lastUpdated", mavenTime(st.updated))
	w.open(2, "snapshotVersions")
	for _, e := range st.entries {
		w.open(3, "snapshotVersion")
		if e.classifier != "" {
			w.elem(4, "classifier", e.classifier)
		}
		w.elem(4, "extension", e.extension)
		w.elem(4, "value", e.value)
		w.elem(4, "updated", mavenTime(e.updated))
		w.close(3, "snapshotVersion")
	}
	w.close(2, "snapshotVersions")
	w.close(1, "versioning")
	w.WriteString("</metadata>\n")
	return w.Bytes()
}
