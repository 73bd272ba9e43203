package rubygems

import (
	"strings"
	"testing"

	"github.com/packhub/packhub/internal/packages"
)

func TestParseGemspec(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		check      func(t *testing.T, s *gemSpec)
	}{
		{"gem build output", testGem{name: "rails-html", version: "1.4.0", deps: []string{"runtime loofah ~> 2.19"}}.yaml(), func(t *testing.T, s *gemSpec) {
			if s.Name != "rails-html" || s.Version != "1.4.0" || s.Platform != "ruby" || s.Summary != "The rails-html gem" ||
				len(s.Dependencies) != 1 || s.Dependencies[0].Requirements[0] != [2]string{"~>", "2.19"} || s.RubyGemsVersion != "3.3.15" ||
				s.SpecificationVersion != 4 || s.Date.Format("2006-01-02") != "2024-01-02" || s.Licenses[0] != "MIT" {
				t.Fatalf("%+v", s)
			}
		}},
		{"plain version and single strings", "--- !ruby/object:Gem::Specification\nname: x\nversion: 1.0-beta\nauthors: Bob\nemail: b@example.com\nlicense: BSD\nplatform: universal-darwin-19\n", func(t *testing.T, s *gemSpec) {
			if s.Version != "1.0.pre.beta" || s.Authors[0] != "Bob" || s.Email[0] != "b@example.com" || s.Licenses[0] != "BSD" || s.Platform != "universal-darwin-19" {
				t.Fatalf("%+v", s)
			}
		}},
		{"binary description", "--- !ruby/object:Gem::Specification\nname: x\nversion: '1'\ndescription: !binary |-\n  aMOpbGxv\n", func(t *testing.T, s *gemSpec) {
			if s.Description != "héllo" {
				t.Fatalf("description %q", s.Description)
			}
		}},
		{"platform object", "--- !ruby/object:Gem::Specification\nname: x\nversion: '1'\nplatform: !ruby/object:Gem::Platform\n  cpu: x86\n  os: mswin32\n  version: '60'\n", func(t *testing.T, s *gemSpec) {
			if s.Platform != "x86-mswin32-60" {
				t.Fatalf("platform %q", s.Platform)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := parseGemspec([]byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, s)
		})
	}
}

func TestParseGemspecRefuses(t *testing.T) {
	const head = "--- !ruby/object:Gem::Specification\nname: x\nversion: '1'\n"
	for _, tc := range []struct{ name, yaml, msg string }{
		{"not yaml", "\t- [", ""},
		{"not a spec", "--- {}\n", "not a Gem::Specification"},
		{"two documents", head + "---\n" + head, "one YAML document"},
		{"alias", head + "summary: &s hello\ndescription: *s\n", "anchors"},
		{"bare alias", head + "description: *s\n", ""},
		{"laughs", head + "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n", "anchors"},
		{"ruby object", head + "summary: !ruby/object:Gem::Installer {}\n", `"!ruby/object:Gem::Installer"`},
		{"ruby hash", head + "metadata: !ruby/hash:ActiveSupport::HashWithIndifferentAccess {}\n", "!ruby/hash"},
		{"ruby sym tag", head + "summary: !ruby/sym x\n", "!ruby/sym"},
		{"ruby struct", head + "x: !ruby/struct:Foo {}\n", "!ruby/struct"},
		{"missing name", "--- !ruby/object:Gem::Specification\nversion: '1'\n", "valid gem name"},
		{"name with slash", "--- !ruby/object:Gem::Specification\nname: a/b\nversion: '1'\n", "valid gem name"},
		{"missing version", "--- !ruby/object:Gem::Specification\nname: x\n", "version"},
		{"bad version", "--- !ruby/object:Gem::Specification\nname: x\nversion: 1.0; rm\n", "not a valid version"},
		{"version list", "--- !ruby/object:Gem::Specification\nname: x\nversion: [1]\n", "version"},
		{"bad operator", head + "required_ruby_version: !ruby/object:Gem::Requirement\n  requirements:\n  - - \"=~\"\n    - '1'\n", "operator"},
		{"bad dependency", head + "dependencies:\n- !ruby/object:Gem::Dependency\n  name: 'x y'\n", "dependency"},
		{"bad dependency type", head + "dependencies:\n- !ruby/object:Gem::Dependency\n  name: y\n  type: :optional\n", "type"},
		{"metadata not strings", head + "metadata:\n  a: [1]\n", "metadata"},
		{"long metadata", head + "metadata:\n  a: " + strings.Repeat("x", 2000) + "\n", "longer"},
		{"too many nodes", head + "files: [" + strings.Repeat("a,", maxYAMLNodes) + "]\n", "more than"},
		{"deep", head + "x: " + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "\n", ""},
		{"platform with slash", head + "platform: x86/../linux\n", "platform"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseGemspec([]byte(tc.yaml))
			if err == nil {
				t.Fatal("accepted")
			}
			if packages.KindOf(err) != packages.KindInvalid {
				t.Fatalf("kind %v: %v", packages.KindOf(err), err)
			}
			if !strings.Contains(packages.PublicMessage(err, ""), tc.msg) {
				t.Fatalf("message %q does not say %q", packages.PublicMessage(err, ""), tc.msg)
			}
		})
	}
}

// FuzzParseGemspec: any YAML is a spec or a client error; a spec has a
// valid name, a canonical version and a platform.
func FuzzParseGemspec(f *testing.F) {
	f.Add(testGem{name: "hello", version: "1.0.0", deps: []string{"runtime rack >= 2.0"}}.yaml())
	f.Add("--- !ruby/object:Gem::Specification\nname: x\nversion: 1.0-beta\nplatform: java\n")
	f.Add("--- !ruby/object:Gem::Specification\nname: &a x\nversion: *a\n")
	f.Fuzz(func(t *testing.T, y string) {
		s, err := parseGemspec([]byte(y))
		if err != nil {
			if packages.KindOf(err) != packages.KindInvalid {
				t.Fatalf("kind %v: %v", packages.KindOf(err), err)
			}
			return
		}
		if !validGemName(s.Name) || s.Platform == "" || strings.Contains(s.Version, "-") {
			t.Fatalf("accepted %+v", s)
		}
		if v, err := packages.NormalizeGemVersion(s.Version); err != nil || v != s.Version {
			t.Fatalf("version %q is not canonical", s.Version)
		}
		_ = infoLine(s)
		_ = marshal(specValue(s))
	})
}

func TestCanonicalPlatform(t *testing.T) {
	// Expected values are Gem::Platform.new(s).to_s of RubyGems 3.3.
	for in, want := range map[string]string{
		"ruby": "ruby", "": "ruby", "x86_64-linux": "x86_64-linux", "x86_64-linux-gnu": "x86_64-linux",
		"x86_64-linux-musl": "x86_64-linux-musl", "i686-linux": "x86-linux", "universal-darwin-19": "universal-darwin-19",
		"arm64-darwin21": "arm64-darwin-21", "java": "java", "jruby": "java", "x64-mingw32": "x64-mingw32",
		"x64-mingw-ucrt": "x64-mingw-ucrt", "mswin32": "x86-mswin32", "i386-mswin32_80": "x86-mswin32-80",
		"sparc-solaris2.8": "sparc-solaris-2.8", "x86_64-freebsd13": "x86_64-freebsd-13", "armv7-foo": "armv7-unknown",
		"aarch64-linux": "aarch64-linux", "x86_64-openbsd7.1": "x86_64-openbsd-7.1",
	} {
		if got := canonicalPlatform(in); got != want {
			t.Errorf("canonicalPlatform(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCanonicalPlatformRuby checks the platform reader against RubyGems
// itself.
func TestCanonicalPlatformRuby(t *testing.T) {
	names := []string{"x86_64-linux", "x86_64-linux-gnu", "x86_64-linux-musl", "i686-linux", "universal-darwin-19",
		"arm64-darwin21", "java", "jruby", "x64-mingw32", "x64-mingw-ucrt", "mswin32", "i386-mswin32_80", "sparc-solaris2.8",
		"x86_64-freebsd13", "armv7-foo", "java1.5", "dotnet2.0", "x86-cygwin", "powerpc-aix5.3", "universal-macruby",
		"x86-netbsdelf", "hppa-hpux11", "test_platform1", "arm-linux-eabihf", "x86_64-dalvik7", "x86_64"}
	got := runRuby(t, `require "rubygems"; File.read(ARGV[0]).split("\n").each { |n| p = Gem::Platform.new(n); puts [p.cpu, p.os, p.version].inspect }`,
		[]byte(strings.Join(names, "\n")))
	lines := strings.Split(got, "\n")
	for i, n := range names {
		p, _ := parsePlatform(n)
		q := func(s string) string {
			if s == "" {
				return "nil"
			}
			return `"` + s + `"`
		}
		want := "[" + q(p.CPU) + ", " + q(p.OS) + ", " + q(p.Version) + "]"
		if i >= len(lines) || lines[i] != want {
			t.Errorf("%s: RubyGems says %s, Packhub %s", n, lines[i], want)
		}
	}
}
