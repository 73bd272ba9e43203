package benchenv

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Server is a registry server started for a benchmark.
type Server struct {
	// Base is the server's base URL, http://host:port.
	Base string
	// Token is a token of the user bench.
	Token string
	// Proc is the server's process; stop it when done.
	Proc *Process
}

// PackhubConfig says how StartPackhub sets Packhub up.
type PackhubConfig struct {
	// Root is the directory of the Packhub module.
	Root string
	// Dir is where the binary and its data go.
	Dir string
	// Database is Packhub's database; when empty, SQLite in the data
	// directory.
	Database string
	// PublicRepo asks for a public repository bench/bench.
	PublicRepo bool
	// Scopes (comma-separated) and Note are those of bench's token.
	Scopes, Note string
	// ServeFlags are extra flags of packhub serve.
	ServeFlags []string
	// WaitUp is how long Packhub may take to answer.
	WaitUp time.Duration
}

// StartPackhub builds Packhub, creates the user bench, the repository when
// asked, and a token of bench, then serves Packhub on a free loopback
// address and waits until it answers. When it fails after starting the
// server, it kills it.
func StartPackhub(c PackhubConfig) (*Server, error) {
	ph, err := buildPackhub(c.Root, c.Dir, c.Database)
	if err != nil {
		return nil, err
	}
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	if _, err := ph.admin("user", "create", "bench"); err != nil {
		return nil, err
	}
	if c.PublicRepo {
		if _, err := ph.admin("repo", "create", "bench/bench", "--visibility", "public"); err != nil {
			return nil, err
		}
	}
	out, err := ph.admin("token", "create", "--user", "bench", "--scopes", c.Scopes, "--note", c.Note)
	if err != nil {
		return nil, err
	}
	tok := lastLine(out)
	base := "http://" + addr
	proc, err := Start("Packhub", ph.serve(addr, c.ServeFlags...))
	if err != nil {
		return nil, err
	}
	if err := proc.WaitUp(base+"/healthz", c.WaitUp); err != nil {
		proc.Stop(0)
		return nil, err
	}
	return &Server{Base: base, Token: tok, Proc: proc}, nil
}

// packhub is a Packhub binary built for a benchmark, with the storage
// flags (data directory and, when one was given, database) every command
// of it gets.
type packhub struct {
	bin     string
	storage []string
}

// buildPackhub builds ./cmd/packhub of the module at root into dir. Its
// data directory is dir/packhub-data; database, when not empty, is its
// database (SQLite in the data directory otherwise).
func buildPackhub(root, dir, database string) (*packhub, error) {
	bin := filepath.Join(dir, "packhub")
	build := exec.Command("go", "build", "-o", bin, "./cmd/packhub")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build packhub: %w\n%s", err, out)
	}
	storage := []string{"--data-dir", filepath.Join(dir, "packhub-data")}
	if database != "" {
		storage = append(storage, "--database", database)
	}
	return &packhub{bin: bin, storage: storage}, nil
}

// admin runs packhub admin with args and returns its trimmed output.
func (p *packhub) admin(args ...string) (string, error) {
	out, err := exec.Command(p.bin, append(append([]string{"admin"}, args...), p.storage...)...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("packhub admin %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// serve returns the command that serves Packhub on addr (host:port), with
// http://addr as its base URL, warnings only in its log, and the extra
// flags.
func (p *packhub) serve(addr string, extra ...string) *exec.Cmd {
	args := []string{"serve", "--addr", addr, "--base-url", "http://" + addr, "--log-level", "warn"}
	args = append(append(args, extra...), p.storage...)
	return exec.Command(p.bin, args...)
}
