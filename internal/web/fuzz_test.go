package web

import (
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

func FuzzAcceptsHTML(f *testing.F) {
	for _, s := range []string{"", "text/html", "*/*", "text/html;q=0", "TEXT/HTML ; Q=0.5", "application/xhtml+xml,application/xml;q=0.9",
		"text/html;q=1.5", "text/html;q=NaN", "text/html;level=1;q=0.001", ",,;;=", "application/vnd.github+json"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, accept string) {
		got := AcceptsHTML(accept)
		if got && !strings.Contains(strings.ToLower(accept), "html") {
			t.Fatalf("%q asks for HTML without naming it", accept)
		}
		if !strings.Contains(accept, "html") && AcceptsHTML(accept+",text/html") != true {
			t.Fatalf("%q plus text/html does not ask for HTML", accept)
		}
	})
}

func TestAcceptsHTML(t *testing.T) {
	for accept, want := range map[string]bool{
		"text/html": true, "text/html;q=0.1": true, "text/html;q=0": false, "*/*": false, "": false,
		"application/json, text/html;q=0.2": true, "text/htmlx": false, "text/html;q=abc": false,
		"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8": true, "application/xhtml+xml": true,
	} {
		if got := AcceptsHTML(accept); got != want {
			t.Errorf("AcceptsHTML(%q) = %v, want %v", accept, got, want)
		}
	}
}

func FuzzLocalPath(f *testing.F) {
	for _, s := range []string{"/", "/users/a/packages", "//evil", "/\\evil", "https://evil/", "/a?b=c#d", "/%2F%2Fevil", "\n/", "/a\r\nLocation: x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		got := localPath(p)
		u, err := url.Parse(got)
		if err != nil || u.Host != "" || u.Scheme != "" || !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\\r\n") {
			t.Fatalf("localPath(%q) = %q is not a path on this site", p, got)
		}
	})
}

func FuzzMarkdown(f *testing.F) {
	for _, s := range []string{"# t", "<script>alert(1)</script>", "[x](javascript:alert(1))", "<a href='jAvAsCrIpT:x'>y</a>",
		"<img src=x onerror=alert(1)>", "<svg onload=alert(1)>", "```\n<script>\n```", "<iframe src=//x>", "[a](&#106;avascript:x)",
		"<a href=\"java\tscript:x\">t</a>", "<style>*{}</style>", "<form action=x><input></form>"} {
		f.Add(s)
	}
	md := newMarkdown()
	f.Fuzz(func(t *testing.T, src string) {
		out := string(md.render(src))
		z := html.NewTokenizer(strings.NewReader(out))
		for {
			tt := z.Next()
			if tt == html.ErrorToken {
				return
			}
			if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
				continue
			}
			tok := z.Token()
			switch tok.Data {
			case "script", "style", "iframe", "object", "embed", "form", "input", "base", "meta", "link", "svg":
				t.Fatalf("<%s> survived: %q -> %q", tok.Data, src, out)
			}
			for _, a := range tok.Attr {
				k := strings.ToLower(a.Key)
				if strings.HasPrefix(k, "on") || k == "style" {
					t.Fatalf("attribute %s survived: %q -> %q", a.Key, src, out)
				}
				if k == "href" || k == "src" {
					v := strings.ToLower(strings.Join(strings.Fields(a.Val), ""))
					if i := strings.Index(v, ":"); i >= 0 && !strings.ContainsAny(v[:i], "/?#") {
						if s := v[:i]; s != "http" && s != "https" && s != "mailto" {
							t.Fatalf("URL scheme %q survived in %s: %q -> %q", s, a.Key, src, out)
						}
					}
				}
			}
		}
	})
}

func FuzzMavenCoordinates(f *testing.F) {
	f.Add("com.example.lib", "lib-1.0.jar")
	f.Add("com.example.my.lib", "my.lib-1.0.pom")
	f.Add("nodots", "")
	f.Add(".", ".-")
	f.Fuzz(func(t *testing.T, name, file string) {
		g, a := mavenCoordinates(name, []string{file})
		if strings.Contains(name, ".") && strings.Index(name, ".") > 0 && g+"."+a != name {
			t.Fatalf("mavenCoordinates(%q) = %q, %q", name, g, a)
		}
	})
}
