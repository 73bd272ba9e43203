package packages

import (
	"strings"
)

// Maven versions: what a version name may be, and the order Maven itself
// gives versions (ComparableVersion of Maven 3), so that "latest" and
// "release" in maven-metadata.xml are what mvn would pick.

// MaxMavenVersionLength bounds a Maven version name.
const MaxMavenVersionLength = 255

// normalizeMavenVersion accepts a Maven version as it is written: letters,
// digits and . _ - + ~, starting with a letter or a digit. Maven versions
// are case-sensitive in repository paths, so the name is kept as given.
func normalizeMavenVersion(name string) (string, error) {
	if !ValidMavenVersion(name) {
		return "", Errorf(KindInvalid, "%q is not a Maven version: use letters, digits and . _ - + ~, starting with a letter or a digit, at most %d characters", name, MaxMavenVersionLength)
	}
	return name, nil
}

// ValidMavenVersion reports whether name can be a Maven version.
func ValidMavenVersion(name string) bool {
	if name == "" || len(name) > MaxMavenVersionLength || !isAlnum(name[0]) {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !isAlnum(c) && c != '.' && c != '_' && c != '-' && c != '+' && c != '~' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// CompareMavenVersions orders two Maven versions as Maven's
// ComparableVersion does: 1.0-alpha-1 < 1.0-beta < 1.0-rc-1 < 1.0-SNAPSHOT
// < 1.0 < 1.0-sp-1 < 1.0.1, numbers numerically, unknown qualifiers after
// the known ones, case-insensitively.
func CompareMavenVersions(a, b string) int {
	return parseMavenVersion(a).compare(parseMavenVersion(b))
}

// mvItem is one item of a parsed version: an integer (digits without
// leading zeros), a qualifier string, or a list.
type mvItem struct {
	kind mvKind
	num  string   // mvInt: decimal digits, no leading zeros ("" is zero)
	str  string   // mvString: the qualifier after aliasing
	list []mvItem // mvList
}

type mvKind int

const (
	mvInt mvKind = iota
	mvString
	mvList
)

// The qualifiers Maven knows, in order; "" is a release.
var mvQualifiers = []string{"alpha", "beta", "milestone", "rc", "snapshot", "", "sp"}

const mvReleaseIndex = "5" // the index of "" in mvQualifiers

func mvIntItem(digits string) mvItem {
	return mvItem{kind: mvInt, num: strings.TrimLeft(digits, "0")}
}

func mvStringItem(s string, followedByDigit bool) mvItem {
	if followedByDigit && len(s) == 1 {
		switch s {
		case "a":
			s = "alpha"
		case "b":
			s = "beta"
		case "m":
			s = "milestone"
		}
	}
	switch s {
	case "ga", "final", "release":
		s = ""
	case "cr":
		s = "rc"
	}
	return mvItem{kind: mvString, str: s}
}

func mvParseItem(isDigit bool, s string) mvItem {
	if isDigit {
		return mvIntItem(s)
	}
	return mvStringItem(s, false)
}

// comparableQualifier makes qualifiers comparable as strings: the known
// ones by their index, the others after them, alphabetically.
func comparableQualifier(q string) string {
	for i, k := range mvQualifiers {
		if k == q {
			return string(rune('0' + i))
		}
	}
	return "7-" + q
}

func (it mvItem) isNull() bool {
	switch it.kind {
	case mvInt:
		return it.num == ""
	case mvString:
		return comparableQualifier(it.str) == mvReleaseIndex
	}
	return len(it.list) == 0
}

// parseMavenVersion parses a version into nested lists as Maven does: "."
// separates items, "-" and a change between digits and letters start a
// sub-list.
func parseMavenVersion(v string) mvItem {
	v = strings.ToLower(v)
	root := &mvItem{kind: mvList}
	list := root
	stack := []*mvItem{root}
	// push adds a new sub-list to the current list and makes it current.
	push := func() {
		list.list = append(list.list, mvItem{kind: mvList})
		list = &list.list[len(list.list)-1]
		stack = append(stack, list)
	}
	isDigit := false
	start := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '.' || c == '-':
			if i == start {
				list.list = append(list.list, mvIntItem(""))
			} else {
				list.list = append(list.list, mvParseItem(isDigit, v[start:i]))
			}
			start = i + 1
			if c == '-' {
				push()
			}
		case c >= '0' && c <= '9':
			if !isDigit && i > start {
				// 1.0.0.X1 < 1.0.0-X2: treat .X as -X for any string qualifier X.
				if len(list.list) > 0 {
					push()
				}
				list.list = append(list.list, mvStringItem(v[start:i], true))
				start = i
				push()
			}
			isDigit = true
		default:
			if isDigit && i > start {
				list.list = append(list.list, mvParseItem(true, v[start:i]))
				start = i
				push()
			}
			isDigit = false
		}
	}
	if len(v) > start {
		if !isDigit && len(list.list) > 0 {
			push()
		}
		list.list = append(list.list, mvParseItem(isDigit, v[start:]))
	}
	// Pointers into the lists stay valid: a list is only appended to while
	// it is the current one, and its parent is never appended to again.
	for i := len(stack) - 1; i >= 0; i-- {
		stack[i].normalize()
	}
	return *root
}

// normalize removes trailing null items (0, "", empty lists) that stand
// after the last non-list item.
func (it *mvItem) normalize() {
	for i := len(it.list) - 1; i >= 0; i-- {
		last := it.list[i]
		if last.isNull() {
			it.list = append(it.list[:i], it.list[i+1:]...)
		} else if last.kind != mvList {
			break
		}
	}
}

func compareDigits(a, b string) int {
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

// compareNull compares an item with nothing (a missing item).
func (it mvItem) compareNull() int {
	switch it.kind {
	case mvInt:
		if it.num == "" {
			return 0
		}
		return 1
	case mvString:
		return strings.Compare(comparableQualifier(it.str), mvReleaseIndex)
	}
	if len(it.list) == 0 {
		return 0
	}
	return it.list[0].compareNull()
}

func (it mvItem) compare(o mvItem) int {
	switch it.kind {
	case mvInt:
		switch o.kind {
		case mvInt:
			return compareDigits(it.num, o.num)
		default: // 1.1 > 1-sp, 1.1 > 1-1
			return 1
		}
	case mvString:
		switch o.kind {
		case mvString:
			return strings.Compare(comparableQualifier(it.str), comparableQualifier(o.str))
		default:
			return -1
		}
	}
	switch o.kind {
	case mvInt:
		return -1
	case mvString:
		return 1
	}
	for i := 0; i < len(it.list) || i < len(o.list); i++ {
		var r int
		switch {
		case i >= len(it.list):
			r = -o.list[i].compareNull()
		case i >= len(o.list):
			r = it.list[i].compareNull()
		default:
			r = it.list[i].compare(o.list[i])
		}
		if r != 0 {
			return r
		}
	}
	return 0
}
