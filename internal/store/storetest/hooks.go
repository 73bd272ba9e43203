package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/packages"
)

func mkHook(t *testing.T, s packages.Store, owner *packages.Owner, url string, events ...string) *packages.Hook {
	t.Helper()
	h := &packages.Hook{OwnerID: owner.ID, Name: "web", Events: events, Active: true, URL: url, ContentType: "json", Secret: "s3cret", InsecureSSL: "0"}
	ok(t, s.CreateHook(ctx(t), h))
	return h
}

func testHooks(t *testing.T, s packages.Store) {
	acme, other := mkOrg(t, s, "acme"), mkOrg(t, s, "other")
	h1 := mkHook(t, s, acme, "http://127.0.0.1:1/a", "package")
	h2 := mkHook(t, s, acme, "http://127.0.0.1:1/b", "registry_package", "package")
	mkHook(t, s, other, "http://127.0.0.1:1/c", "*")
	if h1.ID == 0 || h1.CreatedAt.IsZero() || !h1.UpdatedAt.Equal(h1.CreatedAt) {
		t.Fatalf("created hook = %+v", h1)
	}
	got, err := s.GetHook(ctx(t), acme.ID, 0, h2.ID)
	ok(t, err)
	eq(t, "events", got.Events, []string{"registry_package", "package"})
	eq(t, "config", [4]string{got.URL, got.ContentType, got.Secret, got.InsecureSSL}, [4]string{h2.URL, "json", "s3cret", "0"})
	eq(t, "active", got.Active, true)
	_, err = s.GetHook(ctx(t), other.ID, 0, h2.ID)
	isNotFound(t, err, "another owner's hook")
	byID, err := s.GetHookByID(ctx(t), h2.ID)
	ok(t, err)
	eq(t, "by id", byID.OwnerID, acme.ID)

	list, err := s.ListHooks(ctx(t), acme.ID, 0)
	ok(t, err)
	eq(t, "list", len(list), 2)
	eq(t, "order", list[0].ID, h1.ID)

	got.Active, got.Events, got.URL, got.UpdatedAt = false, []string{"*"}, "https://example.test/x", got.UpdatedAt.Add(time.Minute)
	ok(t, s.UpdateHook(ctx(t), got))
	again, err := s.GetHook(ctx(t), acme.ID, 0, h2.ID)
	ok(t, err)
	eq(t, "updated", [2]any{again.Active, again.URL}, [2]any{false, "https://example.test/x"})
	eq(t, "updated events", again.Events, []string{"*"})
	eq(t, "updated at", again.UpdatedAt, got.UpdatedAt)
	got.OwnerID = other.ID
	isNotFound(t, s.UpdateHook(ctx(t), got), "update through another owner")

	ok(t, s.AddDelivery(ctx(t), &packages.Delivery{HookID: h1.ID, GUID: packages.NewGUID(), Event: "ping"}))
	isNotFound(t, s.DeleteHook(ctx(t), other.ID, 0, h1.ID), "delete through another owner")
	ok(t, s.DeleteHook(ctx(t), acme.ID, 0, h1.ID))
	_, err = s.GetHook(ctx(t), acme.ID, 0, h1.ID)
	isNotFound(t, err, "deleted hook")
	ds, err := s.ListDeliveries(ctx(t), packages.DeliveryFilter{HookID: h1.ID})
	ok(t, err)
	eq(t, "deliveries of a deleted hook", len(ds), 0)

	// A repository's hooks are apart from its owner's own.
	repo := mkRepo(t, s, acme, "app", packages.Private)
	rh := &packages.Hook{OwnerID: acme.ID, RepositoryID: repo.ID, Name: "web", Events: []string{"package"}, Active: true,
		URL: "http://127.0.0.1:1/r", ContentType: "json", InsecureSSL: "0"}
	ok(t, s.CreateHook(ctx(t), rh))
	orgHooks, err := s.ListHooks(ctx(t), acme.ID, 0)
	ok(t, err)
	eq(t, "organization's hooks", len(orgHooks), 1)
	repoHooks, err := s.ListHooks(ctx(t), acme.ID, repo.ID)
	ok(t, err)
	eq(t, "repository's hooks", len(repoHooks), 1)
	eq(t, "repository hook", [2]int64{repoHooks[0].ID, repoHooks[0].RepositoryID}, [2]int64{rh.ID, repo.ID})
	both, err := s.PackageHooks(ctx(t), acme.ID, repo.ID)
	ok(t, err)
	eq(t, "a linked package's hooks", [2]int64{both[0].ID, both[1].ID}, [2]int64{orgHooks[0].ID, rh.ID})
	own, err := s.PackageHooks(ctx(t), acme.ID, 0)
	ok(t, err)
	eq(t, "an unlinked package's hooks", len(own), 1)
	_, err = s.GetHook(ctx(t), acme.ID, 0, rh.ID)
	isNotFound(t, err, "a repository's hook as the organization's")
	got, err = s.GetHook(ctx(t), acme.ID, repo.ID, rh.ID)
	ok(t, err)
	got.RepositoryID = 0
	isNotFound(t, s.UpdateHook(ctx(t), got), "update a repository's hook as the organization's")
	isNotFound(t, s.DeleteHook(ctx(t), acme.ID, 0, rh.ID), "delete a repository's hook as the organization's")
	ok(t, s.DeleteHook(ctx(t), acme.ID, repo.ID, rh.ID))
}

func testDeliveries(t *testing.T, s packages.Store) {
	acme := mkOrg(t, s, "acme")
	h := mkHook(t, s, acme, "http://127.0.0.1:1/a", "package")
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var ids []int64
	for i := range 3 {
		d := &packages.Delivery{HookID: h.ID, EventID: int64(10 + i), SenderID: acme.ID, GUID: packages.NewGUID(), Event: "package", Action: "published",
			RepositoryID: 7, State: packages.DeliveryPending, NextAttemptAt: t0.Add(time.Duration(i) * time.Second), CreatedAt: t0}
		ok(t, s.AddDelivery(ctx(t), d))
		ids = append(ids, d.ID)
	}
	// Nothing is due before its time.
	ds, err := s.ClaimDeliveries(ctx(t), t0.Add(-time.Second), t0.Add(time.Minute), 10)
	ok(t, err)
	eq(t, "claimed early", len(ds), 0)
	ds, err = s.ClaimDeliveries(ctx(t), t0.Add(time.Second), t0.Add(time.Minute), 10)
	ok(t, err)
	eq(t, "claimed", len(ds), 2)
	eq(t, "claim order", [2]int64{ds[0].ID, ds[1].ID}, [2]int64{ids[0], ids[1]})
	eq(t, "attempt counted", ds[0].Attempts, 1)
	if ds[0].LeaseUntil == nil || !ds[0].LeaseUntil.Equal(t0.Add(time.Minute)) {
		t.Fatalf("lease = %v", ds[0].LeaseUntil)
	}
	// Leased: not claimed again until the lease runs out.
	again, err := s.ClaimDeliveries(ctx(t), t0.Add(2*time.Second), t0.Add(time.Minute), 10)
	ok(t, err)
	eq(t, "claimed while leased", len(again), 1)
	eq(t, "the third", again[0].ID, ids[2])

	d := ds[0]
	at := t0.Add(3 * time.Second)
	d.Payload, d.State, d.DeliveredAt, d.Duration, d.Status, d.StatusCode = []byte(`{"a":1}`), packages.DeliveryDelivered, &at, 0.25, "OK", 200
	d.RequestHeaders, d.ResponseHeaders, d.ResponseBody = map[string]string{"X-GitHub-Event": "package"}, map[string]string{"Content-Type": "text/plain"}, "thanks"
	done, err := s.FinishAttempt(ctx(t), &d)
	ok(t, err)
	eq(t, "finished", done, true)
	// A second finish of the same claim is a lost claim.
	done, err = s.FinishAttempt(ctx(t), &d)
	ok(t, err)
	eq(t, "finished twice", done, false)
	got, err := s.GetDelivery(ctx(t), h.ID, d.ID)
	ok(t, err)
	eq(t, "payload", string(got.Payload), `{"a":1}`)
	eq(t, "state", got.State, packages.DeliveryDelivered)
	eq(t, "status", [2]any{got.Status, got.StatusCode}, [2]any{"OK", 200})
	eq(t, "headers", got.RequestHeaders["X-GitHub-Event"], "package")
	eq(t, "response", [2]string{got.ResponseHeaders["Content-Type"], got.ResponseBody}, [2]string{"text/plain", "thanks"})
	eq(t, "duration", got.Duration, 0.25)
	eq(t, "fields", [4]any{got.EventID, got.SenderID, got.RepositoryID, got.Action}, [4]any{int64(10), acme.ID, int64(7), "published"})
	if got.LeaseUntil != nil || got.DeliveredAt == nil || !got.DeliveredAt.Equal(at) {
		t.Fatalf("lease %v, delivered at %v", got.LeaseUntil, got.DeliveredAt)
	}
	// A claim whose lease ran out is taken by the next claimer, and the
	// first one's finish is refused.
	stale := ds[1]
	retaken, err := s.ClaimDeliveries(ctx(t), t0.Add(2*time.Minute), t0.Add(3*time.Minute), 10)
	ok(t, err)
	eq(t, "retaken", len(retaken), 2)
	stale.State, stale.Status = packages.DeliveryFailed, "late"
	done, err = s.FinishAttempt(ctx(t), &stale)
	ok(t, err)
	eq(t, "stale finish", done, false)
	// A failed attempt goes back to pending, due later.
	r := retaken[0]
	r.State, r.Status, r.StatusCode, r.NextAttemptAt = packages.DeliveryPending, "Invalid HTTP Response: 500", 500, t0.Add(time.Hour)
	done, err = s.FinishAttempt(ctx(t), &r)
	ok(t, err)
	eq(t, "retry recorded", done, true)
	f := retaken[1]
	f.State, f.Status = packages.DeliveryFailed, "failed to connect"
	done, err = s.FinishAttempt(ctx(t), &f)
	ok(t, err)
	eq(t, "failure recorded", done, true)
	later, err := s.ClaimDeliveries(ctx(t), t0.Add(30*time.Minute), t0.Add(31*time.Minute), 10)
	ok(t, err)
	eq(t, "not yet due", len(later), 0)

	list, err := s.ListDeliveries(ctx(t), packages.DeliveryFilter{HookID: h.ID})
	ok(t, err)
	eq(t, "list newest first", [3]int64{list[0].ID, list[1].ID, list[2].ID}, [3]int64{ids[2], ids[1], ids[0]})
	page, err := s.ListDeliveries(ctx(t), packages.DeliveryFilter{HookID: h.ID, Before: ids[2], Limit: 1})
	ok(t, err)
	eq(t, "page", len(page), 1)
	eq(t, "page start", page[0].ID, ids[1])
	succ, err := s.ListDeliveries(ctx(t), packages.DeliveryFilter{HookID: h.ID, Status: "success"})
	ok(t, err)
	eq(t, "successes", len(succ), 1)
	fail, err := s.ListDeliveries(ctx(t), packages.DeliveryFilter{HookID: h.ID, Status: "failure"})
	ok(t, err)
	eq(t, "failures", len(fail), 2) // a 500 and no answer at all
	_, err = s.GetDelivery(ctx(t), h.ID+1000, ids[0])
	isNotFound(t, err, "delivery of another hook")

	// Pruning keeps what is pending and what is not old enough.
	n, err := s.DeleteFinishedDeliveries(ctx(t), t0)
	ok(t, err)
	eq(t, "deliveries pruned at their creation time", n, 0)
	n, err = s.DeleteFinishedDeliveries(ctx(t), t0.Add(time.Second))
	ok(t, err)
	eq(t, "finished deliveries pruned", n, 2)
	left, err := s.ListDeliveries(ctx(t), packages.DeliveryFilter{HookID: h.ID})
	ok(t, err)
	eq(t, "deliveries left", len(left), 1)
	eq(t, "the one left is pending", left[0].State, packages.DeliveryPending)
}

// testClaimDeliveriesConcurrently: claimers racing over the same outbox
// never get one delivery twice.
func testClaimDeliveriesConcurrently(t *testing.T, s packages.Store) {
	acme := mkOrg(t, s, "acme")
	h := mkHook(t, s, acme, "http://127.0.0.1:1/a", "package")
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	const n = 40
	for range n {
		ok(t, s.AddDelivery(ctx(t), &packages.Delivery{HookID: h.ID, GUID: packages.NewGUID(), Event: "package", NextAttemptAt: t0, CreatedAt: t0}))
	}
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				ds, err := s.ClaimDeliveries(ctx(t), t0, t0.Add(time.Hour), 3)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, d := range ds {
					seen[d.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	eq(t, "claimed", len(seen), n)
	for id, c := range seen {
		if c != 1 {
			t.Errorf("delivery %d claimed %d times", id, c)
		}
	}
}

func testAuditEvents(t *testing.T, s packages.Store) {
	alice := mkUser(t, s, "alice")
	bob := mkUser(t, s, "bob")
	p := mkPkg(t, s, alice, packages.TypeNpm, "tool", packages.Private)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	add := func(actor int64, action string, pkg int64, token int64, at time.Time) *packages.Event {
		e := &packages.Event{ActorID: actor, Action: action, PackageID: pkg, TokenID: token, IP: "127.0.0.1", UserAgent: "npm/11", RequestID: "r-" + action, CreatedAt: at}
		ok(t, s.AddEvent(ctx(t), e))
		return e
	}
	e1 := add(alice.ID, packages.ActionPublish, p.ID, 5, t0)
	add(bob.ID, packages.ActionTokenUse, 0, 6, t0.Add(time.Minute))
	add(alice.ID, packages.ActionTokenUse, 0, 5, t0.Add(2*time.Minute))
	e4 := add(alice.ID, packages.ActionTokenUse, 0, 5, t0.Add(3*time.Minute))

	got, err := s.GetEvent(ctx(t), e1.ID)
	ok(t, err)
	eq(t, "request fields", [4]any{got.TokenID, got.IP, got.UserAgent, got.RequestID}, [4]any{int64(5), "127.0.0.1", "npm/11", "r-publish"})
	_, err = s.GetEvent(ctx(t), e4.ID+100)
	isNotFound(t, err, "missing event")

	last, err := s.LastTokenEvent(ctx(t), 5, packages.ActionTokenUse)
	ok(t, err)
	eq(t, "last use", last.ID, e4.ID)
	none, err := s.LastTokenEvent(ctx(t), 99, packages.ActionTokenUse)
	ok(t, err)
	if none != nil {
		t.Fatalf("last use of an unused token = %+v", none)
	}

	cases := []struct {
		name  string
		f     packages.AuditFilter
		total int
		first int64
	}{
		{"all", packages.AuditFilter{}, 4, e4.ID},
		{"actor", packages.AuditFilter{ActorID: alice.ID}, 3, e4.ID},
		{"action", packages.AuditFilter{Action: packages.ActionPublish}, 1, e1.ID},
		{"package", packages.AuditFilter{PackageID: p.ID}, 1, e1.ID},
		{"since", packages.AuditFilter{Since: t0.Add(2 * time.Minute)}, 2, e4.ID},
		{"page", packages.AuditFilter{Limit: 1, Offset: 3}, 4, e1.ID},
	}
	for _, tc := range cases {
		evs, total, err := s.ListAuditEvents(ctx(t), tc.f)
		ok(t, err)
		eq(t, tc.name+": total", total, tc.total)
		if len(evs) == 0 || evs[0].ID != tc.first {
			t.Errorf("%s: events %+v, want first %d", tc.name, evs, tc.first)
		}
	}
}
