package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/packhub/packhub/internal/testenv"
	"github.com/packhub/packhub/internal/testenv/s3server"
)

// s3Bytes returns n deterministic random bytes.
func s3Bytes(seed uint64, n int) []byte {
	var s [32]byte
	s[0] = byte(seed)
	p := make([]byte, n)
	rand.NewChaCha8(s).Read(p)
	return p
}

// noRedirect is an HTTP client that shows redirects instead of following
// them.
func noRedirect() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// TestS3 runs packhub serve with its blobs in an S3 bucket (versitygw) and
// drives the registries' clients through it: crane and oras push and pull,
// a chunked OCI upload, npm publish and install, gem push and install, and
// large downloads redirected to the bucket. The bytes read back are those
// pushed, and they are in the bucket.
func TestS3(t *testing.T) {
	t.Parallel()
	eachDatabase(t, testS3)
}

func testS3(t *testing.T, db Database) {
	crane := requireTool(t, "crane")
	oras := requireTool(t, "oras")
	npm := requireTool(t, "npm")
	vgw := s3server.Start(t)
	bucket := vgw.NewBucket(t)
	s := StartServer(t, db, WithEnv(vgw.Env()...), WithArgs("--blob-store", vgw.URL(bucket, "packhub"),
		"--blob-redirect=true", "--blob-redirect-min-size", "1MiB",
		"--token-key", randomHex(t, 32)))
	s.Admin("user", "create", "alice")
	tok := s.Token("alice", "read:packages,write:packages,delete:packages")
	host := hostOf(s.URL)
	c := newOCIClients(t)

	// inBucket checks that a blob is stored under its digest in the bucket.
	inBucket := func(t *testing.T, d string) {
		t.Helper()
		key := "packhub/blobs/sha256/" + strings.TrimPrefix(d, "sha256:")
		if _, err := vgw.Client().HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String(key)}); err != nil {
			t.Fatalf("blob %s is not in the bucket: %v", d, err)
		}
	}
	// getBlob reads a blob through the registry, following a redirect to
	// the bucket without the registry's credentials, and says whether it
	// was redirected.
	getBlob := func(t *testing.T, repo, d, rng string) ([]byte, int, bool) {
		t.Helper()
		req, _ := http.NewRequest("GET", s.URL+"/v2/"+repo+"/blobs/"+d, nil)
		req.SetBasicAuth("alice", tok)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		res, err := noRedirect().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusTemporaryRedirect {
			b, _ := io.ReadAll(res.Body)
			return b, res.StatusCode, false
		}
		loc := res.Header.Get("Location")
		if !strings.HasPrefix(loc, vgw.Endpoint+"/") {
			t.Fatalf("redirect to %q, not to the bucket", loc)
		}
		req2, _ := http.NewRequest("GET", loc, nil)
		if rng != "" {
			req2.Header.Set("Range", rng)
		}
		res2, err := http.DefaultClient.Do(req2)
		if err != nil {
			t.Fatal(err)
		}
		defer res2.Body.Close()
		b, _ := io.ReadAll(res2.Body)
		return b, res2.StatusCode, true
	}

	t.Run("crane", func(t *testing.T) {
		c.t = t
		ref := host + "/alice/s3/app"
		c.run(crane, "auth", "login", host, "-u", "alice", "-p", tok)
		big := string(s3Bytes(1, 3<<20)) // incompressible: a layer over the redirect size
		c.run(crane, "append", "--insecure", "-f", c.layerTar("big", big), "-f", c.layerTar("small", "small\n"), "-t", ref+":v1")
		var m struct {
			Layers []struct {
				Digest string `json:"digest"`
				Size   int64  `json:"size"`
			} `json:"layers"`
		}
		if err := json.Unmarshal([]byte(c.run(crane, "manifest", "--insecure", ref+":v1")), &m); err != nil || len(m.Layers) != 2 {
			t.Fatalf("manifest: %+v %v", m, err)
		}
		for i, want := range []string{big, "small\n"} {
			l := m.Layers[i]
			inBucket(t, l.Digest)
			// crane follows the redirect of the large layer.
			b := []byte(c.run(crane, "blob", "--insecure", ref+"@"+l.Digest))
			if sha256Digest(b) != l.Digest {
				t.Fatalf("layer %d read back hashes to %s, want %s", i, sha256Digest(b), l.Digest)
			}
			if got := untarOne(t, b); got != want {
				t.Fatalf("layer %d holds %d bytes that differ from the %d pushed", i, len(got), len(want))
			}
			body, status, redirected := getBlob(t, "alice/s3/app", l.Digest, "")
			if status != http.StatusOK || !bytes.Equal(body, b) {
				t.Fatalf("layer %d: GET %d, %d bytes", i, status, len(body))
			}
			if redirected != (l.Size >= 1<<20) {
				t.Fatalf("layer %d of %d bytes: redirected %v", i, l.Size, redirected)
			}
			part, status, _ := getBlob(t, "alice/s3/app", l.Digest, "bytes=10-19")
			if status != http.StatusPartialContent || !bytes.Equal(part, b[10:20]) {
				t.Fatalf("layer %d: range GET %d %q", i, status, part)
			}
		}
		c.run(crane, "pull", "--insecure", ref+":v1", filepath.Join(c.home, "img.tar"))
		c.run(crane, "copy", "--insecure", ref+":v1", host+"/alice/s3/copy:v1")
		if a, b := c.run(crane, "digest", "--insecure", ref+":v1"), c.run(crane, "digest", "--insecure", host+"/alice/s3/copy:v1"); a != b {
			t.Fatalf("copy digest %s, want %s", b, a)
		}
	})

	t.Run("oras", func(t *testing.T) {
		c.t = t
		ref := host + "/alice/s3/files"
		creds := []string{"--plain-http", "-u", "alice", "-p", tok}
		data := s3Bytes(2, 2<<20+7)
		if err := os.WriteFile(filepath.Join(c.home, "data.bin"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		c.write("notes.txt", "release notes\n")
		c.run(oras, append([]string{"push", ref + ":v1", "data.bin:application/octet-stream", "notes.txt:text/plain"}, creds...)...)
		out := filepath.Join(c.home, "pulled")
		c.run(oras, append([]string{"pull", ref + ":v1", "-o", out}, creds...)...)
		if b, err := os.ReadFile(filepath.Join(out, "data.bin")); err != nil || !bytes.Equal(b, data) {
			t.Fatalf("pulled data.bin: %d bytes, %v", len(b), err)
		}
		if b, err := os.ReadFile(filepath.Join(out, "notes.txt")); err != nil || string(b) != "release notes\n" {
			t.Fatalf("pulled notes.txt %q %v", b, err)
		}
		inBucket(t, sha256Digest(data))
	})

	t.Run("chunked", func(t *testing.T) {
		// A chunked upload, chunks crossing S3's part boundaries.
		blob := s3Bytes(3, 19<<20+3)
		do := func(method, url string, body []byte, header ...string) *http.Response {
			t.Helper()
			req, _ := http.NewRequest(method, url, bytes.NewReader(body))
			req.SetBasicAuth("alice", tok)
			for i := 0; i < len(header); i += 2 {
				req.Header.Set(header[i], header[i+1])
			}
			res, err := noRedirect().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			return res
		}
		abs := func(loc string) string {
			if strings.HasPrefix(loc, "/") {
				return s.URL + loc
			}
			return loc
		}
		res := do("POST", s.URL+"/v2/alice/s3/chunked/blobs/uploads/", nil)
		if res.StatusCode != http.StatusAccepted {
			t.Fatalf("POST: %d", res.StatusCode)
		}
		loc := abs(res.Header.Get("Location"))
		off := 0
		for _, n := range []int{6 << 20, 9 << 20, 4<<20 + 3} {
			res := do("PATCH", loc, blob[off:off+n], "Content-Type", "application/octet-stream",
				"Content-Range", fmt.Sprintf("%d-%d", off, off+n-1))
			if res.StatusCode != http.StatusAccepted {
				t.Fatalf("PATCH at %d: %d", off, res.StatusCode)
			}
			off += n
			if got := res.Header.Get("Range"); got != fmt.Sprintf("0-%d", off-1) {
				t.Fatalf("Range after PATCH: %q", got)
			}
			loc = abs(res.Header.Get("Location"))
		}
		d := sha256Digest(blob)
		sep := "?"
		if strings.Contains(loc, "?") {
			sep = "&"
		}
		if res := do("PUT", loc+sep+"digest="+d, nil); res.StatusCode != http.StatusCreated {
			t.Fatalf("PUT: %d", res.StatusCode)
		}
		inBucket(t, d)
		got, status, redirected := getBlob(t, "alice/s3/chunked", d, "")
		if status != http.StatusOK || !redirected || !bytes.Equal(got, blob) {
			t.Fatalf("GET chunked blob: %d, redirected %v, %d bytes", status, redirected, len(got))
		}
		// Nothing of the session is left in the bucket.
		out, err := vgw.Client().ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: aws.String("packhub/uploads/")})
		if err != nil || len(out.Contents) != 0 {
			t.Fatalf("uploads/ holds %d objects, %v", len(out.Contents), err)
		}
	})

	t.Run("npm", func(t *testing.T) {
		s.Admin("user", "create", "octo")
		otok := s.Token("octo", "read:packages,write:packages")
		u := newNpmUser(t, npm, s.URL+"/npm/", otok, "octo")
		src := t.TempDir()
		npmProject(t, src, map[string]any{"name": "@octo/s3pkg", "version": "1.0.0", "main": "index.js"})
		data := s3Bytes(4, 2<<20) // a tarball over the redirect size
		if err := os.WriteFile(filepath.Join(src, "data.bin"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		u.must(src, "publish")
		proj := npmConsumer(t)
		u.must(proj, "install", "@octo/s3pkg")
		if v := npmInstalled(proj, "@octo/s3pkg"); v != "1.0.0" {
			t.Fatalf("installed %q", v)
		}
		if b, err := os.ReadFile(filepath.Join(proj, "node_modules", "@octo", "s3pkg", "data.bin")); err != nil || !bytes.Equal(b, data) {
			t.Fatalf("installed data.bin: %d bytes, %v", len(b), err)
		}
	})

	t.Run("rubygems", func(t *testing.T) {
		e := newRubyEnv(t)
		s.Admin("user", "create", "ruby")
		rtok := s.Token("ruby", "read:packages,write:packages")
		gemHost := s.URL + "/rubygems/ruby"
		g := e.buildGem("s3gem", "1.0.0", "", nil, nil)
		if out := e.must(t.TempDir(), []string{"GEM_HOST_API_KEY=" + rtok}, e.gem, "push", g, "--host", gemHost); !strings.Contains(out, "Successfully registered gem") {
			t.Fatalf("push: %s", out)
		}
		source := strings.Replace(gemHost, "://", "://ruby:"+rtok+"@", 1) + "/"
		e.must(t.TempDir(), nil, e.gem, "install", "--clear-sources", "--source", source, "--no-document", "s3gem")
		lib, err := os.ReadFile(filepath.Join(e.home, "gems", "gems", "s3gem-1.0.0", "lib", "s3gem.rb"))
		if err != nil || !strings.Contains(string(lib), `VERSION = "1.0.0"`) {
			t.Fatalf("installed lib %q %v", lib, err)
		}
		if got := strings.Join(e.installed(), ","); got != "s3gem-1.0.0" {
			t.Fatalf("installed %s", got)
		}
	})

	t.Run("conformance", func(t *testing.T) {
		runOCIConformance(t, s)
	})
}

// untarOne returns the content of the one file of a layer, gzipped or not.
func untarOne(t *testing.T, layer []byte) string {
	t.Helper()
	var r io.Reader = bytes.NewReader(layer)
	if zr, err := gzip.NewReader(bytes.NewReader(layer)); err == nil {
		r = zr
	}
	tr := tar.NewReader(r)
	if _, err := tr.Next(); err != nil {
		t.Fatalf("layer: %v", err)
	}
	b, err := io.ReadAll(tr)
	if err != nil {
		t.Fatalf("layer: %v", err)
	}
	return string(b)
}

// runOCIConformance runs the OCI distribution-spec conformance suite
// against a running server.
func runOCIConformance(t *testing.T, s *Server) {
	_, file, _, _ := runtime.Caller(0)
	bin := filepath.Join(filepath.Dir(file), "..", "conformance", "conformance.test")
	if p := os.Getenv("OCI_CONFORMANCE_BIN"); p != "" {
		bin = p
	}
	if !fileExists(bin) {
		testenv.Missing(t, "the OCI conformance suite %s is not built; scripts/install-test-deps.sh builds it", bin)
	}
	s.Admin("user", "create", "conformance")
	tok := s.Token("conformance", "read:packages,write:packages,delete:packages")
	report := t.TempDir()
	cmd := exec.Command(bin, "-test.v")
	cmd.Env = append(os.Environ(),
		"OCI_ROOT_URL="+s.URL,
		"OCI_NAMESPACE=conformance/suite/image",
		"OCI_CROSSMOUNT_NAMESPACE=conformance/crossmount",
		"OCI_USERNAME=conformance",
		"OCI_PASSWORD="+tok,
		"OCI_TEST_PULL=1",
		"OCI_TEST_PUSH=1",
		"OCI_TEST_CONTENT_DISCOVERY=1",
		"OCI_TEST_CONTENT_MANAGEMENT=1",
		"OCI_HIDE_SKIPPED_WORKFLOWS=0",
		"OCI_REPORT_DIR="+report,
	)
	out, runErr := cmd.CombinedOutput()
	raw, err := os.ReadFile(filepath.Join(report, "junit.xml"))
	var suites struct {
		Suites []struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Errors   int `xml:"errors,attr"`
		} `xml:"testsuite"`
	}
	if err == nil {
		err = xml.Unmarshal(raw, &suites)
	}
	if err != nil {
		t.Fatalf("conformance report: %v (run: %v)\n%s", err, runErr, tail(string(out), 4000))
	}
	tests, failed := 0, 0
	for _, su := range suites.Suites {
		tests += su.Tests
		failed += su.Failures + su.Errors
	}
	if runErr != nil || failed > 0 || tests == 0 {
		t.Fatalf("OCI conformance: %d tests, %d failed (%v)\n%s", tests, failed, runErr, tail(string(out), 4000))
	}
	t.Logf("OCI conformance on the S3 store: %d tests, none failed", tests)
}
