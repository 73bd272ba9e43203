package maven

import (
	"errors"
	"strings"
	"testing"

	"github.com/packhub/packhub/internal/packages"
)

// The parsers of what clients send: every input gets a clear answer (a
// value or a client error), never a panic, and what they accept holds.

func FuzzParsePom(f *testing.F) {
	for _, s := range []string{
		`<project><groupId>com.example</groupId><artifactId>lib</artifactId><version>1.0</version></project>`,
		`<?xml version="1.0" encoding="ISO-8859-1"?><project xmlns="http://maven.apache.org/POM/4.0.0"><parent><groupId>g</groupId><version>1</version></parent><artifactId>a</artifactId></project>`,
		`<project><artifactId>a</artifactId></project><!-- x -->`,
		`<!DOCTYPE p [<!ENTITY x "y">]><project>&x;</project>`,
		``, `<`, `<project>`,
	} {
		f.Add([]byte(s))
	}
	l := &location{group: "com.example", artifact: "lib", version: "1.0"}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parsePom(data)
		if err != nil {
			var se *syntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a syntax error", err)
			}
			return
		}
		if p.ArtifactID == "" || p.GroupID == "" || p.Version == "" {
			t.Fatalf("accepted a pom without coordinates: %+v", p)
		}
		if err := p.check(l); err != nil && packages.KindOf(err) != packages.KindInvalid {
			t.Fatalf("check: %v", err)
		}
	})
}

func FuzzParseMetadata(f *testing.F) {
	for _, s := range []string{
		`<metadata><groupId>com.example</groupId><artifactId>lib</artifactId><versioning><latest>1.1</latest><versions><version>1.0</version></versions><lastUpdated>20240102030405</lastUpdated></versioning></metadata>`,
		`<metadata modelVersion="1.1.0"><groupId>com.example</groupId><artifactId>lib</artifactId><version>1.0-SNAPSHOT</version><versioning><snapshot><timestamp>20240102.030405</timestamp><buildNumber>3</buildNumber></snapshot><snapshotVersions><snapshotVersion><extension>jar</extension><value>1.0-20240102.030405-3</value></snapshotVersion></snapshotVersions></versioning></metadata>`,
		`<metadata><plugins><plugin><prefix>x</prefix></plugin></plugins></metadata>`,
		``, `<metadata>`, `<metadata/><metadata/>`,
	} {
		f.Add([]byte(s), false)
	}
	art := &location{target: targetArtifactMetadata, group: "com.example", artifact: "lib"}
	ver := &location{target: targetVersionMetadata, group: "com.example", artifact: "lib", version: "1.0-SNAPSHOT"}
	f.Fuzz(func(t *testing.T, data []byte, version bool) {
		l := art
		if version {
			l = ver
		}
		m, err := parseMetadata(data, l)
		if err != nil {
			var se *syntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a syntax error", err)
			}
			return
		}
		for _, v := range m.versions {
			if !packages.ValidMavenVersion(v) {
				t.Fatalf("accepted version %q", v)
			}
		}
	})
}

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{
		"/maven/octo/libs/com/example/lib/1.0/lib-1.0.jar", "/maven/octo/*/com/example/lib/maven-metadata.xml.sha1",
		"/maven/octo/libs/com/example/lib/1.0-SNAPSHOT/maven-metadata.xml", "/maven/octo/libs/com/example/",
		"/maven/octo/libs/com/%2e%2e/lib/1.0/x.jar", "/maven/octo/libs/a/../b/c/d",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		l, err := parsePath(p)
		if err != nil {
			var pe *pathError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a path error", err)
			}
			return
		}
		for _, s := range append([]string{l.owner, l.repo, l.artifact, l.version, l.file}, l.dir...) {
			if s == "." || s == ".." || strings.ContainsAny(s, "/\\%\x00") {
				t.Fatalf("accepted segment %q of %q", s, p)
			}
		}
		if l.target != targetListing && (l.group == "" || l.artifact == "" || strings.Contains(l.group, "..")) {
			t.Fatalf("accepted %q as %+v", p, l)
		}
		if l.target == targetFile && (l.version == "" || l.file == "") {
			t.Fatalf("accepted %q as %+v", p, l)
		}
	})
}

func FuzzParseFileName(f *testing.F) {
	for _, s := range []string{"lib-1.0.jar", "lib-1.0-SNAPSHOT.jar", "lib-1.0-20240102.030405-7-sources.jar", "lib-1.0-.jar", "lib-1.0-20240102.030405-"} {
		f.Add("lib", "1.0-SNAPSHOT", s)
		f.Add("lib", "1.0", s)
	}
	f.Fuzz(func(t *testing.T, artifact, version, name string) {
		af, ok := parseFileName(artifact, version, name)
		if !ok {
			return
		}
		if af.extension == "" || !isLetter(af.extension[0]) {
			t.Fatalf("accepted %q with extension %q", name, af.extension)
		}
		if af.build != nil && (!isSnapshot(version) || af.build.number < 1 || !strings.Contains(name, af.build.value(version))) {
			t.Fatalf("accepted %q of %s with build %+v", name, version, af.build)
		}
	})
}
