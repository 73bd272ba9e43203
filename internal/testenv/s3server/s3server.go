// Package s3server runs a real S3 server for tests: versitygw, serving a
// temporary directory through its POSIX backend, on a free loopback port.
package s3server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/packhub/packhub/internal/testenv"
)

// Root credentials and region of every server started here.
const (
	AccessKey = "packhubtest"
	SecretKey = "packhubtestsecret"
	Region    = "us-east-1"
)

// Server is a running versitygw.
type Server struct {
	Endpoint string // http://127.0.0.1:PORT
	Dir      string // the directory it serves; each bucket is a folder in it
	Log      func() string
}

// Start starts versitygw for the test and stops it when the test ends.
// Without versitygw the test is skipped, or fails in CI.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := binary()
	if bin == "" {
		testenv.Missing(t, "versitygw is not installed; scripts/install-test-deps.sh installs it")
	}
	dir := t.TempDir()
	var log logBuffer
	for tries := 0; ; tries++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("s3server: %v", err)
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		cmd := exec.Command(bin, "--access", AccessKey, "--secret", SecretKey, "--region", Region,
			"--port", addr, "--quiet", "--health", "/health", "posix", dir)
		cmd.Stdout, cmd.Stderr = &log, &log
		cmd.Env = append(os.Environ(), "VGW_QUIET=true")
		if err := cmd.Start(); err != nil {
			t.Fatalf("s3server: start versitygw: %v", err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		endpoint := "http://" + addr
		if waitHealthy(endpoint, exited) {
			t.Cleanup(func() {
				_ = cmd.Process.Kill()
				<-exited
			})
			return &Server{Endpoint: endpoint, Dir: dir, Log: log.String}
		}
		_ = cmd.Process.Kill()
		<-exited
		if tries == 2 {
			t.Fatalf("s3server: versitygw did not start:\n%s", log.String())
		}
	}
}

// binary finds versitygw on PATH or in the Go bin directory.
func binary() string {
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		home, _ := os.UserHomeDir()
		gopath = filepath.Join(home, "go")
	}
	p := filepath.Join(strings.Split(gopath, string(os.PathListSeparator))[0], "bin", "versitygw")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return ""
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitHealthy waits for the server's health endpoint, or for the process
// to exit (the port was taken meanwhile).
func waitHealthy(endpoint string, exited <-chan struct{}) bool {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		res, err := http.Get(endpoint + "/health")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return true
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// Client returns an S3 client of the server's root user.
func (s *Server) Client() *s3.Client {
	return s3.New(s3.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
		// As the blob store sends its requests.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// NewBucket creates a bucket with a fresh name and returns the name.
func (s *Server) NewBucket(t testing.TB) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "packhub-" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &name}); err != nil {
		t.Fatalf("s3server: create bucket: %v\n%s", err, s.Log())
	}
	return name
}

// URL returns the --blob-store URL of a prefix in a bucket.
func (s *Server) URL(bucket, prefix string) string {
	q := url.Values{"endpoint": {s.Endpoint}, "region": {Region}, "path_style": {"true"}}
	return "s3://" + bucket + "/" + strings.Trim(prefix, "/") + "?" + q.Encode()
}

// Env returns the environment that gives a process the root user's
// credentials, as KEY=VALUE.
func (s *Server) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + SecretKey,
		"AWS_REGION=" + Region,
	}
}

type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 1<<20 {
		return len(p), nil // enough to tell what went wrong
	}
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
