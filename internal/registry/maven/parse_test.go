package maven

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/packages"
)

func TestParsePath(t *testing.T) {
	tests := []struct {
		path    string
		want    location // compared without dir
		errKind string   // "", "bad" (400) or "missing" (404)
	}{
		{"/maven/octo/libs/com/example/lib/1.0/lib-1.0.jar", location{owner: "octo", repo: "libs", target: targetFile, group: "com.example", artifact: "lib", version: "1.0", file: "lib-1.0.jar"}, ""},
		{"/maven/octo/libs/com/example/lib/1.0/lib-1.0.jar.sha1", location{owner: "octo", repo: "libs", target: targetFile, group: "com.example", artifact: "lib", version: "1.0", file: "lib-1.0.jar", checksum: "sha1"}, ""},
		{"/maven/octo/libs/com/example/lib/1.0/lib-1.0.jar.asc.sha512", location{owner: "octo", repo: "libs", target: targetFile, group: "com.example", artifact: "lib", version: "1.0", file: "lib-1.0.jar.asc", checksum: "sha512"}, ""},
		{"/maven/octo/libs/org/lib/maven-metadata.xml", location{owner: "octo", repo: "libs", target: targetArtifactMetadata, group: "org", artifact: "lib"}, ""},
		{"/maven/octo/libs/com/example/lib/maven-metadata.xml.md5", location{owner: "octo", repo: "libs", target: targetArtifactMetadata, group: "com.example", artifact: "lib", checksum: "md5"}, ""},
		{"/maven/octo/libs/com/example/lib/1.0-SNAPSHOT/maven-metadata.xml", location{owner: "octo", repo: "libs", target: targetVersionMetadata, group: "com.example", artifact: "lib", version: "1.0-SNAPSHOT"}, ""},
		{"/maven/octo/*/com/example/lib/1.0/lib-1.0.pom", location{owner: "octo", repo: "*", target: targetFile, group: "com.example", artifact: "lib", version: "1.0", file: "lib-1.0.pom"}, ""},
		{"/maven/octo/%2A/com/example/lib/1.0/lib-1.0.pom", location{owner: "octo", repo: "*", target: targetFile, group: "com.example", artifact: "lib", version: "1.0", file: "lib-1.0.pom"}, ""},
		{"/maven/octo/libs/com/example/lib/", location{owner: "octo", repo: "libs", target: targetListing}, ""},
		{"/maven/octo/libs/com/example/lib/1.0+b1/", location{owner: "octo", repo: "libs", target: targetListing}, ""},
		{"/maven/octo/libs/com/example/lib/%2e%2e/", location{}, "bad"},
		{"/maven/octo/libs/com/example/lib.core/2.0/lib.core-2.0.jar", location{owner: "octo", repo: "libs", target: targetFile, group: "com.example", artifact: "lib.core", version: "2.0", file: "lib.core-2.0.jar"}, ""},

		{"/maven/octo/libs/com/../lib/1.0/lib-1.0.jar", location{}, "bad"},
		{"/maven/octo/libs/com/%2e%2e/lib/1.0/lib-1.0.jar", location{}, "bad"},
		{"/maven/octo/libs/com/..%2f..%2fetc/lib/1.0/passwd", location{}, "bad"},
		{"/maven/octo/libs/com/example%2flib/1.0/lib-1.0.jar", location{}, "bad"},
		{"/maven/octo/libs/com/example/lib/1.0/..%5c..%5cx.jar", location{}, "bad"},
		{"/maven/octo/libs/com//lib/1.0/lib-1.0.jar", location{}, "bad"},
		{"/maven/octo/libs/com/example/lib/1.0/%00.jar", location{}, "bad"},
		{"/maven/octo/libs/com/example/lib/1.0/lib-1.0.jar%zz", location{}, "bad"},
		{"/maven/octo/libs/com/ex.ample/lib/1.0/lib-1.0.jar", location{}, "bad"},
		{"/maven/octo/libs/com/example/lib/1 0/lib-1.0.jar", location{}, "bad"},
		{"/maven/octo/libs/lib/1.0/lib-1.0.jar", location{}, "bad"},
		{"/maven/octo/libs/lib/maven-metadata.xml", location{}, "bad"},
		{"/maven/octo/libs/com/example/lib/1.0/.hidden", location{}, "bad"},
		{"/maven/octo/libs/com/example/lib/1.0/lib 1.0.jar", location{}, "bad"},
		{"/maven/bad--owner/libs/com/example/lib/1.0/lib-1.0.jar", location{}, "missing"},
		{"/maven/octo/bad*repo/com/example/lib/1.0/lib-1.0.jar", location{}, "missing"},
		{"/maven/octo", location{}, "missing"},
		{"/mavenx/octo/libs/com/example/lib/1.0/lib-1.0.jar", location{}, "missing"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			l, err := parsePath(tt.path)
			if tt.errKind != "" {
				var pe *pathError
				if !errors.As(err, &pe) {
					t.Fatalf("err = %v, want a path error", err)
				}
				if pe.notFound != (tt.errKind == "missing") {
					t.Fatalf("err %q: notFound = %v, want %s", pe.msg, pe.notFound, tt.errKind)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if l.dir = nil; !reflect.DeepEqual(*l, tt.want) {
				t.Fatalf("got %+v, want %+v", *l, tt.want)
			}
		})
	}
}

func TestParseFileName(t *testing.T) {
	b := func(ts string, n int) *build { return &build{timestamp: ts, number: n} }
	tests := []struct {
		artifact, version, name string
		ok                      bool
		want                    artifactFile
	}{
		{"lib", "1.0", "lib-1.0.jar", true, artifactFile{extension: "jar"}},
		{"lib", "1.0", "lib-1.0.pom", true, artifactFile{extension: "pom"}},
		{"lib", "1.0", "lib-1.0-sources.jar", true, artifactFile{classifier: "sources", extension: "jar"}},
		{"lib", "1.0", "lib-1.0-javadoc.jar", true, artifactFile{classifier: "javadoc", extension: "jar"}},
		{"lib", "1.0", "lib-1.0.module", true, artifactFile{extension: "module"}},
		{"lib", "1.0", "lib-1.0.tar.gz", true, artifactFile{extension: "tar.gz"}},
		{"lib", "1.0", "lib-1.0.jar.asc", true, artifactFile{extension: "jar.asc"}},
		{"lib", "1.0", "lib-1.0-linux-x86_64.zip", true, artifactFile{classifier: "linux-x86_64", extension: "zip"}},
		{"lib", "1.0-SNAPSHOT", "lib-1.0-20240102.030405-7.jar", true, artifactFile{extension: "jar", build: b("20240102.030405", 7)}},
		{"lib", "1.0-SNAPSHOT", "lib-1.0-20240102.030405-12-sources.jar", true, artifactFile{classifier: "sources", extension: "jar", build: b("20240102.030405", 12)}},
		{"lib", "1.0-SNAPSHOT", "lib-1.0-SNAPSHOT.jar", true, artifactFile{extension: "jar"}},
		{"lib", "1.0-SNAPSHOT", "lib-1.0-SNAPSHOT-tests.jar", true, artifactFile{classifier: "tests", extension: "jar"}},

		{"lib", "1.0", "lib-1.0.1.jar", false, artifactFile{}},
		{"lib", "1.0", "other-1.0.jar", false, artifactFile{}},
		{"lib", "1.0", "lib-1.0", false, artifactFile{}},
		{"lib", "1.0", "lib-1.0.", false, artifactFile{}},
		{"lib", "1.0", "lib-1.0-.jar", false, artifactFile{}},
		{"lib", "1.0", "lib-1.0-sources", false, artifactFile{}},
		{"lib", "1.0", "lib-1.0x.jar", false, artifactFile{}},
		{"lib", "1.0-SNAPSHOT", "lib-1.0-20240102.030405-0.jar", false, artifactFile{}},
		{"lib", "1.0-SNAPSHOT", "lib-1.0-2024010.030405-1.jar", false, artifactFile{}},
		{"lib", "1.0-SNAPSHOT", "lib-1.0-20240102-030405-1.jar", false, artifactFile{}},
		{"lib", "1.0-SNAPSHOT", "lib-1.1-20240102.030405-1.jar", false, artifactFile{}},
		{"lib", "1.0-SNAPSHOT", "lib-1.0.jar", false, artifactFile{}},
	}
	for _, tt := range tests {
		got, ok := parseFileName(tt.artifact, tt.version, tt.name)
		if ok != tt.ok {
			t.Errorf("parseFileName(%s, %s, %s) ok = %v", tt.artifact, tt.version, tt.name, ok)
			continue
		}
		if !ok {
			continue
		}
		if got.classifier != tt.want.classifier || got.extension != tt.want.extension || (got.build == nil) != (tt.want.build == nil) ||
			(got.build != nil && *got.build != *tt.want.build) {
			t.Errorf("parseFileName(%s) = %+v (build %v), want %+v (build %v)", tt.name, got, got.build, tt.want, tt.want.build)
		}
	}
}

func TestParsePom(t *testing.T) {
	l := &location{group: "com.example", artifact: "lib", version: "1.0"}
	tests := []struct {
		name, pom string
		want      string // "" for ok; else a part of the error
	}{
		{"plain", `<project><groupId>com.example</groupId><artifactId>lib</artifactId><version>1.0</version></project>`, ""},
		{"namespaced with latin-1", `<?xml version="1.0" encoding="ISO-8859-1"?><project xmlns="http://maven.apache.org/POM/4.0.0"><groupId>com.example</groupId>
			<artifactId>lib</artifactId><version>1.0</version><name>caf` + "\xe9" + `</name>
			<dependencies><dependency><groupId>other</groupId><artifactId>x</artifactId><version>9</version></dependency></dependencies></project>`, ""},
		{"inherited", `<project><parent><groupId>com.example</groupId><artifactId>parent</artifactId><version>1.0</version></parent><artifactId>lib</artifactId></project>`, ""},
		{"property", `<project><groupId>com.example</groupId><artifactId>lib</artifactId><version>${revision}</version></project>`, ""},
		{"other version", `<project><groupId>com.example</groupId><artifactId>lib</artifactId><version>2.0</version></project>`, `version is "2.0"`},
		{"other artifact", `<project><groupId>com.example</groupId><artifactId>core</artifactId><version>1.0</version></project>`, `artifactId is "core"`},
		{"other group", `<project><groupId>org.example</groupId><artifactId>lib</artifactId><version>1.0</version></project>`, `groupId is "org.example"`},
		{"no artifactId", `<project><groupId>com.example</groupId><version>1.0</version></project>`, "no artifactId"},
		{"no version", `<project><groupId>com.example</groupId><artifactId>lib</artifactId></project>`, "no version"},
		{"not a project", `<metadata><groupId>com.example</groupId></metadata>`, "not <project>"},
		{"unclosed", `<project><groupId>com.example</groupId><artifactId>lib`, "not valid XML"},
		{"mismatched", `<project><groupId>com.example</artifactId></project>`, "not valid XML"},
		{"empty", ``, "not valid XML"},
		{"two roots", `<project><artifactId>lib</artifactId></project><project/>`, "not valid XML"},
		{"entity", `<!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]><project><groupId>&x;</groupId><artifactId>lib</artifactId><version>1.0</version></project>`, "not valid XML"},
		{"utf-16", `<?xml version="1.0" encoding="UTF-16"?><project/>`, "not valid XML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := parsePom([]byte(tt.pom))
			if err == nil {
				err = p.check(l)
			}
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
			var se *syntaxError
			if !errors.As(err, &se) && packages.KindOf(err) != packages.KindInvalid {
				t.Fatalf("err %v is neither a syntax error nor invalid", err)
			}
		})
	}
}

func TestParseMetadata(t *testing.T) {
	art := &location{target: targetArtifactMetadata, group: "com.example", artifact: "lib"}
	ver := &location{target: targetVersionMetadata, group: "com.example", artifact: "lib", version: "1.0-SNAPSHOT"}
	tests := []struct {
		name string
		l    *location
		doc  string
		want string // "" for ok
		vs   []string
	}{
		{"artifact", art, `<metadata><groupId>com.example</groupId><artifactId>lib</artifactId><versioning><latest>1.1</latest><release>1.1</release>
			<versions><version>1.0</version><version>1.1</version></versions><lastUpdated>20240102030405</lastUpdated></versioning></metadata>`, "", []string{"1.0", "1.1"}},
		{"snapshot", ver, `<metadata modelVersion="1.1.0"><groupId>com.example</groupId><artifactId>lib</artifactId><version>1.0-SNAPSHOT</version>
			<versioning><snapshot><timestamp>20240102.030405</timestamp><buildNumber>3</buildNumber></snapshot><lastUpdated>20240102030405</lastUpdated>
			<snapshotVersions><snapshotVersion><extension>jar</extension><value>1.0-20240102.030405-3</value><updated>20240102030405</updated></snapshotVersion></snapshotVersions>
			</versioning></metadata>`, "", nil},
		{"group of plugins", art, `<metadata><plugins><plugin><name>X</name><prefix>x</prefix><artifactId>x-maven-plugin</artifactId></plugin></plugins></metadata>`, "", nil},
		{"other artifact", art, `<metadata><groupId>com.example</groupId><artifactId>core</artifactId></metadata>`, `artifactId "core"`, nil},
		{"other group", art, `<metadata><groupId>org.example</groupId><artifactId>lib</artifactId></metadata>`, `groupId "org.example"`, nil},
		{"other version", ver, `<metadata><groupId>com.example</groupId><artifactId>lib</artifactId><version>2.0-SNAPSHOT</version></metadata>`, `version "2.0-SNAPSHOT"`, nil},
		{"bad version", art, `<metadata><artifactId>lib</artifactId><versioning><versions><version>../1</version></versions></versioning></metadata>`, "not a Maven version", nil},
		{"empty version", art, `<metadata><artifactId>lib</artifactId><versioning><versions><version></version></versions></versioning></metadata>`, "not a Maven version", nil},
		{"bad lastUpdated", art, `<metadata><artifactId>lib</artifactId><versioning><lastUpdated>yesterday</lastUpdated></versioning></metadata>`, "lastUpdated", nil},
		{"bad timestamp", ver, `<metadata><artifactId>lib</artifactId><versioning><snapshot><timestamp>2024</timestamp></snapshot></versioning></metadata>`, "timestamp", nil},
		{"bad build number", ver, `<metadata><artifactId>lib</artifactId><versioning><snapshot><buildNumber>-1</buildNumber></snapshot></versioning></metadata>`, "buildNumber", nil},
		{"version level without artifact", ver, `<metadata/>`, "must name its artifactId", nil},
		{"not metadata", art, `<project/>`, "not <metadata>", nil},
		{"garbage", art, `{"versions": []}`, "not valid XML", nil},
		{"truncated", art, `<metadata><artifactId>lib</artifactId><versioning>`, "not valid XML", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := parseMetadata([]byte(tt.doc), tt.l)
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("err = %v, want one containing %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(m.versions, ",") != strings.Join(tt.vs, ",") {
				t.Fatalf("versions %v, want %v", m.versions, tt.vs)
			}
		})
	}
}

// A rendered document parses back as what it says.
func TestRenderMetadataRoundTrip(t *testing.T) {
	at := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	art := &location{target: targetArtifactMetadata, group: "com.example", artifact: "lib"}
	doc := renderArtifactMetadata("com.example", "lib", []string{"1.0", "1.1", "2.0-SNAPSHOT"}, at)
	m, err := parseMetadata(doc, art)
	if err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	if strings.Join(m.versions, ",") != "1.0,1.1,2.0-SNAPSHOT" {
		t.Fatalf("versions %v", m.versions)
	}
	for _, want := range []string{"<latest>2.0-SNAPSHOT</latest>", "<release>1.1</release>", "<lastUpdated>20240102030405</lastUpdated>"} {
		if !strings.Contains(string(doc), want) {
			t.Fatalf("%s lacks %s", doc, want)
		}
	}

	files := []packages.File{
		{Name: "lib-2.0-20240101.000000-1.jar", CreatedAt: at.Add(-time.Hour)},
		{Name: "lib-2.0-20240101.000000-1.pom", CreatedAt: at.Add(-time.Hour)},
		{Name: "lib-2.0-20240102.030405-2.jar", CreatedAt: at},
		{Name: "lib-2.0-20240102.030405-2-sources.jar", CreatedAt: at},
		{Name: "lib-2.0-SNAPSHOT.zip", CreatedAt: at.Add(-2 * time.Hour)},
		{Name: "unrelated.txt", CreatedAt: at.Add(time.Hour)},
	}
	st := snapshotOf("lib", "2.0-SNAPSHOT", files)
	if st.latest == nil || *st.latest != (build{"20240102.030405", 2}) {
		t.Fatalf("latest %v", st.latest)
	}
	doc = renderVersionMetadata("com.example", "lib", "2.0-SNAPSHOT", st)
	ver := &location{target: targetVersionMetadata, group: "com.example", artifact: "lib", version: "2.0-SNAPSHOT"}
	if _, err := parseMetadata(doc, ver); err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	for _, want := range []string{
		"<timestamp>20240102.030405</timestamp>", "<buildNumber>2</buildNumber>",
		"<extension>jar</extension>\n        <value>2.0-20240102.030405-2</value>",
		"<classifier>sources</classifier>\n        <extension>jar</extension>\n        <value>2.0-20240102.030405-2</value>",
		"<extension>pom</extension>\n        <value>2.0-20240101.000000-1</value>",
		"<extension>zip</extension>\n        <value>2.0-SNAPSHOT</value>",
		"<lastUpdated>20240102030405</lastUpdated>",
	} {
		if !strings.Contains(string(doc), want) {
			t.Fatalf("%s lacks %s", doc, want)
		}
	}
}
