package e2e

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// terminal is a command run on a pseudo-terminal, as a person at a
// terminal runs it: npm login asks its questions only there.
type terminal struct {
	t    *testing.T
	cmd  *exec.Cmd
	tty  *os.File
	mu   sync.Mutex
	out  bytes.Buffer
	done chan error
}

func startTerminal(t *testing.T, cmd *exec.Cmd) *terminal {
	t.Helper()
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 200})
	if err != nil {
		t.Fatalf("start %s on a terminal: %v", cmd.Path, err)
	}
	term := &terminal{t: t, cmd: cmd, tty: tty, done: make(chan error, 1)}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			term.mu.Lock()
			term.out.Write(buf[:n])
			term.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() {
		err := cmd.Wait()
		// The terminal reads fail once the command and its children are
		// gone; until then, wait for what they wrote.
		select {
		case <-copied:
		case <-time.After(5 * time.Second):
		}
		term.done <- err
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
		tty.Close()
	})
	return term
}

func (term *terminal) output() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.out.String()
}

// answer waits for prompt to appear after from bytes of output, then types
// line; it returns where the prompt ended.
func (term *terminal) answer(from int, prompt, line string) int {
	term.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		out := term.output()
		if i := strings.Index(out[from:], prompt); i >= 0 {
			if _, err := io.WriteString(term.tty, line+"\r"); err != nil {
				term.t.Fatalf("type an answer to %q: %v", prompt, err)
			}
			return from + i + len(prompt)
		}
		select {
		case err := <-term.done:
			term.t.Fatalf("%s ended (%v) before asking %q:\n%s", term.cmd.Path, err, prompt, term.output())
		case <-time.After(20 * time.Millisecond):
		}
	}
	term.t.Fatalf("no %q in:\n%s", prompt, term.output())
	return 0
}

// wait waits for the command to end and returns its output and whether it
// succeeded.
func (term *terminal) wait() (string, bool) {
	term.t.Helper()
	select {
	case err := <-term.done:
		return term.output(), err == nil
	case <-time.After(2 * time.Minute):
		term.t.Fatalf("%s did not end:\n%s", term.cmd.Path, term.output())
		return "", false
	}
}

// npmLogin runs npm login as GitHub documents it for its npm registry, on
// a terminal, answering the user name and the password.
func (u *npmUser) npmLogin(scope, user, password string) (string, bool) {
	return u.npmLoginArgs(user, password, "--scope=@"+scope, "--auth-type=legacy")
}

// npmLoginArgs runs npm login with args on a terminal, answering the user
// name and the password.
func (u *npmUser) npmLoginArgs(user, password string, args ...string) (string, bool) {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	u.t.Cleanup(cancel)
	args = append(append([]string{"login"}, args...), "--registry="+u.registry, "--cache", u.t.TempDir())
	cmd := exec.CommandContext(ctx, u.bin, args...)
	cmd.Env = u.env()
	term := startTerminal(u.t, cmd)
	at := term.answer(0, "Username:", user)
	term.answer(at, "Password:", password)
	return term.wait()
}

// TestNpmLogin drives the real npm login, on a pseudo-terminal, with a user
// name and a personal access token as the password, as GitHub documents it
// for its npm registry: npm writes the token into .npmrc, and whoami,
// publish and install work with it. Another user's token, or a password,
// is refused. npm logout drops the token from .npmrc without revoking it.
func TestNpmLogin(t *testing.T) {
	t.Parallel()
	eachDatabase(t, testNpmLogin)
}

func testNpmLogin(t *testing.T, db Database) {
	bin := requireTool(t, "npm")
	s := StartServer(t, db)
	// npm asks for a lower-case user name; logins compare without case.
	s.Admin("user", "create", "Octo")
	s.Admin("user", "create", "mona")
	tok := s.Token("Octo", "read:packages,write:packages")
	monaTok := s.Token("mona", "read:packages")
	registry := s.URL + "/npm/"
	u := newNpmUser(t, bin, registry, "")
	npmrc := filepath.Join(u.home, ".npmrc")

	for _, c := range []struct {
		name, user, password, want string
	}{
		{"another user's token", "octo", monaTok, "does not belong"},
		{"a password", "octo", "hunter2", "personal access token"},
	} {
		out, ok := u.npmLogin("octo", c.user, c.password)
		if ok || !strings.Contains(out, "E401") || !strings.Contains(out, c.want) {
			t.Fatalf("login with %s succeeded or said something else:\n%s", c.name, out)
		}
	}
	if b, _ := os.ReadFile(npmrc); strings.Contains(string(b), "_authToken") {
		t.Fatalf("a refused login wrote a token:\n%s", b)
	}

	out, ok := u.npmLogin("octo", "octo", tok)
	if !ok || !strings.Contains(out, "Logged in to scope @octo on "+registry) {
		t.Fatalf("npm login:\n%s", out)
	}
	rc, _ := os.ReadFile(npmrc)
	host := strings.TrimPrefix(registry, "http:")
	if !strings.Contains(string(rc), host+":_authToken="+tok) || !strings.Contains(string(rc), "@octo:registry="+registry) {
		t.Fatalf(".npmrc after login:\n%s", rc)
	}
	if got := strings.TrimSpace(u.must(u.home, "whoami")); got != "Octo" {
		t.Fatalf("whoami after login: %q", got)
	}
	src := t.TempDir()
	npmProject(t, src, map[string]any{"name": "@octo/logged-in", "version": "1.0.0", "main": "index.js"})
	u.must(src, "publish")
	proj := npmConsumer(t)
	u.must(proj, "install", "@octo/logged-in")
	if v := npmInstalled(proj, "@octo/logged-in"); v != "1.0.0" {
		t.Fatalf("install after login: %q", v)
	}

	u.must(u.home, "logout", "--scope=@octo")
	rc, _ = os.ReadFile(npmrc)
	if strings.Contains(string(rc), tok) {
		t.Fatalf(".npmrc after logout:\n%s", rc)
	}
	if out := u.mustFail(u.home, "whoami"); !strings.Contains(out, "ENEEDAUTH") && !strings.Contains(out, "E401") {
		t.Fatalf("whoami after logout:\n%s", out)
	}
	// The token itself was not revoked.
	req, _ := http.NewRequest("GET", s.URL+"/npm/-/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("the token after logout: %d", res.StatusCode)
	}

	// Plain npm login tries the web login first, and falls back to the
	// same questions.
	if out, ok := u.npmLoginArgs("octo", tok); !ok || !strings.Contains(out, "Logged in on "+registry) {
		t.Fatalf("npm login without --auth-type:\n%s", out)
	}
	if got := strings.TrimSpace(u.must(u.home, "whoami")); got != "Octo" {
		t.Fatalf("whoami after the second login: %q", got)
	}
}
