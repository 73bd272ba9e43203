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
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/packhub/packhub/bench/internal/benchenv"
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
	proc  *benchenv.Process
}

func (r *registry) stop() { r.proc.Stop(5 * time.Second) }

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
	root, err := benchenv.ModuleRoot("npmbench")
	if err != nil {
		return err
	}
	tmp, cleanup, err := benchenv.TempDir("npmbench-", *keep)
	if err != nil {
		return err
	}
	defer cleanup()
	npm, err := exec.LookPath("npm")
	if err != nil {
		return errors.New("npm is not on PATH")
	}

	start := time.Now()
	ph, err := startPackhub(root, tmp)
	if err != nil {
		return err
	}
	defer ph.stop()
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
	if err := benchenv.InParallel(regs, func(r *registry) error { return publishAll(r, big, small) }); err != nil {
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
		res.install = benchenv.Median(res.installs)
	}
	report(regs, results, time.Since(start))
	return nil
}

func startPackhub(root, tmp string) (*registry, error) {
	s, err := benchenv.StartPackhub(benchenv.PackhubConfig{
		Root:     root,
		Dir:      tmp,
		Database: *database,
		Scopes:   "read:packages,write:packages,delete:packages",
		Note:     "npmbench",
		WaitUp:   60 * time.Second,
	})
	if err != nil {
		return nil, err
	}
	return &registry{name: "Packhub", url: s.Base + "/npm/", token: s.Token, proc: s.Proc}, nil
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
	addr, err := benchenv.FreeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("node", bin, "--config", cfg, "--listen", addr)
	cmd.Dir = vdir
	cmd.Env = append(os.Environ(), "NODE_ENV=production")
	r := &registry{name: "Verdaccio", url: "http://" + addr + "/"}
	if r.proc, err = benchenv.Start(r.name, cmd); err != nil {
		return nil, err
	}
	if err := r.proc.WaitUp(r.url+"-/ping", 60*time.Second); err != nil {
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
	c := benchenv.NewLoadClient(*clients)
	defer c.CloseIdleConnections()
	res, err := benchenv.Load(*clients, *warmup, *duration, func() (int64, error) {
		status, size, err := get(c, r, url, accept)
		if err == nil && status != 200 {
			err = fmt.Errorf("GET %s: status %d", url, status)
		}
		return size, err
	})
	if err != nil {
		return 0, 0, 0, err
	}
	return res.Rate(), res.P99(), res.MeanBytes(), nil
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
	fmt.Printf("%s\n\n", benchenv.Machine(total))
	t := benchenv.Table{Out: os.Stdout, LabelWidth: 44, CellWidth: 14, RatioWidth: 18}
	names := make([]string, len(regs))
	for i, r := range regs {
		names[i] = r.name
	}
	t.Header(names, "Packhub/Verdaccio")
	row := func(label string, f func(*result) float64, format string, higherBetter bool) {
		values := make([]float64, len(res))
		for i, r := range res {
			values[i] = f(r)
		}
		t.Figures(label, values, format, higherBetter)
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
