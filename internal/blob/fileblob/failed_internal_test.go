package fileblob

import (
	"errors"
	"io/fs"
	"syscall"
	"testing"

	"github.com/packhub/packhub/internal/packages"
)

// TestFailedKinds: a full disk or an exhausted quota, however deep in the
// chain, is insufficient storage; other errors stay internal. Both keep
// the system's error.
func TestFailedKinds(t *testing.T) {
	cases := []struct {
		name string
		err  error
		kind packages.Kind
	}{
		{"no space", &fs.PathError{Op: "write", Path: "/blobs/tmp/put-1", Err: syscall.ENOSPC}, packages.KindInsufficientStorage},
		{"over quota", &fs.PathError{Op: "write", Path: "/blobs/tmp/put-1", Err: syscall.EDQUOT}, packages.KindInsufficientStorage},
		{"no space on sync", &fs.PathError{Op: "sync", Path: "/blobs/tmp/put-1", Err: syscall.ENOSPC}, packages.KindInsufficientStorage},
		{"i/o error", &fs.PathError{Op: "write", Path: "/blobs/tmp/put-1", Err: syscall.EIO}, packages.KindInternal},
		{"read-only", &fs.PathError{Op: "open", Path: "/blobs/tmp/put-1", Err: syscall.EROFS}, packages.KindInternal},
		{"client", errors.New("connection reset"), packages.KindInternal},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := failed("put", c.err)
			if got := packages.KindOf(err); got != c.kind {
				t.Fatalf("kind of %v = %v, want %v", err, got, c.kind)
			}
			if !errors.Is(err, c.err) {
				t.Fatalf("%v does not wrap %v", err, c.err)
			}
			if full := errors.Is(err, packages.ErrInsufficientStorage); full != (c.kind == packages.KindInsufficientStorage) {
				t.Fatalf("%v wraps ErrInsufficientStorage: %v", err, full)
			}
		})
	}
}
