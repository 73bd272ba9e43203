package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/packhub/packhub/internal/fsck"
	"github.com/packhub/packhub/internal/registry/oci"
)

// fsck's exit statuses, as the command-line contract names them.
const (
	fsckProblems = 1
	fsckError    = 2
)

func fsckSetup(fs *flag.FlagSet) cmdFunc {
	repair := fs.Bool("repair", false, "repair what is found: see packhub fsck --help")
	return func(ctx context.Context, inv *invocation) error {
		st, err := inv.openStorage(ctx)
		if err != nil {
			return exitError{fsckError, err}
		}
		c, err := fsck.New(st.Store, st.Blobs, fsck.Options{
			References: oci.FileReferences,
			Progress:   newProgress(os.Stderr, isTerminal(os.Stderr)),
		})
		if err != nil {
			return exitError{fsckError, err}
		}
		rep, err := c.Run(ctx, *repair)
		if werr := rep.Write(inv.stdout); werr != nil && err == nil {
			err = werr
		}
		switch {
		case err != nil:
			return exitError{fsckError, err}
		case rep.Clean():
			return nil
		case *repair && rep.Unrepaired() == 0:
			return exitError{fsckProblems, fmt.Errorf("%d problems found and repaired; run it again to confirm", rep.Problems())}
		}
		return exitError{fsckProblems, fmt.Errorf("%d problems found", rep.Problems())}
	}
}

// newProgress returns a progress display on w: a bar redrawn in place on
// a terminal, plain lines otherwise (a log, a pipe).
func newProgress(w io.Writer, terminal bool) fsck.Progress {
	if terminal {
		return &barProgress{w: w, now: time.Now}
	}
	return &lineProgress{w: w}
}

// barProgress draws one line per phase, redrawn at most every 100ms.
type barProgress struct {
	w            io.Writer
	now          func() time.Time
	phase        string
	total, done  int64
	lastDrawn    time.Time
	drawnAtLeast bool
}

func (p *barProgress) Start(phase string, total int64) {
	p.phase, p.total, p.done, p.drawnAtLeast = phase, total, 0, false
	p.draw(true)
}

func (p *barProgress) Advance(n int64) {
	p.done += n
	p.draw(false)
}

func (p *barProgress) Finish() {
	p.draw(true)
	fmt.Fprintln(p.w)
}

func (p *barProgress) draw(force bool) {
	now := p.now()
	if !force && p.drawnAtLeast && now.Sub(p.lastDrawn) < 100*time.Millisecond {
		return
	}
	p.lastDrawn, p.drawnAtLeast = now, true
	fmt.Fprintf(p.w, "\r\x1b[K%s", barLine(p.phase, p.done, p.total, 30))
}

// barLine renders "phase [#####.....]  50% 5/10", or "phase 5" when the
// total is not known.
func barLine(phase string, done, total int64, width int) string {
	if total <= 0 {
		return fmt.Sprintf("%-18s %d", phase, done)
	}
	done = min(done, total)
	filled := int(done * int64(width) / total)
	return fmt.Sprintf("%-18s [%s%s] %3d%% %d/%d", phase, strings.Repeat("#", filled), strings.Repeat(".", width-filled),
		done*100/total, done, total)
}

// lineProgress prints a line when a phase starts, at each tenth of it
// when its total is known, and when it ends.
type lineProgress struct {
	w           io.Writer
	phase       string
	total, done int64
	tenth       int64
}

func (p *lineProgress) Start(phase string, total int64) {
	p.phase, p.total, p.done, p.tenth = phase, total, 0, 0
	if total > 0 {
		fmt.Fprintf(p.w, "fsck: %s: 0/%d\n", phase, total)
		return
	}
	fmt.Fprintf(p.w, "fsck: %s\n", phase)
}

func (p *lineProgress) Advance(n int64) {
	p.done += n
	if p.total <= 0 {
		return
	}
	if t := min(p.done, p.total) * 10 / p.total; t > p.tenth && t < 10 {
		p.tenth = t
		fmt.Fprintf(p.w, "fsck: %s: %d/%d (%d%%)\n", p.phase, p.done, p.total, t*10)
	}
}

func (p *lineProgress) Finish() {
	if p.total > 0 {
		fmt.Fprintf(p.w, "fsck: %s: done, %d/%d\n", p.phase, min(p.done, p.total), p.total)
		return
	}
	fmt.Fprintf(p.w, "fsck: %s: done, %d\n", p.phase, p.done)
}
