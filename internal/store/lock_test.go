package store_test

import (
	"testing"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/store/storetest"
)

func TestTryLock(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s packages.Store) {
		l, ok := s.(packages.Locker)
		if !ok {
			t.Fatal("the SQL store must be a packages.Locker")
		}
		ctx := t.Context()
		unlock, got, err := l.TryLock(ctx, "job-a")
		if err != nil || !got {
			t.Fatalf("first TryLock: got %v, err %v", got, err)
		}
		if _, again, err := l.TryLock(ctx, "job-a"); err != nil || again {
			t.Fatalf("second TryLock while held: got %v, err %v", again, err)
		}
		unlockB, gotB, err := l.TryLock(ctx, "job-b")
		if err != nil || !gotB {
			t.Fatalf("other lock: got %v, err %v", gotB, err)
		}
		unlockB()
		unlock()
		unlock2, got2, err := l.TryLock(ctx, "job-a")
		if err != nil || !got2 {
			t.Fatalf("TryLock after unlock: got %v, err %v", got2, err)
		}
		unlock2()
	})
}
