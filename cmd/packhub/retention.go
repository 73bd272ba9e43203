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

// retentionHelp explains the rules, for packhub admin retention add --help.
const retentionHelp = "The delete rules a policy sets (--older-than, --untagged, --remove) select the versions that\n" +
	"match all of them; --keep-newest alone selects every version. Of those, the --keep-newest newest,\n" +
	"those matching --keep, what a kept version needs (an image index's platforms, its signatures),\n" +
	"public versions with more than 5000 downloads and what the type's last-version rule keeps (the last\n" +
	"version; for containers the last tagged one) stay; the rest is deleted as an administrator's\n" +
	"delete would be, restorable for the restore window. --keep-builds N (Maven) deletes the files of\n" +
	"all but the newest N builds of each SNAPSHOT version: those cannot be restored.\n" +
	"PATTERN is a glob (* any text, ? one character, [a-z], [!a-z], \\ escapes) matching the whole name\n" +
	"or tag, or re:EXPR, a regular expression (RE2) matching anywhere unless anchored. AGE is 30d or a\n" +
	"duration such as 36h."

func retentionAddSetup(fs *flag.FlagSet) cmdFunc {
	owner := fs.String("owner", "", "the user or organization whose packages the policy covers (required)")
	typ := fs.String("type", "", "the package type: npm, maven, rubygems, docker, nuget or container (required)")
	name := fs.String("name", "", "a PATTERN of the package names it covers (default: every package of the type)")
	keepNewest := fs.Int("keep-newest", 0, "keep the N newest versions (by version order where the type has one, else by publication)")
	olderThan := fs.String("older-than", "", "delete versions published longer than AGE ago")
	untagged := fs.Bool("untagged", false, "delete versions without a tag (container tags, npm dist-tags)")
	keep := fs.String("keep", "", "keep versions whose name or a tag matches PATTERN")
	remove := fs.String("remove", "", "delete versions whose name or a tag matches PATTERN")
	keepBuilds := fs.Int("keep-builds", 0, "keep the N newest builds of each Maven SNAPSHOT version, delete the others' files")
	return func(ctx context.Context, inv *invocation) error {
		if *owner == "" || *typ == "" {
			return usagef("--owner LOGIN and --type TYPE are required")
		}
		p := packages.RetentionPolicy{Type: packages.Type(*typ), Name: *name, KeepNewest: *keepNewest, Untagged: *untagged,
			KeepPattern: *keep, RemovePattern: *remove, KeepBuilds: *keepBuilds}
		if *olderThan != "" {
			d, err := packages.ParseAge(*olderThan)
			if err != nil {
				return usagef("--older-than: %s", packages.PublicMessage(err, err.Error()))
			}
			p.OlderThan = d
		}
		st, err := inv.openStorage(ctx)
		if err != nil {
			return err
		}
		added, err := st.Service.AdminAddRetentionPolicy(ctx, *owner, p)
		if err != nil {
			return err
		}
		fmt.Fprintf(inv.stdout, "added retention policy %d for %s packages of %s: %s\n", added.ID, added.Type, *owner, describeRules(added))
		return nil
	}
}

func retentionListSetup(fs *flag.FlagSet) cmdFunc {
	owner := fs.String("owner", "", "list only this owner's policies")
	return func(ctx context.Context, inv *invocation) error {
		st, err := inv.openStorage(ctx)
		if err != nil {
			return err
		}
		ps, err := st.Service.AdminRetentionPolicies(ctx, *owner)
		if err != nil {
			return err
		}
		return writePolicies(ctx, inv.stdout, st.Service, ps)
	}
}

func retentionRemoveSetup(*flag.FlagSet) cmdFunc {
	return func(ctx context.Context, inv *invocation) error {
		id, err := strconv.ParseInt(inv.args[0], 10, 64)
		if err != nil || id <= 0 {
			return usagef("policy ID must be a positive number, got %q", inv.args[0])
		}
		st, err := inv.openStorage(ctx)
		if err != nil {
			return err
		}
		if err := st.Service.AdminRemoveRetentionPolicy(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(inv.stdout, "removed retention policy %d\n", id)
		return nil
	}
}

func retentionRunSetup(fs *flag.FlagSet) cmdFunc {
	dryRun := fs.Bool("dry-run", false, "list what would be deleted, delete nothing")
	owner := fs.String("owner", "", "apply only this owner's policies")
	return func(ctx context.Context, inv *invocation) error {
		st, err := inv.openStorage(ctx)
		if err != nil {
			return err
		}
		rep, err := jobs.NewRetention(st.Service, server.NewLogger(inv.cfg, os.Stderr)).RunOnce(ctx, *owner, *dryRun)
		if err != nil {
			return err
		}
		writeRetentionReport(inv.stdout, rep)
		if len(rep.Errors) > 0 {
			return fmt.Errorf("%d packages could not be handled", len(rep.Errors))
		}
		return nil
	}
}

// describeRules writes a policy's rules as its flags.
func describeRules(p *packages.RetentionPolicy) string {
	var r []string
	if p.Name != "" {
		r = append(r, "name="+p.Name)
	}
	if p.KeepNewest > 0 {
		r = append(r, "keep-newest="+strconv.Itoa(p.KeepNewest))
	}
	if p.OlderThan > 0 {
		r = append(r, "older-than="+packages.FormatAge(p.OlderThan))
	}
	if p.Untagged {
		r = append(r, "untagged")
	}
	if p.KeepPattern != "" {
		r = append(r, "keep="+p.KeepPattern)
	}
	if p.RemovePattern != "" {
		r = append(r, "remove="+p.RemovePattern)
	}
	if p.KeepBuilds > 0 {
		r = append(r, "keep-builds="+strconv.Itoa(p.KeepBuilds))
	}
	return strings.Join(r, " ")
}

// writePolicies prints a table of policies.
func writePolicies(ctx context.Context, w io.Writer, svc *packages.Service, ps []packages.RetentionPolicy) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tOWNER\tTYPE\tRULES\tCREATED")
	logins := map[int64]string{}
	for i := range ps {
		p := &ps[i]
		login, ok := logins[p.OwnerID]
		if !ok {
			login = strconv.FormatInt(p.OwnerID, 10)
			if o, err := svc.OwnerByID(ctx, p.OwnerID); err == nil {
				login = o.Login
			}
			logins[p.OwnerID] = login
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", p.ID, login, p.Type, describeRules(p), p.CreatedAt.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

// writeRetentionReport prints what a run deleted (or would), what it kept
// of what its rules selected, and the totals.
func writeRetentionReport(w io.Writer, rep *packages.RetentionReport) {
	if rep.Skipped {
		fmt.Fprintln(w, "skipped: another replica holds the retention lock")
		return
	}
	verb := "deleted"
	if rep.DryRun {
		verb = "would delete"
	}
	pkg := func(pi packages.PackageInfo) string {
		return fmt.Sprintf("%s %s/%s", pi.Type, pi.Owner.Login, pi.Name)
	}
	for _, d := range rep.Versions {
		tags := ""
		if len(d.Version.Tags) > 0 {
			tags = " [" + strings.Join(d.Version.Tags, ", ") + "]"
		}
		fmt.Fprintf(w, "%s version %d %s%s of %s (policy %d)\n", verb, d.Version.ID, d.Version.Name, tags, pkg(d.Package), d.PolicyID)
	}
	for _, k := range rep.Kept {
		fmt.Fprintf(w, "kept version %d %s of %s (policy %d): %s\n", k.Version.ID, k.Version.Name, pkg(k.Package), k.PolicyID, k.Reason)
	}
	for _, f := range rep.Files {
		fmt.Fprintf(w, "%s file %s (build %s) of version %s of %s (policy %d)\n", verb, f.File, f.Build, f.Version.Name, pkg(f.Package), f.PolicyID)
	}
	for _, e := range rep.Errors {
		fmt.Fprintf(w, "error: %s\n", e)
	}
	fmt.Fprintf(w, "%s %d versions and %d files; kept %d versions the rules selected; %d policies over %d packages\n",
		verb, len(rep.Versions), len(rep.Files), len(rep.Kept), rep.Policies, rep.Packages)
}
