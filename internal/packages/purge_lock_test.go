package packages_test

import (
	"testing"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

// TestPurgeTakesTheJobLock: while another replica holds the purge lock, a
// purge does nothing and says so; a dry run needs no lock.
func TestPurgeTakesTheJobLock(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		l, ok := env.Store.(packages.Locker)
		if !ok {
			t.Fatal("store is not a Locker")
		}
		unlock, got, err := l.TryLock(t.Context(), "packhub.purge")
		if err != nil || !got {
			t.Fatalf("TryLock: %v %v", got, err)
		}
		rep, err := env.Service.Purge(t.Context(), false)
		if err != nil || !rep.Skipped {
			t.Fatalf("purge while locked: skipped=%v err=%v", rep.Skipped, err)
		}
		if rep, err := env.Service.Purge(t.Context(), true); err != nil || rep.Skipped {
			t.Fatalf("dry run while locked: skipped=%v err=%v", rep.Skipped, err)
		}
		unlock()
		if rep, err := env.Service.Purge(t.Context(), false); err != nil || rep.Skipped {
			t.Fatalf("purge after unlock: skipped=%v err=%v", rep.Skipped, err)
		}
	})
}
