package e2e

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/testenv"
)

// TestGCAfterKilledUpload: a server killed (SIGKILL) in the middle of a
// monolithic blob upload leaves a partial file in the blob store's
// temporary area. `packhub gc --dry-run` reports it and removes nothing;
// `packhub gc` removes it once it is older than the grace period, and not
// before.
func TestGCAfterKilledUpload(t *testing.T) {
	t.Parallel()
	eachDatabase(t, testGCAfterKilledUpload)
}

func testGCAfterKilledUpload(t *testing.T, db Database) {
	s := StartServer(t, db)
	s.Admin("user", "create", "alice")
	tok := s.Token("alice", "read:packages,write:packages")

	blob := bytes.Repeat([]byte("a layer that never arrives whole "), 200_000) // 6.6 MB
	pr, pw := io.Pipe()
	req, err := http.NewRequest("POST", s.URL+fmt.Sprintf("/v2/alice/big/blobs/uploads/?digest=sha256:%x", sha256.Sum256(blob)), pr)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("alice", tok)
	go func() {
		res, err := s.Client().Do(req)
		if err == nil {
			res.Body.Close()
		}
	}()
	half := len(blob) / 2
	if _, err := pw.Write(blob[:half]); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(s.DataDir, "blobs", "tmp")
	partial := waitForFile(t, tmp, 1<<20)

	s.Kill()
	pw.CloseWithError(io.ErrUnexpectedEOF)
	fi, err := os.Stat(partial)
	if err != nil {
		t.Fatalf("no partial file after the kill: %v", err)
	}
	size := fi.Size()

	gc := func(args ...string) string {
		t.Helper()
		stdout, stderr, code := runPackhub(t, nil, append(append([]string{"gc"}, s.StorageArgs()...), args...)...)
		if code != 0 {
			t.Fatalf("gc %v: exit %d\n%s", args, code, stderr)
		}
		return stdout
	}
	line := func(out, verb string, stale int, staleBytes int64, fresh int, freshBytes int64) {
		t.Helper()
		want := fmt.Sprintf("%s %d temporary files of unfinished uploads (%d bytes); %d younger than the grace period (%d bytes) stay",
			verb, stale, staleBytes, fresh, freshBytes)
		if !strings.Contains(out, want) {
			t.Fatalf("gc output lacks %q:\n%s", want, out)
		}
	}
	// Younger than the grace period: reported, kept, even by a real run.
	line(gc("--dry-run"), "would remove", 0, 0, 1, size)
	line(gc(), "removed", 0, 0, 1, size)
	if _, err := os.Stat(partial); err != nil {
		t.Fatalf("young partial file removed: %v", err)
	}

	// Older than the grace period: a dry run reports it and keeps it.
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(partial, old, old); err != nil {
		t.Fatal(err)
	}
	line(gc("--dry-run"), "would remove", 1, size, 0, 0)
	if _, err := os.Stat(partial); err != nil {
		t.Fatalf("dry run removed the partial file: %v", err)
	}
	line(gc(), "removed", 1, size, 0, 0)
	if _, err := os.Stat(partial); !os.IsNotExist(err) {
		t.Fatalf("partial file after gc: %v", err)
	}
	line(gc("--dry-run"), "would remove", 0, 0, 0, 0)
}

// waitForFile waits until dir holds a regular file of at least size bytes
// and returns its path.
func waitForFile(t *testing.T, dir string, size int64) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() && strings.HasPrefix(e.Name(), "put-") && fi.Size() >= size {
				return filepath.Join(dir, e.Name())
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no file of %d bytes in %s", size, dir)
	return ""
}

// TestPushToFullDisk: oras pushing to a server whose blob store is full
// is told the registry is out of space, and a push that fits succeeds
// after the failed one freed its room.
func TestPushToFullDisk(t *testing.T) {
	t.Parallel()
	eachDatabase(t, testPushToFullDisk)
}

func testPushToFullDisk(t *testing.T, db Database) {
	oras := requireTool(t, "oras")
	disk := testenv.SmallDisk(t, 4<<20)
	s := StartServer(t, db, WithArgs("--blob-store", "file://"+disk))
	s.Admin("user", "create", "alice")
	tok := s.Token("alice", "read:packages,write:packages")
	c := newOCIClients(t)
	ref := hostOf(s.URL) + "/alice/full:v1"
	creds := []string{"--plain-http", "-u", "alice", "-p", tok}

	big := make([]byte, 6<<20)
	rand.NewChaCha8([32]byte{1}).Read(big)
	c.write("big.bin", string(big))
	out, err := c.try(oras, "", append([]string{"push", ref, "big.bin:application/octet-stream"}, creds...)...)
	if err == nil {
		t.Fatalf("push of 6 MiB to a 4 MiB disk succeeded:\n%s", out)
	}
	if !strings.Contains(out, "The registry is out of storage space.") {
		t.Fatalf("push to a full disk: %v\n%s", err, out)
	}

	c.write("small.bin", string(big[:1<<20]))
	c.run(oras, append([]string{"push", ref, "small.bin:application/octet-stream"}, creds...)...)
	c.run(oras, append([]string{"pull", ref, "-o", filepath.Join(c.home, "pulled")}, creds...)...)
	if b, err := os.ReadFile(filepath.Join(c.home, "pulled", "small.bin")); err != nil || !bytes.Equal(b, big[:1<<20]) {
		t.Fatalf("pulled %d bytes, %v", len(b), err)
	}
}
