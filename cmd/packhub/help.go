package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/packhub/packhub/internal/config"
)

const settingsNote = `Settings: serve takes every setting, the other commands the storage ones (--data-dir,
--database, --blob-store, --restore-window, --upload-max-age, logging), and all of them read
the same --config file. Each setting is also an environment variable PACKHUB_<FLAG>, e.g.
PACKHUB_DATA_DIR; a flag wins over the environment, which wins over the file.

Exit status: 0 on success, 1 when the command fails, 2 when the command line or the
configuration is wrong.
`

// writeOverview writes packhub --help: every command of the table.
func writeOverview(w io.Writer) {
	fmt.Fprint(w, "packhub: a self-hosted package registry for container images and npm packages,\n"+
		"with GitHub's REST API for packages\n\nUsage:\n")
	writeCommandList(w, "")
	fmt.Fprint(w, "  packhub --version\n      print the version\n")
	fmt.Fprint(w, "\nRun 'packhub COMMAND --help' for a command's flags.\n\n")
	fmt.Fprint(w, settingsNote)
}

// writeGroup writes the commands whose names start with group, for
// packhub admin --help and the like.
func writeGroup(w io.Writer, group string) {
	fmt.Fprintf(w, "Usage:\n")
	writeCommandList(w, group)
	fmt.Fprint(w, "\nRun 'packhub COMMAND --help' for a command's flags.\n")
}

func writeCommandList(w io.Writer, group string) {
	for _, c := range commands {
		if group != "" && !strings.HasPrefix(c.name, group+" ") {
			continue
		}
		fmt.Fprintf(w, "  packhub %s\n      %s\n", c.usage(), c.summary)
	}
}

// writeHelp writes packhub NAME --help: the usage line, the description,
// the command's own flags, then the settings it takes.
func writeHelp(w io.Writer, c *cmd, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: packhub %s [flags]\n\n%s.\n", c.usage(), upperFirst(c.summary))
	if c.help != "" {
		fmt.Fprintf(w, "\n%s\n", c.help)
	}
	var own, settings []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) {
		if config.IsSetting(f.Name) {
			settings = append(settings, f)
		} else {
			own = append(own, f)
		}
	})
	if len(own) > 0 {
		fmt.Fprint(w, "\nFlags:\n")
		writeFlags(w, own)
	}
	fmt.Fprint(w, "\nSettings (also PACKHUB_<FLAG> environment variables and --config file keys):\n")
	writeFlags(w, settings)
}

func writeFlags(w io.Writer, flags []*flag.Flag) {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	for _, f := range flags {
		name := "--" + f.Name
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !b.IsBoolFlag() {
			name += " " + placeholder(f)
		}
		usage := f.Usage
		switch f.DefValue {
		case "", "0", "0s", "false":
		default:
			usage += " (default " + f.DefValue + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\n", name, usage)
	}
	tw.Flush()
}

// placeholder names a flag's value in help.
func placeholder(f *flag.Flag) string {
	if p, ok := f.Value.(interface{ Placeholder() string }); ok {
		return p.Placeholder()
	}
	if f.Name == "config" {
		return "FILE"
	}
	switch kind, _ := flag.UnquoteUsage(f); kind {
	case "duration":
		return "DURATION"
	case "string":
		return "TEXT"
	}
	return "VALUE"
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
