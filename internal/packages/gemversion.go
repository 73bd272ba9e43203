package packages

import (
	"strings"
)

// RubyGems versions, as Gem::Version reads, writes and orders them. They
// live here because the RubyGems spec needs them to normalise and order
// version names; the RubyGems front uses them too.

// NormalizeGemVersion returns the canonical form of a gem version: trimmed,
// with "-" written ".pre." as Gem::Version writes it ("1.0-rc1" is
// "1.0.pre.rc1"). A string Gem::Version would not accept, or an empty one,
// is an error of KindInvalid.
func NormalizeGemVersion(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !validGemVersion(s) || len(s) > 128 {
		return "", Errorf(KindInvalid, "%q is not a valid gem version", s)
	}
	return strings.ReplaceAll(s, "-", ".pre."), nil
}

// validGemVersion reports whether s matches Gem::Version's pattern
// [0-9]+(\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?.
func validGemVersion(s string) bool {
	main, pre, hasPre := strings.Cut(s, "-")
	if main == "" {
		return false
	}
	for i, seg := range strings.Split(main, ".") {
		if seg == "" {
			return false
		}
		for j := 0; j < len(seg); j++ {
			c := seg[j]
			if !isDigit(c) && (i == 0 || !isAlpha(c)) {
				return false
			}
		}
	}
	if !hasPre {
		return true
	}
	for _, seg := range strings.Split(pre, ".") {
		if seg == "" {
			return false
		}
		for j := 0; j < len(seg); j++ {
			c := seg[j]
			if !isDigit(c) && !isAlpha(c) && c != '-' {
				return false
			}
		}
	}
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

// GemPrerelease reports whether a gem version is a prerelease: whether it
// has a letter in it.
func GemPrerelease(v string) bool {
	for i := 0; i < len(v); i++ {
		if isAlpha(v[i]) {
			return true
		}
	}
	return false
}

// gemSegment is one segment of a version: a number (kept as its digits,
// without leading zeros, so that any length compares) or a string.
type gemSegment struct {
	num   string
	str   string
	isStr bool
}

// gemSegments splits a version as Gem::Version#canonical_segments does:
// runs of digits and of letters, with the zeros that end the numeric part
// and the zeros that end the string part dropped.
func gemSegments(v string) []gemSegment {
	var segs []gemSegment
	for i := 0; i < len(v); {
		c := v[i]
		j := i
		switch {
		case isDigit(c):
			for j < len(v) && isDigit(v[j]) {
				j++
			}
			n := strings.TrimLeft(v[i:j], "0")
			segs = append(segs, gemSegment{num: n})
		case isAlpha(c):
			for j < len(v) && isAlpha(v[j]) {
				j++
			}
			segs = append(segs, gemSegment{str: v[i:j], isStr: true})
		default:
			j++
		}
		i = j
	}
	first := len(segs)
	for i, s := range segs {
		if s.isStr {
			first = i
			break
		}
	}
	trim := func(p []gemSegment) []gemSegment {
		for len(p) > 0 && !p[len(p)-1].isStr && p[len(p)-1].num == "" {
			p = p[:len(p)-1]
		}
		return p
	}
	num := trim(append([]gemSegment(nil), segs[:first]...))
	return append(num, trim(segs[first:])...)
}

// CompareGemVersions orders two gem versions as Gem::Version#<=> does, and
// versions Gem::Version holds equal ("1.0" and "1.0.0") by their text, so
// that the order is total.
func CompareGemVersions(a, b string) int {
	if c := compareGemSegments(gemSegments(a), gemSegments(b)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func compareGemSegments(l, r []gemSegment) int {
	zero := gemSegment{}
	for i := 0; i < max(len(l), len(r)); i++ {
		ls, rs := zero, zero
		if i < len(l) {
			ls = l[i]
		}
		if i < len(r) {
			rs = r[i]
		}
		switch {
		case ls == rs:
			continue
		case ls.isStr && !rs.isStr:
			return -1
		case !ls.isStr && rs.isStr:
			return 1
		case ls.isStr:
			return strings.Compare(ls.str, rs.str)
		case len(ls.num) != len(rs.num):
			if len(ls.num) < len(rs.num) {
				return -1
			}
			return 1
		default:
			return strings.Compare(ls.num, rs.num)
		}
	}
	return 0
}
