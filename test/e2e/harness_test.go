// Package e2e drives real clients against the real packhub binary.
package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/blob/blobstore"
	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/store"
	"github.com/packhub/packhub/internal/store/storetest"

	"github.com/packhub/packhub/internal/testenv"
)

// binary builds the packhub binary once per test run, with the race
// detector when the tests run with it: a race it reports makes the
// process exit with a failure (see Server.stop).
var binary = sync.OnceValues(func() (string, error) { return buildBinary(raceEnabled) })

// plainBinary is the packhub binary built without the race detector, for
// tests that measure the server's memory (the detector's shadow memory
// would be measured too).
var plainBinary = sync.OnceValues(func() (string, error) {
	if !raceEnabled {
		return binary()
	}
	return buildBinary(false)
})

// buildBinary builds the packhub binary, with the race detector or not.
func buildBinary(race bool) (string, error) {
	dir, err := os.MkdirTemp("", "packhub-e2e-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "packhub")
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "github.com/packhub/packhub/cmd/packhub")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

// requireTool returns the path of a client the test drives. A missing
// client fails the test in CI and skips it elsewhere.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if gobin := filepath.Join(os.Getenv("HOME"), "go", "bin", name); fileExists(gobin) {
		return gobin
	}
	testenv.Missing(t, "%s is not installed; scripts/install-test-deps.sh installs it", name)
	return ""
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Database is the kind of database a server under test keeps its metadata
// in.
type Database string

const (
	// SQLite is the embedded default: a file in the data directory.
	SQLite Database = "sqlite"
	// Postgres is a fresh schema in the PostgreSQL database named by
	// PACKHUB_TEST_DATABASE_URL.
	Postgres Database = "postgres"
)

// eachDatabase runs fn as one subtest per database, named after it. Every
// e2e test runs through it, so each runs the binary on SQLite and on
// PostgreSQL. Without PACKHUB_TEST_DATABASE_URL the PostgreSQL subtest is
// skipped, or fails when CI is set, as the store suites are.
func eachDatabase(t *testing.T, fn func(t *testing.T, db Database)) {
	t.Helper()
	for _, db := range []Database{SQLite, Postgres} {
		t.Run(string(db), func(t *testing.T) { fn(t, db) })
	}
}

// newDSN returns the --database value of a fresh, empty database of this
// kind: "" for SQLite (the data directory's own file) or the URL of a new
// PostgreSQL schema, dropped when the test ends.
func (db Database) newDSN(t *testing.T) string {
	t.Helper()
	if db == Postgres {
		return storetest.PostgresDSN(t)
	}
	return ""
}

// logBuffer collects a process's output. It may be read while the process
// still writes to it.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Server is a running packhub serve process.
type Server struct {
	t       *testing.T
	Bin     string
	DataDir string
	DSN     string // --database: "" for the SQLite file in DataDir
	// BlobStore is --blob-store: "" for the blobs directory in DataDir.
	BlobStore string
	killed    bool // Kill or Terminate ended it
	Addr      string
	URL       string // base URL, no trailing slash
	CertPEM   string // path of the CA/cert file when serving HTTPS
	cmd       *exec.Cmd
	logs      *logBuffer
}

// ServerOption adjusts how a server is started.
type ServerOption func(*serverConfig)

type serverConfig struct {
	tls   bool
	plain bool // built without the race detector
	args  []string
	env   []string
	// shared storage, when set: the database and blob store of other
	// servers, as replicas of one installation have.
	dsn, blobStore string
}

// WithStorage runs the server on an existing database (a --database URL)
// and blob store (a --blob-store URL) instead of fresh ones of its own, as
// a replica of an installation whose other replicas use them too.
func WithStorage(dsn, blobStore string) ServerOption {
	return func(c *serverConfig) { c.dsn, c.blobStore = dsn, blobStore }
}

// WithoutRaceDetector runs a binary built without the race detector, for
// tests that measure the server's memory.
func WithoutRaceDetector() ServerOption { return func(c *serverConfig) { c.plain = true } }

// WithTLS serves HTTPS with a fresh self-signed certificate for 127.0.0.1.
func WithTLS() ServerOption { return func(c *serverConfig) { c.tls = true } }

// WithArgs adds flags to packhub serve.
func WithArgs(args ...string) ServerOption {
	return func(c *serverConfig) { c.args = append(c.args, args...) }
}

// WithEnv adds KEY=VALUE variables to the server's environment.
func WithEnv(env ...string) ServerOption {
	return func(c *serverConfig) { c.env = append(c.env, env...) }
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// StartServer starts packhub serve on a free loopback port with a fresh
// data directory and a fresh database of the given kind, and waits for
// /healthz. It stops the server when the test ends.
func StartServer(t *testing.T, db Database, opts ...ServerOption) *Server {
	t.Helper()
	var cfg serverConfig
	for _, o := range opts {
		o(&cfg)
	}
	build := binary
	if cfg.plain {
		build = plainBinary
	}
	bin, err := build()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, Bin: bin, DataDir: t.TempDir(), DSN: cfg.dsn, BlobStore: cfg.blobStore, Addr: freeAddr(t), logs: &logBuffer{}}
	if s.DSN == "" {
		s.DSN = db.newDSN(t)
	}
	args := append([]string{"serve", "--addr", s.Addr, "--purge-interval", "0"}, s.StorageArgs()...)
	scheme := "http"
	if cfg.tls {
		cert, key := selfSignedCert(t, t.TempDir())
		s.CertPEM = cert
		args = append(args, "--tls-cert", cert, "--tls-key", key)
		scheme = "https"
	}
	s.URL = scheme + "://" + s.Addr
	args = append(args, cfg.args...)
	s.cmd = exec.Command(bin, args...)
	s.cmd.Stdout = s.logs
	s.cmd.Stderr = s.logs
	s.cmd.Env = append(os.Environ(), cfg.env...)
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start packhub: %v", err)
	}
	t.Cleanup(s.stop)
	s.waitReady()
	if s.DSN != "" && fileExists(store.DefaultDSN(s.DataDir)) {
		t.Fatalf("packhub serve --database %s also made a SQLite database in its data directory", db)
	}
	return s
}

// Kill kills the server at once (SIGKILL), as a crash would, and waits
// for it to be gone; the test's cleanup then has nothing to stop.
func (s *Server) Kill() {
	s.t.Helper()
	if err := s.cmd.Process.Kill(); err != nil {
		s.t.Fatal(err)
	}
	_ = s.cmd.Wait()
	s.killed = true
}

// Terminate stops the server with SIGTERM, as a service manager or an
// orchestrator does, and waits for it to exit; it must exit 0 within 30s.
func (s *Server) Terminate() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		s.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		s.killed = true
		if err != nil {
			s.t.Fatalf("packhub serve did not exit cleanly on SIGTERM: %v\n%s", err, tail(s.logs.String(), 8000))
		}
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
		s.killed = true
		s.t.Fatalf("packhub serve did not stop within 30s of SIGTERM")
	}
}

// Logs returns what the server wrote so far.
func (s *Server) Logs() string { return s.logs.String() }

func (s *Server) stop() {
	if s.cmd.Process == nil || s.killed {
		if s.killed && s.t.Failed() {
			s.t.Logf("packhub logs:\n%s", tail(s.logs.String(), 8000))
		}
		return
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		// An interrupted server shuts down cleanly and exits 0; a data
		// race or a failed shutdown makes it exit otherwise.
		if err != nil {
			s.t.Errorf("packhub serve did not shut down cleanly: %v", err)
		}
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
		s.t.Errorf("packhub serve did not stop within 10s of an interrupt")
	}
	if s.t.Failed() {
		s.t.Logf("packhub logs:\n%s", tail(s.logs.String(), 8000))
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// Client returns an HTTP client that trusts the server's certificate.
func (s *Server) Client() *http.Client {
	if s.CertPEM == "" {
		return &http.Client{Timeout: 30 * time.Second}
	}
	pool := x509.NewCertPool()
	b, err := os.ReadFile(s.CertPEM)
	if err != nil {
		s.t.Fatal(err)
	}
	pool.AppendCertsFromPEM(b)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig.RootCAs = pool
	return &http.Client{Timeout: 30 * time.Second, Transport: tr}
}

func (s *Server) waitReady() {
	s.t.Helper()
	c := s.Client()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := c.Get(s.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if s.cmd.ProcessState != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("packhub did not become ready:\n%s", s.logs.String())
}

// StorageArgs returns the storage flags of the server's data directory and
// database, for other packhub commands to work on them.
func (s *Server) StorageArgs() []string {
	args := []string{"--data-dir", s.DataDir}
	if s.DSN != "" {
		args = append(args, "--database", s.DSN)
	}
	if s.BlobStore != "" {
		args = append(args, "--blob-store", s.BlobStore)
	}
	return args
}

// Admin runs a packhub admin command on the server's storage while it
// runs, and returns its standard output.
func (s *Server) Admin(args ...string) string {
	s.t.Helper()
	cmd := exec.Command(s.Bin, append(append([]string{"admin"}, args...), s.StorageArgs()...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		s.t.Fatalf("packhub admin %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// Token creates a user-owned token with the given scopes.
func (s *Server) Token(user, scopes string) string {
	s.t.Helper()
	return strings.TrimSpace(s.Admin("token", "create", "--user", user, "--scopes", scopes))
}

// Service opens the server's own storage in this process, as a second
// replica would, to set up fixtures through the packages service.
func (s *Server) Service() *packages.Service {
	s.t.Helper()
	ctx := context.Background()
	dsn := s.DSN
	if dsn == "" {
		dsn = store.DefaultDSN(s.DataDir)
	}
	st, err := store.Open(ctx, dsn)
	if err != nil {
		s.t.Fatalf("open store: %v", err)
	}
	s.t.Cleanup(func() { st.Close() })
	blobURL := s.BlobStore
	if blobURL == "" {
		blobURL = "file://" + filepath.Join(s.DataDir, "blobs")
	}
	blobs, err := blobstore.Open(ctx, blobURL)
	if err != nil {
		s.t.Fatalf("open blobs: %v", err)
	}
	return packages.NewService(st, blobs, packages.Options{Specs: packages.BuiltinSpecs()})
}

// selfSignedCert writes a certificate for 127.0.0.1 and localhost and its
// key into dir.
func selfSignedCert(t *testing.T, dir string) (certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "packhub test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath
}
