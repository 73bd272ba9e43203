package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/nginxconf"
	"github.com/packhub/packhub/internal/store/storetest"
	"github.com/packhub/packhub/internal/testenv"
	"github.com/packhub/packhub/internal/testenv/s3server"
)

// cluster is one installation run as several packhub serve replicas on one
// PostgreSQL schema and one S3 bucket, behind nginx, as docs/operations.md
// describes it.
type cluster struct {
	t        *testing.T
	replicas []*Server
	// front is the installation as its clients see it: nginx's URL, and
	// the replicas' storage for admin commands and fixtures.
	front *Server
	nginx *nginxProc

	dsn, blobStore, tokenKey string
	s3                       *s3server.Server
}

// sharedBlobStore returns the --blob-store URL every replica of a test
// cluster is given: a fresh bucket of a real S3 server (versitygw) started
// for the test, whose credentials every packhub process of the test takes
// from the environment (TestMain), as the replicas of a deployment do.
func sharedBlobStore(t *testing.T) (string, *s3server.Server) {
	t.Helper()
	srv := s3server.Start(t)
	return srv.URL(srv.NewBucket(t), "packhub"), srv
}

// startCluster starts n replicas on a fresh PostgreSQL schema (the test
// fails in CI without PACKHUB_TEST_DATABASE_URL: a cluster needs
// PostgreSQL) and a fresh S3 bucket, with one token key and one
// base URL, nginx's, after running the migrations once with packhub
// migrate. It waits until nginx answers.
func startCluster(t *testing.T, n int, opts ...ServerOption) *cluster {
	t.Helper()
	ngx := nginxBinary(t)
	c := &cluster{t: t, dsn: storetest.PostgresDSN(t), tokenKey: randomHex(t, 32)}
	c.blobStore, c.s3 = sharedBlobStore(t)
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	migrate := exec.Command(bin, "migrate", "--data-dir", t.TempDir(), "--database", c.dsn, "--blob-store", c.blobStore)
	if out, err := migrate.CombinedOutput(); err != nil || !strings.Contains(string(out), "database is up to date") {
		t.Fatalf("packhub migrate: %v\n%s", err, out)
	}
	frontAddr := freeAddr(t)
	base := "http://" + frontAddr
	var addrs []string
	for range n {
		s := StartServer(t, Postgres, append([]ServerOption{WithStorage(c.dsn, c.blobStore),
			WithArgs("--token-key", c.tokenKey, "--base-url", base)}, opts...)...)
		c.replicas = append(c.replicas, s)
		addrs = append(addrs, s.Addr)
	}
	c.nginx = startNginx(t, ngx, frontAddr, addrs)
	r0 := c.replicas[0]
	c.front = &Server{t: t, Bin: r0.Bin, DataDir: r0.DataDir, DSN: c.dsn, BlobStore: c.blobStore,
		Addr: frontAddr, URL: base, logs: &logBuffer{}}
	return c
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// nginxBinary finds nginx, which Debian installs in /usr/sbin.
func nginxBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if fileExists("/usr/sbin/nginx") {
		return "/usr/sbin/nginx"
	}
	testenv.Missing(t, "nginx is not installed; scripts/install-test-deps.sh installs it")
	return ""
}

// nginxProc is nginx running in the foreground as a child of the test,
// with its configuration, pid file, logs and temporary files in dir.
type nginxProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	dir  string
	logs *logBuffer
}

// startNginx runs nginx on addr in front of the replicas with the
// configuration docs/operations.md shows, and waits until a request
// through it reaches a replica.
func startNginx(t *testing.T, bin, addr string, replicas []string) *nginxProc {
	t.Helper()
	dir := t.TempDir()
	user := ""
	if os.Geteuid() == 0 {
		// Workers must reach the test's private temporary directory.
		user = "root"
	}
	conf, err := nginxconf.Standalone{Site: nginxconf.Site{Listen: addr, Replicas: replicas}, Dir: dir, User: user}.Render()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, conf, 0o600); err != nil {
		t.Fatal(err)
	}
	p := &nginxProc{t: t, dir: dir, logs: &logBuffer{}}
	p.cmd = exec.Command(bin, "-p", dir, "-c", path, "-e", filepath.Join(dir, "error.log"))
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	t.Cleanup(p.stop)
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := client.Get("http://" + addr + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nginx did not answer on %s:\n%s\n%s", addr, p.logs.String(), p.errorLog())
	return nil
}

func (p *nginxProc) errorLog() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "error.log"))
	return string(b)
}

// upstreams returns, from nginx's access log, the replica address each
// request matching method ("" for any) and path prefix was served by (the
// last one tried, when nginx tried several).
func (p *nginxProc) upstreams(method, prefix string) []string {
	f, err := os.Open(filepath.Join(p.dir, "access.log"))
	if err != nil {
		p.t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fs := strings.Fields(line)
		_, rest, ok := strings.Cut(line, " upstream=")
		if len(fs) < 3 || (method != "" && fs[0] != method) || !strings.HasPrefix(fs[1], prefix) || !ok {
			continue
		}
		// "A:1, B:2 upstream_status=502, 201": the last address tried.
		up, _, _ := strings.Cut(rest, " upstream_status=")
		tried := strings.Split(up, ", ")
		out = append(out, tried[len(tried)-1])
	}
	return out
}

func (p *nginxProc) stop() {
	if p.cmd.Process == nil {
		return
	}
	// SIGQUIT: graceful shutdown.
	_ = p.cmd.Process.Signal(syscall.SIGQUIT)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
		p.t.Errorf("nginx did not stop within 10s")
	}
	if p.t.Failed() {
		p.t.Logf("nginx error log:\n%s", tail(p.errorLog(), 4000))
	}
}

// otherClients sends cheap requests through nginx at random intervals
// until stop is closed, as the other clients of a registry do, so that the
// requests of a client under test are spread over the replicas whatever
// their pattern.
func (c *cluster) otherClients(stop <-chan struct{}) {
	client := &http.Client{Timeout: 5 * time.Second}
	var b [1]byte
	for {
		select {
		case <-stop:
			return
		default:
		}
		if res, err := client.Get(c.front.URL + "/livez"); err == nil {
			res.Body.Close()
		}
		_, _ = rand.Read(b[:])
		time.Sleep(time.Duration(b[0]%8) * time.Millisecond)
	}
}

// inFlight reads a replica's packhub_http_requests_in_flight, this
// request included.
func inFlight(t *testing.T, s *Server) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/metrics", nil)
	res, err := s.Client().Do(req)
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "packhub_http_requests_in_flight "); ok {
			n, _ := strconv.ParseFloat(v, 64)
			return int(n)
		}
	}
	return 0
}
