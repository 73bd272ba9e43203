package main

import (
	"bytes"
	"context"
	"runtime/debug"
	"strings"
	"testing"
)

func runArgs(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), code
}

// TestHelpEveryCommand: --help (and -h, and "packhub help …") on every
// command of the table prints its usage on stdout and exits 0, and the
// overview lists every command.
func TestHelpEveryCommand(t *testing.T) {
	overview, stderr, code := runArgs(t, "--help")
	if code != exitOK || stderr != "" {
		t.Fatalf("--help: exit %d, stderr %q", code, stderr)
	}
	for _, c := range commands {
		if !strings.Contains(overview, "packhub "+c.usage()+"\n") {
			t.Errorf("overview does not list %q:\n%s", c.usage(), overview)
		}
		for _, args := range [][]string{
			append(strings.Fields(c.name), "--help"),
			append(strings.Fields(c.name), "-h"),
			append([]string{"help"}, strings.Fields(c.name)...),
		} {
			stdout, stderr, code := runArgs(t, args...)
			if code != exitOK || stderr != "" || !strings.HasPrefix(stdout, "Usage: packhub "+c.usage()) {
				t.Errorf("%q: exit %d\nstdout: %s\nstderr: %s", args, code, stdout, stderr)
			}
			if !strings.Contains(stdout, "--data-dir") {
				t.Errorf("%q: settings not listed:\n%s", args, stdout)
			}
		}
	}
	for _, args := range [][]string{{"-h"}, {"help"}} {
		if stdout, _, code := runArgs(t, args...); code != exitOK || stdout != overview {
			t.Errorf("%q: exit %d, output differs from --help", args, code)
		}
	}
}

// TestHelpGroups: a group of commands lists its commands.
func TestHelpGroups(t *testing.T) {
	for _, group := range []string{"admin", "admin user", "admin org", "admin repo", "admin token"} {
		stdout, stderr, code := runArgs(t, append(strings.Fields(group), "--help")...)
		if code != exitOK || stderr != "" {
			t.Fatalf("%s --help: exit %d, stderr %q", group, code, stderr)
		}
		n := 0
		for _, c := range commands {
			if strings.HasPrefix(c.name, group+" ") {
				n++
				if !strings.Contains(stdout, "packhub "+c.usage()) {
					t.Errorf("%s --help does not list %s:\n%s", group, c.name, stdout)
				}
			} else if strings.Contains(stdout, "packhub "+c.name+" ") || strings.Contains(stdout, "packhub "+c.name+"\n") {
				t.Errorf("%s --help lists %s", group, c.name)
			}
		}
		if n == 0 {
			t.Errorf("group %s has no commands", group)
		}
	}
}

// TestUsageErrors: every mistake in the command line exits 2 and prints
// its error once, on stderr, with a pointer to the help.
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
		hint string
	}{
		{nil, "packhub: no command given", "packhub --help"},
		{[]string{"frobnicate"}, `packhub: unknown command "frobnicate"`, "packhub --help"},
		{[]string{"admin"}, "packhub admin: needs a command", "packhub admin --help"},
		{[]string{"admin", "user", "frob"}, `packhub admin user: unknown command "admin user frob"`, "packhub admin user --help"},
		{[]string{"admin", "user", "create", "--sit-admin", "bob"}, "packhub admin user create: flag provided but not defined: -sit-admin", "packhub admin user create --help"},
		{[]string{"admin", "user", "create"}, "packhub admin user create: expected LOGIN, got []", "packhub admin user create --help"},
		{[]string{"admin", "org", "create", "acme"}, "--admin USER is required", "packhub admin org create --help"},
		{[]string{"admin", "org", "add-member", "acme", "bob", "--role", "owner"}, `--role must be member or admin, got "owner"`, ""},
		{[]string{"admin", "repo", "add-collaborator", "a/b", "bob", "--role", "owner"}, `--role must be read, write or admin, got "owner"`, ""},
		{[]string{"admin", "repo", "create", "a/b", "--visibility", "secret"}, `--visibility must be public, private or internal`, ""},
		{[]string{"admin", "token", "create", "--user", "bob", "--scopes", "read:packages,admin:org"}, `unknown scope "admin:org"`, ""},
		{[]string{"admin", "token", "create", "--user", "bob", "--expires-in", "soon"}, `invalid value "soon" for flag -expires-in`, ""},
		{[]string{"gc", "extra"}, `packhub gc: takes no arguments, got ["extra"]`, "packhub gc --help"},
		{[]string{"serve", "--addr"}, "flag needs an argument: -addr", "packhub serve --help"},
		{[]string{"migrate", "--addr", "127.0.0.1:1"}, "flag provided but not defined: -addr", ""},
		{[]string{"serve", "--log-level", "loud", "--addr", "nope"}, "packhub serve: configuration:", ""},
		{[]string{"--version", "extra"}, "--version takes no arguments", ""},
		{[]string{"serve", "--database", "postgres://127.0.0.1:1/packhub", "--blob-store", "s3://blobs"}, "token-key must be set", "packhub serve --help"},
	}
	for _, tt := range tests {
		stdout, stderr, code := runArgs(t, tt.args...)
		if code != exitUsage {
			t.Errorf("%q: exit %d, want %d\nstderr: %s", tt.args, code, exitUsage, stderr)
		}
		if strings.Count(stderr, tt.want) != 1 {
			t.Errorf("%q: stderr does not hold %q exactly once:\n%s", tt.args, tt.want, stderr)
		}
		if tt.hint != "" && !strings.Contains(stderr, "Run '"+tt.hint+"' for usage.") {
			t.Errorf("%q: no hint %q:\n%s", tt.args, tt.hint, stderr)
		}
		if len(tt.args) > 0 && stdout != "" {
			t.Errorf("%q: stdout %q", tt.args, stdout)
		}
	}
	// Every problem of the configuration at once.
	_, stderr, _ := runArgs(t, "serve", "--log-level", "loud", "--addr", "nope", "--restore-window", "soon")
	for _, want := range []string{"log-level", "addr \"nope\"", "--restore-window"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("configuration errors: %q missing:\n%s", want, stderr)
		}
	}
}

func TestVersionString(t *testing.T) {
	info := func(v string) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) { return &debug.BuildInfo{Main: debug.Module{Version: v}}, true }
	}
	none := func() (*debug.BuildInfo, bool) { return nil, false }
	tests := []struct {
		set  string
		bi   func() (*debug.BuildInfo, bool)
		want string
	}{
		{"1.2.3", info("v0.9.0"), "1.2.3"},
		{"", info("v0.9.0"), "v0.9.0"},
		{"", info("(devel)"), "dev"},
		{"", info(""), "dev"},
		{"", none, "dev"},
	}
	for _, tt := range tests {
		if got := versionString(tt.set, tt.bi); got != tt.want {
			t.Errorf("versionString(%q) = %q, want %q", tt.set, got, tt.want)
		}
	}
	stdout, stderr, code := runArgs(t, "--version")
	if code != exitOK || stderr != "" || !strings.HasPrefix(stdout, "packhub ") || strings.Count(stdout, "\n") != 1 {
		t.Fatalf("--version: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// TestCommandTable: names are unique, no command is also a group, and no
// name is longer than the dispatcher looks.
func TestCommandTable(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range commands {
		if seen[c.name] {
			t.Errorf("%s twice", c.name)
		}
		seen[c.name] = true
		if isGroup(c.name) {
			t.Errorf("%s is a command and a group", c.name)
		}
		if n := len(strings.Fields(c.name)); n > maxCommandWords {
			t.Errorf("%s has %d words, more than %d", c.name, n, maxCommandWords)
		}
		if c.summary == "" || c.setup == nil {
			t.Errorf("%s has no summary or no setup", c.name)
		}
	}
}
