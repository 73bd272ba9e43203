// Package nugetver parses, normalises and orders NuGet versions and
// version ranges, following NuGet's SemVer 2.0.0 rules: one to four numeric
// parts, an optional release label of dot-separated identifiers, optional
// build metadata that plays no part in identity or order, and
// case-insensitive comparison of release labels.
package nugetver

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MaxLength bounds a version string; NuGet's own limit is 64 characters for
// the normalised form, and nothing longer is a real version.
const MaxLength = 128

// Version is a parsed NuGet version.
type Version struct {
	// Parts are major, minor, patch and revision (missing parts are 0).
	Parts [4]int64
	// Release holds the release label's identifiers, as written; empty
	// for a release (stable) version.
	Release []string
	// Metadata is the build metadata after '+', as written; "" for none.
	Metadata string
}

// ErrInvalid is the error of every version or range that does not parse.
var ErrInvalid = errors.New("not a valid NuGet version")

func invalid(s, why string) error {
	return fmt.Errorf("%w: %q: %s", ErrInvalid, s, why)
}

// Parse parses a version: 1, 1.2, 1.2.3 or 1.2.3.4, each part a decimal
// number of at most 2,147,483,647 (leading zeros allowed, as NuGet allows
// them), then optionally -RELEASE and +METADATA. Surrounding spaces are
// ignored.
func Parse(s string) (Version, error) {
	orig := s
	s = strings.TrimSpace(s)
	if s == "" {
		return Version{}, invalid(orig, "empty")
	}
	if len(s) > MaxLength {
		return Version{}, invalid(orig[:32]+"…", "too long")
	}
	var v Version
	if i := strings.IndexByte(s, '+'); i >= 0 {
		v.Metadata = s[i+1:]
		s = s[:i]
		if !validIdentifiers(v.Metadata, true) {
			return Version{}, invalid(orig, "the build metadata must be dot-separated identifiers of letters, digits and hyphens")
		}
	}
	if i := strings.IndexByte(s, '-'); i >= 0 {
		label := s[i+1:]
		s = s[:i]
		if !validIdentifiers(label, false) {
			return Version{}, invalid(orig, "the release label must be dot-separated identifiers of letters, digits and hyphens, numbers without leading zeros")
		}
		v.Release = strings.Split(label, ".")
	}
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return Version{}, invalid(orig, "more than four numeric parts")
	}
	for i, p := range parts {
		if p == "" || !allDigits(p) {
			return Version{}, invalid(orig, "the numeric parts must be decimal numbers")
		}
		n, err := strconv.ParseInt(p, 10, 32)
		if err != nil {
			return Version{}, invalid(orig, "a numeric part is too large")
		}
		v.Parts[i] = n
	}
	return v, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// validIdentifiers reports whether s is dot-separated non-empty
// identifiers of [0-9A-Za-z-]. Release labels (not metadata) may not have
// numeric identifiers with leading zeros.
func validIdentifiers(s string, metadata bool) bool {
	if s == "" {
		return false
	}
	for _, id := range strings.Split(s, ".") {
		if id == "" {
			return false
		}
		for i := 0; i < len(id); i++ {
			c := id[i]
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-') {
				return false
			}
		}
		if !metadata && len(id) > 1 && id[0] == '0' && allDigits(id) {
			return false
		}
	}
	return true
}

// String returns the normalised form: three numeric parts (four when the
// revision is not 0), the release label as written, no build metadata.
// 1.0 and 1.0.0.0 give 1.0.0; 1.0.0-Beta+abc gives 1.0.0-Beta.
func (v Version) String() string {
	var b strings.Builder
	for i := 0; i < 3; i++ {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.FormatInt(v.Parts[i], 10))
	}
	if v.Parts[3] != 0 {
		b.WriteByte('.')
		b.WriteString(strconv.FormatInt(v.Parts[3], 10))
	}
	if len(v.Release) > 0 {
		b.WriteByte('-')
		b.WriteString(strings.Join(v.Release, "."))
	}
	return b.String()
}

// Canonical returns the normalised form in lower case: the one name of the
// version whatever case it was written in, as flat containers name it.
func (v Version) Canonical() string { return strings.ToLower(v.String()) }

// IsPrerelease reports whether the version has a release label.
func (v Version) IsPrerelease() bool { return len(v.Release) > 0 }

// IsSemVer2 reports whether the version needs SemVer 2.0.0 to be
// understood: a release label of more than one identifier, or build
// metadata. Older clients cannot read such versions.
func (v Version) IsSemVer2() bool { return len(v.Release) > 1 || v.Metadata != "" }

// Compare orders two versions: negative when a comes before b, 0 when they
// are the same version (build metadata and the case of release labels do
// not count), positive otherwise.
func Compare(a, b Version) int {
	for i := range a.Parts {
		if c := cmpInt(a.Parts[i], b.Parts[i]); c != 0 {
			return c
		}
	}
	switch {
	case len(a.Release) == 0 && len(b.Release) == 0:
		return 0
	case len(a.Release) == 0:
		return 1 // a release comes after its prereleases
	case len(b.Release) == 0:
		return -1
	}
	for i := 0; i < len(a.Release) && i < len(b.Release); i++ {
		if c := compareIdentifier(a.Release[i], b.Release[i]); c != 0 {
			return c
		}
	}
	return cmpInt(int64(len(a.Release)), int64(len(b.Release)))
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compareIdentifier orders two release label identifiers: numbers
// numerically and before words, words case-insensitively.
func compareIdentifier(a, b string) int {
	an, bn := allDigits(a), allDigits(b)
	switch {
	case an && bn:
		a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
		if c := cmpInt(int64(len(a)), int64(len(b))); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	case an:
		return -1
	case bn:
		return 1
	}
	return strings.Compare(strings.ToLower(a), strings.ToLower(b))
}

// CompareStrings orders two version strings; strings that do not parse
// come before every version, in byte order among themselves.
func CompareStrings(a, b string) int {
	va, errA := Parse(a)
	vb, errB := Parse(b)
	switch {
	case errA != nil && errB != nil:
		return strings.Compare(a, b)
	case errA != nil:
		return -1
	case errB != nil:
		return 1
	}
	return Compare(va, vb)
}

// Range is a version range as a dependency states it. A nil bound is
// open.
type Range struct {
	Min, Max                   *Version
	MinInclusive, MaxInclusive bool
}

// ParseRange parses a dependency's version range: "" (any version), a bare
// version ("1.0": that version or later), or interval notation ("[1.0]",
// "[1.0,2.0)", "(,2.0]", "(1.0,)"). Floating versions (1.*) are not
// ranges a package may state.
func ParseRange(s string) (Range, error) {
	orig := s
	s = strings.TrimSpace(s)
	if s == "" {
		return Range{}, nil
	}
	if len(s) > 2*MaxLength+8 {
		return Range{}, invalid(orig[:32]+"…", "too long")
	}
	if s[0] != '[' && s[0] != '(' {
		v, err := Parse(s)
		if err != nil {
			return Range{}, err
		}
		return Range{Min: &v, MinInclusive: true}, nil
	}
	last := s[len(s)-1]
	if len(s) < 2 || (last != ']' && last != ')') {
		return Range{}, invalid(orig, "an interval ends with ] or )")
	}
	r := Range{MinInclusive: s[0] == '[', MaxInclusive: last == ']'}
	inner := s[1 : len(s)-1]
	lo, hi, comma := strings.Cut(inner, ",")
	if !comma {
		// [1.0]: exactly that version.
		if !r.MinInclusive || !r.MaxInclusive {
			return Range{}, invalid(orig, "a single version must be written [x]")
		}
		v, err := Parse(inner)
		if err != nil {
			return Range{}, err
		}
		r.Min, r.Max = &v, &v
		return r, nil
	}
	if strings.Contains(hi, ",") {
		return Range{}, invalid(orig, "an interval has two bounds")
	}
	if lo = strings.TrimSpace(lo); lo != "" {
		v, err := Parse(lo)
		if err != nil {
			return Range{}, err
		}
		r.Min = &v
	}
	if hi = strings.TrimSpace(hi); hi != "" {
		v, err := Parse(hi)
		if err != nil {
			return Range{}, err
		}
		r.Max = &v
	}
	if r.Min == nil && r.Max == nil && (r.MinInclusive || r.MaxInclusive) {
		return Range{}, invalid(orig, "an open bound cannot be inclusive")
	}
	if r.Min == nil {
		r.MinInclusive = false
	}
	if r.Max == nil {
		r.MaxInclusive = false
	}
	if r.Min != nil && r.Max != nil {
		c := Compare(*r.Min, *r.Max)
		if c > 0 || (c == 0 && !(r.MinInclusive && r.MaxInclusive)) {
			return Range{}, invalid(orig, "the range holds no version")
		}
	}
	return r, nil
}

// String returns the range's normalised form, as NuGet writes it:
// "[1.0.0, )", "[1.0.0, 2.0.0)", "[1.0.0]", "(, )".
func (r Range) String() string {
	if r.Min != nil && r.Max != nil && r.MinInclusive && r.MaxInclusive && Compare(*r.Min, *r.Max) == 0 {
		return "[" + r.Min.String() + "]"
	}
	var b strings.Builder
	if r.MinInclusive {
		b.WriteByte('[')
	} else {
		b.WriteByte('(')
	}
	if r.Min != nil {
		b.WriteString(r.Min.String())
	}
	b.WriteString(", ")
	if r.Max != nil {
		b.WriteString(r.Max.String())
	}
	if r.MaxInclusive {
		b.WriteByte(']')
	} else {
		b.WriteByte(')')
	}
	return b.String()
}

// IsSemVer2 reports whether a bound of the range is a SemVer 2.0.0
// version.
func (r Range) IsSemVer2() bool {
	return (r.Min != nil && r.Min.IsSemVer2()) || (r.Max != nil && r.Max.IsSemVer2())
}

// Contains reports whether v is in the range.
func (r Range) Contains(v Version) bool {
	if r.Min != nil {
		c := Compare(v, *r.Min)
		if c < 0 || (c == 0 && !r.MinInclusive) {
			return false
		}
	}
	if r.Max != nil {
		c := Compare(v, *r.Max)
		if c > 0 || (c == 0 && !r.MaxInclusive) {
			return false
		}
	}
	return true
}
