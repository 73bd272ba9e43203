package npm

import (
	"strconv"
	"strings"
)

// semver is a parsed semantic version (semver.org 2.0.0), as npm requires
// for every published version.
type semver struct {
	major, minor, patch uint64
	pre                 []string // dot-separated pre-release identifiers
}

// parseSemver parses a strict semantic version: MAJOR.MINOR.PATCH, an
// optional -PRERELEASE and an optional +BUILD.
func parseSemver(s string) (semver, bool) {
	var v semver
	if s == "" || len(s) > 256 {
		return v, false
	}
	if i := strings.IndexByte(s, '+'); i >= 0 {
		if !validIdents(s[i+1:], false) {
			return v, false
		}
		s = s[:i]
	}
	core := s
	if i := strings.IndexByte(s, '-'); i >= 0 {
		pre := s[i+1:]
		if !validIdents(pre, true) {
			return v, false
		}
		v.pre = strings.Split(pre, ".")
		core = s[:i]
	}
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return v, false
	}
	nums := [3]*uint64{&v.major, &v.minor, &v.patch}
	for i, p := range parts {
		if !isNumeric(p) || (len(p) > 1 && p[0] == '0') {
			return v, false
		}
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return v, false
		}
		*nums[i] = n
	}
	return v, true
}

func isNumeric(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validIdents checks dot-separated identifiers of [0-9A-Za-z-]; numeric
// pre-release identifiers may not have leading zeros.
func validIdents(s string, pre bool) bool {
	if s == "" {
		return false
	}
	for _, id := range strings.Split(s, ".") {
		if id == "" {
			return false
		}
		for i := 0; i < len(id); i++ {
			c := id[i]
			if !(c == '-' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
				return false
			}
		}
		if pre && isNumeric(id) && len(id) > 1 && id[0] == '0' {
			return false
		}
	}
	return true
}

// compare returns -1, 0 or 1 by semver precedence.
func (a semver) compare(b semver) int {
	for _, d := range [][2]uint64{{a.major, b.major}, {a.minor, b.minor}, {a.patch, b.patch}} {
		if d[0] != d[1] {
			if d[0] < d[1] {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(a.pre) == 0 && len(b.pre) == 0:
		return 0
	case len(a.pre) == 0:
		return 1
	case len(b.pre) == 0:
		return -1
	}
	for i := 0; i < len(a.pre) && i < len(b.pre); i++ {
		x, y := a.pre[i], b.pre[i]
		if x == y {
			continue
		}
		xn, yn := isNumeric(x), isNumeric(y)
		switch {
		case xn && yn:
			if len(x) != len(y) {
				if len(x) < len(y) {
					return -1
				}
				return 1
			}
			if x < y {
				return -1
			}
			return 1
		case xn:
			return -1
		case yn:
			return 1
		case x < y:
			return -1
		default:
			return 1
		}
	}
	switch {
	case len(a.pre) < len(b.pre):
		return -1
	case len(a.pre) > len(b.pre):
		return 1
	}
	return 0
}

// highestVersion returns the highest of names by semver precedence,
// preferring releases to pre-releases, as npm picks "latest" when none is
// set. Names that are not versions are ignored; "" when none is.
func highestVersion(names []string) string {
	var best string
	var bv semver
	found := false
	for _, n := range names {
		v, ok := parseSemver(n)
		if !ok {
			continue
		}
		if !found {
			best, bv, found = n, v, true
			continue
		}
		// A release beats any pre-release.
		if (len(v.pre) == 0) != (len(bv.pre) == 0) {
			if len(v.pre) == 0 {
				best, bv = n, v
			}
			continue
		}
		if v.compare(bv) > 0 {
			best, bv = n, v
		}
	}
	return best
}
