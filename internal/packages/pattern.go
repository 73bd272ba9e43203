package packages

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Pattern matches package names, version names and tags for retention
// policies. It is written as a glob, or as a regular expression after
// "re:":
//
//   - a glob ("glob:" may prefix it) matches the whole text: * matches any
//     run of characters (slashes too), ? one character, [abc] [a-z] [!a-z]
//     one character of (or not of) a class, and \ takes the next
//     character as it is;
//   - "re:EXPR" is an RE2 regular expression (Go's regexp syntax), which
//     matches anywhere in the text unless anchored with ^ and $.
//
// The empty pattern matches nothing.
type Pattern struct {
	src string
	re  *regexp.Regexp
}

// maxPatternLen bounds what a pattern may be.
const maxPatternLen = 1024

// ParsePattern parses a pattern; an error is of KindInvalid.
func ParsePattern(s string) (Pattern, error) {
	if s == "" {
		return Pattern{}, nil
	}
	if len(s) > maxPatternLen {
		return Pattern{}, Errorf(KindInvalid, "pattern is longer than %d bytes", maxPatternLen)
	}
	var expr string
	if e, ok := strings.CutPrefix(s, "re:"); ok {
		if e == "" {
			return Pattern{}, Errorf(KindInvalid, "pattern %q: the regular expression is empty", s)
		}
		expr = e
	} else {
		g, err := globRegexp(strings.TrimPrefix(s, "glob:"))
		if err != nil {
			return Pattern{}, Wrap(KindInvalid, fmt.Sprintf("pattern %q: %v", s, err), err)
		}
		expr = g
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return Pattern{}, Wrap(KindInvalid, fmt.Sprintf("pattern %q is not a valid regular expression: %v", s, err), err)
	}
	return Pattern{src: s, re: re}, nil
}

// globRegexp translates a glob into an anchored regular expression.
func globRegexp(g string) (string, error) {
	if g == "" {
		return "", fmt.Errorf("the glob is empty")
	}
	if !utf8.ValidString(g) {
		return "", fmt.Errorf("it is not valid UTF-8")
	}
	var b strings.Builder
	b.WriteString(`^(?s:`)
	rs := []rune(g)
	for i := 0; i < len(rs); i++ {
		switch c := rs[i]; c {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		case '\\':
			if i+1 == len(rs) {
				return "", fmt.Errorf("it ends with a lone \\")
			}
			i++
			b.WriteString(regexp.QuoteMeta(string(rs[i])))
		case '[':
			end, class, err := globClass(rs, i)
			if err != nil {
				return "", err
			}
			b.WriteString(class)
			i = end
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString(`)$`)
	return b.String(), nil
}

// globClass translates the class starting at rs[start] ('['); it returns
// the index of its ']'.
func globClass(rs []rune, start int) (int, string, error) {
	var b strings.Builder
	b.WriteByte('[')
	i := start + 1
	if i < len(rs) && (rs[i] == '!' || rs[i] == '^') {
		b.WriteByte('^')
		i++
	}
	lit := func(r rune) { fmt.Fprintf(&b, `\x{%x}`, r) }
	first := true
	for ; i < len(rs); i++ {
		c := rs[i]
		switch {
		case c == ']' && !first:
			b.WriteByte(']')
			return i, b.String(), nil
		case c == '\\':
			if i+1 == len(rs) {
				return 0, "", fmt.Errorf("it ends with a lone \\")
			}
			i++
			lit(rs[i])
		case c == '-' && !first && i+1 < len(rs) && rs[i+1] != ']':
			b.WriteByte('-')
		default:
			lit(c)
		}
		first = false
	}
	return 0, "", fmt.Errorf("a [ has no closing ]")
}

// String returns the pattern as written.
func (p Pattern) String() string { return p.src }

// Empty reports whether the pattern is empty (matches nothing).
func (p Pattern) Empty() bool { return p.re == nil }

// Match reports whether s matches.
func (p Pattern) Match(s string) bool { return p.re != nil && p.re.MatchString(s) }

// MatchAny reports whether any of ss matches.
func (p Pattern) MatchAny(ss ...string) bool {
	for _, s := range ss {
		if p.Match(s) {
			return true
		}
	}
	return false
}

// ParseAge parses an age for a retention policy: a Go duration ("36h",
// "90m") or a whole number of days ("30d"). It must be positive; an error
// is of KindInvalid.
func ParseAge(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	bad := Errorf(KindInvalid, "age %q must be a positive duration, such as 30d or 36h", s)
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.ParseInt(n, 10, 64)
		if err != nil || days <= 0 || days > 100*366 {
			return 0, bad
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, bad
	}
	return d, nil
}

// FormatAge writes an age as ParseAge reads it: in days when it is whole
// days.
func FormatAge(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return d.String()
}
