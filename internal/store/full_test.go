package store_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/store"
	"github.com/packhub/packhub/internal/testenv"
)

// TestSQLiteFullDisk: a write that finds the disk full is insufficient
// storage, and the next write after room is made succeeds.
func TestSQLiteFullDisk(t *testing.T) {
	ctx := t.Context()
	dir := testenv.SmallDisk(t, 4<<20)
	s, err := store.Open(ctx, filepath.Join(dir, store.DefaultFile))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	owner := func(login string) error {
		return s.CreateOwner(ctx, &packages.Owner{Login: login, Type: packages.UserOwner})
	}
	if err := owner("before"); err != nil {
		t.Fatal(err)
	}

	filler := filepath.Join(dir, "filler")
	fillDisk(t, filler)
	for i := 0; err == nil && i < 10_000; i++ {
		err = owner(fmt.Sprintf("user%d", i))
	}
	if packages.KindOf(err) != packages.KindInsufficientStorage || !errors.Is(err, packages.ErrInsufficientStorage) {
		t.Fatalf("write to a full disk = %v (kind %v), want insufficient storage", err, packages.KindOf(err))
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := owner("after"); err != nil {
		t.Fatalf("write after room was made: %v", err)
	}
	if _, err := s.GetOwnerByLogin(ctx, "after"); err != nil {
		t.Fatalf("read back: %v", err)
	}
}

// fillDisk writes to path until the disk is full.
func fillDisk(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			break
		}
	}
	// The last pages, a byte at a time.
	for {
		if _, err := f.Write(buf[:1]); err != nil {
			return
		}
	}
}
