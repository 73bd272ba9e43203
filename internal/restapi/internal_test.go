package restapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/packages"
)

func TestPageParam(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
	}{
		{"", 7}, {"abc", 7}, {"0", 7}, {"-1", 7}, {"1.5", 7}, {" 3 ", 3}, {"42", 42},
		{"99999999999999999999999", maxPage}, {"-99999999999999999999999", 7}, {"2147483648", maxPage},
	} {
		if got := pageParam(url.Values{"p": {c.in}}, "p", 7); got != c.want {
			t.Errorf("pageParam(%q) = %d, want %d", c.in, got, c.want)
		}
	}
	if p := pageOf(url.Values{"per_page": {"1000"}}); p.PerPage != 100 || p.Page != 1 {
		t.Errorf("pageOf: %+v", p)
	}
}

func TestSetLink(t *testing.T) {
	s := &server{base: "http://h"}
	for _, c := range []struct {
		query       string
		page, per   int
		total       int
		want        string
		description string
	}{
		{"", 1, 30, 30, "", "one full page"},
		{"", 1, 30, 0, "", "empty"},
		{"per_page=2", 1, 2, 5, `<http://h/x?per_page=2&page=2>; rel="next", <http://h/x?per_page=2&page=3>; rel="last"`, "first page"},
		{"page=2&per_page=2", 2, 2, 5, `<http://h/x?page=1&per_page=2>; rel="prev", <http://h/x?page=3&per_page=2>; rel="next", <http://h/x?page=3&per_page=2>; rel="last", <http://h/x?page=1&per_page=2>; rel="first"`, "middle"},
		{"page=3&per_page=2&page=9", 3, 2, 5, `<http://h/x?page=2&per_page=2>; rel="prev", <http://h/x?page=1&per_page=2>; rel="first"`, "last page, repeated page dropped"},
		{"q=a%3Eb&page=2", 2, 30, 31, `<http://h/x?q=a%3Eb&page=1>; rel="prev", <http://h/x?q=a%3Eb&page=1>; rel="first"`, "escaping kept"},
	} {
		r := httptest.NewRequest("GET", "/x?"+c.query, nil)
		rec := httptest.NewRecorder()
		cl := &call{s: s, w: rec, r: r}
		cl.setLink(packages.Page{Page: c.page, PerPage: c.per}, c.total)
		if got := rec.Header().Get("Link"); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.description, got, c.want)
		}
	}
}

func TestETagMatch(t *testing.T) {
	tag := `W/"abc"`
	for _, c := range []struct {
		h    []string
		want bool
	}{
		{nil, false}, {[]string{`"abc"`}, true}, {[]string{`W/"abc"`}, true}, {[]string{`"x", W/"abc"`}, true},
		{[]string{"*"}, true}, {[]string{`"abcd"`}, false}, {[]string{"", `"x"`}, false},
	} {
		if got := etagMatch(c.h, tag); got != c.want {
			t.Errorf("etagMatch(%q) = %v", c.h, got)
		}
	}
}

func TestCleanPath(t *testing.T) {
	for in, want := range map[string]string{
		"": "/", "/": "/", "/a/b": "/a/b", "/a/b/": "/a/b/", "/a/../b": "/b", "/a//b": "/a/b", "/a/.": "/a", "a": "/a",
	} {
		if got := cleanPath(in); got != want {
			t.Errorf("cleanPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// Requests that never reach the service work without one.
func TestWithoutService(t *testing.T) {
	h := New(nil, Options{BaseURL: "http://h/", Now: func() time.Time { return time.Unix(7200+5, 0) }})
	for _, c := range []struct {
		method, target string
		header         string
		status         int
	}{
		{"GET", "/versions", "", 200},
		{"GET", "/nope", "", 404},
		{"GET", "/user/packages/npm/x", "X-GitHub-Api-Version: 2020-01-01", 400},
		{"GET", "/user/packages/npm/a%2F..%2Fb", "", 404},
		{"OPTIONS", "/user", "", 204},
	} {
		r := httptest.NewRequest(c.method, c.target, nil)
		if c.header != "" {
			r.Header.Set("X-GitHub-Api-Version", "2020-01-01")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != c.status {
			t.Errorf("%s %s: %d, want %d: %s", c.method, c.target, rec.Code, c.status, rec.Body)
		}
		if rec.Code != http.StatusNoContent && !json.Valid(rec.Body.Bytes()) {
			t.Errorf("%s %s: body %q", c.method, c.target, rec.Body)
		}
		if c.method != "OPTIONS" && rec.Header().Get("X-RateLimit-Reset") != "10800" {
			t.Errorf("%s %s: reset %q", c.method, c.target, rec.Header().Get("X-RateLimit-Reset"))
		}
	}
}

func TestRateLimiter(t *testing.T) {
	l := newRateLimiter()
	if used, reset := l.hit("a", 3601); used != 1 || reset != 7200 {
		t.Errorf("first hit: %d %d", used, reset)
	}
	l.hit("a", 3602)
	if used, _ := l.hit("a", 3603); used != 3 {
		t.Errorf("third hit: %d", used)
	}
	if used, reset := l.hit("a", 7200); used != 1 || reset != 10800 {
		t.Errorf("next window: %d %d", used, reset)
	}
}
