package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

var (
	s3Mode       = flag.Bool("s3", false, "keep both registries' blobs in S3: a versitygw serving a temporary directory, one bucket each")
	versitygwBin = flag.String("versitygw", "", "versitygw binary for -s3 (default: versitygw on PATH or in GOPATH/bin)")
)

// The root credentials of the gateway -s3 starts.
const (
	s3Access = "ocibench"
	s3Secret = "ocibenchsecret"
	s3Region = "us-east-1"
)

// s3Gateway is a versitygw process serving a directory as S3.
type s3Gateway struct {
	endpoint string
	cmd      *exec.Cmd
}

func findVersitygw() string {
	if *versitygwBin != "" {
		return *versitygwBin
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	if gopath, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(gopath)), "bin", "versitygw")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// startS3 starts versitygw on dir and creates the buckets.
func startS3(dir string, buckets ...string) (*s3Gateway, error) {
	bin := findVersitygw()
	if bin == "" {
		return nil, fmt.Errorf("-s3 needs versitygw: go install github.com/versity/versitygw/cmd/versitygw@v1.8.0")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--access", s3Access, "--secret", s3Secret, "--region", s3Region,
		"--port", addr, "--quiet", "--health", "/health", "posix", dir)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	g := &s3Gateway{endpoint: "http://" + addr, cmd: cmd}
	go func() { _ = cmd.Wait() }()
	if err := waitUp(g.endpoint+"/health", 200, cmd); err != nil {
		g.stop()
		return nil, err
	}
	c := s3.New(s3.Options{Region: s3Region, BaseEndpoint: aws.String(g.endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(s3Access, s3Secret, "")})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, b := range buckets {
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			g.stop()
			return nil, fmt.Errorf("create bucket %s: %w", b, err)
		}
	}
	return g, nil
}

func (g *s3Gateway) stop() {
	if g.cmd.Process != nil {
		_ = g.cmd.Process.Kill()
	}
}

// packhubArgs are the flags and environment that put Packhub's blobs in
// bucket.
func (g *s3Gateway) packhubArgs(bucket string) ([]string, []string) {
	q := url.Values{"endpoint": {g.endpoint}, "region": {s3Region}, "path_style": {"true"}}
	// Distribution's S3 driver redirects blob GETs to the bucket by
	// default; so does Packhub here.
	return []string{"--blob-store", "s3://" + bucket + "/?" + q.Encode(), "--blob-redirect=true"},
		[]string{"AWS_ACCESS_KEY_ID=" + s3Access, "AWS_SECRET_ACCESS_KEY=" + s3Secret, "AWS_REGION=" + s3Region}
}

// distStorage is Distribution's storage section for its S3 driver on
// bucket.
func (g *s3Gateway) distStorage(bucket string) string {
	return fmt.Sprintf(`  s3:
    accesskey: %s
    secretkey: %s
    region: %s
    regionendpoint: %s
    bucket: %s
    forcepathstyle: true
    secure: false
    v4auth: true
    rootdirectory: /
`, s3Access, s3Secret, s3Region, g.endpoint, bucket)
}
