package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMigrateStorageUsage: a command line migrate-storage cannot run is a
// usage error, found before anything is opened.
func TestMigrateStorageUsage(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--data-dir", data, "--to-blob-store", "file://" + dir + "/b"}, "--to-database is required"},
		{[]string{"--data-dir", data, "--to-database", dir + "/t.db"}, "--to-blob-store is required"},
		{[]string{"--data-dir", data, "--to-database", dir + "/t.db", "--to-blob-store", "file://" + dir + "/b", "--jobs", "0"}, "--jobs must be at least 1"},
		{[]string{"--data-dir", data, "--to-database", dir + "/t.db", "--to-blob-store", "file://" + dir + "/b", "--progress", "0s"}, "--progress must be positive"},
		{[]string{"--data-dir", data, "--to-database", filepath.Join(data, "packhub.db"), "--to-blob-store", "file://" + dir + "/b"}, "--to-database names the source database"},
		{[]string{"--data-dir", data, "--to-database", "sqlite://" + filepath.Join(data, "packhub.db"), "--to-blob-store", "file://" + dir + "/b"}, "--to-database names the source database"},
		{[]string{"--data-dir", data, "--to-database", dir + "/t.db", "--to-blob-store", filepath.Join(data, "blobs")}, "--to-blob-store names the source blob store"},
		{[]string{"--data-dir", data, "--to-database", dir + "/t.db", "--to-blob-store", "file://" + filepath.Join(data, "blobs") + "/"}, "--to-blob-store names the source blob store"},
	} {
		_, stderr, code := runArgs(t, append([]string{"migrate-storage"}, tc.args...)...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", tc.args, code, stderr, exitUsage, tc.want)
		}
	}
	// A source that is not there is an error, and is not made.
	_, stderr, code := runArgs(t, "migrate-storage", "--data-dir", data, "--to-database", dir+"/t.db", "--to-blob-store", "file://"+dir+"/b")
	if code != exitFailed || !strings.Contains(stderr, "source database") {
		t.Errorf("missing source: exit %d, stderr %q", code, stderr)
	}
	if fileExists(filepath.Join(data, "packhub.db")) || fileExists(dir+"/t.db") {
		t.Error("a run without a source made a database")
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
