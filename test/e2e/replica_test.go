package e2e

import (
	"context"
	"database/sql"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/store/storetest"
	"github.com/packhub/packhub/internal/testenv/s3server"
)

// tcpProxy forwards connections to a target, and can cut them all and
// refuse new ones, as a database server that goes away does.
type tcpProxy struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	p := &tcpProxy{t: t, target: target, conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *tcpProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[up] = true, true
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
}

// cut closes the listener and every connection.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// resume listens again on the same address.
func (p *tcpProxy) resume() {
	p.t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.serve(ln)
}

// waitHealth polls a health endpoint until it answers status with a body
// holding want.
func waitHealth(t *testing.T, s *Server, path string, status int, want string) {
	t.Helper()
	var code int
	var body string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		res, err := s.Client().Get(s.URL + path)
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		code, body = res.StatusCode, string(b)
		if code == status && strings.Contains(body, want) {
			return
		}
	}
	t.Fatalf("%s: %d %q, want %d with %q", path, code, body, status, want)
}

// TestReplicaHealth: /healthz and /readyz answer 503 with the reason while
// the database or the blob store cannot be reached, and /readyz while the
// schema lacks a migration; /livez answers 200 throughout; all come back
// to 200 once the cause is gone.
func TestReplicaHealth(t *testing.T) {
	t.Parallel()
	dsn := storetest.PostgresDSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newTCPProxy(t, u.Host)
	viaProxy := *u
	viaProxy.Host = proxy.addr
	// The S3 server too is reached through a proxy the test can cut.
	_, s3 := sharedBlobStore(t)
	bucket := s3.NewBucket(t)
	s3proxy := newTCPProxy(t, hostOf(s3.Endpoint))
	blobURL := (&s3server.Server{Endpoint: "http://" + s3proxy.addr}).URL(bucket, "packhub")
	s := StartServer(t, Postgres, WithStorage(viaProxy.String(), blobURL), WithArgs("--token-key", randomHex(t, 32)))
	for _, p := range []string{"/healthz", "/readyz", "/livez"} {
		waitHealth(t, s, p, http.StatusOK, "ok")
	}

	proxy.cut()
	waitHealth(t, s, "/healthz", http.StatusServiceUnavailable, "database unreachable")
	waitHealth(t, s, "/readyz", http.StatusServiceUnavailable, "database unreachable")
	waitHealth(t, s, "/livez", http.StatusOK, "ok")
	proxy.resume()
	waitHealth(t, s, "/healthz", http.StatusOK, "ok")
	waitHealth(t, s, "/readyz", http.StatusOK, "ok")

	s3proxy.cut()
	waitHealth(t, s, "/healthz", http.StatusServiceUnavailable, "blob store unreachable")
	waitHealth(t, s, "/readyz", http.StatusServiceUnavailable, "blob store unreachable")
	waitHealth(t, s, "/livez", http.StatusOK, "ok")
	s3proxy.resume()
	waitHealth(t, s, "/healthz", http.StatusOK, "ok")

	// The schema loses its latest migration, as a database restored from
	// an older backup would: healthy, not ready.
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var version int64
	var name, applied string
	if err := raw.QueryRow(`SELECT version, name, applied_at::text FROM schema_migrations ORDER BY version DESC LIMIT 1`).Scan(&version, &name, &applied); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`DELETE FROM schema_migrations WHERE version = $1`, version); err != nil {
		t.Fatal(err)
	}
	waitHealth(t, s, "/readyz", http.StatusServiceUnavailable, "database migrations pending")
	waitHealth(t, s, "/healthz", http.StatusOK, "ok")
	if _, err := raw.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3::timestamptz)`, version, name, applied); err != nil {
		t.Fatal(err)
	}
	waitHealth(t, s, "/readyz", http.StatusOK, "ok")
}

// TestReplicaShutdownFlushesDownloads downloads a tarball from every
// replica of a cluster without pause while the replicas are stopped one
// after the other with SIGTERM: each writes the download counts it still
// held as it stops, so that the count recorded is every acknowledged
// download (and no more than were asked for).
func TestReplicaShutdownFlushesDownloads(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3)
	c.front.Admin("user", "create", "octo")
	tok := c.front.Token("octo", "read:packages,write:packages")
	svc := c.front.Service()
	ctx := context.Background()
	octo, err := svc.Authenticate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	ref := packages.PackageRef{Owner: "octo", Type: packages.TypeNpm, Name: "counted"}
	content := "a tarball, as far as counting goes"
	d, n, err := svc.Upload(ctx, octo, packages.UploadRequest{Package: ref, Body: strings.NewReader(content)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Publish(ctx, octo, packages.PublishRequest{Package: ref, Version: "1.0.0",
		Files: []packages.File{{Name: "counted-1.0.0.tgz", Digest: d, Size: n, MediaType: "application/octet-stream"}}}); err != nil {
		t.Fatal(err)
	}

	var attempted, acked atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 10 * time.Second}
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				s := c.replicas[i%len(c.replicas)]
				req, _ := http.NewRequest("GET", s.URL+"/npm/@octo/counted/-/counted-1.0.0.tgz", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				attempted.Add(1)
				res, err := client.Do(req)
				if err != nil {
					time.Sleep(time.Millisecond)
					continue
				}
				b, err := io.ReadAll(res.Body)
				res.Body.Close()
				if err == nil && res.StatusCode == http.StatusOK && string(b) == content {
					acked.Add(1)
				}
			}
		}()
	}
	time.Sleep(time.Second)
	for _, s := range c.replicas {
		s.Terminate()
		time.Sleep(300 * time.Millisecond)
	}
	close(stop)
	wg.Wait()

	_, v, err := svc.GetVersionByName(ctx, octo, ref, "1.0.0", packages.ViaREST)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d downloads asked for, %d acknowledged, %d counted", attempted.Load(), acked.Load(), v.DownloadCount)
	if acked.Load() == 0 || v.DownloadCount < acked.Load() || v.DownloadCount > attempted.Load() {
		t.Fatalf("%d downloads counted; %d were acknowledged, %d asked for", v.DownloadCount, acked.Load(), attempted.Load())
	}
	flushed := 0
	for _, s := range c.replicas {
		if strings.Contains(s.Logs(), "buffered download counts written") {
			flushed++
		}
		if strings.Contains(s.Logs(), "buffered download counts not written") {
			t.Fatalf("a replica lost download counts:\n%s", tail(s.Logs(), 4000))
		}
	}
	if flushed == 0 {
		t.Fatal("no replica held download counts when it stopped: the test did not exercise the shutdown")
	}
	t.Logf("%d of %d replicas wrote buffered download counts as they stopped", flushed, len(c.replicas))
}
