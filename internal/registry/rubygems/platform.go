package rubygems

import (
	"regexp"
	"strings"
)

// rubyPlatform is the platform of pure-Ruby gems.
const rubyPlatform = "ruby"

// platform is a Gem::Platform: cpu, os and version, any of them empty.
type platform struct {
	CPU, OS, Version string
}

// String is Gem::Platform#to_s: the parts that are set, joined by "-".
func (p platform) String() string {
	var parts []string
	for _, s := range []string{p.CPU, p.OS, p.Version} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "-")
}

var (
	hasDigit       = regexp.MustCompile(`\d`)
	osVersionLike  = regexp.MustCompile(`^\d+(\.\d+)?$`)
	x86Like        = regexp.MustCompile(`i\d86`)
	platformOSRule = []struct {
		re      *regexp.Regexp
		os      string // "" takes the first group as the os
		version int    // the group holding the version; 0 for none
	}{
		{regexp.MustCompile(`aix(\d+)?`), "aix", 1},
		{regexp.MustCompile(`cygwin`), "cygwin", 0},
		{regexp.MustCompile(`darwin(\d+)?`), "darwin", 1},
		{regexp.MustCompile(`^macruby$`), "macruby", 0},
		{regexp.MustCompile(`freebsd(\d+)?`), "freebsd", 1},
		{regexp.MustCompile(`hpux(\d+)?`), "hpux", 1},
		{regexp.MustCompile(`^java$|^jruby$`), "java", 0},
		{regexp.MustCompile(`^java([\d.]*)`), "java", 1},
		{regexp.MustCompile(`^dalvik(\d+)?$`), "dalvik", 1},
		{regexp.MustCompile(`^dotnet$`), "dotnet", 0},
		{regexp.MustCompile(`^dotnet([\d.]*)`), "dotnet", 1},
		{nil, "linux", 0}, // linux-?((?!gnu)\w+)?: see linuxVersion
		{regexp.MustCompile(`mingw32`), "mingw32", 0},
		{regexp.MustCompile(`mingw-?(\w+)?`), "mingw", 1},
		{nil, "mswin", 0}, // (mswin\d+)(_(\d+))?: see below
		{regexp.MustCompile(`netbsdelf`), "netbsdelf", 0},
		{regexp.MustCompile(`openbsd(\d+\.\d+)?`), "openbsd", 1},
		{regexp.MustCompile(`bitrig(\d+\.\d+)?`), "bitrig", 1},
		{regexp.MustCompile(`solaris(\d+\.\d+)?`), "solaris", 1},
		{regexp.MustCompile(`^(\w+_platform)(\d+)?`), "", 2},
	}
	mswinRule = regexp.MustCompile(`(mswin\d+)(_(\d+))?`)
)

// parsePlatform reads a platform name as Gem::Platform.new does (RubyGems
// 3.3). It returns false for "ruby" (and ""), which is no Gem::Platform.
func parsePlatform(s string) (platform, bool) {
	if s == "" || s == rubyPlatform {
		return platform{}, false
	}
	arch := strings.Split(s, "-")
	if len(arch) > 2 && !hasDigit.MatchString(arch[len(arch)-1]) {
		// Reassemble x86-linux-gnu.
		extra := arch[len(arch)-1]
		arch = arch[:len(arch)-1]
		arch[len(arch)-1] += "-" + extra
	}
	cpu := arch[0]
	arch = arch[1:]
	var p platform
	p.CPU = cpu
	if x86Like.MatchString(cpu) {
		p.CPU = "x86"
	}
	if len(arch) == 2 && osVersionLike.MatchString(arch[1]) {
		p.OS, p.Version = arch[0], arch[1]
		return p, true
	}
	var os string
	if len(arch) > 0 {
		os = arch[0]
	} else {
		// Legacy jruby: the only part is the os.
		p.CPU, os = "", cpu
	}
	p.OS, p.Version = "unknown", ""
	for _, rule := range platformOSRule {
		switch {
		case rule.re == nil && rule.os == "linux":
			if v, ok := linuxVersion(os); ok {
				p.OS, p.Version = "linux", v
				return p, true
			}
		case rule.re == nil:
			m := mswinRule.FindStringSubmatch(os)
			if m == nil {
				continue
			}
			if p.CPU == "" && strings.HasSuffix(m[1], "32") {
				p.CPU = "x86"
			}
			p.OS, p.Version = m[1], m[3]
			return p, true
		default:
			m := rule.re.FindStringSubmatch(os)
			if m == nil {
				continue
			}
			p.OS = rule.os
			if p.OS == "" {
				p.OS = m[1]
			}
			p.Version = ""
			if rule.version > 0 && rule.version < len(m) {
				p.Version = m[rule.version]
			}
			return p, true
		}
	}
	return p, true
}

// linuxVersion matches /linux-?((?!gnu)\w+)?/ and returns its group.
func linuxVersion(os string) (string, bool) {
	i := strings.Index(os, "linux")
	if i < 0 {
		return "", false
	}
	rest := strings.TrimPrefix(os[i+len("linux"):], "-")
	n := 0
	for n < len(rest) && isWord(rest[n]) {
		n++
	}
	w := rest[:n]
	if w == "" || strings.HasPrefix(w, "gnu") {
		return "", true
	}
	return w, true
}

func isWord(c byte) bool {
	return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

// canonicalPlatform returns the name RubyGems gives a platform (what
// Gem::Platform.new(s).to_s is), "ruby" for the pure-Ruby platform.
func canonicalPlatform(s string) string {
	p, ok := parsePlatform(s)
	if !ok {
		return rubyPlatform
	}
	return p.String()
}
