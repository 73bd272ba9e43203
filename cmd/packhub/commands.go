package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/packhub/packhub/internal/jobs"
	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/server"
)

// cmdKind says which settings a command takes.
type cmdKind int

const (
	storageCmd cmdKind = iota // the storage settings; works while the server runs
	serveCmd                  // every setting
)

// cmdFunc runs a command once its flags, arguments and configuration are
// parsed.
type cmdFunc func(ctx context.Context, inv *invocation) error

// cmd is one command: a row of the command table.
type cmd struct {
	name     string   // the words after "packhub", e.g. "admin user create"
	args     []string // its positional arguments, e.g. "ORG", "USER"
	synopsis string   // its main flags, for the usage line
	summary  string   // one line, for packhub --help
	help     string   // more, for packhub NAME --help; may be empty
	kind     cmdKind
	// setup binds the command's own flags on fs and returns the function
	// that runs it with their values.
	setup func(fs *flag.FlagSet) cmdFunc
}

// usage is the command's usage line, without "packhub ".
func (c *cmd) usage() string {
	parts := append([]string{c.name}, c.args...)
	if c.synopsis != "" {
		parts = append(parts, c.synopsis)
	}
	return strings.Join(parts, " ")
}

// maxCommandWords is the most words a command name has.
const maxCommandWords = 3

// commands lists every command, in the order help shows them.
var commands = []*cmd{
	{
		name:    "serve",
		summary: "start the registry",
		help: "Serves the REST API, the OCI container registry and the npm registry on --addr, and the\n" +
			"legacy docker registry on --docker-addr when set, until interrupted. With --tls-cert and\n" +
			"--tls-key every listener speaks HTTPS.",
		kind:  serveCmd,
		setup: serveSetup,
	},
	{
		name:     "admin user create",
		args:     []string{"LOGIN"},
		synopsis: "[--site-admin]",
		summary:  "create a user",
		setup:    userCreateSetup,
	},
	{
		name:     "admin org create",
		args:     []string{"LOGIN"},
		synopsis: "--admin USER",
		summary:  "create an organization with its first admin",
		setup:    orgCreateSetup,
	},
	{
		name:     "admin org add-member",
		args:     []string{"ORG", "USER"},
		synopsis: "[--role member|admin]",
		summary:  "add a member to an organization, or change a member's role",
		setup:    orgAddMemberSetup,
	},
	{
		name:    "admin org remove-member",
		args:    []string{"ORG", "USER"},
		summary: "remove a member from an organization, with the grants it gave on its packages and repositories",
		help: "The member loses access to the organization's private and internal packages at once,\n" +
			"registry bearer tokens included.",
		setup: orgRemoveMemberSetup,
	},
	{
		name:     "admin repo create",
		args:     []string{"OWNER/NAME"},
		synopsis: "[--visibility public|private|internal]",
		summary:  "create a repository, which repository-scoped packages follow",
		setup:    repoCreateSetup,
	},
	{
		name:     "admin repo add-collaborator",
		args:     []string{"OWNER/NAME", "USER"},
		synopsis: "[--role read|write|admin]",
		summary:  "give a user a role on a repository",
		setup:    repoAddCollaboratorSetup,
	},
	{
		name:     "admin token create",
		synopsis: "--user LOGIN --scopes SCOPES [--note TEXT] [--expires-in DURATION]",
		summary:  "create a personal access token; prints only the token",
		help:     "SCOPES is a comma-separated list of: " + strings.Join(packages.KnownScopes, ", ") + ".",
		setup:    tokenCreateSetup,
	},
	{
		name:     "admin token list",
		synopsis: "--user LOGIN",
		summary:  "list a user's tokens: id, note, scopes, created, expiry, last use, state (no secrets)",
		setup:    tokenListSetup,
	},
	{
		name:    "admin token revoke",
		args:    []string{"ID"},
		summary: "revoke a token; it and every registry bearer token minted from it stop working at once",
		setup:   tokenRevokeSetup,
	},
	{
		name:     "gc",
		synopsis: "[--dry-run]",
		summary:  "purge what was deleted past the restore window, free unused blobs",
		setup:    gcSetup,
	},
	{
		name:     "fsck",
		synopsis: "[--repair]",
		summary:  "check every blob, file, manifest, link and counter; exit 0 when clean, 1 with problems, 2 on error",
		help: "Reads every blob and compares it with its digest, size and checksums; checks every file,\n" +
			"manifest and blob link against the blobs it needs, and the kept counters against the rows.\n" +
			"Works while the server runs. --repair records what can be recovered, recounts counters,\n" +
			"removes what nothing refers to (once older than the grace period) and removes the files\n" +
			"whose bytes are lost; a second run is then clean. Progress goes to standard error (a bar\n" +
			"on a terminal), the report to standard output.",
		setup: fsckSetup,
	},
	{
		name:    "migrate",
		summary: "apply database migrations and exit",
		setup:   migrateSetup,
	},
	{
		name:     "migrate-storage",
		synopsis: "--to-database URL --to-blob-store URL [--jobs N] [--progress DURATION]",
		summary:  "copy the installation to another database and blob store (PostgreSQL and S3), and verify the copy",
		help:     migrateStorageHelp,
		setup:    migrateStorageSetup,
	},
}

// lookup returns the command named name, or nil.
func lookup(name string) *cmd {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// isGroup reports whether name is the first words of some command's name
// but not a command itself: "admin", "admin user".
func isGroup(name string) bool {
	for _, c := range commands {
		if strings.HasPrefix(c.name, name+" ") {
			return true
		}
	}
	return false
}

func serveSetup(fs *flag.FlagSet) cmdFunc {
	return func(ctx context.Context, inv *invocation) error {
		logger := server.NewLogger(inv.cfg, os.Stderr)
		st, err := inv.openStorage(ctx)
		if err != nil {
			return err
		}
		srv, err := server.New(inv.cfg, st, logger)
		if err != nil {
			return err
		}
		return srv.Run(ctx)
	}
}

func userCreateSetup(fs *flag.FlagSet) cmdFunc {
	siteAdmin := fs.Bool("site-admin", false, "make the user a site administrator")
	return func(ctx context.Context, inv *invocation) error {
		st, err := inv.openStorage(ctx)
		if err != nil {
			return err
		}
		u, err := st.Service.CreateUser(ctx, inv.args[0], *siteAdmin)
		if err != nil {
			return err
		}
		fmt.Fprintf(inv.stdout, "created user %s (id %d)\n", u.Login, u.ID)
		return nil
	}
}

func orgCreateSetup(fs *flag.FlagSet) cmdFunc {
	admin := fs.String("admin", "", "the organization's first admin (required)")
	return func(ctx context.Context, inv *invocation) error {
		if *admin == "" {
			return usagef("--admin USER is required")
		}
		st, err := inv.openStorage(ctx)
		if err != nil {
			return err
		}
		o, err := st.Service.CreateOrg(ctx, inv.args[0], *admin)
		if err != nil {
			return err
		}
		fmt.Fprintf(inv.stdout, "created organization %s (id %d)\n", o.Login, o.ID)
		return nil
	}
}

func orgAddMemberSetup(fs *flag.FlagSet) cmdFunc {
	role := fs.String("role", string(packages.OrgMember), "member or admin")
	return func(ctx context.Context, inv *invocation) error {
		r := packages.OrgRole(*role)
		if r != packages.OrgMember && r != packages.OrgAdmin {
			return usagef("--role must be member or admin, got %q", *role)
		}
		st, err := inv.openStorage(ctx)
		if err != nil {
			return err
		}
		org, user := inv.args[0], inv.args[1]
		if err := st.Service.AddOrgMember(ctx, org, user, r); err != nil {
			return err
		}
		fmt.Fprintf(inv.stdout, "%s is now %s of %s\n", user, r, org)
		return nil
	}
}

func orgRemoveMemberSetup(*flag.FlagSet) cmdFunc {
	return func(ctx context.Context, inv *invocation) error {
		st, err := inv.openStorage(ctx)
		if err != nil {
			return err
		}
		org, user := inv.args[0], inv.args[1]
		if err := st.Service.RemoveOrgMember(ctx, org, user); err != nil {
			return err
		}
		fmt.Fprintf(inv.stdout, "%s is no longer a member of %s\n", user, org)
		return nil
	}
}

func tokenListSetup(fs *flag.FlagSet) cmdFunc {
	user := fs.String("user", "", "the user whose tokens to list (required)")
	return func(ctx context.Context, inv *invocation) error {
		if *user == "" {
			return usagef("--user LOGIN is required")
		}
		st, err := inv.openStorage(ctx)
		if err != nil {
			return err
		}
		tokens, err := st.Service.ListTokens(ctx, *user)
		if err != nil {
			return err
		}
		return writeTokens(inv.stdout, tokens, time.Now())
	}
}

func tokenRevokeSetup(*flag.FlagSet) cmdFunc {
	return func(ctx context.Context, inv *invocation) error {
		id, err := strconv.ParseInt(inv.args[0], 10, 64)
		if err != nil || id <= 0 {
			return usagef("token ID must be a positive number, got %q", inv.args[0])
		}
		st, err := inv.openStorage(ctx)
		if err != nil {
			return err
		}
		t, u, err := st.Service.RevokeToken(ctx, id)
		if err != nil {
			return err
		}
		fmt.Fprintf(inv.stdout, "revoked token %d of %s (revoked at %s)\n", t.ID, u.Login, t.RevokedAt.Format(time.RFC3339))
		return nil
	}
}

// writeTokens prints a table of tokens, one line each: id, note, scopes,
// creation, expiry, last use and state at now. No secret is stored, so none
// is printed.
func writeTokens(w io.Writer, tokens []packages.Token, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNOTE\tSCOPES\tCREATED\tEXPIRES\tLAST USED\tSTATE")
	for _, t := range tokens {
		scopes := strings.Join(t.Scopes, ",")
		if scopes == "" {
			scopes = "-"
		}
		state := "active"
		switch {
		case t.RevokedAt != nil:
			state = "revoked " + timeOr(t.RevokedAt, "")
		case !t.Usable(now):
			state = "expired"
		}
		fmt.Fprintf(tw, "%d\t%q\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Note, scopes,
			t.CreatedAt.UTC().Format(time.RFC3339), timeOr(t.ExpiresAt, "never"), timeOr(t.LastUsedAt, "never"), state)
	}
	return tw.Flush()
}

// timeOr formats an optional time, or returns none.
func timeOr(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return t.UTC().Format(time.RFC3339)
}

func repoCreateSetup(fs *flag.FlagSet) cmdFunc {
	vis := fs.String("visibility", string(packages.Public), "public, private or internal")
	return func(ctx context.Context, inv *invocation) error {
		v, ok := packages.ParseVisibility(*vis)
		if !ok {
			return usagef("--visibility must be public, private or internal, got %q", *vis)
		}
		st, err := inv.openStorage(ctx)
		if err != nil {
			return err
		}
		r, err := st.Service.CreateRepository(ctx, inv.args[0], v)
		if err != nil {
			return err
		}
		fmt.Fprintf(inv.stdout, "created repository %s (id %d, %s)\n", inv.args[0], r.ID, r.Visibility)
		return nil
	}
}

func repoAddCollaboratorSetup(fs *flag.FlagSet) cmdFunc {
	role := fs.String("role", "write", "read, write or admin")
	return func(ctx context.Context, inv *invocation) error {
		r, ok := packages.ParseRole(*role)
		if !ok {
			return usagef("--role must be read, write or admin, got %q", *role)
		}
		st, err := inv.openStorage(ctx)
		if err != nil {
			return err
		}
		repo, user := inv.args[0], inv.args[1]
		if err := st.Service.AddCollaborator(ctx, repo, user, r); err != nil {
			return err
		}
		fmt.Fprintf(inv.stdout, "%s has %s on %s\n", user, *role, repo)
		return nil
	}
}

func tokenCreateSetup(fs *flag.FlagSet) cmdFunc {
	user := fs.String("user", "", "the user the token acts as (required)")
	scopes := fs.String("scopes", "", "comma-separated scopes: "+strings.Join(packages.KnownScopes, ","))
	note := fs.String("note", "", "what the token is for")
	expiresIn := fs.Duration("expires-in", 0, "lifetime, e.g. 720h (default: no expiry)")
	return func(ctx context.Context, inv *invocation) error {
		if *user == "" {
			return usagef("--user LOGIN is required")
		}
		if *expiresIn < 0 {
			return usagef("--expires-in must be positive")
		}
		list := strings.Split(*scopes, ",")
		for _, s := range list {
			if s = strings.TrimSpace(s); s != "" && !packages.ValidScope(s) {
				return usagef("unknown scope %q in --scopes (known: %s)", s, strings.Join(packages.KnownScopes, ", "))
			}
		}
		st, err := inv.openStorage(ctx)
		if err != nil {
			return err
		}
		tok, _, err := st.Service.CreateToken(ctx, *user, list, *note, *expiresIn)
		if err != nil {
			return err
		}
		fmt.Fprintln(inv.stdout, tok)
		return nil
	}
}

func gcSetup(fs *flag.FlagSet) cmdFunc {
	dryRun := fs.Bool("dry-run", false, "report what would be removed, remove nothing")
	return func(ctx context.Context, inv *invocation) error {
		st, err := inv.openStorage(ctx)
		if err != nil {
			return err
		}
		logger := server.NewLogger(inv.cfg, os.Stderr)
		rep, err := jobs.NewRunner(st.Service, logger).RunOnce(ctx, *dryRun)
		if err != nil {
			return err
		}
		verb := "removed"
		if *dryRun {
			verb = "would remove"
		}
		out := inv.stdout
		for _, p := range rep.Packages {
			fmt.Fprintf(out, "%s package %d %s/%s (deleted %s)\n", verb, p.ID, p.Type, p.Name, p.DeletedAt.Format(time.RFC3339))
		}
		for _, v := range rep.Versions {
			fmt.Fprintf(out, "%s version %d %s of package %d (deleted %s)\n", verb, v.ID, v.Name, v.PackageID, v.DeletedAt.Format(time.RFC3339))
		}
		var freed int64
		for _, b := range rep.Blobs {
			fmt.Fprintf(out, "%s blob %s (%d bytes)\n", verb, b.Digest, b.Size)
			freed += b.Size
		}
		fmt.Fprintf(out, "%s %d packages, %d versions, %d blobs (%d bytes), %d pending blobs, %d upload sessions\n",
			verb, len(rep.Packages), len(rep.Versions), len(rep.Blobs), freed, rep.Pending, rep.Uploads)
		fmt.Fprintf(out, "%s %d temporary files of unfinished uploads (%d bytes); %d younger than the grace period (%d bytes) stay\n",
			verb, rep.Temp.Stale, rep.Temp.StaleBytes, rep.Temp.Fresh, rep.Temp.FreshBytes)
		fill := "filled in"
		if *dryRun {
			fill = "would fill in"
		}
		fmt.Fprintf(out, "%s the checksums of %d blobs recorded without them\n", fill, rep.Summed)
		return nil
	}
}

func migrateSetup(fs *flag.FlagSet) cmdFunc {
	return func(ctx context.Context, inv *invocation) error {
		if _, err := inv.openStorage(ctx); err != nil {
			return err
		}
		fmt.Fprintln(inv.stdout, "database is up to date")
		return nil
	}
}
