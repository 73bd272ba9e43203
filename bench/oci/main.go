// Command ocibench runs Packhub's container registry and CNCF Distribution
// side by side, each as its own process with authentication on, through
// the same workload, and prints each registry's figures and their ratios:
//
//   - one large blob (default 1 GiB) pushed monolithically, pushed in
//     chunks (default 5 MiB) and pulled;
//   - many small blobs (default 1,000 of 1 KiB) pushed by concurrent clients;
//   - blob HEAD, manifest HEAD and GET by tag and tag listing rates with
//     concurrent clients (default 16);
//   - a 2 GiB monolithic push, for the servers' memory while a blob larger
//     than any buffer streams through.
//
// Each row reports MB/s (10^6 bytes) where bytes move, requests/s, the p99
// latency of the row's requests and the server's peak RSS during the row
// (VmHWM, reset through /proc/PID/clear_refs before each row).
//
// Packhub is built from ./cmd/packhub (or -packhub) and served with a
// SQLite store and file blobs; clients get bearer tokens from its /token
// endpoint with a personal access token. Distribution (-registry, default
// "registry" on PATH or in GOPATH/bin) runs with filesystem storage and
// token authentication: this program serves its token realm and signs
// EdDSA tokens that Distribution verifies against a JWKS file, so both
// registries answer the same bearer challenge flow.
//
//	go install github.com/distribution/distribution/v3/cmd/registry@v3.1.2
//	go run ./bench/oci
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var (
	packhubBin  = flag.String("packhub", "", "packhub binary (default: built from ./cmd/packhub)")
	registryBin = flag.String("registry", "", "CNCF Distribution registry binary (default: registry on PATH or in GOPATH/bin); \"none\" skips it")
	distAuth    = flag.String("dist-auth", "token", "Distribution's authentication: token (bearer tokens, as Packhub) or none")
	name        = flag.String("name", "bench/image", "repository name OWNER/IMAGE")
	concurrency = flag.Int("c", 16, "concurrent clients for the small-blob push and the rate tests")
	largeMiB    = flag.Int("large", 1024, "size of the large blob in MiB")
	chunkMiB    = flag.Int("chunk", 5, "chunk size of the chunked upload in MiB")
	smallCount  = flag.Int("small", 1000, "number of small blobs")
	smallSize   = flag.Int("small-size", 1024, "size of each small blob in bytes")
	hugeMiB     = flag.Int("huge", 2048, "size of the blob pushed for the memory test in MiB; 0 skips it")
	duration    = flag.Duration("d", 10*time.Second, "duration of each rate test")
	keep        = flag.Bool("keep", false, "keep the temporary directory")
)

func main() {
	log.SetFlags(0)
	flag.Parse()
	dir, err := os.MkdirTemp("", "ocibench")
	must(err)
	var servers []*server
	var gw *s3Gateway // with -s3
	defer func() {
		for _, s := range servers {
			s.stop()
		}
		if gw != nil {
			gw.stop()
		}
		if !*keep {
			os.RemoveAll(dir)
		}
	}()
	// A fatal error must still stop the servers.
	fatal := func(err error) {
		for _, s := range servers {
			s.stop()
		}
		if gw != nil {
			gw.stop()
		}
		if !*keep {
			os.RemoveAll(dir)
		}
		log.Fatal(err)
	}

	if *s3Mode {
		g, err := startS3(filepath.Join(dir, "s3"), "packhub", "distribution")
		if err != nil {
			fatal(err)
		}
		gw = g
		fmt.Printf("blobs in S3: versitygw %s, one bucket per registry\n", g.endpoint)
	}
	ph, err := startPackhub(filepath.Join(dir, "packhub"), gw)
	if err != nil {
		fatal(err)
	}
	servers = append(servers, ph)
	if reg := findRegistry(); reg != "" {
		ds, err := startDistribution(reg, filepath.Join(dir, "distribution"), gw)
		if err != nil {
			fatal(err)
		}
		servers = append(servers, ds)
	} else {
		fmt.Println("CNCF Distribution not found (go install github.com/distribution/distribution/v3/cmd/registry@v3.1.2); Packhub only")
	}

	fmt.Printf("%d CPUs, %s/%s, %s; %d clients, %d MiB large blob in %d MiB chunks, %d × %d B small blobs, %s per rate test\n",
		runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), *concurrency, *largeMiB, *chunkMiB, *smallCount, *smallSize, *duration)
	for _, s := range servers {
		fmt.Printf("  %-13s pid %d, %s, auth: %s\n", s.label, s.cmd.Process.Pid, s.base, s.auth)
	}
	fmt.Println()

	w := newWorkload()
	var rows [][]result
	for _, sc := range w.scenarios() {
		var rs []result
		for _, s := range servers {
			r, err := s.run(sc)
			if err != nil {
				fatal(fmt.Errorf("%s: %s: %w", s.label, sc.label, err))
			}
			fmt.Printf("%-13s %-32s %s\n", s.label, sc.label, r.brief())
			rs = append(rs, r)
		}
		rows = append(rows, rs)
	}
	fmt.Println()
	printTable(servers, rows)
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

func digestOf(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// ---- Servers ---------------------------------------------------------------

// server is a registry process under test.
type server struct {
	label string
	base  string
	auth  string
	cmd   *exec.Cmd
	c     *client
	stopF []func()
}

func (s *server) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
		}
		s.cmd = nil
	}
	for _, f := range s.stopF {
		f()
	}
	s.stopF = nil
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitUp polls url until it answers with status.
func waitUp(u string, status int, cmd *exec.Cmd) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if cmd.ProcessState != nil {
			return fmt.Errorf("%s exited: %s", cmd.Path, cmd.ProcessState)
		}
		res, err := http.Get(u)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == status {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s did not come up", u)
}

// startPackhub builds (unless -packhub) and serves Packhub with a user
// and a personal access token made by its admin commands.
func startPackhub(dir string, gw *s3Gateway) (*server, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	bin := *packhubBin
	if bin == "" {
		bin = filepath.Join(dir, "packhub")
		build := exec.Command("go", "build", "-o", bin, "./cmd/packhub")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return nil, fmt.Errorf("build packhub: %w", err)
		}
	}
	data := filepath.Join(dir, "data")
	owner, _, _ := strings.Cut(*name, "/")
	if out, err := exec.Command(bin, "admin", "user", "create", owner, "--data-dir", data).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("packhub admin user create: %v: %s", err, out)
	}
	out, err := exec.Command(bin, "admin", "token", "create", "--user", owner,
		"--scopes", "write:packages,delete:packages", "--note", "bench", "--data-dir", data).Output()
	if err != nil {
		return nil, fmt.Errorf("packhub admin token create: %w", err)
	}
	token := strings.TrimSpace(string(out))
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	base := "http://" + addr
	args := []string{"serve", "--data-dir", data, "--addr", addr, "--base-url", base,
		"--log-level", "warn", "--purge-interval", "0"}
	var env []string
	if gw != nil {
		a, e := gw.packhubArgs("packhub")
		args, env = append(args, a...), e
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{label: "Packhub", base: base, auth: "bearer tokens from /token (personal access token)", cmd: cmd}
	go func() { _ = cmd.Wait() }()
	if err := waitUp(base+"/healthz", http.StatusOK, cmd); err != nil {
		s.stop()
		return nil, err
	}
	s.c = newClient(base, owner, token)
	return s, nil
}

func findRegistry() string {
	switch *registryBin {
	case "none":
		return ""
	case "":
	default:
		return *registryBin
	}
	if p, err := exec.LookPath("registry"); err == nil {
		return p
	}
	gopath, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		p := filepath.Join(strings.TrimSpace(string(gopath)), "bin", "registry")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

const distConfig = `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
%s  cache:
    blobdescriptor: inmemory
  delete:
    enabled: true
http:
  addr: %s
%s`

const distTokenAuth = `auth:
  token:
    realm: %s
    service: %s
    issuer: %s
    jwks: %s
`

// startDistribution serves CNCF Distribution with filesystem storage (the
// configuration its release images ship, with deletes on) and, with
// -dist-auth token, a token realm served by this program.
func startDistribution(bin, dir string, gw *s3Gateway) (*server, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	s := &server{label: "Distribution", base: "http://" + addr, auth: "none"}
	authCfg := ""
	password := ""
	if *distAuth == "token" {
		ts, err := newTokenServer("bench-distribution", "ocibench")
		if err != nil {
			return nil, err
		}
		s.stopF = append(s.stopF, ts.close)
		jwks := filepath.Join(dir, "jwks.json")
		if err := os.WriteFile(jwks, ts.jwks(), 0o600); err != nil {
			return nil, err
		}
		authCfg = fmt.Sprintf(distTokenAuth, ts.realm, ts.service, ts.issuer, jwks)
		password = ts.password
		s.auth = "bearer tokens (EdDSA, JWKS) from a token realm in ocibench"
	} else if *distAuth != "none" {
		return nil, fmt.Errorf("-dist-auth must be token or none")
	}
	cfg := filepath.Join(dir, "config.yml")
	storage := fmt.Sprintf("  filesystem:\n    rootdirectory: %s\n", filepath.Join(dir, "storage"))
	if gw != nil {
		storage = gw.distStorage("distribution")
	}
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(distConfig, storage, addr, authCfg)), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", cfg)
	// Tracing would try to export spans to an absent collector.
	cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s.cmd = cmd
	go func() { _ = cmd.Wait() }()
	want := http.StatusOK
	if password != "" {
		want = http.StatusUnauthorized
	}
	if err := waitUp(s.base+"/v2/", want, cmd); err != nil {
		s.stop()
		return nil, err
	}
	owner, _, _ := strings.Cut(*name, "/")
	s.c = newClient(s.base, owner, password)
	return s, nil
}

// tokenServer is a token realm for Distribution: it answers GET /token
// with Basic credentials with an EdDSA-signed JWT granting the scopes
// asked for.
type tokenServer struct {
	realm, service, issuer, password string
	key                              ed25519.PrivateKey
	srv                              *http.Server
}

func newTokenServer(service, issuer string) (*tokenServer, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	pw := make([]byte, 16)
	rand.Read(pw)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ts := &tokenServer{
		realm: "http://" + ln.Addr().String() + "/token", service: service, issuer: issuer,
		password: hex.EncodeToString(pw), key: key,
	}
	ts.srv = &http.Server{Handler: http.HandlerFunc(ts.serve)}
	go ts.srv.Serve(ln)
	return ts, nil
}

func (ts *tokenServer) close() { ts.srv.Close() }

const jwtKeyID = "ocibench"

func (ts *tokenServer) jwks() []byte {
	pub := ts.key.Public().(ed25519.PublicKey)
	b, _ := json.Marshal(map[string]any{"keys": []any{map[string]string{
		"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(pub),
		"kid": jwtKeyID, "alg": "EdDSA", "use": "sig",
	}}})
	return b
}

func (ts *tokenServer) serve(w http.ResponseWriter, r *http.Request) {
	if _, pw, ok := r.BasicAuth(); !ok || pw != ts.password {
		http.Error(w, "bad credentials", http.StatusUnauthorized)
		return
	}
	type access struct {
		Type    string   `json:"type"`
		Name    string   `json:"name"`
		Actions []string `json:"actions"`
	}
	acc := []access{}
	for _, sc := range r.URL.Query()["scope"] {
		for _, one := range strings.Fields(sc) {
			parts := strings.Split(one, ":")
			if len(parts) < 3 {
				continue
			}
			acc = append(acc, access{Type: parts[0], Name: strings.Join(parts[1:len(parts)-1], ":"), Actions: strings.Split(parts[len(parts)-1], ",")})
		}
	}
	now := time.Now().Unix()
	jti := make([]byte, 12)
	rand.Read(jti)
	hdr, _ := json.Marshal(map[string]string{"alg": "EdDSA", "typ": "JWT", "kid": jwtKeyID})
	claims, _ := json.Marshal(map[string]any{
		"iss": ts.issuer, "sub": "bench", "aud": ts.service, "iat": now, "nbf": now - 60, "exp": now + 3600,
		"jti": hex.EncodeToString(jti), "access": acc,
	})
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString(hdr) + "." + enc.EncodeToString(claims)
	tok := signing + "." + enc.EncodeToString(ed25519.Sign(ts.key, []byte(signing)))
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"token": tok, "access_token": tok, "expires_in": 3600})
}

// ---- Memory ----------------------------------------------------------------

// resetPeak resets a process's peak RSS (VmHWM).
func resetPeak(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// peakRSS returns a process's peak RSS in bytes.
func peakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmHWM in " + string(b))
}

// ---- Client ----------------------------------------------------------------

// client speaks the registry API, answering bearer challenges at the realm
// with Basic credentials and reusing the token until it is refused.
type client struct {
	base     string
	user     string
	password string
	http     *http.Client
	mu       sync.Mutex
	tok      string
	rec      *recorder
}

func newClient(base, user, password string) *client {
	tr := &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true}
	return &client{base: strings.TrimRight(base, "/"), user: user, password: password, http: &http.Client{Transport: tr}}
}

// recorder collects the latency of every request of a scenario.
type recorder struct {
	mu  sync.Mutex
	lat []time.Duration
}

func (r *recorder) add(d time.Duration) {
	r.mu.Lock()
	r.lat = append(r.lat, d)
	r.mu.Unlock()
}

var challengeParam = regexp.MustCompile(`(\w+)="([^"]*)"`)

// body makes a request body anew for each attempt.
type body struct {
	open func() io.Reader
	size int64
}

func bytesBody(b []byte) *body {
	return &body{open: func() io.Reader { return bytes.NewReader(b) }, size: int64(len(b))}
}

func (c *client) do(method, path string, b *body, hdr ...string) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		u := path
		if !strings.HasPrefix(u, "http") {
			u = c.base + path
		}
		var rd io.Reader
		if b != nil {
			rd = b.open()
		}
		req, err := http.NewRequest(method, u, rd)
		if err != nil {
			return nil, err
		}
		if b != nil {
			req.ContentLength = b.size
			if b.size == 0 {
				req.Body = http.NoBody
			}
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		c.mu.Lock()
		if c.tok != "" {
			req.Header.Set("Authorization", "Bearer "+c.tok)
		}
		c.mu.Unlock()
		start := time.Now()
		res, err := c.http.Do(req)
		if err != nil {
			return nil, err
		}
		if res.StatusCode != http.StatusUnauthorized || attempt == 1 {
			if c.rec != nil {
				// The latency to the response header; bodies are read
				// by the caller (only pulls have large ones).
				c.rec.add(time.Since(start))
			}
			return res, nil
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		params := map[string]string{}
		for _, m := range challengeParam.FindAllStringSubmatch(res.Header.Get("WWW-Authenticate"), -1) {
			params[m[1]] = m[2]
		}
		if err := c.fetchToken(params["realm"], params["service"]); err != nil {
			return nil, err
		}
	}
}

// fetchToken asks the realm for pull and push on the repository.
func (c *client) fetchToken(realm, service string) error {
	if realm == "" {
		return errors.New("401 without a bearer challenge")
	}
	q := url.Values{"service": {service}, "scope": {"repository:" + *name + ":pull,push"}}
	req, _ := http.NewRequest("GET", realm+"?"+q.Encode(), nil)
	if c.password != "" {
		req.SetBasicAuth(c.user, c.password)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		return fmt.Errorf("token: %d: %s", res.StatusCode, b)
	}
	var tr struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tr); err != nil {
		return err
	}
	c.mu.Lock()
	c.tok = tr.Token
	c.mu.Unlock()
	return nil
}

// call sends a request and checks its status.
func (c *client) call(status int, method, path string, b *body, hdr ...string) (*http.Response, error) {
	res, err := c.do(method, path, b, hdr...)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != status {
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 1024))
		res.Body.Close()
		return nil, fmt.Errorf("%s %s: %d: %s", res.Request.Method, res.Request.URL.Path, res.StatusCode, msg)
	}
	return res, nil
}

func drain(res *http.Response, err error) error {
	if err != nil {
		return err
	}
	io.Copy(io.Discard, res.Body)
	return res.Body.Close()
}

func (c *client) startUpload() (string, error) {
	res, err := c.call(http.StatusAccepted, "POST", "/v2/"+*name+"/blobs/uploads/", nil)
	if err != nil {
		return "", err
	}
	drain(res, nil)
	return res.Header.Get("Location"), nil
}

func withDigest(loc, d string) string {
	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	return loc + sep + "digest=" + url.QueryEscape(d)
}

// pushMonolithic pushes a blob with a POST and one PUT.
func (c *client) pushMonolithic(b *body, d string) error {
	loc, err := c.startUpload()
	if err != nil {
		return err
	}
	return drain(c.call(http.StatusCreated, "PUT", withDigest(loc, d), b, "Content-Type", "application/octet-stream"))
}

// pushChunked pushes a blob with a POST, one PATCH per chunk and a PUT.
func (c *client) pushChunked(b []byte, d string, chunk int) error {
	loc, err := c.startUpload()
	if err != nil {
		return err
	}
	for off := 0; off < len(b); off += chunk {
		end := min(off+chunk, len(b))
		res, err := c.call(http.StatusAccepted, "PATCH", loc, bytesBody(b[off:end]), "Content-Type", "application/octet-stream",
			"Content-Range", fmt.Sprintf("%d-%d", off, end-1))
		if err != nil {
			return err
		}
		drain(res, nil)
		loc = res.Header.Get("Location")
	}
	return drain(c.call(http.StatusCreated, "PUT", withDigest(loc, d), &body{open: func() io.Reader { return nil }}))
}

func (c *client) pullBlob(d string, size int64) error {
	res, err := c.call(http.StatusOK, "GET", "/v2/"+*name+"/blobs/"+d, nil)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	n, err := io.Copy(io.Discard, res.Body)
	if err == nil && n != size {
		err = fmt.Errorf("pulled %d bytes, want %d", n, size)
	}
	return err
}

const mediaTypeOCIManifest = "application/vnd.oci.image.manifest.v1+json"

func (c *client) putManifest(tag string, m []byte) error {
	return drain(c.call(http.StatusCreated, "PUT", "/v2/"+*name+"/manifests/"+tag, bytesBody(m), "Content-Type", mediaTypeOCIManifest))
}

// ---- Workload --------------------------------------------------------------

// scenario is one row of the benchmark.
type scenario struct {
	label string
	bytes int64 // moved per run, for MB/s; 0: a rate test
	unit  string
	setup func(c *client) error // untimed, before run
	run   func(c *client) (units int, err error)
}

// result is one scenario's figures on one server.
type result struct {
	label    string
	bytes    int64
	units    int    // blobs pushed, or requests for a rate test
	unit     string // "blobs", "requests"
	requests int
	elapsed  time.Duration
	lat      []time.Duration
	rss      int64
}

func (r result) mbps() float64 { return float64(r.bytes) / 1e6 / r.elapsed.Seconds() }
func (r result) rps() float64  { return float64(r.requests) / r.elapsed.Seconds() }
func (r result) ups() float64  { return float64(r.units) / r.elapsed.Seconds() }

// primary is the figure the ratio compares: MB/s where bytes move, else
// units per second.
func (r result) primary() float64 {
	if r.bytes > 0 && r.unit == "" {
		return r.mbps()
	}
	return r.ups()
}

func (r result) p99() time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	l := append([]time.Duration(nil), r.lat...)
	sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	return l[min(len(l)-1, int(0.99*float64(len(l))))]
}

func (r result) brief() string {
	s := ""
	if r.bytes > 0 {
		s += fmt.Sprintf("%8.1f MB/s  ", r.mbps())
	}
	if r.unit == "blobs" {
		s += fmt.Sprintf("%7.0f blobs/s  ", r.ups())
	}
	return s + fmt.Sprintf("%8.0f req/s  p99 %-9s peak RSS %s", r.rps(), fmtDur(r.p99()), fmtMiB(r.rss))
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.0f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.2f ms", float64(d)/1e6)
}

func fmtMiB(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// run runs a scenario against the server, with its peak RSS measured from
// a reset.
func (s *server) run(sc scenario) (result, error) {
	pid := s.cmd.Process.Pid
	if sc.setup != nil {
		if err := sc.setup(s.c); err != nil {
			return result{}, fmt.Errorf("setup: %w", err)
		}
	}
	syscall.Sync() // start from clean page cache, whoever dirtied it
	if err := resetPeak(pid); err != nil {
		return result{}, fmt.Errorf("reset peak RSS: %w", err)
	}
	rec := &recorder{}
	s.c.rec = rec
	start := time.Now()
	n, err := sc.run(s.c)
	elapsed := time.Since(start)
	s.c.rec = nil
	if err != nil {
		return result{}, err
	}
	rss, err := peakRSS(pid)
	if err != nil {
		return result{}, err
	}
	return result{label: sc.label, bytes: sc.bytes, units: n, unit: sc.unit, requests: len(rec.lat), elapsed: elapsed, lat: rec.lat, rss: rss}, nil
}

type workload struct {
	large        []byte
	first        [3]byte // large[0] for the monolithic, chunked and huge blobs
	monoD, chunD string
	hugeD        string
	small        [][]byte
}

func newWorkload() *workload {
	w := &workload{large: make([]byte, *largeMiB<<20)}
	rand.Read(w.large)
	b0 := w.large[0]
	w.first = [3]byte{b0, b0 ^ 1, b0 ^ 2}
	w.monoD = digestOf(w.large)
	w.large[0] = w.first[1]
	w.chunD = digestOf(w.large)
	if *hugeMiB > 0 {
		// The huge blob repeats the large one (first byte changed), so
		// that it streams without being held in memory here.
		w.large[0] = w.first[2]
		h := sha256.New()
		for left := int64(*hugeMiB) << 20; left > 0; {
			n := min(left, int64(len(w.large)))
			h.Write(w.large[:n])
			left -= n
		}
		w.hugeD = "sha256:" + hex.EncodeToString(h.Sum(nil))
	}
	w.small = make([][]byte, *smallCount)
	for i := range w.small {
		w.small[i] = make([]byte, *smallSize)
		rand.Read(w.small[i])
	}
	return w
}

// hugeBody streams the huge blob: the large blob repeated.
func (w *workload) hugeBody() *body {
	size := int64(*hugeMiB) << 20
	return &body{size: size, open: func() io.Reader {
		var rs []io.Reader
		for left := size; left > 0; {
			n := min(left, int64(len(w.large)))
			rs = append(rs, bytes.NewReader(w.large[:n]))
			left -= n
		}
		return io.MultiReader(rs...)
	}}
}

func (w *workload) scenarios() []scenario {
	large := int64(len(w.large))
	cfg := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	var manifest []byte
	n := *concurrency
	sc := []scenario{
		{label: fmt.Sprintf("push %s blob, monolithic", sizeLabel(large)), bytes: large, run: func(c *client) (int, error) {
			w.large[0] = w.first[0]
			return 1, c.pushMonolithic(bytesBody(w.large), w.monoD)
		}},
		{label: fmt.Sprintf("push %s blob, %d MiB chunks", sizeLabel(large), *chunkMiB), bytes: large, run: func(c *client) (int, error) {
			w.large[0] = w.first[1]
			return 1, c.pushChunked(w.large, w.chunD, *chunkMiB<<20)
		}},
		{label: fmt.Sprintf("pull %s blob", sizeLabel(large)), bytes: large, run: func(c *client) (int, error) {
			return 1, c.pullBlob(w.chunD, large)
		}},
		{label: fmt.Sprintf("push %d small blobs, %d clients", len(w.small), n), bytes: int64(len(w.small) * *smallSize), unit: "blobs",
			run: func(c *client) (int, error) {
				var next atomic.Int64
				err := parallel(n, func() (bool, error) {
					i := next.Add(1) - 1
					if i >= int64(len(w.small)) {
						return false, nil
					}
					return true, c.pushMonolithic(bytesBody(w.small[i]), digestOf(w.small[i]))
				})
				return len(w.small), err
			}},
	}
	// Setup for the read tests, untimed in its own row: a config, a
	// manifest with one small layer, 50 tags.
	setup := func(c *client) error {
		if err := c.pushMonolithic(bytesBody(cfg), digestOf(cfg)); err != nil {
			return err
		}
		manifest, _ = json.Marshal(map[string]any{
			"schemaVersion": 2, "mediaType": mediaTypeOCIManifest,
			"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digestOf(cfg), "size": len(cfg)},
			"layers": []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digestOf(w.small[0]), "size": len(w.small[0])}},
		})
		for i := 0; i < 50; i++ {
			if err := c.putManifest(fmt.Sprintf("t%03d", i), manifest); err != nil {
				return err
			}
		}
		return nil
	}
	accept := []string{"Accept", mediaTypeOCIManifest + ", application/vnd.oci.image.index.v1+json"}
	rate := func(label, method, path string, first func(c *client) error) scenario {
		return scenario{label: label, unit: "requests",
			setup: func(c *client) error {
				if first != nil {
					if err := first(c); err != nil {
						return err
					}
				}
				// One request first, so that the token is in hand.
				return drain(c.call(http.StatusOK, method, path, nil, accept...))
			},
			run: func(c *client) (int, error) {
				var count atomic.Int64
				deadline := time.Now().Add(*duration)
				err := parallel(n, func() (bool, error) {
					if time.Now().After(deadline) {
						return false, nil
					}
					count.Add(1)
					return true, drain(c.call(http.StatusOK, method, path, nil, accept...))
				})
				return int(count.Load()), err
			}}
	}
	sc = append(sc,
		rate("HEAD blob", "HEAD", "/v2/"+*name+"/blobs/"+digestOf(w.small[1]), setup),
		rate("HEAD manifest by tag", "HEAD", "/v2/"+*name+"/manifests/t001", nil),
		rate("GET manifest by tag", "GET", "/v2/"+*name+"/manifests/t001", nil),
		rate("GET tags/list", "GET", "/v2/"+*name+"/tags/list", nil),
	)
	if *hugeMiB > 0 {
		size := int64(*hugeMiB) << 20
		sc = append(sc, scenario{label: fmt.Sprintf("push %s blob, monolithic", sizeLabel(size)), bytes: size, run: func(c *client) (int, error) {
			w.large[0] = w.first[2]
			return 1, c.pushMonolithic(w.hugeBody(), w.hugeD)
		}})
	}
	return sc
}

func sizeLabel(b int64) string {
	if b >= 1<<30 && b%(1<<30) == 0 {
		return fmt.Sprintf("%d GiB", b>>30)
	}
	return fmt.Sprintf("%d MiB", b>>20)
}

// parallel runs fn on n workers until it returns false or fails.
func parallel(n int, fn func() (bool, error)) error {
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	var failed atomic.Bool
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed.Load() {
				more, err := fn()
				if err != nil {
					once.Do(func() { first = err })
					failed.Store(true)
					return
				}
				if !more {
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// ---- Report ----------------------------------------------------------------

func printTable(servers []*server, rows [][]result) {
	var b strings.Builder
	b.WriteString("| workload |")
	for _, s := range servers {
		fmt.Fprintf(&b, " %s |", s.label)
	}
	if len(servers) > 1 {
		b.WriteString(" ratio |")
	}
	for _, s := range servers {
		fmt.Fprintf(&b, " %s p99 |", s.label)
	}
	for _, s := range servers {
		fmt.Fprintf(&b, " %s peak RSS |", s.label)
	}
	b.WriteString("\n|---|")
	for range len(servers)*3 - 1 + min(len(servers)-1, 1) + 1 {
		b.WriteString("--:|")
	}
	b.WriteString("\n")
	for _, rs := range rows {
		fmt.Fprintf(&b, "| %s |", rs[0].label)
		for _, r := range rs {
			fmt.Fprintf(&b, " %s |", primaryString(r))
		}
		if len(rs) > 1 {
			fmt.Fprintf(&b, " %.2f× |", rs[0].primary()/rs[1].primary())
		}
		for _, r := range rs {
			fmt.Fprintf(&b, " %s |", fmtDur(r.p99()))
		}
		for _, r := range rs {
			fmt.Fprintf(&b, " %s |", fmtMiB(r.rss))
		}
		b.WriteString("\n")
	}
	fmt.Print(b.String())
	if len(servers) > 1 {
		fmt.Println("\nratio: Packhub / Distribution of MB/s (blob transfers) or of blobs/s and requests/s (the rest); above 1 is Packhub faster.")
	}
}

func primaryString(r result) string {
	switch {
	case r.unit == "blobs":
		return fmt.Sprintf("%.0f blobs/s (%.0f req/s)", r.ups(), r.rps())
	case r.bytes > 0:
		return fmt.Sprintf("%.1f MB/s", r.mbps())
	}
	return fmt.Sprintf("%.0f req/s", r.rps())
}
