package npm

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// readmeLimit is the length npm's registry cuts a packument's readme to:
// 65,536 characters, counted as JavaScript counts them (UTF-16 code units).
const readmeLimit = 65536

// cutString cuts a JSON string, as raw JSON, to at most n UTF-16 code units
// of content without splitting a character (nor an escaped surrogate
// pair). It works on the raw text, escapes as they are, so that a long
// string is never decoded. It returns the value unchanged when it is not a
// string or is short enough.
func cutString(raw []byte, n int) ([]byte, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return raw, false
	}
	units := 0
	for i := 1; i < len(raw); {
		c := raw[i]
		size, u := 1, 1
		switch {
		case c == '"':
			return raw, false // the whole string fits
		case c == '\\':
			size = 2
			if i+1 < len(raw) && raw[i+1] == 'u' {
				size = 6
				if isSurrogate(raw[i:], "89abAB") && isSurrogate(raw[i+6:], "cdefCDEF") {
					size, u = 12, 2
				}
			}
		case c >= utf8.RuneSelf:
			r, s := utf8.DecodeRune(raw[i:])
			size = s
			if r >= 0x10000 {
				u = 2
			}
		}
		if units+u > n {
			out := make([]byte, 0, i+1)
			out = append(out, raw[:i]...)
			return append(out, '"'), true
		}
		units += u
		i += size
	}
	return raw, false
}

// isSurrogate reports whether esc starts with an escape \uDXXX whose
// third hex digit is one of third: 8 to B for a high surrogate, C to F for
// a low one.
func isSurrogate(esc []byte, third string) bool {
	return len(esc) >= 6 && esc[0] == '\\' && esc[1] == 'u' && (esc[2] == 'd' || esc[2] == 'D') && strings.IndexByte(third, esc[3]) >= 0
}

// cutReadme returns a "readme" value cut to readmeLimit characters, and
// whether it changed. Values that are not strings are left alone.
func cutReadme(raw json.RawMessage) (json.RawMessage, bool) {
	// A JSON string has at least as many bytes as characters.
	if len(raw) <= readmeLimit+2 {
		return raw, false
	}
	return cutString(raw, readmeLimit)
}

// slimManifest returns a stored manifest with its readme cut as npm's
// registry cuts it, for manifests stored before Packhub cut readmes on
// publish. It finds the readme in the raw text rather than decoding the
// manifest, so that cutting a long readme costs no copy of it. Manifests
// too small to hold a long readme are returned as they are.
func slimManifest(meta json.RawMessage) json.RawMessage {
	if len(meta) <= readmeLimit {
		return meta
	}
	start, end, ok := topLevelValue(meta, "readme")
	if !ok {
		return meta
	}
	cut, changed := cutReadme(meta[start:end])
	if !changed {
		return meta
	}
	out := make([]byte, 0, len(meta)-(end-start)+len(cut))
	out = append(out, meta[:start]...)
	out = append(out, cut...)
	return append(out, meta[end:]...)
}

// topLevelValue finds the value of member key of the JSON object doc, which
// must be valid JSON: it returns the value's offsets. With duplicate keys
// it finds the last, as decoding keeps the last.
func topLevelValue(doc []byte, key string) (start, end int, ok bool) {
	i := skipSpace(doc, 0)
	if i >= len(doc) || doc[i] != '{' {
		return 0, 0, false
	}
	i++
	for {
		i = skipSpace(doc, i)
		if i >= len(doc) || doc[i] != '"' {
			return start, end, ok
		}
		kEnd := skipValue(doc, i)
		var k string
		if kEnd < 0 || json.Unmarshal(doc[i:kEnd], &k) != nil {
			return 0, 0, false
		}
		i = skipSpace(doc, kEnd)
		if i >= len(doc) || doc[i] != ':' {
			return 0, 0, false
		}
		i = skipSpace(doc, i+1)
		vEnd := skipValue(doc, i)
		if vEnd < 0 {
			return 0, 0, false
		}
		if k == key {
			start, end, ok = i, vEnd, true
		}
		i = skipSpace(doc, vEnd)
		if i >= len(doc) || doc[i] != ',' {
			return start, end, ok
		}
		i++
	}
}

func skipSpace(doc []byte, i int) int {
	for i < len(doc) && isSpace(doc[i]) {
		i++
	}
	return i
}

// skipValue returns the offset just past the JSON value at doc[i], or -1.
func skipValue(doc []byte, i int) int {
	if i >= len(doc) {
		return -1
	}
	switch doc[i] {
	case '"':
		return skipString(doc, i)
	case '{', '[':
		depth := 0
		for i < len(doc) {
			switch doc[i] {
			case '"':
				if i = skipString(doc, i); i < 0 {
					return -1
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	}
	for i < len(doc) && !isSpace(doc[i]) && doc[i] != ',' && doc[i] != '}' && doc[i] != ']' {
		i++
	}
	return i
}

// skipString returns the offset just past the JSON string at doc[i], or -1.
func skipString(doc []byte, i int) int {
	for i++; i < len(doc); i++ {
		switch doc[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}
