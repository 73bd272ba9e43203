// Command packhub is a self-hosted package registry: container images and
// npm packages for users and organizations, with GitHub's REST API for
// packages.
//
// Every command is a row of the table in commands.go; the dispatcher and
// the help texts here are built from that table.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/packhub/packhub/internal/config"
	"github.com/packhub/packhub/internal/server"
)

// version is set at build time:
//
//	go build -ldflags "-X main.version=1.2.3" ./cmd/packhub
//
// Without it, the module version Go recorded in the binary is used, or
// "dev".
var version string

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit statuses.
const (
	exitOK     = 0
	exitFailed = 1 // the command was understood but failed
	exitUsage  = 2 // the command line or the configuration is wrong
)

// usageError marks errors in how a command was called or configured.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// exitError ends a command with an exit status of its own, for commands
// whose contract names one (fsck: 1 for problems found, 2 for an error).
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }

func (e exitError) Unwrap() error { return e.err }

// run runs the command args name and returns the exit status. Each error
// is printed once, on stderr; help and the version go to stdout.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	where, err := dispatch(ctx, args, stdout, stderr)
	if err == nil {
		return exitOK
	}
	prefix := strings.TrimSpace("packhub " + where)
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "%s: %s\n", prefix, ue.msg)
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", prefix)
		return exitUsage
	}
	fmt.Fprintf(stderr, "%s: %v\n", prefix, err)
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitFailed
}

func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}

// dispatch finds the command args name and runs it. It returns how far
// the command line named a command ("" for none, "admin" for a group,
// "admin user create" for a command), for the error message.
func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) (string, error) {
	if len(args) == 0 {
		writeOverview(stderr)
		return "", usagef("no command given")
	}
	switch args[0] {
	case "-h", "-help", "--help":
		writeOverview(stdout)
		return "", nil
	case "help":
		// "packhub help admin user create" is "packhub admin user create --help".
		if len(args) == 1 {
			writeOverview(stdout)
			return "", nil
		}
		return dispatch(ctx, append(args[1:], "--help"), stdout, stderr)
	case "-version", "--version", "version":
		if len(args) > 1 {
			return "", usagef("--version takes no arguments")
		}
		fmt.Fprintf(stdout, "packhub %s\n", versionString(version, debug.ReadBuildInfo))
		return "", nil
	}
	words := commandWords(args)
	for n := len(words); n > 0; n-- {
		if c := lookup(strings.Join(words[:n], " ")); c != nil {
			return c.name, c.execute(ctx, args[n:], stdout)
		}
	}
	// Not a command: a group ("admin", "admin user") or a mistake.
	group := ""
	n := 0
	for n < len(words) && isGroup(strings.Join(words[:n+1], " ")) {
		n++
		group = strings.Join(words[:n], " ")
	}
	if group == "" {
		return "", usagef("unknown command %q", args[0])
	}
	rest := args[n:]
	switch {
	case len(rest) > 0 && isHelp(rest[0]):
		writeGroup(stdout, group)
		return group, nil
	case len(rest) == 0:
		writeGroup(stderr, group)
		return group, usagef("needs a command")
	}
	return group, usagef("unknown command %q", group+" "+rest[0])
}

// commandWords returns the leading arguments that may name a command:
// those before the first flag, at most as many as the longest name has.
func commandWords(args []string) []string {
	var words []string
	for _, a := range args {
		if strings.HasPrefix(a, "-") || len(words) == maxCommandWords {
			break
		}
		words = append(words, a)
	}
	return words
}

// versionString is the version set at build time, else the main module's
// version recorded by the Go toolchain, else "dev".
func versionString(set string, buildInfo func() (*debug.BuildInfo, bool)) string {
	if set != "" {
		return set
	}
	if bi, ok := buildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// execute parses a command's flags and arguments, loads the configuration
// and runs it.
func (c *cmd) execute(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("packhub "+c.name, flag.ContinueOnError)
	// Errors are printed once, by run; help is printed by writeHelp.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	inv := &invocation{cfg: config.Defaults(), stdout: stdout}
	loader := config.Bind(fs, &inv.cfg, c.kind != serveCmd)
	var fn cmdFunc
	if c.setup != nil {
		fn = c.setup(fs)
	}
	pos, err := config.ParseArgs(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		writeHelp(stdout, c, fs)
		return nil
	}
	if err != nil {
		return usageError{err.Error()}
	}
	if len(pos) != len(c.args) {
		if len(c.args) == 0 {
			return usagef("takes no arguments, got %q", pos)
		}
		return usagef("expected %s, got %q", strings.Join(c.args, " "), pos)
	}
	inv.args = pos
	if err := loader.Finish(os.Getenv); err != nil {
		return usagef("configuration:\n  %s", strings.ReplaceAll(err.Error(), "\n", "\n  "))
	}
	defer inv.close()
	return fn(ctx, inv)
}

// invocation is a parsed command line: the configuration, the positional
// arguments and, once opened, the storage.
type invocation struct {
	cfg     config.Config
	args    []string
	stdout  io.Writer
	storage *server.Storage
}

// openStorage opens the configured storage; it is closed when the command
// ends. Commands check their flags first, so that a usage error never
// waits for the database.
func (inv *invocation) openStorage(ctx context.Context) (*server.Storage, error) {
	if inv.storage == nil {
		st, err := server.OpenStorage(ctx, inv.cfg, server.NewLogger(inv.cfg, os.Stderr))
		if err != nil {
			return nil, err
		}
		inv.storage = st
	}
	return inv.storage, nil
}

func (inv *invocation) close() {
	if inv.storage != nil {
		if err := inv.storage.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "packhub: close storage: %v\n", err)
		}
	}
}
