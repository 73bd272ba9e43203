// Command gembench runs the same RubyGems workload against Packhub and,
// when given one, Gitea's RubyGems registry on this machine, and prints
// both results with their ratios:
//
//   - GET rate and p99 latency of /versions, /info/NAME and a .gem, with a
//     token on every request (Basic, as bundler sends it);
//   - bundle install of a Gemfile naming 30 gems (some depending on
//     others) with a cold cache, median of 3 runs, alternating.
//
// Packhub is the binary built from ./cmd/packhub (SQLite and file blobs in
// a temporary directory, unless -database names a PostgreSQL database).
// Gitea is a binary built beforehand (see bench/rubygems/README.md), run
// with SQLite from a work directory made here; without -gitea only Packhub
// is measured. The gems are built with the real gem build and pushed over
// HTTP as gem push sends them. Only loopback addresses are used. Run from
// the repository root:
//
//	go run ./bench/rubygems/cmd/gembench [-gitea /path/to/gitea -gitea-src /path/to/gitea-source]
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/packhub/packhub/bench/internal/benchenv"
)

var (
	clients  = flag.Int("clients", 16, "concurrent clients of the GET measurements")
	duration = flag.Duration("duration", 10*time.Second, "length of each GET measurement")
	warmup   = flag.Duration("warmup", 2*time.Second, "unmeasured load before each GET measurement")
	numGems  = flag.Int("gems", 30, "gems in the installed Gemfile")
	installs = flag.Int("installs", 3, "bundle installs per registry (the median is reported)")
	database = flag.String("database", "", "Packhub's database (default: SQLite in the temporary directory)")
	giteaBin = flag.String("gitea", "", "a built Gitea binary to measure against (default: Packhub alone)")
	giteaSrc = flag.String("gitea-src", "", "Gitea's source directory, for its options, templates and public folders (default: the binary's directory)")
	keep     = flag.Bool("keep", false, "keep the temporary directory")
)

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gembench:", err)
		os.Exit(1)
	}
}

// registry is one server under test.
type registry struct {
	name   string
	source string // gem source URL, with a trailing slash
	user   string // Basic user name
	token  string
	push   func(gem []byte) error
	proc   *benchenv.Process
}

func (r *registry) stop() { r.proc.Stop(10 * time.Second) }

// measure is one GET measurement: a rate, a p99, or why there is none.
type measure struct {
	rate, p99 float64 // req/s, ms
	bytes     int64
	err       error
}

type result struct {
	versions, info, gem measure
	install             time.Duration
	installErr          error
}

func run() error {
	root, err := benchenv.ModuleRoot("gembench")
	if err != nil {
		return err
	}
	for _, tool := range []string{"gem", "bundle"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is not installed (scripts/install-test-deps.sh installs it)", tool)
		}
	}
	tmp, cleanup, err := benchenv.TempDir("gembench-", *keep)
	if err != nil {
		return err
	}
	defer cleanup()
	started := time.Now()
	fmt.Printf("building %d gems with gem build...\n", *numGems)
	gems, err := buildGems(filepath.Join(tmp, "gems"), *numGems)
	if err != nil {
		return err
	}
	var regs []*registry
	defer func() {
		for _, r := range regs {
			r.stop()
		}
	}()
	ph, err := startPackhub(root, tmp)
	if err != nil {
		return err
	}
	regs = append(regs, ph)
	if *giteaBin != "" {
		g, err := startGitea(tmp)
		if err != nil {
			return err
		}
		regs = append(regs, g)
	}
	for _, r := range regs {
		fmt.Printf("pushing to %s...\n", r.name)
		for _, g := range gems {
			b, err := os.ReadFile(g)
			if err != nil {
				return err
			}
			if err := r.push(b); err != nil {
				return fmt.Errorf("%s: push %s: %w", r.name, filepath.Base(g), err)
			}
		}
	}
	res := make([]*result, len(regs))
	for i := range res {
		res[i] = &result{}
	}
	for _, step := range []struct {
		label string
		path  string
		out   func(*result) *measure
	}{
		{"/versions", "versions", func(r *result) *measure { return &r.versions }},
		{"/info/gem-00", "info/gem-00", func(r *result) *measure { return &r.info }},
		{".gem", "gems/gem-00-1.0.0.gem", func(r *result) *measure { return &r.gem }},
	} {
		for i, r := range regs {
			fmt.Printf("GET %s on %s...\n", step.label, r.name)
			m := step.out(res[i])
			m.rate, m.p99, m.bytes, m.err = load(r, r.source+step.path)
			if m.err != nil {
				fmt.Printf("  %s: %v\n", r.name, m.err)
			}
		}
	}
	times := make([][]time.Duration, len(regs))
	for n := 0; n < *installs; n++ {
		for i, r := range regs {
			if res[i].installErr != nil {
				continue
			}
			fmt.Printf("bundle install %d/%d on %s...\n", n+1, *installs, r.name)
			d, err := bundleInstall(tmp, r, *numGems)
			if err != nil {
				res[i].installErr = err
				fmt.Printf("  %s: %v\n", r.name, err)
				continue
			}
			times[i] = append(times[i], d)
		}
	}
	for i := range regs {
		res[i].install = benchenv.Median(times[i])
	}
	report(regs, res, time.Since(started))
	return nil
}

// buildGems writes gem-00 … gem-NN, version 1.0.0, each but every fifth
// depending on the one before, and runs gem build on each.
func buildGems(dir string, n int) ([]string, error) {
	var out []string
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("gem-%02d", i)
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Join(d, "lib"), 0o755); err != nil {
			return nil, err
		}
		lib := fmt.Sprintf("module Gem%02d\n  VALUE = %d\nend\n", i, i)
		if err := os.WriteFile(filepath.Join(d, "lib", name+".rb"), []byte(lib), 0o644); err != nil {
			return nil, err
		}
		dep := ""
		if i%5 != 0 {
			dep = fmt.Sprintf("  s.add_dependency \"gem-%02d\", \">= 1.0\"\n", i-1)
		}
		spec := fmt.Sprintf("Gem::Specification.new do |s|\n  s.name = %q\n  s.version = \"1.0.0\"\n  s.summary = \"bench gem %d\"\n  s.authors = [\"Bench\"]\n  s.license = \"MIT\"\n  s.files = [\"lib/%s.rb\"]\n%send\n", name, i, name, dep)
		if err := os.WriteFile(filepath.Join(d, name+".gemspec"), []byte(spec), 0o644); err != nil {
			return nil, err
		}
		cmd := exec.Command("gem", "build", name+".gemspec")
		cmd.Dir = d
		cmd.Env = append(os.Environ(), "HOME="+d)
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("gem build %s: %v\n%s", name, err, b)
		}
		out = append(out, filepath.Join(d, name+"-1.0.0.gem"))
	}
	return out, nil
}

// pushTo returns a push that posts a gem as gem push does, with auth set
// by authorize.
func pushTo(url string, authorize func(*http.Request)) func([]byte) error {
	return func(gem []byte) error {
		req, err := http.NewRequest("POST", url, bytes.NewReader(gem))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/octet-stream")
		authorize(req)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode >= 300 {
			return fmt.Errorf("status %d: %s", res.StatusCode, body)
		}
		return nil
	}
}

func startPackhub(root, tmp string) (*registry, error) {
	s, err := benchenv.StartPackhub(benchenv.PackhubConfig{
		Root:     root,
		Dir:      tmp,
		Database: *database,
		Scopes:   "read:packages,write:packages,delete:packages",
		Note:     "gembench",
		WaitUp:   90 * time.Second,
	})
	if err != nil {
		return nil, err
	}
	r := &registry{name: "Packhub", source: s.Base + "/rubygems/bench/", user: "bench", token: s.Token, proc: s.Proc}
	r.push = pushTo(r.source+"api/v1/gems", func(req *http.Request) { req.Header.Set("Authorization", s.Token) })
	return r, nil
}

const giteaConfig = `APP_NAME = gembench
RUN_MODE = prod
WORK_PATH = %[1]s

[server]
HTTP_ADDR = 127.0.0.1
HTTP_PORT = %[2]s
ROOT_URL = http://127.0.0.1:%[2]s/
DISABLE_SSH = true
OFFLINE_MODE = true

[database]
DB_TYPE = sqlite3
PATH = %[1]s/gitea.db

[security]
INSTALL_LOCK = true
SECRET_KEY = gembench-secret-key

[packages]
ENABLED = true

[log]
LEVEL = Warn
`

// startGitea runs a built Gitea with SQLite in a fresh work directory, as
// bench/rubygems/README.md describes.
func startGitea(tmp string) (*registry, error) {
	bin, err := filepath.Abs(*giteaBin)
	if err != nil {
		return nil, err
	}
	src := *giteaSrc
	if src == "" {
		src = filepath.Dir(bin)
	}
	work := filepath.Join(tmp, "gitea")
	s, err := benchenv.StartGitea(benchenv.GiteaConfig{
		Bin:       bin,
		Src:       src,
		Work:      work,
		AppINI:    func(_, port string) string { return fmt.Sprintf(giteaConfig, work, port) },
		TokenName: "gembench",
	})
	if err != nil {
		return nil, err
	}
	r := &registry{name: "Gitea", source: s.Base + "/api/packages/bench/rubygems/", user: "bench", token: s.Token, proc: s.Proc}
	r.push = pushTo(r.source+"api/v1/gems", func(req *http.Request) { req.SetBasicAuth("bench", s.Token) })
	return r, nil
}

// load measures the GET rate of url with the registry's credentials on
// every request.
func load(r *registry, url string) (float64, float64, int64, error) {
	c := benchenv.NewLoadClient(*clients)
	defer c.CloseIdleConnections()
	get := func() (int64, error) {
		req, err := http.NewRequest("GET", url, nil)
		if err != nil {
			return 0, err
		}
		req.SetBasicAuth(r.user, r.token)
		res, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		defer res.Body.Close()
		n, err := io.Copy(io.Discard, res.Body)
		if err == nil && res.StatusCode != 200 {
			err = fmt.Errorf("GET %s: status %d", url, res.StatusCode)
		}
		return n, err
	}
	if _, err := get(); err != nil {
		return 0, 0, 0, err
	}
	res, err := benchenv.Load(*clients, *warmup, *duration, get)
	if err != nil {
		return 0, 0, 0, err
	}
	return res.Rate(), res.P99(), res.MeanBytes(), nil
}

// bundleInstall runs bundle install of a Gemfile naming every gem, with
// fresh caches and install path, and returns how long it took.
func bundleInstall(tmp string, r *registry, n int) (time.Duration, error) {
	dir, err := os.MkdirTemp(tmp, "bundle-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	var gf strings.Builder
	fmt.Fprintf(&gf, "source %q\n\n", r.source)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&gf, "gem \"gem-%02d\"\n", i)
	}
	if err := os.WriteFile(filepath.Join(dir, "Gemfile"), []byte(gf.String()), 0o644); err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bundle", "install", "--jobs", "4")
	cmd.Dir = dir
	cmd.Stdin = nil
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"BUNDLE_USER_HOME=" + filepath.Join(dir, ".bundle-home"),
		"BUNDLE_USER_CACHE=" + filepath.Join(dir, ".bundle-cache"),
		"BUNDLE_PATH=" + filepath.Join(dir, "vendor"),
		"BUNDLE_SILENCE_ROOT_WARNING=1",
		"BUNDLE_DISABLE_VERSION_CHECK=1",
		"BUNDLE_127__0__0__1=" + r.user + ":" + r.token,
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("bundle install: %v\n%s", err, out.String())
	}
	return time.Since(t0), nil
}

func report(regs []*registry, res []*result, total time.Duration) {
	fmt.Println()
	fmt.Printf("RubyGems registry benchmark: %d clients, %s per GET measurement (after %s warm-up), Basic credentials on every request\n",
		*clients, *duration, *warmup)
	fmt.Printf("%s\n\n", benchenv.Machine(total))
	t := benchenv.Table{Out: os.Stdout, LabelWidth: 40, CellWidth: 12, RatioWidth: 15}
	names := make([]string, len(regs))
	for i, r := range regs {
		names[i] = r.name
	}
	t.Header(names, "Packhub/Gitea")
	cell := func(m *measure, f func(*measure) float64, format string) string {
		if m.err != nil {
			return "n/a"
		}
		return fmt.Sprintf(format, f(m))
	}
	row := func(label string, pick func(*result) *measure, f func(*measure) float64, format string, higherBetter bool) {
		var cells []string
		for _, r := range res {
			cells = append(cells, cell(pick(r), f, format))
		}
		if len(res) == 2 && pick(res[0]).err == nil && pick(res[1]).err == nil {
			t.RatioRow(label, cells, benchenv.Ratio(f(pick(res[0])), f(pick(res[1])), higherBetter))
			return
		}
		t.Row(label, cells)
	}
	rate := func(m *measure) float64 { return m.rate }
	p99 := func(m *measure) float64 { return m.p99 }
	size := func(m *measure) float64 { return float64(m.bytes) }
	for _, s := range []struct {
		label string
		pick  func(*result) *measure
	}{
		{"GET /versions (req/s)", func(r *result) *measure { return &r.versions }},
		{"GET /info/gem-00 (req/s)", func(r *result) *measure { return &r.info }},
		{"GET gems/gem-00-1.0.0.gem (req/s)", func(r *result) *measure { return &r.gem }},
	} {
		row(s.label, s.pick, rate, "%.0f", true)
		row("  p99 latency (ms)", s.pick, p99, "%.1f", false)
		row("  bytes per response", s.pick, size, "%.0f", false)
	}
	label := fmt.Sprintf("bundle install, %d gems, cold, median (s)", *numGems)
	var cells []string
	for _, r := range res {
		if r.installErr != nil {
			cells = append(cells, "failed")
		} else {
			cells = append(cells, fmt.Sprintf("%.2f", r.install.Seconds()))
		}
	}
	if len(res) == 2 && res[0].installErr == nil && res[1].installErr == nil {
		t.RatioRow(label, cells, benchenv.Ratio(res[0].install.Seconds(), res[1].install.Seconds(), false))
	} else {
		t.Row(label, cells)
	}
	fmt.Println("\n(ratios: >1 means Packhub is better; for latencies, sizes and install times it is Gitea's figure over Packhub's; n/a: not served)")
}
