package benchenv

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// GiteaVersion is the Gitea release the benchmarks measure against.
const GiteaVersion = "v1.26.0"

// GiteaSourceDir returns where the source of Gitea GiteaVersion is kept:
// in cacheDir, or, when cacheDir is empty, in packhub-bench in the user
// cache directory.
func GiteaSourceDir(cacheDir string) (string, error) {
	if cacheDir == "" {
		c, err := os.UserCacheDir()
		if err != nil {
			return "", err
		}
		cacheDir = filepath.Join(c, "packhub-bench")
	}
	return filepath.Join(cacheDir, "gitea-"+GiteaVersion), nil
}

// BuildGitea builds Gitea GiteaVersion, with SQLite, into bin from the
// source tree src, first copying the source there from the Go module proxy
// when src holds none. It takes about 15 minutes on two cores.
func BuildGitea(src, bin string) error {
	if _, err := os.Stat(filepath.Join(src, "go.mod")); err != nil {
		mod := "code.gitea.io/gitea@" + GiteaVersion
		out, err := exec.Command("go", "mod", "download", "-json", mod).Output()
		if err != nil {
			return fmt.Errorf("go mod download %s: %w", mod, err)
		}
		var modDir string
		for _, line := range strings.Split(string(out), "\n") {
			if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && strings.Trim(k, `"`) == "Dir" {
				modDir = strings.Trim(strings.TrimSpace(v), `",`)
			}
		}
		if modDir == "" {
			return fmt.Errorf("go mod download %s: no directory", mod)
		}
		if err := os.MkdirAll(filepath.Dir(src), 0o755); err != nil {
			return err
		}
		for _, c := range [][]string{{"cp", "-r", modDir, src}, {"chmod", "-R", "u+w", src}} {
			if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
				return fmt.Errorf("%s: %w\n%s", strings.Join(c, " "), err, out)
			}
		}
	}
	build := exec.Command("go", "build", "-tags", "sqlite sqlite_unlock_notify", "-o", bin, ".")
	build.Dir = src
	build.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build Gitea: %w\n%s", err, out)
	}
	return nil
}

// GiteaConfig says how StartGitea sets Gitea up.
type GiteaConfig struct {
	// Bin is the Gitea binary and Src the source tree it was built from,
	// whose options, templates and public folders Gitea needs (it stops on
	// missing translations without them).
	Bin, Src string
	// Work is the work directory to make.
	Work string
	// AppINI returns the app.ini of a Gitea listening on host:port.
	AppINI func(host, port string) string
	// TokenName is the name of bench's token.
	TokenName string
}

// StartGitea makes Gitea's work directory and database, creates the
// administrator bench and a token of it with every scope, then serves
// Gitea on a free loopback address and waits, for at most 90 seconds,
// until it answers. When it fails after starting the server, it kills it.
func StartGitea(c GiteaConfig) (*Server, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	g, err := newGitea(c.Bin, c.Src, c.Work, c.AppINI(host, port))
	if err != nil {
		return nil, err
	}
	tok, err := g.createUser(c.TokenName)
	if err != nil {
		return nil, err
	}
	base := "http://" + addr
	proc, err := Start("Gitea", g.command("web"))
	if err != nil {
		return nil, err
	}
	if err := proc.WaitUp(base+"/api/healthz", 90*time.Second); err != nil {
		proc.Stop(0)
		return nil, err
	}
	return &Server{Base: base, Token: tok, Proc: proc}, nil
}

// gitea is a Gitea binary with its work directory.
type gitea struct {
	bin    string
	work   string
	config string // app.ini
	env    []string
}

// newGitea makes the work directory work for the Gitea binary bin, with
// appINI as its custom/conf/app.ini and src's options, templates and public
// folders linked into it.
func newGitea(bin, src, work, appINI string) (*gitea, error) {
	conf := filepath.Join(work, "custom", "conf")
	if err := os.MkdirAll(conf, 0o755); err != nil {
		return nil, err
	}
	for _, d := range []string{"options", "templates", "public"} {
		if err := os.Symlink(filepath.Join(src, d), filepath.Join(work, d)); err != nil {
			return nil, err
		}
	}
	ini := filepath.Join(conf, "app.ini")
	if err := os.WriteFile(ini, []byte(appINI), 0o600); err != nil {
		return nil, err
	}
	env := append(os.Environ(), "GITEA_WORK_DIR="+work, "GITEA_I_AM_BEING_UNSAFE_RUNNING_AS_ROOT=true")
	return &gitea{bin: bin, work: work, config: ini, env: env}, nil
}

// command returns the command of Gitea with args, run in the work
// directory with its configuration.
func (g *gitea) command(args ...string) *exec.Cmd {
	cmd := exec.Command(g.bin, append([]string{"--config", g.config}, args...)...)
	cmd.Dir, cmd.Env = g.work, g.env
	return cmd
}

// run runs Gitea with args and returns its trimmed standard output; the
// error holds its standard error too.
func (g *gitea) run(args ...string) (string, error) {
	out, err := g.command(args...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			out = append(out, ee.Stderr...)
		}
		return "", fmt.Errorf("gitea %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// createUser makes Gitea's database, creates the administrator bench and
// returns a new token of it, with every scope, named tokenName.
func (g *gitea) createUser(tokenName string) (string, error) {
	if _, err := g.run("migrate"); err != nil {
		return "", err
	}
	if _, err := g.run("admin", "user", "create", "--username", "bench", "--password", "bench-password-1", "--email", "bench@example.com",
		"--admin", "--must-change-password=false"); err != nil {
		return "", err
	}
	tok, err := g.run("admin", "user", "generate-access-token", "--username", "bench", "--token-name", tokenName, "--scopes", "all", "--raw")
	if err != nil {
		return "", err
	}
	return lastLine(tok), nil
}
