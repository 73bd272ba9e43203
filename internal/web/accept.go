package web

import (
	"strconv"
	"strings"
)

// AcceptsHTML reports whether an Accept header asks for an HTML page: it
// names text/html (or application/xhtml+xml) with a quality above zero.
// A bare */* does not: API clients and curl send it, and they get the REST
// API. Browsers name text/html on every navigation.
func AcceptsHTML(accept string) bool {
	for len(accept) > 0 {
		var item string
		item, accept, _ = strings.Cut(accept, ",")
		mediaType, params, _ := strings.Cut(item, ";")
		mediaType = strings.ToLower(strings.TrimSpace(mediaType))
		if mediaType != "text/html" && mediaType != "application/xhtml+xml" {
			continue
		}
		if quality(params) > 0 {
			return true
		}
	}
	return false
}

// quality reads the q parameter of a media range's parameters; 1 when it
// has none, 0 when it is malformed.
func quality(params string) float64 {
	for len(params) > 0 {
		var p string
		p, params, _ = strings.Cut(params, ";")
		name, value, ok := strings.Cut(p, "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil || q < 0 || q > 1 {
			return 0
		}
		return q
	}
	return 1
}
