package e2e

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/packhub/packhub/internal/store"
)

// serverDB opens the server's database as another process would, to
// damage it as a bad restore or a hand edit might.
func serverDB(t *testing.T, s *Server) *sql.DB {
	t.Helper()
	driver, dsn := "sqlite", store.DefaultDSN(s.DataDir)
	if s.DSN != "" {
		driver, dsn = "pgx", s.DSN
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// rebind writes ? placeholders as $n for PostgreSQL.
func rebind(s *Server, q string) string {
	if s.DSN == "" {
		return q
	}
	for n := 1; strings.Contains(q, "?"); n++ {
		q = strings.Replace(q, "?", fmt.Sprintf("$%d", n), 1)
	}
	return q
}

func queryString(t *testing.T, s *Server, db *sql.DB, q string, args ...any) string {
	t.Helper()
	var out string
	if err := db.QueryRow(rebind(s, q), args...).Scan(&out); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

func execSQL(t *testing.T, s *Server, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(rebind(s, q), args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func blobFile(s *Server, digest string) string {
	h := strings.TrimPrefix(digest, "sha256:")
	return filepath.Join(s.DataDir, "blobs", "sha256", h[:2], h)
}

// runFsck runs packhub fsck on the server's storage.
func runFsck(t *testing.T, s *Server, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runPackhub(t, nil, append(append([]string{"fsck"}, args...), s.StorageArgs()...)...)
}

// TestFsck publishes with npm and crane, damages the registry in four
// ways (a flipped byte in a blob, a missing blob, a dangling file row, a
// wrong counter), and checks that packhub fsck reports each (exit 1), that
// --repair mends them while the server keeps serving and clients keep
// publishing, and that a second run is clean (exit 0).
func TestFsck(t *testing.T) {
	t.Parallel()
	eachDatabase(t, testFsck)
}

func testFsck(t *testing.T, db Database) {
	npm := requireTool(t, "npm")
	crane := requireTool(t, "crane")
	s := StartServer(t, db)
	s.Admin("user", "create", "alice")
	tok := s.Token("alice", "read:packages,write:packages,delete:packages")
	alice := newNpmUser(t, npm, s.URL+"/npm/", tok, "alice")
	src := t.TempDir()
	for _, v := range []string{"1.0.0", "1.1.0"} {
		npmProject(t, src, map[string]any{"name": "@alice/one", "version": v, "main": "index.js"})
		alice.must(src, "publish")
	}
	alice.must(npmConsumer(t), "install", "@alice/one@1.1.0")
	oc := newOCIClients(t)
	host := hostOf(s.URL)
	oc.run(crane, "auth", "login", host, "-u", "alice", "-p", tok)
	oc.run(crane, "append", "--insecure", "-f", oc.layerTar("hello", "hello\n"), "-t", host+"/alice/app:v1")

	stdout, stderr, code := runFsck(t, s)
	if code != 0 || !strings.Contains(stdout, "\n0 problems;") {
		t.Fatalf("fsck of a clean registry: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "fsck: blob bytes: 0/") || !strings.Contains(stderr, "fsck: counters: done") {
		t.Errorf("no plain progress lines on a pipe:\n%s", stderr)
	}

	sqlDB := serverDB(t, s)
	tarball := queryString(t, s, sqlDB, `SELECT f.digest FROM files f JOIN versions v ON v.id = f.version_id
		JOIN packages p ON p.id = v.package_id WHERE p.type = 'npm' AND v.name = '1.0.0'`)
	layer := queryString(t, s, sqlDB, `SELECT l.digest FROM package_blobs l JOIN packages p ON p.id = l.package_id
		WHERE p.type = 'container' ORDER BY l.digest LIMIT 1`)
	// A flipped byte in the npm tarball of 1.0.0.
	b, err := os.ReadFile(blobFile(s, tarball))
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x40
	if err := os.WriteFile(blobFile(s, tarball), b, 0o600); err != nil {
		t.Fatal(err)
	}
	// A missing blob that the image's manifest needs.
	if err := os.Remove(blobFile(s, layer)); err != nil {
		t.Fatal(err)
	}
	// A file row of 1.1.0 whose blob is nowhere.
	v11 := queryString(t, s, sqlDB, `SELECT CAST(v.id AS TEXT) FROM versions v JOIN packages p ON p.id = v.package_id
		WHERE p.type = 'npm' AND v.name = '1.1.0'`)
	execSQL(t, s, sqlDB, `INSERT INTO files (version_id, name, digest, size, media_type, created_at) VALUES (?, 'ghost.tgz', ?, 10, '', ?)`,
		v11, "sha256:"+strings.Repeat("0", 64), "2024-01-01T00:00:00.000000Z")
	// A wrong version count.
	execSQL(t, s, sqlDB, `UPDATE packages SET version_count = 5 WHERE type = 'npm'`)

	stdout, stderr, code = runFsck(t, s)
	if code != 1 {
		t.Fatalf("fsck of a damaged registry: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"problem blob-corrupt: blob " + tarball,
		"problem blob-missing: blob " + layer,
		"problem file-lost: file", `"ghost.tgz"`,
		"problem counter-versions: package",
		"\n6 problems;",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the report lacks %q:\n%s", want, stdout)
		}
	}

	// Repair while clients publish and read.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		busy := t.TempDir()
		for _, v := range []string{"1.0.0", "1.0.1", "1.0.2"} {
			npmProject(t, busy, map[string]any{"name": "@alice/busy", "version": v, "main": "index.js"})
			if out, ok := alice.run(busy, "publish"); !ok {
				t.Errorf("npm publish during the repair:\n%s", out)
			}
		}
	}()
	stdout, stderr, code = runFsck(t, s, "--repair")
	wg.Wait()
	if code != 1 || !strings.Contains(stdout, "6 repaired") {
		t.Fatalf("fsck --repair: exit %d\n%s\n%s", code, stdout, stderr)
	}
	stdout, stderr, code = runFsck(t, s)
	if code != 0 || !strings.Contains(stdout, "\n0 problems;") {
		t.Fatalf("fsck after the repair: exit %d\n%s\n%s", code, stdout, stderr)
	}

	// The server serves what is left: 1.1.0 installs, the busy package too.
	proj := npmConsumer(t)
	alice.must(proj, "install", "@alice/one@1.1.0", "@alice/busy@1.0.2")
	if npmInstalled(proj, "@alice/one") != "1.1.0" || npmInstalled(proj, "@alice/busy") != "1.0.2" {
		t.Errorf("installed one %q busy %q", npmInstalled(proj, "@alice/one"), npmInstalled(proj, "@alice/busy"))
	}
	// The lost tarball is answered as missing, not as an error.
	alice.mustFail(npmConsumer(t), "install", "@alice/one@1.0.0")
}
