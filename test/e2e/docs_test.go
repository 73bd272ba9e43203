package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The documentation's command blocks are fenced code blocks whose info
// string is "sh test" (run; the page fails unless every command succeeds)
// or "sh server" (a server the reader starts in another terminal: run in
// the background until its --addr answers /healthz). Other blocks are not
// run.

// docPages are the pages TestDocs runs, with what the main server must
// have been asked for by the time a page's commands are done.
var docPages = []struct {
	path     string
	requests []string // paths the main server must have logged
}{
	{"README.md", []string{"path=/api/v3/user ", "path=/api/v3/user/packages "}},
	{"docs/registries/container.md", []string{"path=/v2/octocat/app/manifests/1.0", "path=/v2/octocat/artifact/referrers/"}},
	// npm whoami, search and ping must reach Packhub, not the public
	// registry.
	{"docs/registries/npm.md", []string{"path=/npm/-/whoami", "path=/npm/-/v1/search", "path=/npm/-/ping"}},
	{"docs/registries/rest-api.md", []string{"path=/api/v3/users/octocat/packages "}},
}

// docAddrs are the addresses the documentation uses; the test gives each
// a free port instead.
var docAddrs = []string{"127.0.0.1:8080", "127.0.0.1:8443"}

// docBlock is one command block of a page.
type docBlock struct {
	kind string // "test" or "server"
	line int    // of the opening fence
	text string
}

var fence = regexp.MustCompile("^```")

// docBlocks extracts the command blocks of a Markdown page.
func docBlocks(t *testing.T, path string) []docBlock {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blocks []docBlock
	var cur *docBlock
	var text strings.Builder
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if !fence.MatchString(line) {
			if cur != nil {
				text.WriteString(line + "\n")
			}
			continue
		}
		if cur != nil { // closing fence
			cur.text = text.String()
			blocks = append(blocks, *cur)
			cur = nil
			continue
		}
		info := strings.Fields(strings.TrimPrefix(line, "```"))
		if len(info) == 2 && info[0] == "sh" && (info[1] == "test" || info[1] == "server") {
			cur = &docBlock{kind: info[1], line: n}
			text.Reset()
			continue
		}
		// Another block: skip to its closing fence.
		for sc.Scan() {
			n++
			if fence.MatchString(sc.Text()) {
				break
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur != nil {
		t.Fatalf("%s:%d: block not closed", path, cur.line)
	}
	return blocks
}

// docTools are the programs the documentation runs that the test must
// find.
var docTools = []string{"crane", "skopeo", "oras", "regctl", "npm", "gh", "curl", "openssl"}

// TestDocs runs the command blocks of the README and the registry pages as
// written, each page in a fresh directory with its own server, home
// directory and client configuration.
func TestDocs(t *testing.T) {
	t.Parallel()
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	root := repoRoot(t)
	for _, page := range docPages {
		t.Run(strings.TrimSuffix(filepath.Base(page.path), ".md"), func(t *testing.T) {
			blocks := docBlocks(t, filepath.Join(root, page.path))
			if !slices.ContainsFunc(blocks, func(b docBlock) bool { return b.kind == "test" }) {
				t.Fatalf("%s has no \"sh test\" block", page.path)
			}
			runDocPage(t, bin, page.path, blocks, page.requests)
		})
	}
}

func runDocPage(t *testing.T, bin, page string, blocks []docBlock, requests []string) {
	work := t.TempDir()
	home := filepath.Join(work, ".home")
	binDir := filepath.Join(work, "bin")
	for _, d := range []string{home, binDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The README runs bin/packhub; the other pages packhub on PATH.
	if err := os.Symlink(bin, filepath.Join(binDir, "packhub")); err != nil {
		t.Fatal(err)
	}
	path := []string{binDir}
	var all strings.Builder
	for _, b := range blocks {
		all.WriteString(b.text)
	}
	for _, tool := range docTools {
		if regexp.MustCompile(`(^|[\s|(&;])` + tool + `\s`).MatchString(all.String()) {
			path = append(path, filepath.Dir(requireTool(t, tool)))
		}
	}
	path = append(path, "/usr/local/bin", "/usr/bin", "/bin")
	env := []string{
		"PATH=" + strings.Join(path, string(os.PathListSeparator)),
		"HOME=" + home,
		"XDG_RUNTIME_DIR=" + home,
		"LANG=C.UTF-8",
		"GH_NO_UPDATE_NOTIFIER=1",
		"GH_PROMPT_DISABLED=1",
		"npm_config_update_notifier=false",
		"npm_config_fund=false",
	}

	addrs := make([]string, len(docAddrs))
	for i := range addrs {
		addrs[i] = freeAddr(t)
	}
	subst := func(s string) string {
		for i, a := range docAddrs {
			s = strings.ReplaceAll(s, a, addrs[i])
		}
		return s
	}

	// The server of the README's first steps, in the page's directory.
	srv := startDocServer(t, bin, work, env, addrs[0])

	var script strings.Builder
	script.WriteString("set -euo pipefail\n")
	// wait_ready URL LOG: wait until a server answers, or show its log.
	script.WriteString(`wait_ready() {
  for _ in $(seq 300); do
    if curl -fsk "$1/healthz" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "server at $1 did not start:" >&2; cat "$2" >&2; return 1
}
`)
	for i, b := range blocks {
		text := subst(b.text)
		fmt.Fprintf(&script, "echo '+++ %s:%d' >&2\n", page, b.line)
		switch b.kind {
		case "test":
			// In one shell, as a reader runs the blocks in one terminal.
			script.WriteString(text)
		case "server":
			m := regexp.MustCompile(`--addr\s+(\S+)`).FindStringSubmatch(text)
			if m == nil {
				t.Fatalf("%s:%d: server block without --addr", page, b.line)
			}
			scheme := "http"
			if strings.Contains(text, "--tls-cert") {
				scheme = "https"
			}
			log := fmt.Sprintf("server-%d.log", i)
			fmt.Fprintf(&script, "(\n%s) >%s 2>&1 &\nwait_ready %s://%s %s\n", text, log, scheme, m[1], log)
		}
	}
	scriptPath := filepath.Join(work, ".doc-script.sh")
	if err := os.WriteFile(scriptPath, []byte(script.String()), 0o600); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", scriptPath)
	cmd.Dir = work
	cmd.Env = env
	// Its own process group, so that the servers it started end with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if cmd.Process != nil {
		killGroup(cmd.Process.Pid)
	}
	if err != nil {
		t.Fatalf("%s: the documented commands failed: %v\n%s", page, err, tail(out.String(), 12000))
	}
	t.Logf("%s: the documented commands ran:\n%s", page, tail(out.String(), 4000))
	// The server logs a request after answering it: give the last line
	// a moment to arrive.
	deadline := time.Now().Add(5 * time.Second)
	for _, want := range requests {
		logs := srv.logs.String()
		for !strings.Contains(logs, want) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			logs = srv.logs.String()
		}
		if !strings.Contains(logs, want) {
			t.Errorf("%s: the server was not asked for %q\ncommands:\n%s\nserver log:\n%s", page, want, tail(out.String(), 6000), tail(logs, 6000))
		}
	}
}

// killGroup kills a process group and waits, a while, until it is gone.
func killGroup(pgid int) {
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		if syscall.Kill(-pgid, 0) != nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startDocServer starts bin/packhub serve in dir, on the embedded default
// (./data), as the README's first steps do, and waits until it answers.
func startDocServer(t *testing.T, bin, dir string, env []string, addr string) *serveProcess {
	t.Helper()
	p := &serveProcess{cmd: exec.Command(bin, "serve", "--addr", addr, "--purge-interval", "0"), logs: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Dir = dir
	p.cmd.Env = env
	p.cmd.Stderr = p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	p.waitListening(t)
	return p
}
