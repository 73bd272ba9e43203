package packages_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

// TestCanPublishOnlyReads: deciding what a registry token may push reads
// and never writes, so it neither waits for a transaction holding the write
// lock (SQLite) or the package's row (PostgreSQL) nor creates anything.
func TestCanPublishOnlyReads(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		env.User("alice")
		env.Org("acme", "alice")
		tok := env.Token("alice", allScopes)
		env.Publish(tok, ref("alice", packages.TypeContainer, "app"), "", "v1")
		pkg, err := env.Service.GetPackage(ctx, env.Actor(tok), ref("alice", packages.TypeContainer, "app"), packages.OpRead, packages.ViaRegistry)
		must(t, err)
		a := env.Actor(tok)

		// Another writer holds the write lock and the package's row.
		held, release := make(chan struct{}), make(chan struct{})
		var wg sync.WaitGroup
		var txErr error
		stop := sync.OnceFunc(func() { close(release); wg.Wait() })
		t.Cleanup(stop) // before the store is dropped, even when the test fails
		wg.Add(1)
		go func() {
			defer wg.Done()
			txErr = env.Store.WithTx(ctx, func(tx packages.Store) error {
				if l, ok := tx.(packages.PackageLocker); ok {
					if err := l.LockPackage(ctx, pkg.ID); err != nil {
						return err
					}
				}
				close(held)
				<-release
				return nil
			})
		}()
		<-held
		for _, r := range []packages.PackageRef{
			ref("alice", packages.TypeContainer, "app"),
			ref("alice", packages.TypeContainer, "new"),
			ref("acme", packages.TypeContainer, "new"),
		} {
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			err := env.Service.CanPublish(cctx, a, r, "")
			cancel()
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("CanPublish %s waited for the writer: %v", r, err)
			}
			must(t, err)
		}
		stop()
		must(t, txErr)

		// Nothing was created.
		for _, r := range []packages.PackageRef{ref("alice", packages.TypeContainer, "new"), ref("acme", packages.TypeContainer, "new")} {
			_, err := env.Service.GetPackage(ctx, a, r, packages.OpRead, packages.ViaRegistry)
			wantKind(t, err, packages.KindNotFound)
		}
	})
}
