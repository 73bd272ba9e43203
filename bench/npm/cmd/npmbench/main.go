// Command npmbench runs the same npm workload against Packhub and Verdaccio
// 5 on this machine and prints both results with their ratios:
//
//   - packument GET rate and p99 latency for a package with 1,000 versions
//     (full and abbreviated documents);
//   - tarball GET rate;
//   - npm install of a project with 50 dependencies with a cold cache
//     (median of 3).
//
// Every request carries a token. Packhub is the binary built from
// ./cmd/packhub (SQLite and file blobs in a temporary directory, unless
// -database names a PostgreSQL database); Verdaccio is the version pinned in
// bench/npm/verdaccio/package.json, installed there with npm ci when
// missing, with htpasswd users, JWT API tokens and no uplinks. Only loopback
// addresses are used. Run from the repository root:
//
//	go run ./bench/npm/cmd/npmbench
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

var (
	clients    = flag.Int("clients", 16, "concurrent clients of the GET measurements")
	duration   = flag.Duration("duration", 10*time.Second, "length of each GET measurement")
	warmup     = flag.Duration("warmup", 2*time.Second, "unmeasured load before each GET measurement")
	versions   = flag.Int("versions", 1000, "versions of the big package")
	deps       = flag.Int("deps", 50, "dependencies of the installed project")
	installs   = flag.Int("installs", 3, "npm installs per registry (the median is reported)")
	database   = flag.String("database", "", "Packhub's database (default: SQLite in the temporary directory)")
	keep       = flag.Bool("keep", false, "keep the temporary directory")
	skipVerdac = flag.Bool("packhub-only", false, "measure Packhub alone")
	npmLog     = flag.String("npm-loglevel", "error", "npm install's log level; its output is printed unless error")
)

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "npmbench:", err)
		os.Exit(1)
	}
}

// registry is one server under test.
type registry struct {
	name  string
	url   string // registry URL, with a trailing slash
	token string
	cmd   *exec.Cmd
	done  chan struct{} // closed when the process has exited
	log   *syncBuffer
}

// start starts a registry's process and reaps it when it exits.
func (r *registry) start(cmd *exec.Cmd) error {
	r.log = &syncBuffer{}
	cmd.Stdout, cmd.Stderr = r.log, r.log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", r.name, err)
	}
	r.cmd, r.done = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(r.done) }()
	return nil
}

func (r *registry) stop() {
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Signal(os.Interrupt)
	select {
	case <-r.done:
	case <-time.After(5 * time.Second):
		r.cmd.Process.Kill()
		<-r.done
	}
}

// result is one registry's figures.
type result struct {
	fullRate, fullP99     float64 // req/s, ms
	fullBytes             int64   // bytes on the wire per response
	abbrevRate, abbrevP99 float64
	abbrevBytes           int64
	tarballRate           float64
	tarballP99            float64
	install               time.Duration // median
	installs              []time.Duration
}

func run() error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "npmbench-")
	if err != nil {
		return err
	}
	if *keep {
		fmt.Println("temporary directory:", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return errors.New("npm is not on PATH")
	}

	start := time.Now()
	ph, err := startPackhub(root, tmp)
	if ph != nil {
		defer ph.stop()
	}
	if err != nil {
		return err
	}
	regs := []*registry{ph}
	if !*skipVerdac {
		vd, err := startVerdaccio(root, tmp, npm)
		if vd != nil {
			defer vd.stop()
		}
		if err != nil {
			return err
		}
		regs = append(regs, vd)
	}

	// The same packages go to every registry, in parallel.
	fmt.Printf("publishing @bench/big (%d versions) and %d small packages to %d registries...\n", *versions, *deps, len(regs))
	big, small := workload()
	var wg sync.WaitGroup
	errs := make([]error, len(regs))
	for i, r := range regs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = publishAll(r, big, small)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	fmt.Printf("published in %s\n", time.Since(start).Round(time.Second))

	results := make([]*result, len(regs))
	for i := range regs {
		results[i] = &result{}
	}
	// Measurements alternate between the registries so that a change in the
	// machine's load hits both alike.
	type step struct {
		name string
		fn   func(r *registry, res *result) error
	}
	steps := []step{
		{"packument (full)", func(r *registry, res *result) error {
			var err error
			res.fullRate, res.fullP99, res.fullBytes, err = measurePackument(r, "application/json")
			return err
		}},
		{"packument (abbreviated)", func(r *registry, res *result) error {
			var err error
			res.abbrevRate, res.abbrevP99, res.abbrevBytes, err = measurePackument(r, "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*")
			return err
		}},
		{"tarball", func(r *registry, res *result) error {
			var err error
			res.tarballRate, res.tarballP99, err = measureTarball(r)
			return err
		}},
	}
	for _, s := range steps {
		for i, r := range regs {
			fmt.Printf("%s: %s...\n", r.name, s.name)
			if err := s.fn(r, results[i]); err != nil {
				return fmt.Errorf("%s: %s: %w", r.name, s.name, err)
			}
		}
	}
	for n := 0; n < *installs; n++ {
		for i, r := range regs {
			d, err := npmInstall(npm, tmp, r, small, n)
			if err != nil {
				return fmt.Errorf("%s: npm install: %w", r.name, err)
			}
			fmt.Printf("%s: npm install #%d: %s\n", r.name, n+1, d.Round(time.Millisecond))
			results[i].installs = append(results[i].installs, d)
		}
	}
	for _, res := range results {
		s := slices.Clone(res.installs)
		slices.Sort(s)
		res.install = s[len(s)/2]
	}
	report(regs, results, time.Since(start))
	return nil
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run npmbench inside the Packhub module")
	}
	return filepath.Dir(mod), nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// waitUp polls url until it answers.
func waitUp(r *registry, url string) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-r.done:
			return fmt.Errorf("%s exited:\n%s", r.name, r.log.String())
		default:
		}
		res, err := http.Get(url)
		if err == nil {
			res.Body.Close()
			if res.StatusCode < 500 {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s did not come up:\n%s", r.name, r.log.String())
}

// syncBuffer is a bytes.Buffer safe for a process's output.
type syncBuffer struct {
	mu sync.Mutex
	bytes.Buffer
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.Buffer.String()
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.Len() > 1<<20 {
		return len(p), nil
	}
	return b.Buffer.Write(p)
}

func startPackhub(root, tmp string) (*registry, error) {
	bin := filepath.Join(tmp, "packhub")
	build := exec.Command("go", "build", "-o", bin, "./cmd/packhub")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build packhub: %v\n%s", err, out)
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	base := "http://" + addr
	storage := []string{"--data-dir", filepath.Join(tmp, "packhub-data")}
	if *database != "" {
		storage = append(storage, "--database", *database)
	}
	admin := func(args ...string) (string, error) {
		out, err := exec.Command(bin, append(append([]string{"admin"}, args...), storage...)...).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("packhub admin %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out)), nil
	}
	if _, err := admin("user", "create", "bench"); err != nil {
		return nil, err
	}
	tok, err := admin("token", "create", "--user", "bench", "--scopes", "read:packages,write:packages,delete:packages", "--note", "npmbench")
	if err != nil {
		return nil, err
	}
	tok = tok[strings.LastIndexByte(tok, '\n')+1:]
	r := &registry{name: "Packhub", url: base + "/npm/", token: tok}
	if err := r.start(exec.Command(bin, append([]string{"serve", "--addr", addr, "--base-url", base, "--log-level", "warn"}, storage...)...)); err != nil {
		return nil, err
	}
	return r, waitUp(r, base+"/healthz")
}

const verdaccioConfig = `storage: %[1]s/storage
auth:
  htpasswd:
    file: %[1]s/htpasswd
    max_users: 100
security:
  api:
    jwt:
      sign:
        expiresIn: 7d
uplinks: {}
packages:
  '@*/*':
    access: $authenticated
    publish: $authenticated
    unpublish: $authenticated
  '**':
    access: $authenticated
    publish: $authenticated
    unpublish: $authenticated
web:
  enable: false
max_body_size: 100mb
server:
  keepAliveTimeout: 60
log: { type: stdout, format: pretty, level: warn }
`

func startVerdaccio(root, tmp, npm string) (*registry, error) {
	dir := filepath.Join(root, "bench", "npm", "verdaccio")
	bin := filepath.Join(dir, "node_modules", "verdaccio", "bin", "verdaccio")
	if _, err := os.Stat(bin); err != nil {
		fmt.Println("installing Verdaccio with npm ci...")
		ci := exec.Command(npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
		ci.Dir = dir
		if out, err := ci.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("npm ci in %s: %v\n%s", dir, err, out)
		}
	}
	vdir := filepath.Join(tmp, "verdaccio")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		return nil, err
	}
	cfg := filepath.Join(vdir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(verdaccioConfig, vdir)), 0o644); err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("node", bin, "--config", cfg, "--listen", addr)
	cmd.Dir = vdir
	cmd.Env = append(os.Environ(), "NODE_ENV=production")
	r := &registry{name: "Verdaccio", url: "http://" + addr + "/"}
	if err := r.start(cmd); err != nil {
		return nil, err
	}
	if err := waitUp(r, r.url+"-/ping"); err != nil {
		return r, err
	}
	// A user, and its token.
	body, _ := json.Marshal(map[string]string{"name": "bench", "password": "bench-password", "type": "user"})
	req, _ := http.NewRequest("PUT", r.url+"-/user/org.couchdb.user:bench", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return r, err
	}
	defer res.Body.Close()
	var out struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || out.Token == "" {
		return r, fmt.Errorf("verdaccio adduser: status %d, %v", res.StatusCode, err)
	}
	r.token = out.Token
	return r, nil
}

// pkg is one version to publish.
type pkg struct {
	name, version string
	deps          map[string]string
}

// workload returns the big package's versions and the small packages.
func workload() ([]pkg, []pkg) {
	var big, small []pkg
	for i := 0; i < *versions; i++ {
		big = append(big, pkg{"@bench/big", fmt.Sprintf("1.%d.%d", i/100, i%100), map[string]string{"left-pad": "^1.3.0", "lodash": "^4.17.21"}})
	}
	for i := 0; i < *deps; i++ {
		small = append(small, pkg{fmt.Sprintf("@bench/dep-%02d", i), "1.0.0", nil})
	}
	return big, small
}

func tarball(name, version string, deps map[string]string) []byte {
	pj, _ := json.Marshal(map[string]any{"name": name, "version": version, "main": "index.js", "dependencies": deps})
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, f := range []struct{ name, body string }{{"package/package.json", string(pj)}, {"package/index.js", "module.exports = 1\n"}} {
		tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), ModTime: time.Unix(0, 0)})
		io.WriteString(tw, f.body)
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

// publishDoc is the document npm publish sends.
func publishDoc(p pkg) []byte {
	tgz := tarball(p.name, p.version, p.deps)
	s512, s1 := sha512.Sum512(tgz), sha1.Sum(tgz)
	short := strings.TrimPrefix(p.name, "@bench/")
	doc, _ := json.Marshal(map[string]any{
		"_id": p.name, "name": p.name, "dist-tags": map[string]string{"latest": p.version},
		"versions": map[string]any{p.version: map[string]any{
			"name": p.name, "version": p.version, "main": "index.js", "description": "benchmark package " + p.name,
			"dependencies": p.deps, "license": "MIT",
			"repository": map[string]string{"type": "git", "url": "git+https://example.com/bench/" + short + ".git"},
			"scripts":    map[string]string{"test": "echo ok"}, "keywords": []string{"bench", "npm"},
			"_id": p.name + "@" + p.version,
			"dist": map[string]string{"integrity": "sha512-" + base64.StdEncoding.EncodeToString(s512[:]), "shasum": hex.EncodeToString(s1[:]),
				"tarball": "http://example.invalid/" + p.name + "/-/" + short + "-" + p.version + ".tgz"},
		}},
		"_attachments": map[string]any{p.name + "-" + p.version + ".tgz": map[string]any{
			"content_type": "application/octet-stream", "data": base64.StdEncoding.EncodeToString(tgz), "length": len(tgz)}},
	})
	return doc
}

func escName(name string) string { return strings.Replace(name, "/", "%2f", 1) }

func publishAll(r *registry, big, small []pkg) error {
	c := &http.Client{Timeout: time.Minute}
	for _, p := range append(slices.Clone(small), big...) {
		req, _ := http.NewRequest("PUT", r.url+escName(p.name), bytes.NewReader(publishDoc(p)))
		req.Header.Set("Authorization", "Bearer "+r.token)
		req.Header.Set("Content-Type", "application/json")
		res, err := c.Do(req)
		if err != nil {
			return fmt.Errorf("%s: publish %s@%s: %w", r.name, p.name, p.version, err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusCreated && res.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: publish %s@%s: %d %s", r.name, p.name, p.version, res.StatusCode, body)
		}
	}
	return nil
}

// get sends an authenticated GET as npm does (gzip accepted) and returns
// the status and the bytes received.
func get(c *http.Client, r *registry, url, accept string) (int, int64, error) {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+r.token)
	req.Header.Set("Accept-Encoding", "gzip")
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, 0, err
	}
	n, err := io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, n, err
}

// packument fetches and decodes a document (to check it and find URLs).
func packument(r *registry, name, accept string) (map[string]json.RawMessage, map[string]struct {
	Dist struct {
		Tarball string `json:"tarball"`
	} `json:"dist"`
}, error) {
	req, _ := http.NewRequest("GET", r.url+escName(name), nil)
	req.Header.Set("Authorization", "Bearer "+r.token)
	req.Header.Set("Accept", accept)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		return nil, nil, fmt.Errorf("GET %s: %d %s", name, res.StatusCode, b)
	}
	var doc map[string]json.RawMessage
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil {
		return nil, nil, err
	}
	var vs map[string]struct {
		Dist struct {
			Tarball string `json:"tarball"`
		} `json:"dist"`
	}
	if err := json.Unmarshal(doc["versions"], &vs); err != nil {
		return nil, nil, err
	}
	return doc, vs, nil
}

// load runs clients GETs of url in parallel for the warm-up and then the
// measured duration; it returns the rate, the p99 latency in ms and the
// mean response size.
func load(r *registry, url, accept string) (float64, float64, int64, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: *clients * 2, DisableCompression: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var mu sync.Mutex
	var lat []time.Duration
	var bytesTotal int64
	var firstErr error
	phase := func(d time.Duration, record bool) {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		var wg sync.WaitGroup
		for i := 0; i < *clients; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var mine []time.Duration
				var n int64
				for ctx.Err() == nil {
					t0 := time.Now()
					status, size, err := get(c, r, url, accept)
					if err == nil && status != 200 {
						err = fmt.Errorf("GET %s: status %d", url, status)
					}
					if err != nil {
						mu.Lock()
						if firstErr == nil {
							firstErr = err
						}
						mu.Unlock()
						return
					}
					if ctx.Err() == nil {
						mine = append(mine, time.Since(t0))
						n += size
					}
				}
				if record {
					mu.Lock()
					lat = append(lat, mine...)
					bytesTotal += n
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	}
	phase(*warmup, false)
	t0 := time.Now()
	phase(*duration, true)
	elapsed := time.Since(t0)
	if firstErr != nil {
		return 0, 0, 0, firstErr
	}
	if len(lat) == 0 {
		return 0, 0, 0, errors.New("no request completed")
	}
	slices.Sort(lat)
	p99 := lat[min(len(lat)-1, len(lat)*99/100)]
	return float64(len(lat)) / elapsed.Seconds(), float64(p99.Microseconds()) / 1000, bytesTotal / int64(len(lat)), nil
}

func measurePackument(r *registry, accept string) (float64, float64, int64, error) {
	_, vs, err := packument(r, "@bench/big", accept)
	if err != nil {
		return 0, 0, 0, err
	}
	if len(vs) != *versions {
		return 0, 0, 0, fmt.Errorf("the packument has %d versions, want %d", len(vs), *versions)
	}
	return load(r, r.url+escName("@bench/big"), accept)
}

func measureTarball(r *registry) (float64, float64, error) {
	_, vs, err := packument(r, "@bench/dep-00", "application/json")
	if err != nil {
		return 0, 0, err
	}
	url := vs["1.0.0"].Dist.Tarball
	if url == "" {
		return 0, 0, errors.New("no tarball URL in the packument")
	}
	rate, p99, _, err := load(r, url, "")
	return rate, p99, err
}

// npmInstall installs a project depending on every small package, with an
// empty cache and no lockfile, and returns how long npm took.
func npmInstall(npm, tmp string, r *registry, small []pkg, n int) (time.Duration, error) {
	dir := filepath.Join(tmp, fmt.Sprintf("install-%s-%d", strings.ToLower(r.name), n))
	home := filepath.Join(dir, "home")
	proj := filepath.Join(dir, "project")
	for _, d := range []string{home, proj} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return 0, err
		}
	}
	dependencies := map[string]string{}
	for _, p := range small {
		dependencies[p.name] = p.version
	}
	manifest, _ := json.MarshalIndent(map[string]any{"name": "consumer", "version": "1.0.0", "private": true, "dependencies": dependencies}, "", "  ")
	if err := os.WriteFile(filepath.Join(proj, "package.json"), manifest, 0o644); err != nil {
		return 0, err
	}
	rc := strings.TrimPrefix(r.url, "http:") + ":_authToken=" + r.token + "\n" +
		"registry=" + r.url + "\n@bench:registry=" + r.url + "\n"
	if err := os.WriteFile(filepath.Join(proj, ".npmrc"), []byte(rc), 0o600); err != nil {
		return 0, err
	}
	cmd := exec.Command(npm, "install", "--cache", filepath.Join(dir, "cache"), "--no-package-lock",
		"--no-audit", "--no-fund", "--loglevel="+*npmLog)
	cmd.Dir = proj
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home,
		"npm_config_update_notifier=false", "npm_config_userconfig=" + filepath.Join(home, ".npmrc"),
		"npm_config_globalconfig=" + filepath.Join(home, "global-npmrc")}
	t0 := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(t0)
	if err != nil {
		return 0, fmt.Errorf("%v\n%s", err, out)
	}
	if *npmLog != "error" {
		fmt.Printf("%s", out)
	}
	entries, err := os.ReadDir(filepath.Join(proj, "node_modules", "@bench"))
	if err != nil || len(entries) != len(small) {
		return 0, fmt.Errorf("installed %d of %d packages (%v)", len(entries), len(small), err)
	}
	return d, nil
}

func report(regs []*registry, res []*result, total time.Duration) {
	fmt.Println()
	fmt.Printf("npm registry benchmark: %d clients, %s per GET measurement (after %s warm-up), token on every request\n",
		*clients, *duration, *warmup)
	fmt.Printf("machine: %s/%s, %d CPUs, %s; total %s\n\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel(), total.Round(time.Second))
	head := fmt.Sprintf("%-44s", "")
	for _, r := range regs {
		head += fmt.Sprintf(" %14s", r.name)
	}
	if len(regs) == 2 {
		head += fmt.Sprintf(" %18s", "Packhub/Verdaccio")
	}
	fmt.Println(head)
	row := func(label string, f func(*result) float64, format string, higherBetter bool) {
		line := fmt.Sprintf("%-44s", label)
		for _, r := range res {
			line += fmt.Sprintf(" %14s", fmt.Sprintf(format, f(r)))
		}
		if len(res) == 2 {
			a, b := f(res[0]), f(res[1])
			ratio := a / b
			if !higherBetter {
				ratio = b / a
			}
			line += fmt.Sprintf(" %17.2fx", ratio)
		}
		fmt.Println(line)
	}
	row(fmt.Sprintf("packument GET, %d versions, full (req/s)", *versions), func(r *result) float64 { return r.fullRate }, "%.1f", true)
	row("  p99 latency (ms)", func(r *result) float64 { return r.fullP99 }, "%.1f", false)
	row("  bytes per response", func(r *result) float64 { return float64(r.fullBytes) }, "%.0f", false)
	row(fmt.Sprintf("packument GET, %d versions, abbrev. (req/s)", *versions), func(r *result) float64 { return r.abbrevRate }, "%.1f", true)
	row("  p99 latency (ms)", func(r *result) float64 { return r.abbrevP99 }, "%.1f", false)
	row("  bytes per response", func(r *result) float64 { return float64(r.abbrevBytes) }, "%.0f", false)
	row("tarball GET (req/s)", func(r *result) float64 { return r.tarballRate }, "%.1f", true)
	row("  p99 latency (ms)", func(r *result) float64 { return r.tarballP99 }, "%.1f", false)
	row(fmt.Sprintf("npm install, %d deps, cold cache, median (s)", *deps), func(r *result) float64 { return r.install.Seconds() }, "%.2f", false)
	fmt.Println("\n(ratios: >1 means Packhub is better; for latencies, sizes and install times it is Verdaccio's figure over Packhub's)")
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}
