package packages_test

import (
	"context"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

// TestPurgeDeliveries: the purge job forgets a finished webhook delivery
// once it is older than the delivery retention, and keeps a pending one
// whatever its age.
func TestPurgeDeliveries(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		ctx := context.Background()
		env.User("alice")
		env.Org("acme", "alice")
		a := env.Actor(env.Token("alice", allScopes+","+packages.ScopeAdminOrgHook))
		name, url := "web", "http://127.0.0.1:1/hook"
		h, err := env.Service.CreateHook(ctx, a, packages.OrgHooks("acme"), packages.HookInput{Name: &name, Config: &packages.HookConfigInput{URL: &url}})
		if err != nil {
			t.Fatal(err)
		}
		// Two pings: one is delivered, one stays pending.
		for range 2 {
			if err := env.Service.PingHook(ctx, a, packages.OrgHooks("acme"), h.ID); err != nil {
				t.Fatal(err)
			}
		}
		ds, err := env.Service.ClaimDeliveries(ctx, 1, time.Minute)
		if err != nil || len(ds) != 1 {
			t.Fatalf("claim: %v %v", ds, err)
		}
		d := ds[0]
		at := env.Clock.Now()
		d.State, d.Status, d.StatusCode, d.DeliveredAt = packages.DeliveryDelivered, "OK", 200, &at
		if ok, err := env.Service.FinishAttempt(ctx, &d); err != nil || !ok {
			t.Fatalf("finish: %v %v", ok, err)
		}

		list := func() []packages.Delivery {
			t.Helper()
			ds, err := env.Service.ListDeliveries(ctx, a, packages.OrgHooks("acme"), h.ID, packages.DeliveryFilter{})
			if err != nil {
				t.Fatal(err)
			}
			return ds
		}
		purge := func() *packages.PurgeReport {
			t.Helper()
			rep, err := env.Service.Purge(ctx, false)
			if err != nil {
				t.Fatal(err)
			}
			return rep
		}
		env.Clock.Advance(29 * 24 * time.Hour)
		if rep := purge(); rep.Deliveries != 0 || len(list()) != 2 {
			t.Fatalf("purge within the retention removed %d deliveries", rep.Deliveries)
		}
		env.Clock.Advance(2 * 24 * time.Hour)
		if rep := purge(); rep.Deliveries != 1 {
			t.Fatalf("purge after the retention removed %d deliveries, want 1", rep.Deliveries)
		}
		if left := list(); len(left) != 1 || left[0].ID == d.ID || left[0].State != packages.DeliveryPending {
			t.Fatalf("left after purge: %+v", left)
		}
	})
}
