package restapi

import (
	"errors"
	"math"
	"net/url"
	"strconv"
	"strings"

	"github.com/packhub/packhub/internal/packages"
)

// Pagination, as GitHub's REST API does it.
const (
	defaultPerPage = 30
	maxPerPage     = 100
	// maxPackageWindow bounds page*per_page on the package lists.
	maxPackageWindow = 10000
	// maxPage bounds page numbers so that offsets never overflow.
	maxPage = math.MaxInt32
)

// pageParam reads a positive integer query parameter.
//
// GitHub is lenient here and so is Packhub: a value that is not a positive
// integer (absent, "abc", "0", "-1", "1.5") falls back to the default
// rather than failing, and a value too large to represent is taken as very
// large (then per_page is capped at 100 and a page past the end is empty).
// No value of these parameters is ever an error, except that the package
// lists refuse page*per_page > 10000 as GitHub documents.
func pageParam(q url.Values, name string, def int) int {
	v := strings.TrimSpace(q.Get(name))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange && !strings.HasPrefix(v, "-") {
			return maxPage
		}
		return def
	}
	if n <= 0 {
		return def
	}
	return min(n, maxPage)
}

// pageOf reads page and per_page.
func pageOf(q url.Values) packages.Page {
	return packages.Page{
		Page:    pageParam(q, "page", 1),
		PerPage: min(pageParam(q, "per_page", defaultPerPage), maxPerPage),
	}
}

// setLink writes GitHub's pagination Link header: prev, next, last, first,
// in that order, each the request's own URL with page replaced. It writes
// nothing when everything fits on the first page.
func (c *call) setLink(p packages.Page, total int) {
	last := 1
	if total > 0 {
		last = (total + p.PerPage - 1) / p.PerPage
	}
	if p.Page == 1 && last <= 1 {
		return
	}
	var rels []string
	add := func(page int, rel string) {
		rels = append(rels, "<"+c.pageURL(page)+`>; rel="`+rel+`"`)
	}
	if p.Page > 1 {
		add(p.Page-1, "prev")
	}
	if p.Page < last {
		add(p.Page+1, "next")
		add(last, "last")
	}
	if p.Page > 1 {
		add(1, "first")
	}
	c.w.Header().Set("Link", strings.Join(rels, ", "))
}

// pageURL is the request's URL with page set to n. The other query
// parameters keep their order; each is re-escaped so that nothing the
// client sent can break the header.
func (c *call) pageURL(n int) string {
	var parts []string
	done := false
	for _, kv := range strings.Split(c.r.URL.RawQuery, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		if uk, err := url.QueryUnescape(k); err == nil {
			k = uk
		}
		if uv, err := url.QueryUnescape(v); err == nil {
			v = uv
		}
		if k == "page" {
			if done {
				continue
			}
			done = true
			v = strconv.Itoa(n)
		}
		parts = append(parts, url.QueryEscape(k)+"="+url.QueryEscape(v))
	}
	if !done {
		parts = append(parts, "page="+strconv.Itoa(n))
	}
	l := c.links()
	base := strings.TrimSuffix(l.api, "/api/v3")
	return base + c.r.URL.EscapedPath() + "?" + strings.Join(parts, "&")
}
