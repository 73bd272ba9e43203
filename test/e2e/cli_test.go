package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/packages"
)

func runPackhub(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	code = 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// TestAdminCLI checks the administration contract: flags before or after
// positional arguments, the token alone on stdout, clear errors.
func TestAdminCLI(t *testing.T) {
	t.Parallel()
	eachDatabase(t, testAdminCLI)
}

func testAdminCLI(t *testing.T, db Database) {
	dir := t.TempDir()
	// A PostgreSQL database comes from the environment, under every row.
	var dbEnv []string
	if dsn := db.newDSN(t); dsn != "" {
		dbEnv = []string{"PACKHUB_DATABASE=" + dsn}
	}
	tests := []struct {
		name     string
		env      []string
		args     []string
		wantCode int
		stdout   string // regexp
		stderr   string // regexp
	}{
		{"user after flags", nil, []string{"admin", "user", "create", "--data-dir", dir, "alice"}, 0, `created user alice`, ``},
		{"user before flags", nil, []string{"admin", "user", "create", "bob", "--data-dir", dir, "--site-admin"}, 0, `created user bob`, ``},
		{"duplicate login differs in case", nil, []string{"admin", "user", "create", "ALICE", "--data-dir", dir}, 1, `^$`, `already taken`},
		{"bad login", nil, []string{"admin", "user", "create", "bad--name", "--data-dir", dir}, 1, `^$`, `not valid`},
		{"too long login", nil, []string{"admin", "user", "create", strings.Repeat("a", 40), "--data-dir", dir}, 1, `^$`, `not valid`},
		{"org", nil, []string{"admin", "org", "create", "acme", "--admin", "alice", "--data-dir", dir}, 0, `created organization acme`, ``},
		{"org name taken by user", nil, []string{"admin", "org", "create", "bob", "--admin", "alice", "--data-dir", dir}, 1, `^$`, `already taken`},
		{"add member", nil, []string{"admin", "org", "add-member", "acme", "bob", "--role", "admin", "--data-dir", dir}, 0, `bob is now admin of acme`, ``},
		{"add member bad role", nil, []string{"admin", "org", "add-member", "acme", "bob", "--role", "owner", "--data-dir", dir}, 2, `^$`, `member or admin`},
		{"repo via env", []string{"PACKHUB_DATA_DIR=" + dir}, []string{"admin", "repo", "create", "acme/widgets", "--visibility", "private"}, 0, `created repository acme/widgets`, ``},
		{"repo bad visibility", nil, []string{"admin", "repo", "create", "acme/x", "--visibility", "secret", "--data-dir", dir}, 2, `^$`, `visibility`},
		{"collaborator", nil, []string{"admin", "repo", "add-collaborator", "acme/widgets", "bob", "--role", "read", "--data-dir", dir}, 0, `bob has read on acme/widgets`, ``},
		{"collaborator bad role", nil, []string{"admin", "repo", "add-collaborator", "acme/widgets", "bob", "--role", "owner", "--data-dir", dir}, 2, `^$`, `read, write or admin`},
		{"token", nil, []string{"admin", "token", "create", "--user", "alice", "--scopes", "read:packages,write:packages", "--note", "ci", "--expires-in", "24h", "--data-dir", dir}, 0, `^phk_[0-9A-Za-z]{40}\n$`, ``},
		{"token unknown scope", nil, []string{"admin", "token", "create", "--user", "alice", "--scopes", "admin:org", "--data-dir", dir}, 2, `^$`, `unknown scope`},
		{"token unknown user", nil, []string{"admin", "token", "create", "--user", "nobody", "--scopes", "read:packages", "--data-dir", dir}, 1, `^$`, `not found`},
		{"token list", nil, []string{"admin", "token", "list", "--user", "alice", "--data-dir", dir}, 0,
			`^ID +NOTE +SCOPES +CREATED +EXPIRES +LAST USED +STATE\n1 +"ci" +read:packages,write:packages +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ +\d{4}-\S+Z +never +active\n$`, ``},
		{"token list, none", nil, []string{"admin", "token", "list", "--user", "bob", "--data-dir", dir}, 0, `^ID +NOTE +SCOPES +CREATED +EXPIRES +LAST USED +STATE\n$`, ``},
		{"token list needs a user", nil, []string{"admin", "token", "list", "--data-dir", dir}, 2, `^$`, `--user`},
		{"token list unknown user", nil, []string{"admin", "token", "list", "--user", "nobody", "--data-dir", dir}, 1, `^$`, `not found`},
		{"token list of an org", nil, []string{"admin", "token", "list", "--user", "acme", "--data-dir", dir}, 1, `^$`, `organization`},
		{"token revoke", nil, []string{"admin", "token", "revoke", "1", "--data-dir", dir}, 0, `^revoked token 1 of alice \(revoked at \S+Z\)\n$`, ``},
		{"token revoke again", nil, []string{"admin", "token", "revoke", "--data-dir", dir, "1"}, 0, `^revoked token 1 of alice`, ``},
		{"token list shows revoked", nil, []string{"admin", "token", "list", "--user", "alice", "--data-dir", dir}, 0, `\n1 +"ci" .* revoked \S+Z\n$`, ``},
		{"token revoke unknown", nil, []string{"admin", "token", "revoke", "99", "--data-dir", dir}, 1, `^$`, `token 99 not found`},
		{"token revoke bad id", nil, []string{"admin", "token", "revoke", "x1", "--data-dir", dir}, 2, `^$`, `positive number`},
		{"token revoke no id", nil, []string{"admin", "token", "revoke", "--data-dir", dir}, 2, `^$`, `expected ID`},
		{"remove member", nil, []string{"admin", "org", "remove-member", "acme", "bob", "--data-dir", dir}, 0, `^bob is no longer a member of acme\n$`, ``},
		{"remove member again", nil, []string{"admin", "org", "remove-member", "acme", "bob", "--data-dir", dir}, 1, `^$`, `bob is not a member of acme`},
		{"remove member of a user", nil, []string{"admin", "org", "remove-member", "alice", "bob", "--data-dir", dir}, 1, `^$`, `not an organization`},
		{"remove member needs two", nil, []string{"admin", "org", "remove-member", "acme", "--data-dir", dir}, 2, `^$`, `ORG USER`},
		{"unknown command", nil, []string{"frobnicate"}, 2, ``, `unknown command`},
		{"bad config", nil, []string{"serve", "--addr", "nonsense", "--data-dir", dir}, 2, ``, `addr`},
		{"bad env", []string{"PACKHUB_LOG_LEVEL=loud"}, []string{"serve", "--data-dir", dir}, 2, ``, `log-level`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runPackhub(t, slices.Concat(dbEnv, tt.env), tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, stdout, stderr)
			}
			if !regexp.MustCompile(tt.stdout).MatchString(stdout) {
				t.Errorf("stdout %q does not match %q", stdout, tt.stdout)
			}
			if !regexp.MustCompile(tt.stderr).MatchString(stderr) {
				t.Errorf("stderr %q does not match %q", stderr, tt.stderr)
			}
		})
	}
}

// TestConfigFile starts the server from a JSON config file.
func TestConfigFile(t *testing.T) {
	t.Parallel()
	eachDatabase(t, testConfigFile)
}

func testConfigFile(t *testing.T, db Database) {
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := filepath.Join(dir, "packhub.json")
	settings := map[string]string{"addr": addr, "data-dir": dir, "base-url": "http://packages.example.test"}
	if dsn := db.newDSN(t); dsn != "" {
		settings["database"] = dsn
	}
	b, err := json.Marshal(settings)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, b, 0o600); err != nil {
		t.Fatal(err)
	}
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--config", cfg)
	var logs logBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		if err := cmd.Wait(); err != nil {
			t.Errorf("packhub serve did not shut down cleanly: %v\n%s", err, logs.String())
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server from config file did not start:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "base_url=http://packages.example.test") {
		t.Errorf("base url from the file not used:\n%s", logs.String())
	}
}

// TestGC checks `packhub gc`: a dry run lists and keeps, a real run
// removes what was deleted past the restore window.
func TestGC(t *testing.T) {
	t.Parallel()
	eachDatabase(t, testGC)
}

func testGC(t *testing.T, db Database) {
	f := newFixture(t, db)
	svc := f.srv.Service()
	ctx := context.Background()
	alice, err := svc.Authenticate(ctx, f.aliceToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.DeletePackage(ctx, alice, f.npm, packages.ViaREST); err != nil {
		t.Fatal(err)
	}
	gc := func(args ...string) string {
		t.Helper()
		stdout, stderr, code := runPackhub(t, nil, slices.Concat([]string{"gc"}, f.srv.StorageArgs(), args)...)
		if code != 0 {
			t.Fatalf("gc %v: exit %d\n%s", args, code, stderr)
		}
		return stdout
	}
	// Inside the window nothing goes.
	if out := gc("--dry-run"); !strings.Contains(out, "would remove 0 packages") {
		t.Fatalf("dry run inside the window: %s", out)
	}
	// A zero-length window makes the deleted package purgeable now.
	out := gc("--dry-run", "--restore-window", "1ns")
	if !strings.Contains(out, "would remove package") || !strings.Contains(out, "npm/tool") {
		t.Fatalf("dry run: %s", out)
	}
	if out := gc("--restore-window", "1ns"); !strings.Contains(out, "removed 1 packages") {
		t.Fatalf("gc: %s", out)
	}
	if err := svc.RestorePackage(ctx, alice, f.npm, packages.ViaREST); !packages.IsNotFound(err) {
		t.Fatalf("restore after purge: %v", err)
	}
}

// TestOversizedHeaders: headers past the limit get a JSON error with 431,
// never a panic or a dropped connection.
func TestOversizedHeaders(t *testing.T) {
	t.Parallel()
	eachDatabase(t, testOversizedHeaders)
}

func testOversizedHeaders(t *testing.T, db Database) {
	s := StartServer(t, db)
	for _, size := range []int{40 << 10, 900 << 10} {
		req, err := http.NewRequest("GET", s.URL+"/api/v3/user/packages?package_type=npm", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Padding", strings.Repeat("a", size))
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatalf("%d bytes: %v", size, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge || !strings.Contains(string(body), `"status":"431"`) {
			t.Fatalf("%d bytes: %d %s", size, resp.StatusCode, body)
		}
	}
	resp, err := s.Client().Get(s.URL + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("server after oversized headers: %v", err)
	}
	resp.Body.Close()
}

// cliCommands is every command packhub has, as its help lists it.
var cliCommands = []string{
	"serve",
	"admin user create",
	"admin org create",
	"admin org add-member",
	"admin repo create",
	"admin repo add-collaborator",
	"admin token create",
	"gc",
	"migrate",
}

// TestCLIHelp: packhub --help lists every command; --help on every command
// and group prints to stdout and exits 0.
func TestCLIHelp(t *testing.T) {
	t.Parallel()
	stdout, stderr, code := runPackhub(t, nil, "--help")
	if code != 0 || stderr != "" {
		t.Fatalf("--help: exit %d, stderr %q", code, stderr)
	}
	for _, c := range append(cliCommands, "--version") {
		if !strings.Contains(stdout, "  packhub "+c) {
			t.Errorf("packhub --help does not list %q:\n%s", c, stdout)
		}
	}
	for _, c := range append(cliCommands, "admin", "admin repo") {
		for _, help := range []string{"--help", "-h"} {
			args := append(strings.Fields(c), help)
			stdout, stderr, code := runPackhub(t, nil, args...)
			if code != 0 || stderr != "" || !strings.Contains(stdout, "Usage") || !strings.Contains(stdout, "packhub "+c) {
				t.Errorf("%q: exit %d\nstdout: %s\nstderr: %s", args, code, stdout, stderr)
			}
		}
	}
}

// TestCLIVersion: --version prints the version set at build time, or
// "dev" (or the module version Go recorded) without one.
func TestCLIVersion(t *testing.T) {
	t.Parallel()
	stdout, stderr, code := runPackhub(t, nil, "--version")
	if code != 0 || stderr != "" || !regexp.MustCompile(`^packhub \S+\n$`).MatchString(stdout) {
		t.Fatalf("--version: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	bin := filepath.Join(t.TempDir(), "packhub")
	build := exec.Command("go", "build", "-ldflags", "-X main.version=1.2.3-test", "-o", bin, "github.com/packhub/packhub/cmd/packhub")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil || string(out) != "packhub 1.2.3-test\n" {
		t.Fatalf("--version with -ldflags: %q, %v", out, err)
	}
}

// TestCLIUsageErrors: a usage error exits 2 and prints its error once.
func TestCLIUsageErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"admin", "user", "create", "bob", "--sit-admin", "--data-dir", dir}, "flag provided but not defined: -sit-admin"},
		{[]string{"serve", "--adr", "127.0.0.1:0"}, "flag provided but not defined: -adr"},
		{[]string{"gc", "--dry-run=maybe"}, `invalid boolean value "maybe" for -dry-run`},
		{[]string{"admin", "repo"}, "needs a command"},
		{[]string{"admin", "repo", "remove"}, `unknown command "admin repo remove"`},
		{[]string{"migrate", "now"}, "takes no arguments"},
		{[]string{}, "no command given"},
	}
	for _, tt := range tests {
		_, stderr, code := runPackhub(t, nil, tt.args...)
		if code != 2 {
			t.Errorf("%q: exit %d, want 2\n%s", tt.args, code, stderr)
		}
		if n := strings.Count(stderr, tt.want); n != 1 {
			t.Errorf("%q: error printed %d times, want once:\n%s", tt.args, n, stderr)
		}
	}
}

// TestConfigFileEveryCommand: the documented config file, with settings
// only serve takes, serves every command.
func TestConfigFileEveryCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := filepath.Join(dir, "packhub.json")
	db := filepath.Join(dir, "db", "packhub.db")
	if err := os.MkdirAll(filepath.Dir(db), 0o750); err != nil {
		t.Fatal(err)
	}
	file := `{"addr": "` + addr + `", "base-url": "https://packages.example.com", "database": "` + db + `", "data-dir": "` + dir + `", "max-blob-size": 1073741824}`
	if err := os.WriteFile(cfg, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"migrate", "--config", cfg},
		{"admin", "user", "create", "alice", "--config", cfg},
		{"admin", "token", "create", "--user", "alice", "--scopes", "read:packages", "--config", cfg},
		{"gc", "--dry-run", "--config", cfg},
	} {
		if _, stderr, code := runPackhub(t, nil, args...); code != 0 {
			t.Errorf("%q: exit %d\n%s", args, code, stderr)
		}
	}
	// The same file through the environment, for serve.
	s := startServe(t, []string{"PACKHUB_CONFIG=" + cfg}, "serve")
	if got := s.waitListening(t); !strings.Contains(got, "base_url=https://packages.example.com") || !strings.Contains(got, "addr="+addr) {
		t.Fatalf("serve from the config file: %s", got)
	}
	if !fileExists(db) {
		t.Fatalf("database %s not used", db)
	}
}

// TestConfigProblems: bad settings are refused clearly, every one at once.
func TestConfigProblems(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(cfg, []byte(`{"adress": "x", "log-format": "xml", "max-blob-size": "huge"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runPackhub(t, nil, "serve", "--config", cfg, "--addr", "nope", "--data-dir", dir)
	if code != 2 {
		t.Fatalf("exit %d, want 2\n%s", code, stderr)
	}
	for _, want := range []string{`unknown setting "adress"`, `log-format "xml"`, "max-blob-size", `addr "nope"`} {
		if !strings.Contains(stderr, want) {
			t.Errorf("%q not reported:\n%s", want, stderr)
		}
	}

	// A database URL that is neither a file nor PostgreSQL.
	_, stderr, code = runPackhub(t, nil, "migrate", "--data-dir", dir, "--database", "mysql://packhub:secret@db/packhub")
	if code != 2 || !strings.Contains(stderr, `"mysql" URLs are not supported`) || strings.Contains(stderr, "secret") {
		t.Errorf("mysql database: exit %d\n%s", code, stderr)
	}
	if matches, _ := filepath.Glob("mysql*"); len(matches) > 0 {
		t.Errorf("a file was made for the mysql URL: %v", matches)
	}

	// A data directory nobody can create files in (root included).
	_, stderr, code = runPackhub(t, nil, "admin", "user", "create", "alice", "--data-dir", "/proc")
	if code != 1 || !strings.Contains(stderr, "data directory /proc is not writable") || strings.Contains(stderr, "out of memory") {
		t.Errorf("unwritable data directory: exit %d\n%s", code, stderr)
	}
}

// serveProcess is a packhub serve started by a test, with its stderr.
type serveProcess struct {
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startServe(t *testing.T, env []string, args ...string) *serveProcess {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	p := &serveProcess{cmd: exec.Command(bin, args...), logs: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stderr = p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// waitListening waits for the first "listening" log line and returns it.
func (p *serveProcess) waitListening(t *testing.T) string {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		for _, line := range strings.Split(p.logs.String(), "\n") {
			if strings.Contains(line, "msg=listening") {
				return line
			}
		}
		select {
		case <-p.done:
			t.Fatalf("packhub exited before listening:\n%s", p.logs.String())
		case <-deadline:
			t.Fatalf("packhub did not listen:\n%s", p.logs.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// TestServePortZero: --addr HOST:0 listens on a free port, and the log and
// the derived base URL name that port.
func TestServePortZero(t *testing.T) {
	t.Parallel()
	p := startServe(t, nil, "serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--purge-interval", "0")
	line := p.waitListening(t)
	m := regexp.MustCompile(`addr=127\.0\.0\.1:(\d+) base_url=http://127\.0\.0\.1:(\d+) `).FindStringSubmatch(line)
	if m == nil || m[1] == "0" || m[1] != m[2] {
		t.Fatalf("listening line %q does not report the port", line)
	}
	base := "http://127.0.0.1:" + m[1]
	resp, err := http.Get(base + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("WWW-Authenticate"); !strings.Contains(got, `realm="`+base+`/token"`) {
		t.Errorf("token realm %q does not name %s", got, base)
	}
}

// TestServeBadTLS: a certificate that does not load stops serve before it
// claims to listen.
func TestServeBadTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(bad, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runPackhub(t, nil, "serve", "--addr", "127.0.0.1:0", "--data-dir", dir, "--tls-cert", bad, "--tls-key", bad)
	if code != 1 || !strings.Contains(stderr, "load TLS certificate and key") || strings.Contains(stderr, "listening") {
		t.Fatalf("bad TLS certificate: exit %d\n%s", code, stderr)
	}
	_, stderr, code = runPackhub(t, nil, "serve", "--addr", "127.0.0.1:0", "--data-dir", dir, "--tls-cert", filepath.Join(dir, "missing.pem"), "--tls-key", bad)
	if code != 1 || !strings.Contains(stderr, "missing.pem") || strings.Contains(stderr, "listening") {
		t.Fatalf("missing TLS certificate: exit %d\n%s", code, stderr)
	}
}
