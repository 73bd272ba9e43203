package packages_test

import (
	"sync"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

// TestReplicaDownloadCounts: replicas count downloads of one version in
// memory, each its own; closing them (as each does when it stops) writes
// every count, none lost and none twice.
func TestReplicaDownloadCounts(t *testing.T) {
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		env.User("octo")
		tok := env.Token("octo", allScopes)
		ref := packages.PackageRef{Owner: "octo", Type: packages.TypeNpm, Name: "counted"}
		v := env.Publish(tok, ref, "", "1.0.0")[0]
		replicas := []*testenv.Env{env, env.Replica(), env.Replica()}
		var wg sync.WaitGroup
		for i, r := range replicas {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 100 * (i + 1) {
					r.Service.CountDownload(v.PackageID, v.ID)
				}
			}()
		}
		wg.Wait()
		var pending int64
		for _, r := range replicas[1:] {
			pending += r.Service.PendingDownloads()
			if err := r.Service.Close(); err != nil {
				t.Fatal(err)
			}
			if n := r.Service.PendingDownloads(); n != 0 {
				t.Fatalf("%d downloads still held after Close", n)
			}
		}
		if err := env.Service.FlushDownloads(ctx); err != nil {
			t.Fatal(err)
		}
		_, vi, err := env.Service.GetVersionByName(ctx, env.Actor(tok), ref, "1.0.0", packages.ViaREST)
		if err != nil {
			t.Fatal(err)
		}
		if vi.DownloadCount != 600 {
			t.Fatalf("%d downloads written, want 600", vi.DownloadCount)
		}
		if pending == 0 {
			t.Log("the replicas had written their counts before Close")
		}
	})
}

// TestReplicaPurgeLock: on PostgreSQL the purge job runs on one replica at
// a time: while one holds the job lock, the others skip their run; purges
// started on every replica at once do the work once.
func TestReplicaPurgeLock(t *testing.T) {
	env := testenv.New(t, "postgres")
	b := env.Replica()
	l := env.Store.(packages.Locker)
	unlock, got, err := l.TryLock(ctx, "packhub.purge")
	if err != nil || !got {
		t.Fatalf("TryLock: %v %v", got, err)
	}
	rep, err := b.Service.Purge(ctx, false)
	if err != nil || !rep.Skipped {
		t.Fatalf("purge on another replica while the lock is held: skipped=%v err=%v", rep.Skipped, err)
	}
	unlock()
	if rep, err := b.Service.Purge(ctx, false); err != nil || rep.Skipped {
		t.Fatalf("purge after the unlock: skipped=%v err=%v", rep.Skipped, err)
	}

	// Versions deleted longer ago than the restore window, and replicas
	// that purge at once: each version is purged by exactly one of them.
	env.User("octo")
	tok := env.Token("octo", allScopes)
	ref := packages.PackageRef{Owner: "octo", Type: packages.TypeNpm, Name: "old"}
	vs := env.Publish(tok, ref, "", "1.0.0", "1.0.1", "1.0.2", "1.0.3")
	for _, v := range vs[:3] {
		if err := env.Service.DeleteVersion(ctx, env.Actor(tok), ref, v.ID, packages.ViaREST); err != nil {
			t.Fatal(err)
		}
	}
	env.Clock.Advance(31 * 24 * time.Hour)
	replicas := []*testenv.Env{env, b, env.Replica(), env.Replica()}
	reports := make([]*packages.PurgeReport, len(replicas))
	errs := make([]error, len(replicas))
	var wg sync.WaitGroup
	for i, r := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reports[i], errs[i] = r.Service.Purge(ctx, false)
		}()
	}
	wg.Wait()
	purged := 0
	for i, rep := range reports {
		if errs[i] != nil {
			t.Fatalf("purge %d: %v", i, errs[i])
		}
		purged += len(rep.Versions)
	}
	if purged != 3 {
		t.Fatalf("the replicas purged %d versions between them, want 3", purged)
	}
}
