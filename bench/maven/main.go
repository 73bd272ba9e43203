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
	"context"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
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

const giteaVersion = "v1.26.0"

var (
	clients    = flag.Int("clients", 16, "concurrent clients of the GET measurements")
	duration   = flag.Duration("duration", 10*time.Second, "length of each GET measurement")
	warmup     = flag.Duration("warmup", 2*time.Second, "unmeasured load before each GET measurement")
	artifacts  = flag.Int("artifacts", 50, "dependencies of the resolved project")
	versions   = flag.Int("versions", 20, "versions of the artifact whose maven-metadata.xml is read")
	jarSize    = flag.Int("jar-size", 64<<10, "bytes of the jar whose GET rate is measured")
	resolves   = flag.Int("resolves", 3, "mvn resolves per registry (the median is reported)")
	database   = flag.String("database", "", "Packhub's database (default: SQLite in the temporary directory)")
	giteaBin   = flag.String("gitea", "", "a Gitea "+giteaVersion+" binary (default: built into the cache directory when missing)")
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
	cmd   *exec.Cmd
	done  chan struct{}
	log   *syncBuffer
}

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
	case <-time.After(10 * time.Second):
		r.cmd.Process.Kill()
		<-r.done
	}
}

// result is one registry's figures.
type result struct {
	jarRate, jarP99   float64
	metaRate, metaP99 float64
	resolve           time.Duration // median
	resolvesAll       []time.Duration
}

func run() error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	mvn, err := exec.LookPath("mvn")
	if err != nil {
		return errors.New("mvn is not on PATH (scripts/install-test-deps.sh installs it)")
	}
	tmp, err := os.MkdirTemp("", "mavenbench-")
	if err != nil {
		return err
	}
	if *keep {
		fmt.Println("temporary directory:", tmp)
	} else {
		defer os.RemoveAll(tmp)
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
	if !*skipGitea {
		gt, err := startGitea(tmp)
		if gt != nil {
			defer gt.stop()
		}
		if err != nil {
			return err
		}
		regs = append(regs, gt)
	}

	fmt.Printf("deploying %d artifacts and %d versions of com.bench:lib to %d registries...\n", *artifacts, *versions, len(regs))
	var wg sync.WaitGroup
	errs := make([]error, len(regs))
	for i, r := range regs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = deployAll(r) }()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
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
		s := slices.Clone(r.resolvesAll)
		slices.Sort(s)
		r.resolve = s[len(s)/2]
	}
	report(regs, res, time.Since(start))
	return nil
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run the benchmark inside the Packhub module")
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

func waitUp(r *registry, url string) error {
	deadline := time.Now().Add(90 * time.Second)
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
	// A public repository, as a Gitea user's packages are public: neither
	// registry then answers mvn's first, anonymous GET with a 401.
	if _, err := admin("repo", "create", "bench/bench", "--visibility", "public"); err != nil {
		return nil, err
	}
	tok, err := admin("token", "create", "--user", "bench", "--scopes", "read:packages,write:packages,repo", "--note", "mavenbench")
	if err != nil {
		return nil, err
	}
	tok = tok[strings.LastIndexByte(tok, '\n')+1:]
	r := &registry{name: "Packhub", url: base + "/maven/bench/bench", user: "bench", token: tok}
	if err := r.start(exec.Command(bin, append([]string{"serve", "--addr", addr, "--base-url", base, "--log-level", "warn", "--purge-interval", "0"}, storage...)...)); err != nil {
		return nil, err
	}
	return r, waitUp(r, base+"/healthz")
}

// giteaBinary returns Gitea's binary and its source tree (for its
// templates, options and public files), building it when it is missing.
func giteaBinary() (bin, src string, err error) {
	dir := *cacheDir
	if dir == "" {
		c, err := os.UserCacheDir()
		if err != nil {
			return "", "", err
		}
		dir = filepath.Join(c, "packhub-bench")
	}
	src = filepath.Join(dir, "gitea-"+giteaVersion)
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
	fmt.Printf("building Gitea %s into %s (about 15 minutes on two cores, once)...\n", giteaVersion, src)
	if _, err := os.Stat(filepath.Join(src, "go.mod")); err != nil {
		out, err := exec.Command("go", "mod", "download", "-json", "code.gitea.io/gitea@"+giteaVersion).Output()
		if err != nil {
			return "", "", fmt.Errorf("go mod download gitea: %w", err)
		}
		var modDir string
		for _, line := range strings.Split(string(out), "\n") {
			if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && strings.Trim(k, `"`) == "Dir" {
				modDir = strings.Trim(strings.TrimSpace(v), `",`)
			}
		}
		if modDir == "" {
			return "", "", errors.New("go mod download gitea: no directory")
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", "", err
		}
		for _, c := range [][]string{{"cp", "-r", modDir, src}, {"chmod", "-R", "u+w", src}} {
			if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
				return "", "", fmt.Errorf("%s: %v\n%s", strings.Join(c, " "), err, out)
			}
		}
	}
	build := exec.Command("go", "build", "-tags", "sqlite sqlite_unlock_notify", "-o", bin, ".")
	build.Dir = src
	build.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := build.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("build gitea: %v\n%s", err, out)
	}
	return bin, src, nil
}

func startGitea(tmp string) (*registry, error) {
	bin, src, err := giteaBinary()
	if err != nil {
		return nil, err
	}
	work := filepath.Join(tmp, "gitea")
	if err := os.MkdirAll(filepath.Join(work, "custom", "conf"), 0o755); err != nil {
		return nil, err
	}
	for _, d := range []string{"options", "templates", "public"} {
		if err := os.Symlink(filepath.Join(src, d), filepath.Join(work, d)); err != nil {
			return nil, err
		}
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	host, port, _ := net.SplitHostPort(addr)
	ini := filepath.Join(work, "custom", "conf", "app.ini")
	conf := fmt.Sprintf(`APP_NAME = bench
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
`, work, host, port)
	if err := os.WriteFile(ini, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	env := append(os.Environ(), "GITEA_WORK_DIR="+work, "GITEA_I_AM_BEING_UNSAFE_RUNNING_AS_ROOT=true")
	gitea := func(args ...string) (string, error) {
		cmd := exec.Command(bin, append([]string{"--config", ini}, args...)...)
		cmd.Dir, cmd.Env = work, env
		out, err := cmd.Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				out = append(out, ee.Stderr...)
			}
			return "", fmt.Errorf("gitea %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out)), nil
	}
	if _, err := gitea("migrate"); err != nil {
		return nil, err
	}
	if _, err := gitea("admin", "user", "create", "--username", "bench", "--password", "bench-password-1", "--email", "bench@example.com",
		"--admin", "--must-change-password=false"); err != nil {
		return nil, err
	}
	tok, err := gitea("admin", "user", "generate-access-token", "--username", "bench", "--token-name", "bench", "--scopes", "all", "--raw")
	if err != nil {
		return nil, err
	}
	tok = tok[strings.LastIndexByte(tok, '\n')+1:]
	base := "http://" + addr
	r := &registry{name: "Gitea", url: base + "/api/packages/bench/maven", user: "bench", token: tok}
	cmd := exec.Command(bin, "--config", ini, "web")
	cmd.Dir, cmd.Env = work, env
	if err := r.start(cmd); err != nil {
		return nil, err
	}
	return r, waitUp(r, base+"/api/healthz")
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
	tr := &http.Transport{MaxIdleConnsPerHost: *clients * 2, DisableCompression: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var mu sync.Mutex
	var lat []time.Duration
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
				for ctx.Err() == nil {
					t0 := time.Now()
					err := get(c, r, url, want)
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
					}
				}
				if record {
					mu.Lock()
					lat = append(lat, mine...)
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
		return 0, 0, firstErr
	}
	if len(lat) == 0 {
		return 0, 0, errors.New("no request completed")
	}
	slices.Sort(lat)
	p99 := lat[min(len(lat)-1, len(lat)*99/100)]
	return float64(len(lat)) / elapsed.Seconds(), float64(p99.Microseconds()) / 1000, nil
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
	fmt.Printf("machine: %s/%s, %d CPUs, %s; total %s\n\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel(), total.Round(time.Second))
	head := fmt.Sprintf("%-48s", "")
	for _, r := range regs {
		head += fmt.Sprintf(" %12s", r.name)
	}
	if len(regs) == 2 {
		head += fmt.Sprintf(" %14s", "Packhub/Gitea")
	}
	fmt.Println(head)
	row := func(label string, f func(*result) float64, format string, higherBetter bool) {
		line := fmt.Sprintf("%-48s", label)
		for _, r := range res {
			line += fmt.Sprintf(" %12s", fmt.Sprintf(format, f(r)))
		}
		if len(res) == 2 {
			ratio := f(res[0]) / f(res[1])
			if !higherBetter {
				ratio = f(res[1]) / f(res[0])
			}
			line += fmt.Sprintf(" %13.2fx", ratio)
		}
		fmt.Println(line)
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
