package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/packhub/packhub/internal/testenv"
)

func TestBarLine(t *testing.T) {
	tests := []struct {
		done, total int64
		want        string
	}{
		{0, 10, "files              [..........]   0% 0/10"},
		{5, 10, "files              [#####.....]  50% 5/10"},
		{12, 10, "files              [##########] 100% 10/10"},
		{7, 0, "files              7"},
	}
	for _, tc := range tests {
		if got := barLine("files", tc.done, tc.total, 10); got != tc.want {
			t.Errorf("barLine(%d, %d) = %q, want %q", tc.done, tc.total, got, tc.want)
		}
	}
}

func TestLineProgress(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b, false)
	p.Start("files", 4)
	for range 4 {
		p.Advance(1)
	}
	p.Finish()
	p.Start("stored blobs", 0)
	p.Advance(3)
	p.Finish()
	want := "fsck: files: 0/4\nfsck: files: 1/4 (20%)\nfsck: files: 2/4 (50%)\nfsck: files: 3/4 (70%)\nfsck: files: done, 4/4\n" +
		"fsck: stored blobs\nfsck: stored blobs: done, 3\n"
	if b.String() != want {
		t.Errorf("plain progress:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestBarProgress(t *testing.T) {
	var b bytes.Buffer
	at := time.Unix(0, 0)
	p := &barProgress{w: &b, now: func() time.Time { return at }}
	p.Start("files", 100)
	for range 50 {
		p.Advance(1) // within 100ms of the last drawing: not drawn
	}
	at = at.Add(time.Second)
	p.Advance(50)
	p.Finish()
	lines := strings.Split(b.String(), "\r\x1b[K")
	if len(lines) != 4 || !strings.Contains(lines[2], "100% 100/100") || !strings.HasSuffix(b.String(), "\n") {
		t.Errorf("bar progress drew %q", b.String())
	}
}

func TestIsTerminal(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		testenv.Missing(t, "no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	if !isTerminal(tty) {
		t.Error("a pseudo-terminal is not a terminal")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if isTerminal(w) {
		t.Error("a pipe is a terminal")
	}
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if isTerminal(null) {
		t.Error("/dev/null is a terminal")
	}
}
