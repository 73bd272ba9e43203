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
func TestAdminCLI(t *testing.T) { eachDatabase(t, testAdminCLI) }

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
		{"add member bad role", nil, []string{"admin", "org", "add-member", "acme", "bob", "--role", "owner", "--data-dir", dir}, 1, `^$`, `member or admin`},
		{"repo via env", []string{"PACKHUB_DATA_DIR=" + dir}, []string{"admin", "repo", "create", "acme/widgets", "--visibility", "private"}, 0, `created repository acme/widgets`, ``},
		{"repo bad visibility", nil, []string{"admin", "repo", "create", "acme/x", "--visibility", "secret", "--data-dir", dir}, 1, `^$`, `visibility`},
		{"token", nil, []string{"admin", "token", "create", "--user", "alice", "--scopes", "read:packages,write:packages", "--note", "ci", "--expires-in", "24h", "--data-dir", dir}, 0, `^phk_[0-9A-Za-z]{40}\n$`, ``},
		{"token unknown scope", nil, []string{"admin", "token", "create", "--user", "alice", "--scopes", "admin:org", "--data-dir", dir}, 1, `^$`, `unknown scope`},
		{"token unknown user", nil, []string{"admin", "token", "create", "--user", "nobody", "--scopes", "read:packages", "--data-dir", dir}, 1, `^$`, `not found`},
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
func TestConfigFile(t *testing.T) { eachDatabase(t, testConfigFile) }

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
func TestGC(t *testing.T) { eachDatabase(t, testGC) }

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
func TestOversizedHeaders(t *testing.T) { eachDatabase(t, testOversizedHeaders) }

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
