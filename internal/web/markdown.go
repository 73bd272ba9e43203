package web

import (
	"bytes"
	"html/template"
	"sync"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/renderer/html"
)

// maxReadme bounds the Markdown rendered for one page; a longer README is
// cut.
const maxReadme = 512 << 10

// markdown renders READMEs: GitHub-flavoured Markdown, raw HTML allowed
// by the renderer and then sanitised, so that only safe elements and
// attributes, and only http, https and mailto links, reach the page.
type markdown struct {
	md     goldmark.Markdown
	policy *bluemonday.Policy

	// cache keeps rendered READMEs by the SHA-256 of their source, so
	// that a page seen again does not render its README again; it is
	// emptied when full.
	mu    sync.Mutex
	cache map[string]template.HTML
}

// cacheSize bounds the READMEs kept rendered.
const cacheSize = 256

// renderCached renders src, or returns what it rendered for key before.
func (m *markdown) renderCached(key, src string) template.HTML {
	m.mu.Lock()
	out, ok := m.cache[key]
	m.mu.Unlock()
	if ok {
		return out
	}
	out = m.render(src)
	m.mu.Lock()
	if len(m.cache) >= cacheSize {
		clear(m.cache)
	}
	m.cache[key] = out
	m.mu.Unlock()
	return out
}

func newMarkdown() *markdown {
	p := bluemonday.UGCPolicy()
	p.AllowURLSchemes("http", "https", "mailto")
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(false)
	return &markdown{
		md: goldmark.New(
			goldmark.WithExtensions(extension.GFM),
			goldmark.WithRendererOptions(html.WithUnsafe()),
		),
		policy: p,
		cache:  map[string]template.HTML{},
	}
}

// render turns Markdown into sanitised HTML.
func (m *markdown) render(src string) template.HTML {
	if len(src) > maxReadme {
		src = src[:maxReadme]
	}
	var buf bytes.Buffer
	if err := m.md.Convert([]byte(src), &buf); err != nil {
		// Conversion only fails on a failing writer; show the text.
		return template.HTML(template.HTMLEscapeString(src))
	}
	return template.HTML(m.policy.SanitizeBytes(buf.Bytes()))
}
