// Command packhub is a self-hosted package registry: container images, npm,
// Maven, RubyGems and NuGet packages, with GitHub's REST API for packages.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/packhub/packhub/internal/config"
	"github.com/packhub/packhub/internal/jobs"
	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/server"
)

const usage = `packhub: a self-hosted package registry

Usage:
  packhub serve [flags]                 start the registry
  packhub admin user create LOGIN [--site-admin]
  packhub admin org create LOGIN --admin USER
  packhub admin org add-member ORG USER [--role member|admin]
  packhub admin repo create OWNER/NAME [--visibility public|private|internal]
  packhub admin token create --user LOGIN --scopes SCOPES [--note TEXT] [--expires-in DURATION]
  packhub gc [--dry-run]                purge what was deleted past the restore window, free blobs
  packhub migrate                       apply database migrations and exit

Every command takes the storage flags (--data-dir, --database, --blob-store);
run "packhub serve -h" for all flags. Each flag is also an environment
variable PACKHUB_<FLAG>, e.g. PACKHUB_ADDR.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "packhub:", err)
		}
		os.Exit(exitCode(err))
	}
}

// usageError marks errors in how the command was called.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func exitCode(err error) int {
	var ue usageError
	if errors.As(err, &ue) || errors.Is(err, flag.ErrHelp) {
		return 2
	}
	return 1
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{"no command given"}
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stderr)
	case "admin":
		return admin(ctx, args[1:], stdout, stderr)
	case "gc":
		return gc(ctx, args[1:], stdout, stderr)
	case "migrate":
		return migrate(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageError{fmt.Sprintf("unknown command %q", args[0])}
}

// command is a parsed invocation: its configuration and positional
// arguments.
type command struct {
	cfg  config.Config
	args []string
}

// parse binds the config flags (all of them, or only the storage ones) and
// extra flags set up by extra, then parses args.
func parse(name string, args []string, storageOnly bool, stderr io.Writer, extra func(fs *flag.FlagSet)) (*command, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &command{cfg: config.Defaults()}
	loader := config.Bind(fs, &c.cfg, storageOnly)
	if extra != nil {
		extra(fs)
	}
	pos, err := config.ParseArgs(fs, args)
	if err != nil {
		return nil, err
	}
	c.args = pos
	if err := loader.Finish(os.Getenv); err != nil {
		return nil, usageError{fmt.Sprintf("configuration: %v", err)}
	}
	return c, nil
}

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	c, err := parse("packhub serve", args, false, stderr, nil)
	if err != nil {
		return err
	}
	if len(c.args) > 0 {
		return usageError{fmt.Sprintf("serve takes no arguments, got %q", c.args)}
	}
	logger := server.NewLogger(c.cfg, os.Stderr)
	storage, err := server.OpenStorage(ctx, c.cfg, logger)
	if err != nil {
		return err
	}
	defer storage.Close()
	srv, err := server.New(c.cfg, storage, logger)
	if err != nil {
		return err
	}
	return srv.Run(ctx)
}

// withStorage parses a storage-only command, opens the storage and runs fn.
func withStorage(ctx context.Context, name string, args []string, stderr io.Writer, extra func(fs *flag.FlagSet), fn func(c *command, st *server.Storage) error) error {
	c, err := parse(name, args, true, stderr, extra)
	if err != nil {
		return err
	}
	logger := server.NewLogger(c.cfg, os.Stderr)
	st, err := server.OpenStorage(ctx, c.cfg, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(c, st)
}

func wantArgs(c *command, n int, what string) error {
	if len(c.args) != n {
		return usageError{fmt.Sprintf("expected %s, got %q", what, c.args)}
	}
	return nil
}

func admin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return usageError{"admin needs a subject and an action"}
	}
	what, rest := args[0]+" "+args[1], args[2:]
	name := "packhub admin " + what
	switch what {
	case "user create":
		var siteAdmin bool
		return withStorage(ctx, name, rest, stderr, func(fs *flag.FlagSet) {
			fs.BoolVar(&siteAdmin, "site-admin", false, "make the user a site administrator")
		}, func(c *command, st *server.Storage) error {
			if err := wantArgs(c, 1, "LOGIN"); err != nil {
				return err
			}
			u, err := st.Service.CreateUser(ctx, c.args[0], siteAdmin)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "created user %s (id %d)\n", u.Login, u.ID)
			return nil
		})
	case "org create":
		var adminLogin string
		return withStorage(ctx, name, rest, stderr, func(fs *flag.FlagSet) {
			fs.StringVar(&adminLogin, "admin", "", "the organization's first admin (required)")
		}, func(c *command, st *server.Storage) error {
			if err := wantArgs(c, 1, "LOGIN"); err != nil {
				return err
			}
			if adminLogin == "" {
				return usageError{"--admin USER is required"}
			}
			o, err := st.Service.CreateOrg(ctx, c.args[0], adminLogin)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "created organization %s (id %d)\n", o.Login, o.ID)
			return nil
		})
	case "org add-member":
		role := "member"
		return withStorage(ctx, name, rest, stderr, func(fs *flag.FlagSet) {
			fs.StringVar(&role, "role", "member", "member or admin")
		}, func(c *command, st *server.Storage) error {
			if err := wantArgs(c, 2, "ORG USER"); err != nil {
				return err
			}
			if err := st.Service.AddOrgMember(ctx, c.args[0], c.args[1], packages.OrgRole(role)); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s is now %s of %s\n", c.args[1], role, c.args[0])
			return nil
		})
	case "repo create":
		vis := "public"
		return withStorage(ctx, name, rest, stderr, func(fs *flag.FlagSet) {
			fs.StringVar(&vis, "visibility", "public", "public, private or internal")
		}, func(c *command, st *server.Storage) error {
			if err := wantArgs(c, 1, "OWNER/NAME"); err != nil {
				return err
			}
			r, err := st.Service.CreateRepository(ctx, c.args[0], packages.Visibility(vis))
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "created repository %s (id %d, %s)\n", c.args[0], r.ID, r.Visibility)
			return nil
		})
	case "repo add-collaborator":
		role := "write"
		return withStorage(ctx, name, rest, stderr, func(fs *flag.FlagSet) {
			fs.StringVar(&role, "role", "write", "read, write or admin")
		}, func(c *command, st *server.Storage) error {
			if err := wantArgs(c, 2, "OWNER/NAME USER"); err != nil {
				return err
			}
			r, ok := packages.ParseRole(role)
			if !ok {
				return usageError{"--role must be read, write or admin"}
			}
			if err := st.Service.AddCollaborator(ctx, c.args[0], c.args[1], r); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s has %s on %s\n", c.args[1], role, c.args[0])
			return nil
		})
	case "token create":
		var user, scopes, note string
		var expiresIn time.Duration
		return withStorage(ctx, name, rest, stderr, func(fs *flag.FlagSet) {
			fs.StringVar(&user, "user", "", "the user the token acts as (required)")
			fs.StringVar(&scopes, "scopes", "", "comma-separated: read:packages,write:packages,delete:packages,repo")
			fs.StringVar(&note, "note", "", "what the token is for")
			fs.DurationVar(&expiresIn, "expires-in", 0, "lifetime, e.g. 720h (default: no expiry)")
		}, func(c *command, st *server.Storage) error {
			if err := wantArgs(c, 0, "no arguments"); err != nil {
				return err
			}
			if user == "" {
				return usageError{"--user LOGIN is required"}
			}
			if expiresIn < 0 {
				return usageError{"--expires-in must be positive"}
			}
			tok, _, err := st.Service.CreateToken(ctx, user, strings.Split(scopes, ","), note, expiresIn)
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, tok)
			return nil
		})
	}
	fmt.Fprint(stderr, usage)
	return usageError{fmt.Sprintf("unknown admin command %q", what)}
}

func gc(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var dryRun bool
	return withStorage(ctx, "packhub gc", args, stderr, func(fs *flag.FlagSet) {
		fs.BoolVar(&dryRun, "dry-run", false, "report what would be removed, remove nothing")
	}, func(c *command, st *server.Storage) error {
		if err := wantArgs(c, 0, "no arguments"); err != nil {
			return err
		}
		logger := server.NewLogger(c.cfg, os.Stderr)
		rep, err := jobs.NewRunner(st.Service, logger).RunOnce(ctx, dryRun)
		if err != nil {
			return err
		}
		verb := "removed"
		if dryRun {
			verb = "would remove"
		}
		for _, p := range rep.Packages {
			fmt.Fprintf(stdout, "%s package %d %s/%s (deleted %s)\n", verb, p.ID, p.Type, p.Name, p.DeletedAt.Format(time.RFC3339))
		}
		for _, v := range rep.Versions {
			fmt.Fprintf(stdout, "%s version %d %s of package %d (deleted %s)\n", verb, v.ID, v.Name, v.PackageID, v.DeletedAt.Format(time.RFC3339))
		}
		var freed int64
		for _, b := range rep.Blobs {
			fmt.Fprintf(stdout, "%s blob %s (%d bytes)\n", verb, b.Digest, b.Size)
			freed += b.Size
		}
		fmt.Fprintf(stdout, "%s %d packages, %d versions, %d blobs (%d bytes), %d upload sessions\n",
			verb, len(rep.Packages), len(rep.Versions), len(rep.Blobs), freed, rep.Uploads)
		fmt.Fprintf(stdout, "%s %d temporary files of unfinished uploads (%d bytes); %d younger than the grace period (%d bytes) stay\n",
			verb, rep.Temp.Stale, rep.Temp.StaleBytes, rep.Temp.Fresh, rep.Temp.FreshBytes)
		fill := "filled in"
		if dryRun {
			fill = "would fill in"
		}
		fmt.Fprintf(stdout, "%s the checksums of %d blobs recorded without them\n", fill, rep.Summed)
		return nil
	})
}

func migrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return withStorage(ctx, "packhub migrate", args, stderr, nil, func(c *command, st *server.Storage) error {
		fmt.Fprintln(stdout, "database is up to date")
		return nil
	})
}
