package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// webBrowser is headless Chromium driving the server's web pages, one
// browser context (its own cookies) per user.
type webBrowser struct {
	t    *testing.T
	ctx  context.Context
	base string
	// shots is the folder screenshots go to (PACKHUB_SCREENSHOTS), "" for
	// none.
	shots string
}

// newWebBrowser starts Chromium for the server, with a fresh profile and
// nothing that reaches out to the network.
func newWebBrowser(t *testing.T, s *Server) *webBrowser {
	t.Helper()
	bin := ""
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		bin = requireTool(t, "chromium")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1100, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// Start the browser now, so that a missing library fails here.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return &webBrowser{t: t, ctx: ctx, base: s.URL, shots: os.Getenv("PACKHUB_SCREENSHOTS")}
}

// user opens another browser context of the same browser: another user,
// with cookies of its own.
func (b *webBrowser) user() *webBrowser {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		b.t.Fatalf("new browser context: %v", err)
	}
	return &webBrowser{t: b.t, ctx: ctx, base: b.base, shots: b.shots}
}

func (b *webBrowser) timeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.ctx, 60*time.Second)
}

// do runs actions, failing the test on an error.
func (b *webBrowser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := b.timeout()
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %s: %v", what, err)
	}
}

// visit loads a page and returns its HTTP status.
func (b *webBrowser) visit(path string) int64 {
	b.t.Helper()
	ctx, cancel := b.timeout()
	defer cancel()
	res, err := chromedp.Run(ctx, chromedp.NavigateResponse(b.base+path))
	if err != nil {
		b.t.Fatalf("browser: visit %s: %v", path, err)
	}
	return res.Status
}

// submit clicks a form's button and waits for the page it leads to; it
// returns that page's status.
func (b *webBrowser) submit(button string) int64 {
	b.t.Helper()
	ctx, cancel := b.timeout()
	defer cancel()
	res, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(button)))
	if err != nil {
		b.t.Fatalf("browser: submit %s: %v", button, err)
	}
	return res.Status
}

// follow clicks a link and waits for its page.
func (b *webBrowser) follow(link string) int64 { b.t.Helper(); return b.submit(link) }

func (b *webBrowser) fill(field, value string) {
	b.t.Helper()
	b.do("fill "+field, chromedp.SetValue(chromedp.CSS(field), value))
}

func (b *webBrowser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := b.timeout()
	defer cancel()
	var err error
	// A node read just as the document settles may be gone: read again.
	for range 5 {
		var s string
		s, err = chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
		if err == nil {
			return s
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.t.Fatalf("browser: text of %s: %v", sel, err)
	return ""
}

// body is the text of the page.
func (b *webBrowser) body() string {
	b.t.Helper()
	return b.text("body")
}

func (b *webBrowser) wantText(what string, subs ...string) {
	b.t.Helper()
	body := b.body()
	for _, s := range subs {
		if !strings.Contains(body, s) {
			b.t.Fatalf("%s: no %q on the page:\n%s", what, s, body)
		}
	}
}

func (b *webBrowser) wantNoText(what string, subs ...string) {
	b.t.Helper()
	body := b.body()
	for _, s := range subs {
		if strings.Contains(body, s) {
			b.t.Fatalf("%s: %q on the page:\n%s", what, s, body)
		}
	}
}

// eval evaluates a JavaScript expression in the page: for reading what
// the page shows, never to change it.
func (b *webBrowser) evalBool(expr string) bool {
	b.t.Helper()
	ctx, cancel := b.timeout()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
	if err != nil {
		b.t.Fatalf("browser: evaluate %s: %v", expr, err)
	}
	return v
}

// signIn signs in through the form with a token.
func (b *webBrowser) signIn(token string) {
	b.t.Helper()
	if code := b.visit("/-/login"); code != 200 {
		b.t.Fatalf("sign-in page: %d", code)
	}
	b.shot("signin")
	b.fill("#token", token)
	if code := b.submit("form[action='/-/login'] button[type=submit]"); code != 200 {
		b.t.Fatalf("sign in: page %d", code)
	}
	b.wantText("signed in", "Sign out")
}

func (b *webBrowser) signOut() {
	b.t.Helper()
	if code := b.submit("form[action='/-/logout'] button"); code != 200 {
		b.t.Fatalf("sign out: page %d", code)
	}
	b.wantText("signed out", "Sign in", "You are signed out.")
}

// shotAt scrolls to an element and takes a screenshot there.
func (b *webBrowser) shotAt(name, sel string) {
	b.t.Helper()
	if b.shots == "" {
		return
	}
	b.do("scroll to "+sel, chromedp.ScrollIntoView(chromedp.CSS(sel)))
	b.shot(name)
}

// shot writes a screenshot of the page into the screenshot folder, when
// PACKHUB_SCREENSHOTS names one: NAME.png, of the viewport, a small PNG.
func (b *webBrowser) shot(name string) {
	b.t.Helper()
	if b.shots == "" {
		return
	}
	ctx, cancel := b.timeout()
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(b.shots, 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}
