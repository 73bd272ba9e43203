// Command nugetbench runs the same NuGet workload against Packhub and
// Gitea's NuGet registry on this machine and prints both results with
// their ratios:
//
//   - GET rate and p99 latency of the registration index of a package with
//     many versions, and of its flat-container version list;
//   - GET rate of a .nupkg download;
//   - nuget install (NuGet.exe on mono) of a package with 20 dependencies,
//     with cold caches (median of 3).
//
// Every request carries credentials (Basic, the token as password).
// Packhub is the binary built from ./cmd/packhub (SQLite and file blobs in
// a temporary directory, unless -database names a PostgreSQL database).
// Gitea is the binary -gitea names, or, with -build-gitea, one built from
// the Go module proxy's code.gitea.io/gitea@v1.26.0 into a cache directory
// outside the repository (about 15 minutes on 2 cores, once). Only
// loopback addresses are used. Run from the repository root:
//
//	go run ./bench/nuget/cmd/nugetbench -build-gitea
//	go run ./bench/nuget/cmd/nugetbench -packhub-only
package main

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/packhub/packhub/bench/internal/benchenv"
)

var (
	clients     = flag.Int("clients", 16, "concurrent clients of the GET measurements")
	duration    = flag.Duration("duration", 10*time.Second, "length of each GET measurement")
	warmup      = flag.Duration("warmup", 2*time.Second, "unmeasured load before each GET measurement")
	versions    = flag.Int("versions", 100, "versions of the big package (more than 128 links its registration pages)")
	deps        = flag.Int("deps", 20, "dependencies of the installed package")
	installs    = flag.Int("installs", 3, "nuget installs per registry (the median is reported)")
	database    = flag.String("database", "", "Packhub's database (default: SQLite in the temporary directory)")
	giteaBin    = flag.String("gitea", "", "a Gitea binary (its source tree must hold options/, templates/ and public/ beside it)")
	buildGitea  = flag.Bool("build-gitea", false, "build Gitea "+benchenv.GiteaVersion+" into the cache directory when -gitea is not given")
	packhubOnly = flag.Bool("packhub-only", false, "measure Packhub alone")
	keep        = flag.Bool("keep", false, "keep the temporary directory")
	nugetExe    = flag.String("nuget", "test/tools/node_modules/nuget-exe/nuget-5.8.0.exe", "NuGet.exe, run with mono")
)

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "nugetbench:", err)
		os.Exit(1)
	}
}

// registry is one server under test.
type registry struct {
	name   string
	index  string // the feed's service index
	user   string
	token  string
	proc   *benchenv.Process
	reg    string // registration base URL (the SemVer 2.0.0 one where there is one)
	flat   string // flat container base URL
	client *http.Client
}

func (r *registry) stop() { r.proc.Stop(5 * time.Second) }

// get GETs a URL with the registry's credentials, accepting gzip as NuGet
// does; the body is read as it comes on the wire.
func (r *registry) get(url string) (*http.Response, error) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.SetBasicAuth(r.user, r.token)
	req.Header.Set("Accept-Encoding", "gzip")
	return r.client.Do(req)
}

// decoded returns a response's body, gunzipped when it came gzipped.
func decoded(res *http.Response) io.Reader {
	if res.Header.Get("Content-Encoding") == "gzip" {
		if zr, err := gzip.NewReader(res.Body); err == nil {
			return zr
		}
	}
	return res.Body
}

type result struct {
	regRate, regP99   float64
	regBytes          int64
	flatRate, flatP99 float64
	pkgRate, pkgP99   float64
	install           time.Duration
	installs          []time.Duration
}

func run() error {
	root, err := benchenv.ModuleRoot("nugetbench")
	if err != nil {
		return err
	}
	mono, err := exec.LookPath("mono")
	if err != nil {
		return errors.New("mono is not on PATH (scripts/install-test-deps.sh installs it)")
	}
	exe := *nugetExe
	if !filepath.IsAbs(exe) {
		exe = filepath.Join(root, exe)
	}
	if _, err := os.Stat(exe); err != nil {
		return fmt.Errorf("NuGet.exe: %w (scripts/install-test-deps.sh installs it)", err)
	}
	tmp, cleanup, err := benchenv.TempDir("nugetbench-", *keep)
	if err != nil {
		return err
	}
	defer cleanup()
	start := time.Now()
	ph, err := startPackhub(root, tmp)
	if err != nil {
		return err
	}
	defer ph.stop()
	regs := []*registry{ph}
	if !*packhubOnly {
		bin := *giteaBin
		if bin == "" {
			if bin, err = giteaBinary(*buildGitea); err != nil {
				return err
			}
		}
		gt, err := startGitea(bin, tmp)
		if err != nil {
			return err
		}
		defer gt.stop()
		regs = append(regs, gt)
	}
	for _, r := range regs {
		if err := r.discover(); err != nil {
			return fmt.Errorf("%s: %w", r.name, err)
		}
	}
	fmt.Printf("pushing Bench.Big (%d versions), %d dependencies and Bench.App to %d registries...\n", *versions, *deps, len(regs))
	pkgs := workload()
	if err := benchenv.InParallel(regs, func(r *registry) error { return pushAll(r, pkgs) }); err != nil {
		return err
	}
	fmt.Printf("pushed in %s\n", time.Since(start).Round(time.Second))

	results := make([]*result, len(regs))
	for i := range results {
		results[i] = &result{}
	}
	mid := fmt.Sprintf("1.0.%d", *versions/2)
	steps := []struct {
		name string
		fn   func(r *registry, res *result) error
	}{
		{"registration index", func(r *registry, res *result) error {
			var err error
			res.regRate, res.regP99, res.regBytes, err = measure(r, r.reg+"bench.big/index.json")
			return err
		}},
		{"flat-container versions", func(r *registry, res *result) error {
			var err error
			res.flatRate, res.flatP99, _, err = measure(r, r.flat+"bench.big/index.json")
			return err
		}},
		{".nupkg download", func(r *registry, res *result) error {
			var err error
			res.pkgRate, res.pkgP99, _, err = measure(r, r.flat+"bench.big/"+mid+"/bench.big."+mid+".nupkg")
			return err
		}},
	}
	// Measurements alternate between the registries, so that a change in
	// the machine's load hits both alike.
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
			d, err := nugetInstall(mono, exe, tmp, r, n)
			if err != nil {
				return fmt.Errorf("%s: nuget install: %w", r.name, err)
			}
			fmt.Printf("%s: nuget install #%d: %s\n", r.name, n+1, d.Round(time.Millisecond))
			results[i].installs = append(results[i].installs, d)
		}
	}
	for _, res := range results {
		res.install = benchenv.Median(res.installs)
	}
	report(regs, results, time.Since(start))
	return nil
}

func newClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	return &http.Client{Timeout: time.Minute, Transport: tr}
}

func startPackhub(root, tmp string) (*registry, error) {
	s, err := benchenv.StartPackhub(benchenv.PackhubConfig{
		Root:     root,
		Dir:      tmp,
		Database: *database,
		// The packages link to a public repository, which makes them
		// public, as a Gitea user's packages are: neither registry then
		// asks NuGet.exe for credentials before it sends them.
		PublicRepo: true,
		Scopes:     "read:packages,write:packages,delete:packages",
		Note:       "nugetbench",
		WaitUp:     90 * time.Second,
	})
	if err != nil {
		return nil, err
	}
	return &registry{name: "Packhub", index: s.Base + "/nuget/bench/index.json", user: "bench", token: s.Token, proc: s.Proc, client: newClient()}, nil
}

// giteaBinary returns the cached Gitea binary, building it when asked.
func giteaBinary(build bool) (string, error) {
	src, err := benchenv.GiteaSourceDir("")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(src, "gitea")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if !build {
		return "", fmt.Errorf("no Gitea binary at %s: pass -build-gitea to build it (about 15 minutes), -gitea BIN, or -packhub-only", bin)
	}
	fmt.Printf("building Gitea %s into %s (about 15 minutes)...\n", benchenv.GiteaVersion, src)
	if err := benchenv.BuildGitea(src, bin); err != nil {
		return "", err
	}
	return bin, nil
}

const giteaINI = `APP_NAME = gitea-bench
RUN_MODE = prod
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
SECRET_KEY = nugetbench-secret-key
[packages]
ENABLED = true
[log]
LEVEL = Warn
[repository]
ROOT = %[1]s/repos
`

// startGitea runs bin from a fresh work directory; the source tree it was
// built from is the binary's directory.
func startGitea(bin, tmp string) (*registry, error) {
	work := filepath.Join(tmp, "gitea")
	s, err := benchenv.StartGitea(benchenv.GiteaConfig{
		Bin:       bin,
		Src:       filepath.Dir(bin),
		Work:      work,
		AppINI:    func(_, port string) string { return fmt.Sprintf(giteaINI, work, port) },
		TokenName: "nugetbench",
	})
	if err != nil {
		return nil, err
	}
	return &registry{name: "Gitea", index: s.Base + "/api/packages/bench/nuget/index.json", user: "bench", token: s.Token, proc: s.Proc, client: newClient()}, nil
}

// discover reads the service index for the registration (SemVer 2.0.0
// where there is one) and flat-container base URLs.
func (r *registry) discover() error {
	res, err := r.get(r.index)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	var si struct {
		Resources []struct {
			ID   string `json:"@id"`
			Type string `json:"@type"`
		} `json:"resources"`
	}
	if err := json.NewDecoder(decoded(res)).Decode(&si); err != nil {
		return fmt.Errorf("service index: %w", err)
	}
	rank := map[string]int{"RegistrationsBaseUrl/3.6.0": 3, "RegistrationsBaseUrl/3.4.0": 2, "RegistrationsBaseUrl/3.0.0-rc": 1, "RegistrationsBaseUrl": 1}
	best := 0
	for _, rs := range si.Resources {
		if n := rank[rs.Type]; n > best {
			best, r.reg = n, rs.ID
		}
		if rs.Type == "PackageBaseAddress/3.0.0" {
			r.flat = rs.ID
		}
	}
	if r.reg == "" || r.flat == "" {
		return errors.New("the service index names no registration or flat container")
	}
	if !strings.HasSuffix(r.reg, "/") {
		r.reg += "/"
	}
	if !strings.HasSuffix(r.flat, "/") {
		r.flat += "/"
	}
	return nil
}

// pkg is one package version to push.
type pkg struct {
	id, version string
	deps        []string // ids, each at >= 1.0.0
}

func workload() []pkg {
	var out []pkg
	var app []string
	for i := 0; i < *deps; i++ {
		id := fmt.Sprintf("Bench.Dep%02d", i)
		out = append(out, pkg{id: id, version: "1.0.0"})
		app = append(app, id)
	}
	out = append(out, pkg{id: "Bench.App", version: "1.0.0", deps: app})
	for i := 0; i < *versions; i++ {
		out = append(out, pkg{id: "Bench.Big", version: fmt.Sprintf("1.0.%d", i), deps: []string{"Bench.Dep00"}})
	}
	return out
}

// nupkg builds a package as nuget pack lays it out.
func nupkg(p pkg) []byte {
	var d strings.Builder
	if len(p.deps) > 0 {
		d.WriteString(`<dependencies><group targetFramework="net45">`)
		for _, id := range p.deps {
			fmt.Fprintf(&d, `<dependency id="%s" version="1.0.0" />`, id)
		}
		d.WriteString(`</group></dependencies>`)
	}
	nuspec := fmt.Sprintf(`<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata>
    <id>%s</id>
    <version>%s</version>
    <authors>Bench</authors>
    <description>Benchmark package %s.</description>
    <license type="expression">MIT</license>
    <tags>bench nuget</tags>
    <repository type="git" url="https://example.com/bench/bench.git" />
    %s
  </metadata>
</package>`, p.id, p.version, p.id, d.String())
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range []struct{ name, body string }{
		{"_rels/.rels", `<?xml version="1.0" encoding="utf-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships" />`},
		{p.id + ".nuspec", nuspec},
		{"lib/net45/" + p.id + ".dll", "MZ " + strings.Repeat(p.id+" "+p.version+" ", 64)},
		{"[Content_Types].xml", `<?xml version="1.0" encoding="utf-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="nuspec" ContentType="application/octet" /><Default Extension="dll" ContentType="application/octet" /></Types>`},
	} {
		w, _ := zw.Create(f.name)
		io.WriteString(w, f.body)
	}
	zw.Close()
	return buf.Bytes()
}

// pushAll pushes the packages as NuGet does: GET of the service index for
// PackagePublish, then a multipart PUT with the key in X-NuGet-ApiKey.
func pushAll(r *registry, pkgs []pkg) error {
	res, err := r.get(r.index)
	if err != nil {
		return err
	}
	var si struct {
		Resources []struct {
			ID   string `json:"@id"`
			Type string `json:"@type"`
		} `json:"resources"`
	}
	err = json.NewDecoder(decoded(res)).Decode(&si)
	res.Body.Close()
	if err != nil {
		return err
	}
	publish := ""
	for _, rs := range si.Resources {
		if rs.Type == "PackagePublish/2.0.0" {
			publish = rs.ID
		}
	}
	if publish == "" {
		return errors.New("no PackagePublish resource")
	}
	for _, p := range pkgs {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		w, _ := mw.CreateFormFile("package", "package.nupkg")
		w.Write(nupkg(p))
		mw.Close()
		req, _ := http.NewRequest(http.MethodPut, publish, &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("X-NuGet-ApiKey", r.token)
		req.SetBasicAuth(r.user, r.token)
		res, err := r.client.Do(req)
		if err != nil {
			return fmt.Errorf("push %s %s: %w", p.id, p.version, err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode >= 300 {
			return fmt.Errorf("push %s %s: %d %s", p.id, p.version, res.StatusCode, b)
		}
	}
	return nil
}

// measure GETs url from -clients keep-alive clients for -duration after
// -warmup, and returns the rate, the p99 latency (ms) and the bytes of one
// response on the wire.
func measure(r *registry, url string) (rate, p99 float64, size int64, err error) {
	res, err := r.get(url)
	if err != nil {
		return 0, 0, 0, err
	}
	n, _ := io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return 0, 0, 0, fmt.Errorf("GET %s: %d", url, res.StatusCode)
	}
	size = n
	if cl := res.ContentLength; cl > 0 {
		size = cl
	}
	run := func(d time.Duration, record bool) ([]time.Duration, error) {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		var mu sync.Mutex
		var lat []time.Duration
		var failed atomic.Int64
		var wg sync.WaitGroup
		for range *clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var mine []time.Duration
				for ctx.Err() == nil {
					t0 := time.Now()
					res, err := r.get(url)
					if err != nil {
						failed.Add(1)
						continue
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != http.StatusOK {
						failed.Add(1)
						continue
					}
					if record && ctx.Err() == nil {
						mine = append(mine, time.Since(t0))
					}
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			}()
		}
		wg.Wait()
		if failed.Load() > 0 {
			return nil, fmt.Errorf("%d failed requests to %s", failed.Load(), url)
		}
		return lat, nil
	}
	if _, err := run(*warmup, false); err != nil {
		return 0, 0, 0, err
	}
	lat, err := run(*duration, true)
	if err != nil || len(lat) == 0 {
		return 0, 0, 0, fmt.Errorf("no requests measured: %v", err)
	}
	slices.Sort(lat)
	return float64(len(lat)) / duration.Seconds(), float64(lat[len(lat)*99/100].Microseconds()) / 1000, size, nil
}

// nugetInstall runs nuget install of Bench.App (and its dependencies) with
// fresh caches and returns how long it took.
func nugetInstall(mono, exe, tmp string, r *registry, n int) (time.Duration, error) {
	dir := filepath.Join(tmp, fmt.Sprintf("install-%s-%d", strings.ToLower(r.name), n))
	for _, d := range []string{"home", "http-cache", "packages", "out"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return 0, err
		}
	}
	cfg := fmt.Sprintf(`<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources><clear /><add key="bench" value=%q /></packageSources>
  <packageSourceCredentials><bench><add key="Username" value=%q /><add key="ClearTextPassword" value=%q /></bench></packageSourceCredentials>
</configuration>
`, r.index, r.user, r.token)
	if err := os.WriteFile(filepath.Join(dir, "nuget.config"), []byte(cfg), 0o600); err != nil {
		return 0, err
	}
	cmd := exec.Command(mono, exe, "install", "Bench.App", "-OutputDirectory", filepath.Join(dir, "out"),
		"-ConfigFile", filepath.Join(dir, "nuget.config"), "-NonInteractive")
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + filepath.Join(dir, "home"),
		"NUGET_HTTP_CACHE_PATH=" + filepath.Join(dir, "http-cache"), "NUGET_PACKAGES=" + filepath.Join(dir, "packages")}
	t0 := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(t0)
	if err != nil {
		return 0, fmt.Errorf("%v\n%s", err, out)
	}
	es, _ := os.ReadDir(filepath.Join(dir, "out"))
	if len(es) != *deps+1 {
		return 0, fmt.Errorf("installed %d packages, want %d:\n%s", len(es), *deps+1, out)
	}
	return d, nil
}

func report(regs []*registry, results []*result, took time.Duration) {
	fmt.Printf("\nNuGet workload, %d clients, %s per GET measurement; %s, %d CPUs; %s in all\n\n", *clients, *duration, runtime.GOOS, runtime.NumCPU(), took.Round(time.Second))
	fmt.Printf("| measurement |")
	for _, r := range regs {
		fmt.Printf(" %s |", r.name)
	}
	if len(regs) == 2 {
		fmt.Printf(" Packhub / %s |", regs[1].name)
	}
	fmt.Println()
	fmt.Printf("| --- |%s\n", strings.Repeat(" ---: |", len(regs)+min(len(regs)-1, 1)))
	row := func(name string, get func(*result) float64, unit string, higherBetter bool) {
		fmt.Printf("| %s |", name)
		for _, res := range results {
			fmt.Printf(" %.1f %s |", get(res), unit)
		}
		if len(results) == 2 && get(results[1]) > 0 {
			ratio := get(results[0]) / get(results[1])
			if !higherBetter {
				ratio = get(results[1]) / get(results[0])
			}
			fmt.Printf(" %.2f× |", ratio)
		}
		fmt.Println()
	}
	row(fmt.Sprintf("registration index, %d versions (req/s)", *versions), func(r *result) float64 { return r.regRate }, "req/s", true)
	row("registration index p99", func(r *result) float64 { return r.regP99 }, "ms", false)
	row("registration index bytes on the wire", func(r *result) float64 { return float64(r.regBytes) }, "B", false)
	row("flat-container versions (req/s)", func(r *result) float64 { return r.flatRate }, "req/s", true)
	row("flat-container versions p99", func(r *result) float64 { return r.flatP99 }, "ms", false)
	row(".nupkg download (req/s)", func(r *result) float64 { return r.pkgRate }, "req/s", true)
	row(".nupkg download p99", func(r *result) float64 { return r.pkgP99 }, "ms", false)
	row(fmt.Sprintf("nuget install, %d dependencies, cold (median of %d)", *deps, *installs), func(r *result) float64 { return r.install.Seconds() * 1000 }, "ms", false)
	fmt.Println("\n(ratios: above 1 means Packhub is faster)")
}
