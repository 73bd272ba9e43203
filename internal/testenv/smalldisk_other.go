//go:build !linux

package testenv

import (
	"os"
	"testing"
)

// SmallDisk needs a Linux tmpfs: elsewhere the test is skipped, and fails
// in CI.
func SmallDisk(t testing.TB, size int64) string {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal("the full-disk tests need a Linux tmpfs")
	}
	t.Skip("the full-disk tests need a Linux tmpfs")
	return ""
}
