package storetest

import (
	"testing"
	"time"

	"github.com/packhub/packhub/internal/packages"
)

// testDownloadLockOrder: counting downloads while a transaction that
// locked the package changes one of its versions (a version delete does
// so) waits for that transaction instead of deadlocking with it: both
// take the package's row before the version's.
func testDownloadLockOrder(t *testing.T, s packages.Store) {
	adder, ok1 := s.(packages.DownloadAdder)
	if !ok1 {
		t.Fatalf("%T does not add downloads in batches", s)
	}
	o := mkUser(t, s, "alice")
	p := mkPkg(t, s, o, packages.TypeNpm, "tool", packages.Public)
	v := mkVersion(t, s, p, "1.0.0")
	counted := make(chan error, 2)
	err := s.WithTx(ctx(t), func(tx packages.Store) error {
		if l, ok := tx.(packages.PackageLocker); ok {
			if err := l.LockPackage(ctx(t), p.ID); err != nil {
				return err
			}
		}
		go func() { counted <- adder.AddDownloads(ctx(t), p.ID, v.ID, 3) }()
		go func() { counted <- s.IncrementDownloads(ctx(t), p.ID, v.ID) }()
		// Let the counters reach the rows this transaction holds or is
		// about to take.
		time.Sleep(300 * time.Millisecond)
		now := time.Now()
		v.DeletedAt = &now
		return tx.UpdateVersion(ctx(t), v)
	})
	ok(t, err)
	for range 2 {
		ok(t, <-counted)
	}
	got, err := s.GetVersion(ctx(t), p.ID, v.ID)
	ok(t, err)
	eq(t, "version downloads", got.DownloadCount, int64(4))
}
