package storetest

import (
	"testing"
	"time"

	"github.com/packhub/packhub/internal/packages"
)

func testRetentionPolicies(t *testing.T, s packages.Store) {
	alice, acme := mkUser(t, s, "alice"), mkOrg(t, s, "acme")
	at := time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)
	p1 := &packages.RetentionPolicy{OwnerID: alice.ID, Type: packages.TypeContainer, Name: "app-*", KeepNewest: 3,
		OlderThan: 30*24*time.Hour + 1500*time.Millisecond, Untagged: true, KeepPattern: "re:^v", RemovePattern: "pr-*",
		CreatedBy: alice.ID, CreatedAt: at}
	ok(t, s.CreateRetentionPolicy(ctx(t), p1))
	if p1.ID == 0 {
		t.Fatal("no id")
	}
	p2 := &packages.RetentionPolicy{OwnerID: acme.ID, Type: packages.TypeMaven, KeepBuilds: 2}
	ok(t, s.CreateRetentionPolicy(ctx(t), p2))
	utc(t, "created at", p2.CreatedAt)
	p3 := &packages.RetentionPolicy{OwnerID: alice.ID, Type: packages.TypeNpm, KeepNewest: 1}
	ok(t, s.CreateRetentionPolicy(ctx(t), p3))

	got, err := s.GetRetentionPolicy(ctx(t), p1.ID)
	ok(t, err)
	want := *p1
	want.OlderThan = 30*24*time.Hour + time.Second // whole seconds
	eq(t, "policy", *got, want)
	_, err = s.GetRetentionPolicy(ctx(t), p3.ID+100)
	isNotFound(t, err, "GetRetentionPolicy of a missing id")

	list, err := s.ListRetentionPolicies(ctx(t), alice.ID)
	ok(t, err)
	eq(t, "alice's", []int64{list[0].ID, list[1].ID}, []int64{p1.ID, p3.ID})
	list, err = s.ListRetentionPolicies(ctx(t), 0)
	ok(t, err)
	eq(t, "everyone's", len(list), 3)
	eq(t, "second by id", list[1].KeepBuilds, 2)
	eq(t, "untagged false", list[1].Untagged, false)
	list, err = s.ListRetentionPolicies(ctx(t), acme.ID+100)
	ok(t, err)
	eq(t, "nobody's", len(list), 0)

	ok(t, s.DeleteRetentionPolicy(ctx(t), p1.ID))
	isNotFound(t, s.DeleteRetentionPolicy(ctx(t), p1.ID), "DeleteRetentionPolicy twice")
	list, err = s.ListRetentionPolicies(ctx(t), alice.ID)
	ok(t, err)
	eq(t, "after the delete", len(list), 1)
}
