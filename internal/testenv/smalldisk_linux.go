package testenv

import (
	"fmt"
	"os"
	"syscall"
	"testing"
)

// SmallDisk mounts a tmpfs of size bytes on a new temporary directory and
// returns the directory; it is unmounted when the test ends. Writes past
// size fail with ENOSPC, as on a full disk, and removing files makes room
// again. Mounting needs root (CAP_SYS_ADMIN): without it the test is
// skipped, and fails in CI.
func SmallDisk(t testing.TB, size int64) string {
	t.Helper()
	dir := t.TempDir()
	opts := fmt.Sprintf("size=%d,mode=0700", size)
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, opts); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("mount a %d-byte tmpfs: %v (the full-disk tests need root)", size, err)
		}
		t.Skipf("mount a %d-byte tmpfs: %v (the full-disk tests need root)", size, err)
	}
	// Cleanups run last first: this one before t.TempDir's removal.
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}
