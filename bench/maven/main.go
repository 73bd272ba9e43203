// Command maven runs the same Maven workload against Packhub and Gitea's
// Maven registry on this machine and prints both results with their
// ratios:
//
//   - mvn resolving a project with 50 dependencies with a cold local
//     repository (median of 3);
//   - the GET rate and p99 latency of a jar and of a maven-metadata.xml.
//
// Every request carries a token (Basic, as mvn sends it). Packhub is the
// binary built from ./cmd/packhub (SQLite and file blobs in a temporary
// directory, unless -database names a PostgreSQL database), serving a
// public repository (Gitea's packages of a user are public too). Gitea is v1.26.0, built once from the Go module proxy
// into a cache directory outside the repository (about 15 minutes on two
// cores; -gitea names a binary built before), with SQLite. mvn resolves
// plugins from Debian's /usr/share/maven-repo. Only loopback addresses are
// used. Run from the repository root:
//
//	go run ./bench/maven
package main

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"errors"
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
	clients    = flag.Int("clients", 16, "concurrent clients of the GET measurements")
	duration   = flag.Duration("duration", 10*time.Second, "length of each GET measurement")
	warmup     = flag.Duration("warmup", 2*time.Second, "unmeasured load before each GET measurement")
	artifacts  = flag.Int("artifacts", 50, "dependencies of the resolved project")
	versions   = flag.Int("versions", 20, "versions of the artifact whose maven-metadata.xml is read")
	jarSize    = flag.Int("jar-size", 64<<10, "bytes of the jar whose GET rate is measured")
	resolves   = flag.Int("resolves", 3, "mvn resolves per registry (the median is reported)")
	database   = flag.String("database", "", "Packhub's database (default: SQLite in the temporary directory)")
	giteaBin   = flag.String("gitea", "", "a Gitea "+benchenv.GiteaVersion+" binary (default: built into the cache directory when missing)")
	cacheDir   = flag.String("cache", "", "where Gitea's source and binary are kept (default: the user cache directory)")
	keep       = flag.Bool("keep", false, "keep the temporary directory")
	skipGitea  = flag.Bool("packhub-only", false, "measure Packhub alone")
	mvnVerbose = flag.Bool("mvn-output", false, "print mvn's output")
)

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "maven bench:", err)
		os.Exit(1)
	}
}

// registry is one server under test.
type registry struct {
	name  string
	url   string // repository URL, no trailing slash
	user  string // Basic user name
	token string
	proc  *benchenv.Process
}

func (r *registry) stop() { r.proc.Stop(10 * time.Second) }

// result is one registry's figures.
type result struct {
	jarRate, jarP99   float64
	metaRate, metaP99 float64
	resolve           time.Duration // median
	resolvesAll       []time.Duration
}

func run() error {
	root, err := benchenv.ModuleRoot("the benchmark")
	if err != nil {
		return err
	}
	mvn, err := exec.LookPath("mvn")
	if err != nil {
		return errors.New("mvn is not on PATH (scripts/install-test-deps.sh installs it)")
	}
	tmp, cleanup, err := benchenv.TempDir("mavenbench-", *keep)
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
	if !*skipGitea {
		gt, err := startGitea(tmp)
		if err != nil {
			return err
		}
		defer gt.stop()
		regs = append(regs, gt)
	}

	fmt.Printf("deploying %d artifacts and %d versions of com.bench:lib to %d registries...\n", *artifacts, *versions, len(regs))
	if err := benchenv.InParallel(regs, deployAll); err != nil {
		return err
	}
	fmt.Printf("deployed in %s\n", time.Since(start).Round(time.Second))

	res := make([]*result, len(regs))
	for i := range res {
		res[i] = &result{}
	}
	// Measurements alternate between the registries, so that a change in
	// the machine's load hits both alike.
	for i, r := range regs {
		fmt.Printf("%s: jar GET...\n", r.name)
		if res[i].jarRate, res[i].jarP99, err = load(r, r.url+"/com/bench/lib/1.0.0/lib-1.0.0.jar", int64(*jarSize)); err != nil {
			return fmt.Errorf("%s: %w", r.name, err)
		}
	}
	for i, r := range regs {
		fmt.Printf("%s: maven-metadata.xml GET...\n", r.name)
		if res[i].metaRate, res[i].metaP99, err = load(r, r.url+"/com/bench/lib/maven-metadata.xml", -1); err != nil {
			return fmt.Errorf("%s: %w", r.name, err)
		}
	}
	for n := 0; n < *resolves; n++ {
		for i, r := range regs {
			fmt.Printf("%s: mvn resolve %d/%d...\n", r.name, n+1, *resolves)
			d, err := resolve(mvn, tmp, r, n)
			if err != nil {
				return fmt.Errorf("%s: %w", r.name, err)
			}
			res[i].resolvesAll = append(res[i].resolvesAll, d)
		}
	}
	for _, r := range res {
		r.resolve = benchenv.Median(r.resolvesAll)
	}
	report(regs, res, time.Since(start))
	return nil
}

func startPackhub(root, tmp string) (*registry, error) {
	s, err := benchenv.StartPackhub(benchenv.PackhubConfig{
		Root:     root,
		Dir:      tmp,
		Database: *database,
		// A public repository, as a Gitea user's packages are public:
		// neither registry then answers mvn's first, anonymous GET with a
		// 401.
		PublicRepo: true,
		Scopes:     "read:packages,write:packages,repo",
		Note:       "mavenbench",
		ServeFlags: []string{"--purge-interval", "0"},
		WaitUp:     90 * time.Second,
	})
	if err != nil {
		return nil, err
	}
	return &registry{name: "Packhub", url: s.Base + "/maven/bench/bench", user: "bench", token: s.Token, proc: s.Proc}, nil
}

// giteaBinary returns Gitea's binary and its source tree (for its
// templates, options and public files), building it when it is missing.
func giteaBinary() (bin, src string, err error) {
	src, err = benchenv.GiteaSourceDir(*cacheDir)
	if err != nil {
		return "", "", err
	}
	bin = *giteaBin
	if bin == "" {
		bin = filepath.Join(src, "gitea")
	}
	if _, err := os.Stat(bin); err == nil {
		return bin, src, nil
	}
	if *giteaBin != "" {
		return "", "", fmt.Errorf("no Gitea binary at %s", bin)
	}
	fmt.Printf("building Gitea %s into %s (about 15 minutes on two cores, once)...\n", benchenv.GiteaVersion, src)
	if err := benchenv.BuildGitea(src, bin); err != nil {
		return "", "", err
	}
	return bin, src, nil
}

const giteaConfig = `APP_NAME = bench
RUN_MODE = prod
WORK_PATH = %[1]s

[server]
HTTP_ADDR = %[2]s
HTTP_PORT = %[3]s
ROOT_URL = http://%[2]s:%[3]s/
DISABLE_SSH = true
OFFLINE_MODE = true

[database]
DB_TYPE = sqlite3
PATH = %[1]s/gitea.db

[security]
INSTALL_LOCK = true
SECRET_KEY = mavenbench-secret-key

[packages]
ENABLED = true

[log]
LEVEL = Warn
`

func startGitea(tmp string) (*registry, error) {
	bin, src, err := giteaBinary()
	if err != nil {
		return nil, err
	}
	work := filepath.Join(tmp, "gitea")
	s, err := benchenv.StartGitea(benchenv.GiteaConfig{
		Bin:       bin,
		Src:       src,
		Work:      work,
		AppINI:    func(host, port string) string { return fmt.Sprintf(giteaConfig, work, host, port) },
		TokenName: "bench",
	})
	if err != nil {
		return nil, err
	}
	return &registry{name: "Gitea", url: s.Base + "/api/packages/bench/maven", user: "bench", token: s.Token, proc: s.Proc}, nil
}

// pomOf is a minimal pom of a jar.
func pomOf(artifact, version string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.bench</groupId>
  <artifactId>` + artifact + `</artifactId>
  <version>` + version + `</version>
  <packaging>jar</packaging>
</project>
`)
}

// fakeJar is size bytes that differ per artifact and version.
func fakeJar(artifact, version string, size int) []byte {
	seed := []byte(artifact + "@" + version + ";")
	b := bytes.Repeat(seed, size/len(seed)+1)
	return b[:size]
}

func put(c *http.Client, r *registry, path string, body []byte) error {
	req, err := http.NewRequest("PUT", r.url+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.SetBasicAuth(r.user, r.token)
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		return fmt.Errorf("PUT %s: %d %s", path, res.StatusCode, b)
	}
	return nil
}

// deployFile PUTs a file with its .sha1 and .md5, as mvn does.
func deployFile(c *http.Client, r *registry, path string, body []byte) error {
	s1, s5 := sha1.Sum(body), md5.Sum(body)
	for _, p := range []struct {
		path string
		body []byte
	}{{path, body}, {path + ".sha1", []byte(hex.EncodeToString(s1[:]))}, {path + ".md5", []byte(hex.EncodeToString(s5[:]))}} {
		if err := put(c, r, p.path, p.body); err != nil {
			return err
		}
	}
	return nil
}

// deployVersion deploys ARTIFACT:VERSION's jar and pom, then the
// artifact's metadata listing the versions so far, as mvn deploy does.
func deployVersion(c *http.Client, r *registry, artifact, version string, jarSize int, known []string) error {
	dir := "/com/bench/" + artifact + "/" + version + "/" + artifact + "-" + version
	if err := deployFile(c, r, dir+".jar", fakeJar(artifact, version, jarSize)); err != nil {
		return err
	}
	if err := deployFile(c, r, dir+".pom", pomOf(artifact, version)); err != nil {
		return err
	}
	var meta strings.Builder
	meta.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<metadata>\n  <groupId>com.bench</groupId>\n  <artifactId>" + artifact +
		"</artifactId>\n  <versioning>\n    <latest>" + version + "</latest>\n    <release>" + version + "</release>\n    <versions>\n")
	for _, v := range known {
		meta.WriteString("      <version>" + v + "</version>\n")
	}
	meta.WriteString("    </versions>\n    <lastUpdated>" + time.Now().UTC().Format("20060102150405") + "</lastUpdated>\n  </versioning>\n</metadata>\n")
	return deployFile(c, r, "/com/bench/"+artifact+"/maven-metadata.xml", []byte(meta.String()))
}

func deployAll(r *registry) error {
	c := &http.Client{Timeout: time.Minute}
	var known []string
	for i := 0; i < *versions; i++ {
		v := fmt.Sprintf("1.%d.0", i)
		known = append(known, v)
		size := 4 << 10
		if i == 0 {
			size = *jarSize
		}
		if err := deployVersion(c, r, "lib", v, size, known); err != nil {
			return fmt.Errorf("%s: %w", r.name, err)
		}
	}
	for i := 0; i < *artifacts; i++ {
		a := fmt.Sprintf("dep-%02d", i)
		if err := deployVersion(c, r, a, "1.0", 4<<10, []string{"1.0"}); err != nil {
			return fmt.Errorf("%s: %w", r.name, err)
		}
	}
	return nil
}

// load runs clients GETs of url in parallel for the warm-up and then the
// measured duration, and returns the rate and the p99 latency in ms. A
// response of another size than want (when want >= 0) is an error.
func load(r *registry, url string, want int64) (float64, float64, error) {
	c := benchenv.NewLoadClient(*clients)
	defer c.CloseIdleConnections()
	res, err := benchenv.Load(*clients, *warmup, *duration, func() (int64, error) { return 0, get(c, r, url, want) })
	if err != nil {
		return 0, 0, err
	}
	return res.Rate(), res.P99(), nil
}

func get(c *http.Client, r *registry, url string, want int64) error {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return err
	}
	req.SetBasicAuth(r.user, r.token)
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	n, err := io.Copy(io.Discard, res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != 200 {
		return fmt.Errorf("GET %s: status %d", url, res.StatusCode)
	}
	if want >= 0 && n != want {
		return fmt.Errorf("GET %s: %d bytes, want %d", url, n, want)
	}
	return nil
}

// resolve runs mvn dependency:resolve of a project depending on every
// dep-NN with an empty local repository, and returns how long mvn took.
func resolve(mvn, tmp string, r *registry, n int) (time.Duration, error) {
	dir := filepath.Join(tmp, fmt.Sprintf("resolve-%s-%d", strings.ToLower(r.name), n))
	local := filepath.Join(dir, "repository")
	if err := os.MkdirAll(local, 0o755); err != nil {
		return 0, err
	}
	settings := `<settings>
  <localRepository>` + local + `</localRepository>
  <mirrors><mirror><id>debian</id><mirrorOf>*,!packhub</mirrorOf><url>file:///usr/share/maven-repo</url></mirror></mirrors>
  <servers><server><id>packhub</id><username>` + r.user + `</username><password>` + r.token + `</password></server></servers>
</settings>
`
	var deps strings.Builder
	for i := 0; i < *artifacts; i++ {
		fmt.Fprintf(&deps, "    <dependency><groupId>com.bench</groupId><artifactId>dep-%02d</artifactId><version>1.0</version></dependency>\n", i)
	}
	pom := `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.bench</groupId>
  <artifactId>consumer</artifactId>
  <version>1.0</version>
  <repositories><repository><id>packhub</id><url>` + r.url + `</url></repository></repositories>
  <dependencies>
` + deps.String() + `  </dependencies>
</project>
`
	for name, body := range map[string]string{"settings.xml": settings, "pom.xml": pom} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			return 0, err
		}
	}
	cmd := exec.Command(mvn, "-B", "-q", "-s", filepath.Join(dir, "settings.xml"),
		"org.apache.maven.plugins:maven-dependency-plugin:3.5.0:resolve")
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	t0 := time.Now()
	err := cmd.Run()
	d := time.Since(t0)
	if *mvnVerbose || err != nil {
		fmt.Print(out.String())
	}
	if err != nil {
		return 0, fmt.Errorf("mvn dependency:resolve: %w", err)
	}
	jars, _ := filepath.Glob(filepath.Join(local, "com", "bench", "dep-*", "1.0", "dep-*-1.0.jar"))
	if len(jars) != *artifacts {
		return 0, fmt.Errorf("resolved %d of %d jars", len(jars), *artifacts)
	}
	return d, nil
}

func report(regs []*registry, res []*result, total time.Duration) {
	fmt.Println()
	fmt.Printf("Maven registry benchmark: %d clients, %s per GET measurement (after %s warm-up), token on every request\n",
		*clients, *duration, *warmup)
	fmt.Printf("%s\n\n", benchenv.Machine(total))
	t := benchenv.Table{Out: os.Stdout, LabelWidth: 48, CellWidth: 12, RatioWidth: 14}
	names := make([]string, len(regs))
	for i, r := range regs {
		names[i] = r.name
	}
	t.Header(names, "Packhub/Gitea")
	row := func(label string, f func(*result) float64, format string, higherBetter bool) {
		values := make([]float64, len(res))
		for i, r := range res {
			values[i] = f(r)
		}
		t.Figures(label, values, format, higherBetter)
	}
	row(fmt.Sprintf("jar GET, %d KiB (req/s)", *jarSize>>10), func(r *result) float64 { return r.jarRate }, "%.0f", true)
	row("  p99 latency (ms)", func(r *result) float64 { return r.jarP99 }, "%.1f", false)
	row(fmt.Sprintf("maven-metadata.xml GET, %d versions (req/s)", *versions), func(r *result) float64 { return r.metaRate }, "%.0f", true)
	row("  p99 latency (ms)", func(r *result) float64 { return r.metaP99 }, "%.1f", false)
	row(fmt.Sprintf("mvn resolve, %d artifacts, cold, median (s)", *artifacts), func(r *result) float64 { return r.resolve.Seconds() }, "%.2f", false)
	for i, r := range res {
		var s []string
		for _, d := range r.resolvesAll {
			s = append(s, fmt.Sprintf("%.2f", d.Seconds()))
		}
		fmt.Printf("  %s resolves (s): %s\n", regs[i].name, strings.Join(s, ", "))
	}
	fmt.Println("\n(ratios: >1 means Packhub is better; for latencies and resolve times it is Gitea's figure over Packhub's)")
}
