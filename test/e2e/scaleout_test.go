package e2e

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/testenv"
)

// TestScaleOut runs an installation as three packhub serve replicas on one
// PostgreSQL database and one S3 bucket behind nginx, and drives it as
// its clients do: the OCI conformance suite, the OCI clients, npm and
// go-github through nginx all pass; an upload whose chunks land on
// different replicas completes; what one replica publishes the others
// serve at once; and a replica killed in the middle of a push leaves
// nothing half-visible and loses no acknowledged push. It needs
// PostgreSQL (SQLite serves one process): in CI without
// PACKHUB_TEST_DATABASE_URL it fails.
func TestScaleOut(t *testing.T) {
	t.Parallel()
	t.Run("conformance", testScaleOutConformance)
	t.Run("oci clients", func(t *testing.T) {
		requireTool(t, "crane")
		requireTool(t, "oras")
		requireTool(t, "skopeo")
		ociClientFlows(t, startCluster(t, 3).front)
	})
	t.Run("npm", func(t *testing.T) {
		requireTool(t, "npm")
		npmFlows(t, startCluster(t, 3).front)
	})
	t.Run("go-github users", func(t *testing.T) { goGitHubUserPackages(t, newFixtureOn(t, startCluster(t, 3).front)) })
	t.Run("go-github orgs", func(t *testing.T) { goGitHubOrgPackages(t, newFixtureOn(t, startCluster(t, 3).front)) })
	t.Run("round robin", testScaleOutRoundRobin)
	t.Run("chunked upload across replicas", testScaleOutChunkedUpload)
	t.Run("npm publish seen at once by every replica", testScaleOutNpmPublish)
	t.Run("replica killed during a push", testScaleOutKill)
}

// junit is the part of the conformance suite's report the test reads.
type junit struct {
	Suites []struct {
		Cases []struct {
			Name    string    `xml:"name,attr"`
			Status  string    `xml:"status,attr"`
			Failure *struct{} `xml:"failure"`
			Skipped *struct{} `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// testScaleOutConformance runs the OCI distribution-spec conformance suite
// (all four workflows, with token auth) through nginx.
func testScaleOutConformance(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	bin := filepath.Join(filepath.Dir(file), "..", "conformance", "conformance.test")
	if p := os.Getenv("OCI_CONFORMANCE_BIN"); p != "" {
		bin = p
	}
	if !fileExists(bin) {
		testenv.Missing(t, "the OCI conformance suite %s is missing; scripts/install-test-deps.sh builds it", bin)
	}
	c := startCluster(t, 3)
	c.front.Admin("user", "create", "conformance")
	tok := c.front.Token("conformance", "read:packages,write:packages,delete:packages")
	// The suite sends three requests per step (a challenge, a token, the
	// request itself), which round robin over three replicas would send
	// to one replica each; other clients' requests, as a registry always
	// has, spread them.
	stop := make(chan struct{})
	defer close(stop)
	go c.otherClients(stop)
	report := t.TempDir()
	cmd := exec.Command(bin, "-test.v")
	cmd.Env = append(os.Environ(),
		"OCI_ROOT_URL="+c.front.URL,
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
	var rep junit
	raw, err := os.ReadFile(filepath.Join(report, "junit.xml"))
	if err == nil {
		err = xml.Unmarshal(raw, &rep)
	}
	if err != nil {
		t.Fatalf("conformance report: %v (run: %v)\n%s", err, runErr, tail(string(out), 4000))
	}
	passed, skipped := 0, 0
	var failed []string
	ran := map[string]bool{}
	for _, s := range rep.Suites {
		for _, tc := range s.Cases {
			switch {
			case tc.Failure != nil || tc.Status == "failed" || tc.Status == "panicked":
				failed = append(failed, tc.Name)
			case tc.Skipped != nil || tc.Status == "skipped" || tc.Status == "pending":
				skipped++
			default:
				passed++
				ran[tc.Name] = true
			}
		}
	}
	// Run only when the registry answers a mount as it should (skipped,
	// not failed, otherwise), as the single-server run checks too.
	for _, name := range []string{
		"[It] OCI Distribution Conformance Tests Push Cross-Repository Blob Mount GET request to test digest within cross-mount namespace should return 200",
	} {
		if !ran[name] {
			failed = append(failed, name+" (did not run)")
		}
	}
	t.Logf("OCI conformance through nginx: %d passed, %d failed, %d skipped", passed, len(failed), skipped)
	if len(failed) > 0 || runErr != nil || passed == 0 {
		t.Fatalf("conformance failures (%v):\n  %s\n%s", runErr, strings.Join(failed, "\n  "), tail(string(out), 4000))
	}
	// The suite's pushes went round the replicas.
	if got := distinct(c.nginx.upstreams("PUT", "/v2/")); len(got) != len(c.replicas) {
		t.Fatalf("the suite's pushes reached %d replicas, want %d: %v", len(got), len(c.replicas), got)
	}
}

func distinct(ss []string) []string {
	out := slices.Clone(ss)
	slices.Sort(out)
	return slices.Compact(out)
}

// ociPusher is a minimal OCI client for one base URL (nginx or a replica),
// authenticating with Basic and a personal access token. Its methods
// return errors rather than fail the test, for use in goroutines.
type ociPusher struct {
	base   string
	token  string
	client *http.Client
}

func newOCIPusher(base, token string) *ociPusher {
	return &ociPusher{base: base, token: token, client: &http.Client{Timeout: 2 * time.Minute}}
}

// do sends a request; a body of known size is sent with its length.
func (r *ociPusher) do(method, target string, body io.Reader, size int64, hdr ...string) (*http.Response, []byte, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, nil, err
	}
	if !u.IsAbs() {
		target = r.base + target
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		return nil, nil, err
	}
	if body != nil {
		req.ContentLength = size
	}
	req.SetBasicAuth("client", r.token)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := r.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res, b, err
}

// expect sends a request and wants the status.
func (r *ociPusher) expect(method, target string, body []byte, status int, hdr ...string) (*http.Response, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	res, b, err := r.do(method, target, rd, int64(len(body)), hdr...)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", method, target, err)
	}
	if res.StatusCode != status {
		return res, b, fmt.Errorf("%s %s: status %d, want %d: %s", method, target, res.StatusCode, status, b)
	}
	return res, b, nil
}

func withDigest(loc, d string) string {
	if strings.Contains(loc, "?") {
		return loc + "&digest=" + url.QueryEscape(d)
	}
	return loc + "?digest=" + url.QueryEscape(d)
}

// pushBlob uploads a blob in one PUT after a POST.
func (r *ociPusher) pushBlob(name string, b []byte) error {
	res, _, err := r.expect("POST", "/v2/"+name+"/blobs/uploads/", nil, http.StatusAccepted)
	if err != nil {
		return err
	}
	_, _, err = r.expect("PUT", withDigest(res.Header.Get("Location"), sha256Digest(b)), b, http.StatusCreated)
	return err
}

// image is a small image: a config, one layer, and its manifest.
type image struct {
	config, layer, manifest []byte
	digest                  string
}

func newImage(seed string, layer []byte) *image {
	im := &image{config: []byte(`{"architecture":"amd64","os":"linux","seed":"` + seed + `"}`), layer: layer}
	m, _ := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256Digest(im.config), "size": len(im.config)},
		"layers":        []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha256Digest(layer), "size": len(layer)}},
	})
	im.manifest, im.digest = m, sha256Digest(m)
	return im
}

// putManifest puts an image's manifest under a tag.
func (r *ociPusher) putManifest(name, tag string, im *image) error {
	_, _, err := r.expect("PUT", "/v2/"+name+"/manifests/"+tag, im.manifest, http.StatusCreated,
		"Content-Type", "application/vnd.oci.image.manifest.v1+json")
	return err
}

// push pushes an image: its blobs, then its manifest under tag.
func (r *ociPusher) push(name, tag string, im *image) error {
	if err := r.pushBlob(name, im.config); err != nil {
		return err
	}
	if err := r.pushBlob(name, im.layer); err != nil {
		return err
	}
	return r.putManifest(name, tag, im)
}

// pull reads an image by tag and checks every byte against its digests:
// the manifest's digest, and the config's and layers' it names.
func (r *ociPusher) pull(name, tag string) (digest string, err error) {
	res, m, err := r.expect("GET", "/v2/"+name+"/manifests/"+tag, nil, http.StatusOK,
		"Accept", "application/vnd.oci.image.manifest.v1+json")
	if err != nil {
		return "", err
	}
	digest = sha256Digest(m)
	if got := res.Header.Get("Docker-Content-Digest"); got != digest {
		return "", fmt.Errorf("manifest %s:%s: Docker-Content-Digest %s, content %s", name, tag, got, digest)
	}
	var man struct {
		Config struct{ Digest string }   `json:"config"`
		Layers []struct{ Digest string } `json:"layers"`
	}
	if err := json.Unmarshal(m, &man); err != nil {
		return "", fmt.Errorf("manifest %s:%s: %w", name, tag, err)
	}
	blobs := []string{man.Config.Digest}
	for _, l := range man.Layers {
		blobs = append(blobs, l.Digest)
	}
	for _, d := range blobs {
		_, b, err := r.expect("GET", "/v2/"+name+"/blobs/"+d, nil, http.StatusOK)
		if err != nil {
			return "", err
		}
		if got := sha256Digest(b); got != d {
			return "", fmt.Errorf("blob %s of %s:%s holds %s", d, name, tag, got)
		}
	}
	return digest, nil
}

func (r *ociPusher) tags(name string) ([]string, error) {
	_, b, err := r.expect("GET", "/v2/"+name+"/tags/list", nil, http.StatusOK)
	if err != nil {
		return nil, err
	}
	var tl struct{ Tags []string }
	if err := json.Unmarshal(b, &tl); err != nil {
		return nil, err
	}
	return tl.Tags, nil
}

// testScaleOutRoundRobin: requests through nginx are spread over every
// replica, and each replica answers for the same state.
func testScaleOutRoundRobin(t *testing.T) {
	c := startCluster(t, 3)
	c.front.Admin("user", "create", "alice")
	tok := c.front.Token("alice", "read:packages,write:packages")
	front := newOCIPusher(c.front.URL, tok)
	for i := range 6 {
		if err := front.push("alice/spread", fmt.Sprintf("v%d", i), newImage(fmt.Sprint(i), []byte(fmt.Sprint("layer ", i)))); err != nil {
			t.Fatal(err)
		}
	}
	if got := distinct(c.nginx.upstreams("", "/v2/alice/spread/")); len(got) != 3 {
		t.Fatalf("six pushes reached %v, want all three replicas", got)
	}
	for _, s := range c.replicas {
		tags, err := newOCIPusher(s.URL, tok).tags("alice/spread")
		if err != nil || len(tags) != 6 {
			t.Fatalf("replica %s lists %v (%v)", s.Addr, tags, err)
		}
	}
}

// testScaleOutChunkedUpload sends the requests of one chunked upload
// straight to different replicas: the session started on one continues on
// each of the others, and the blob is whole on all of them.
func testScaleOutChunkedUpload(t *testing.T) {
	c := startCluster(t, 3)
	c.front.Admin("user", "create", "alice")
	tok := c.front.Token("alice", "read:packages,write:packages")
	var rs []*ociPusher
	for _, s := range c.replicas {
		rs = append(rs, newOCIPusher(s.URL, tok))
	}
	name := "alice/chunked"
	data := bytes.Repeat([]byte("packhub replicas "), 1<<16) // 1.1 MB
	third := len(data) / 3
	must := func(res *http.Response, b []byte, err error) *http.Response {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := must(rs[0].expect("POST", "/v2/"+name+"/blobs/uploads/", nil, http.StatusAccepted))
	loc := res.Header.Get("Location")
	res = must(rs[1].expect("PATCH", loc, data[:third], http.StatusAccepted,
		"Content-Range", fmt.Sprintf("0-%d", third-1), "Content-Type", "application/octet-stream"))
	if got, want := res.Header.Get("Range"), fmt.Sprintf("0-%d", third-1); got != want {
		t.Fatalf("range after the first chunk on replica 1: %q, want %q", got, want)
	}
	res = must(rs[2].expect("PATCH", loc, data[third:2*third], http.StatusAccepted,
		"Content-Range", fmt.Sprintf("%d-%d", third, 2*third-1), "Content-Type", "application/octet-stream"))
	if got, want := res.Header.Get("Range"), fmt.Sprintf("0-%d", 2*third-1); got != want {
		t.Fatalf("range after the second chunk on replica 2: %q, want %q", got, want)
	}
	res = must(rs[0].expect("GET", loc, nil, http.StatusNoContent))
	if got, want := res.Header.Get("Range"), fmt.Sprintf("0-%d", 2*third-1); got != want {
		t.Fatalf("status on replica 0: range %q, want %q", got, want)
	}
	// A chunk sent again to another replica is out of order there too.
	must(rs[0].expect("PATCH", loc, data[third:2*third], http.StatusRequestedRangeNotSatisfiable,
		"Content-Range", fmt.Sprintf("%d-%d", third, 2*third-1)))
	d := sha256Digest(data)
	must(rs[1].expect("PUT", withDigest(loc, d), data[2*third:], http.StatusCreated,
		"Content-Range", fmt.Sprintf("%d-%d", 2*third, len(data)-1)))
	for i, r := range append(rs, newOCIPusher(c.front.URL, tok)) {
		_, b, err := r.expect("GET", "/v2/"+name+"/blobs/"+d, nil, http.StatusOK)
		if err != nil || !bytes.Equal(b, data) {
			t.Fatalf("blob on %d: %d bytes (%v)", i, len(b), err)
		}
	}
	must(rs[2].expect("GET", loc, nil, http.StatusNotFound))
}

// testScaleOutNpmPublish publishes with npm to one replica after every
// replica has served (and cached) the package, and installs through
// another at once.
func testScaleOutNpmPublish(t *testing.T) {
	bin := requireTool(t, "npm")
	c := startCluster(t, 3)
	c.front.Admin("user", "create", "octo")
	tok := c.front.Token("octo", "read:packages,write:packages,delete:packages")
	packument := func(s *Server) map[string]string {
		t.Helper()
		req, _ := http.NewRequest("GET", s.URL+"/npm/@octo%2fshared", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var p struct {
			DistTags map[string]string `json:"dist-tags"`
			Versions map[string]any    `json:"versions"`
		}
		if res.StatusCode != http.StatusOK || json.NewDecoder(res.Body).Decode(&p) != nil {
			t.Fatalf("packument from %s: %d", s.Addr, res.StatusCode)
		}
		out := map[string]string{"latest": p.DistTags["latest"]}
		for v := range p.Versions {
			out[v] = "version"
		}
		return out
	}
	// npm sends the token to the registry it is told of, and tarball URLs
	// name the installation's address, nginx's: give it both.
	npmVia := func(s *Server) *npmUser {
		u := newNpmUser(t, bin, s.URL+"/npm/", tok, "octo")
		f, err := os.OpenFile(filepath.Join(u.home, ".npmrc"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := fmt.Fprintf(f, "%s:_authToken=%s\n", strings.TrimPrefix(c.front.URL, "http:")+"/npm/", tok); err != nil {
			t.Fatal(err)
		}
		return u
	}
	src := t.TempDir()
	for i, v := range []string{"1.0.0", "1.1.0", "1.2.0", "2.0.0"} {
		publisher := c.replicas[i%3]
		npmProject(t, src, map[string]any{"name": "@octo/shared", "version": v, "main": "index.js"})
		npmVia(publisher).must(src, "publish")
		for _, s := range c.replicas {
			if p := packument(s); p["latest"] != v || p[v] != "version" {
				t.Fatalf("after publishing %s on %s, %s serves %v", v, publisher.Addr, s.Addr, p)
			}
		}
		// Installed through the next replica, which served the package
		// before this publish.
		installer := c.replicas[(i+1)%3]
		proj := npmConsumer(t)
		npmVia(installer).must(proj, "install", "@octo/shared@latest")
		if got := npmInstalled(proj, "@octo/shared"); got != v {
			t.Fatalf("installed %s through %s right after publishing %s on %s", got, installer.Addr, v, publisher.Addr)
		}
	}
}

// slowBody streams size bytes of a deterministic pattern, pausing after
// pauseAt bytes until resume is closed.
type slowBody struct {
	size, sent, pauseAt int64
	paused              chan struct{} // closed once pauseAt is reached
	resume              chan struct{}
	pausedOnce          sync.Once
}

func newSlowBody(size, pauseAt int64) *slowBody {
	return &slowBody{size: size, pauseAt: pauseAt, paused: make(chan struct{}), resume: make(chan struct{})}
}

func (b *slowBody) Read(p []byte) (int, error) {
	if b.sent >= b.size {
		return 0, io.EOF
	}
	if b.sent >= b.pauseAt {
		b.pausedOnce.Do(func() { close(b.paused) })
		<-b.resume
	}
	n := int64(len(p))
	if n > 64<<10 {
		n = 64 << 10
	}
	if b.sent < b.pauseAt && b.sent+n > b.pauseAt {
		n = b.pauseAt - b.sent
	}
	if b.sent+n > b.size {
		n = b.size - b.sent
	}
	for i := range n {
		p[i] = byte((b.sent + i) * 7 % 251)
	}
	b.sent += n
	return int(n), nil
}

// slowBodyBytes is what a slowBody of size sends.
func slowBodyBytes(size int64) []byte {
	out := make([]byte, size)
	for i := range out {
		out[i] = byte(int64(i) * 7 % 251)
	}
	return out
}

// testScaleOutKill kills (SIGKILL) the replica that is receiving a large
// blob through nginx while another client keeps pushing images: the large
// push fails and leaves nothing visible, its retry through nginx reaches
// another replica and succeeds, the other client's pushes keep succeeding
// (retried when a request died with the replica), and every push that was
// acknowledged is there afterwards, whole, on every surviving replica.
func testScaleOutKill(t *testing.T) {
	c := startCluster(t, 3)
	c.front.Admin("user", "create", "alice")
	tok := c.front.Token("alice", "read:packages,write:packages")
	front := newOCIPusher(c.front.URL, tok)

	// The large push: a session through nginx, and a PUT whose body
	// stops after 8 MiB until the test says go on.
	const size, pauseAt = 48 << 20, 8 << 20
	big := "alice/big"
	res, _, err := front.expect("POST", "/v2/"+big+"/blobs/uploads/", nil, http.StatusAccepted)
	if err != nil {
		t.Fatal(err)
	}
	layer := slowBodyBytes(size)
	bigDigest := sha256Digest(layer)
	body := newSlowBody(size, pauseAt)
	putDone := make(chan error, 1)
	go func() {
		res, b, err := front.do("PUT", withDigest(res.Header.Get("Location"), bigDigest), body, size)
		switch {
		case err != nil:
			putDone <- err
		case res.StatusCode == http.StatusCreated:
			putDone <- nil
		default:
			putDone <- fmt.Errorf("status %d: %s", res.StatusCode, b)
		}
	}()
	select {
	case <-body.paused:
	case err := <-putDone:
		t.Fatalf("the large PUT ended before its body was sent: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("the large PUT did not start")
	}
	// The replica receiving it is the one with a request in flight
	// besides the metrics request.
	var victim *Server
	for deadline := time.Now().Add(10 * time.Second); victim == nil && time.Now().Before(deadline); {
		for _, s := range c.replicas {
			if inFlight(t, s) >= 2 {
				victim = s
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if victim == nil {
		t.Fatal("no replica is receiving the large PUT")
	}

	// Another client pushes small images all along, each retried (whole)
	// until it is acknowledged, as clients retry a failed push.
	type ack struct{ tag, digest string }
	var mu sync.Mutex
	var acked []ack
	var retried int
	stop := make(chan struct{})
	writerDone := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				writerDone <- nil
				return
			default:
			}
			tag := fmt.Sprintf("t%03d", i)
			im := newImage(tag, []byte("small layer "+tag))
			var err error
			for attempt := range 5 {
				if attempt > 0 {
					mu.Lock()
					retried++
					mu.Unlock()
					time.Sleep(200 * time.Millisecond)
				}
				if err = front.push("alice/small", tag, im); err == nil {
					break
				}
			}
			if err != nil {
				writerDone <- fmt.Errorf("push %s failed after 5 attempts: %w", tag, err)
				return
			}
			mu.Lock()
			acked = append(acked, ack{tag, im.digest})
			mu.Unlock()
		}
	}()
	waitAcks := func(n int) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for time.Now().Before(deadline) {
			mu.Lock()
			got := len(acked)
			mu.Unlock()
			if got >= n {
				return
			}
			select {
			case err := <-writerDone:
				t.Fatalf("the small pushes stopped: %v", err)
			case <-time.After(20 * time.Millisecond):
			}
		}
		t.Fatalf("fewer than %d small pushes acknowledged", n)
	}
	waitAcks(5)

	victim.Kill()
	close(body.resume)
	select {
	case err := <-putDone:
		if err == nil {
			t.Fatal("the large PUT succeeded although its replica was killed")
		}
		t.Logf("the large PUT failed with its replica, as it must: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("the large PUT did not end after its replica was killed")
	}
	// Nothing of it is visible, on any surviving replica or through nginx.
	var survivors []*Server
	for _, s := range c.replicas {
		if s != victim {
			survivors = append(survivors, s)
		}
	}
	for _, r := range []*ociPusher{front, newOCIPusher(survivors[0].URL, tok), newOCIPusher(survivors[1].URL, tok)} {
		if _, _, err := r.expect("HEAD", "/v2/"+big+"/blobs/"+bigDigest, nil, http.StatusNotFound); err != nil {
			t.Fatalf("the half-pushed blob: %v", err)
		}
	}

	// The client's retry, through nginx, reaches a replica that is up.
	mu.Lock()
	before := len(acked)
	mu.Unlock()
	bigImage := newImage("big", layer)
	if err := front.push(big, "v1", bigImage); err != nil {
		t.Fatalf("the retried large push: %v", err)
	}
	waitAcks(before + 5)
	close(stop)
	if err := <-writerDone; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	t.Logf("%d small pushes acknowledged, %d attempts retried", len(acked), retried)
	acks := slices.Clone(acked)
	mu.Unlock()

	// Every acknowledged push is there, whole, through nginx and on each
	// surviving replica; every tag listed is whole too (nothing
	// half-visible), and nothing is listed that was not acknowledged
	// (a push whose manifest never got its 201 was retried until it did).
	for _, r := range []*ociPusher{front, newOCIPusher(survivors[0].URL, tok), newOCIPusher(survivors[1].URL, tok)} {
		if got, err := r.pull(big, "v1"); err != nil || got != bigImage.digest {
			t.Fatalf("the large image on %s: %s %v", r.base, got, err)
		}
		tags, err := r.tags("alice/small")
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{}
		for _, a := range acks {
			want[a.tag] = a.digest
		}
		for _, tag := range tags {
			d, err := r.pull("alice/small", tag)
			if err != nil {
				t.Fatalf("tag %s on %s is listed but not whole: %v", tag, r.base, err)
			}
			w, ok := want[tag]
			if !ok {
				t.Fatalf("tag %s on %s was never acknowledged", tag, r.base)
			}
			if w != d {
				t.Fatalf("tag %s on %s is %s, acknowledged as %s", tag, r.base, d, w)
			}
			delete(want, tag)
		}
		if len(want) > 0 {
			t.Fatalf("acknowledged pushes missing on %s: %v", r.base, want)
		}
	}
}
