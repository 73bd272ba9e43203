package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/packhub/packhub/internal/packages"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// assets are the embedded stylesheet and script, served under names that
// carry a hash of their content, so that browsers keep them for good.
type assets struct {
	byName map[string]*asset // by served name
	names  map[string]string // file name -> served name
}

type asset struct {
	body, gz    []byte
	contentType string
}

func newAssets() *assets {
	a := &assets{byName: map[string]*asset{}, names: map[string]string{}}
	entries, err := fs.ReadDir(staticFS, "static")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		b, err := staticFS.ReadFile("static/" + e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(b)
		ext := path.Ext(e.Name())
		served := strings.TrimSuffix(e.Name(), ext) + "." + hex.EncodeToString(sum[:6]) + ext
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		zw.Write(b)
		zw.Close()
		ct := "text/css; charset=utf-8"
		if ext == ".js" {
			ct = "text/javascript; charset=utf-8"
		}
		a.byName[served] = &asset{body: b, gz: gz.Bytes(), contentType: ct}
		a.names[e.Name()] = served
	}
	return a
}

// url is the path an asset is served at.
func (a *assets) url(name string) string {
	if s, ok := a.names[name]; ok {
		return "/-/static/" + s
	}
	panic("web: no asset " + name)
}

func (h *handler) serveStatic(w http.ResponseWriter, r *http.Request) {
	a, ok := h.static.byName[r.PathValue("file")]
	if !ok {
		h.notFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", a.contentType)
	hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	hd.Add("Vary", "Accept-Encoding")
	body := a.body
	if acceptsGzip(r) {
		hd.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") && quality(params) > 0 {
			return true
		}
	}
	return false
}

// templates holds one template set per page, each with the layout.
type templates struct {
	pages map[string]*template.Template
}

var funcs = template.FuncMap{
	"bytes":  humanBytes,
	"date":   func(t time.Time) string { return t.UTC().Format("2006-01-02") },
	"time":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"iso":    func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"count":  func(n int64) string { return humanCount(n) },
	"short":  shortDigest,
	"roles":  func() []string { return []string{"read", "write", "admin"} },
	"plural": func(n int, one, many string) string { return map[bool]string{true: one, false: many}[n == 1] },
}

func parseTemplates(a *assets) *templates {
	f := template.FuncMap{"asset": a.url}
	for k, v := range funcs {
		f[k] = v
	}
	layout := template.Must(template.New("layout.html").Funcs(f).ParseFS(templateFS, "templates/layout.html", "templates/partials.html"))
	entries, err := fs.ReadDir(templateFS, "templates")
	if err != nil {
		panic(err)
	}
	t := &templates{pages: map[string]*template.Template{}}
	for _, e := range entries {
		if e.Name() == "layout.html" || e.Name() == "partials.html" {
			continue
		}
		name := strings.TrimSuffix(e.Name(), ".html")
		t.pages[name] = template.Must(template.Must(layout.Clone()).ParseFS(templateFS, "templates/"+e.Name()))
	}
	return t
}

// page is what every page's template gets.
type page struct {
	Title  string
	Viewer *packages.Owner
	CSRF   string
	// Path is the request's path and query, for the sign-in link to
	// come back to.
	Path   string
	Notice string
	Error  string
	Data   any
}

// render writes a page with status code.
func (h *handler) render(w http.ResponseWriter, r *http.Request, code int, name, title string, data any) {
	h.renderPage(w, r, code, name, &page{Title: title, Data: data})
}

func (h *handler) renderPage(w http.ResponseWriter, r *http.Request, code int, name string, p *page) {
	v := viewerOf(r)
	p.Viewer = v.user()
	p.CSRF = h.csrfToken(v)
	p.Path = r.URL.RequestURI()
	if p.Notice == "" {
		p.Notice = notices[r.URL.Query().Get("notice")]
	}
	t, ok := h.tmpl.pages[name]
	if !ok {
		panic("web: no template " + name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		h.log.ErrorContext(r.Context(), "web: render", "page", name, "err", err, "request_id", r.Header.Get("X-Request-Id"))
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	body := buf.Bytes()
	if acceptsGzip(r) && len(body) > 1400 {
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.DefaultCompression)
		zw.Write(body)
		zw.Close()
		hd.Set("Content-Encoding", "gzip")
		hd.Add("Vary", "Accept-Encoding")
		body = gz.Bytes()
	}
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// notices are the messages a redirect after a change may ask for, by key:
// the pages never echo text from the query.
var notices = map[string]string{
	"signed-in":  "You are signed in.",
	"signed-out": "You are signed out.",
	"visibility": "The package's visibility was changed.",
	"access":     "The package's access was changed.",
	"deleted":    "The package was deleted. You can restore it for 30 days.",
	"restored":   "The package was restored.",
	"v-deleted":  "The version was deleted. You can restore it for 30 days.",
	"v-restored": "The version was restored.",
}

// errorView is the data of the error page.
type errorView struct {
	Code    int
	Message string
	SignIn  bool // offer to sign in
}

// fail renders the page for a service error: 404 for what the viewer may
// not see (exactly as for what does not exist), a sign-in page for 401,
// 403 with the service's message, 400 for a broken rule.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, v *viewer, err error) {
	code, msg := http.StatusInternalServerError, "Something went wrong on our side."
	switch packages.KindOf(err) {
	case packages.KindNotFound:
		code, msg = http.StatusNotFound, "This page does not exist, or you may not see it."
	case packages.KindUnauthenticated, packages.KindBadCredentials:
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			http.Redirect(w, r, "/-/login?return="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		code, msg = http.StatusUnauthorized, "Sign in to do this."
	case packages.KindForbidden:
		code, msg = http.StatusForbidden, packages.PublicMessage(err, "You may not do this.")
	case packages.KindInvalid, packages.KindConflict:
		code, msg = http.StatusBadRequest, packages.PublicMessage(err, "The request is not valid.")
	default:
		h.log.ErrorContext(r.Context(), "web: internal error", "method", r.Method, "path", r.URL.Path, "err", err,
			"request_id", r.Header.Get("X-Request-Id"))
	}
	title := http.StatusText(code)
	h.render(w, r, code, "error", title, errorView{Code: code, Message: msg, SignIn: v.user() == nil && code != http.StatusNotFound})
}

func (h *handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.fail(w, r, viewerOf(r), packages.Errorf(packages.KindNotFound, "Not Found"))
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func humanCount(n int64) string {
	switch {
	case n < 1000:
		return strconv.FormatInt(n, 10)
	case n < 1_000_000:
		return fmt.Sprintf("%.1fk", float64(n)/1000)
	}
	return fmt.Sprintf("%.1fM", float64(n)/1_000_000)
}

// shortDigest shortens sha256:abcdef... to sha256:abcdef123456.
func shortDigest(d string) string {
	algo, hexPart, ok := strings.Cut(d, ":")
	if !ok || len(hexPart) <= 12 {
		return d
	}
	return algo + ":" + hexPart[:12]
}
