package jobs_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/jobs"
	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/store/storetest"
	"github.com/packhub/packhub/internal/testenv"
)

// publishThree publishes versions 1.0.0, 1.1.0 and 2.0.0 of alice's npm
// package a day apart and adds a policy keeping the newest one.
func publishThree(t *testing.T, env *testenv.Env) packages.PackageRef {
	t.Helper()
	env.User("alice")
	tok := env.Token("alice", testenv.AllScopes)
	r := packages.PackageRef{Owner: "alice", Type: packages.TypeNpm, Name: "kept"}
	for _, v := range []string{"1.0.0", "1.1.0", "2.0.0"} {
		env.Publish(tok, r, "", v)
		env.Clock.Advance(24 * time.Hour)
	}
	if _, err := env.Service.AdminAddRetentionPolicy(context.Background(), "alice", packages.RetentionPolicy{Type: packages.TypeNpm, KeepNewest: 1}); err != nil {
		t.Fatal(err)
	}
	return r
}

func activeCount(t *testing.T, env *testenv.Env, r packages.PackageRef) int {
	t.Helper()
	pi, err := env.Service.GetPackage(context.Background(), env.Actor(env.Token("alice", testenv.AllScopes)), r, packages.OpRead, packages.ViaREST)
	if err != nil {
		t.Fatal(err)
	}
	return pi.VersionCount
}

func TestRetentionRun(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		r := publishThree(t, env)
		logs := &syncBuffer{}
		job := jobs.NewRetention(env.Service, slog.New(slog.NewTextHandler(logs, nil)))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			job.Run(ctx, 10*time.Millisecond)
		}()
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(logs.String(), "retention done") {
			if time.Now().After(deadline) {
				t.Fatalf("no retention ran; log %q", logs.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
		<-done
		if n := activeCount(t, env, r); n != 1 {
			t.Fatalf("%d active versions after the scheduled run, want 1", n)
		}
		if !strings.Contains(logs.String(), "dry_run=false policies=1 packages=1 versions=2") {
			t.Errorf("log %q", logs.String())
		}
	})
}

// TestRetentionOneReplica: while another replica (another store on the
// same database) holds the retention lock, a run does nothing and says so.
// On SQLite, which serves one node, the lock is the process's own.
func TestRetentionOneReplica(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		r := publishThree(t, env)
		holder := env.Store
		if env.Dialect == "postgres" {
			holder = storetest.OpenDSN(t, env.DSN)
		}
		unlock, got, err := holder.(packages.Locker).TryLock(context.Background(), "packhub.retention")
		if err != nil || !got {
			t.Fatalf("TryLock: %v, %v", got, err)
		}
		logs := &syncBuffer{}
		job := jobs.NewRetention(env.Service, slog.New(slog.NewTextHandler(logs, nil)))
		rep, err := job.RunOnce(context.Background(), "", false)
		if err != nil || !rep.Skipped || !strings.Contains(logs.String(), "retention skipped") {
			t.Fatalf("run while another holds the lock: %+v, %v; log %q", rep, err, logs.String())
		}
		if rep, err := job.RunOnce(context.Background(), "", true); err != nil || rep.Skipped || len(rep.Versions) != 2 {
			t.Fatalf("a dry run needs no lock: %+v, %v", rep, err)
		}
		if n := activeCount(t, env, r); n != 3 {
			t.Fatalf("%d active versions while locked", n)
		}
		unlock()
		if rep, err := job.RunOnce(context.Background(), "", false); err != nil || rep.Skipped || len(rep.Versions) != 2 {
			t.Fatalf("run after the unlock: %+v, %v", rep, err)
		}
	})
}

// jobLog records what an Observer is told.
type jobLog struct {
	mu   sync.Mutex
	runs []string
}

func (l *jobLog) JobRan(job, result string, took time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if took < 0 {
		result += " in negative time"
	}
	l.runs = append(l.runs, job+" "+result)
}

// TestJobObserver: real runs are reported with their result; dry runs are
// not runs of the job.
func TestJobObserver(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, "sqlite")
	publishThree(t, env)
	log := &jobLog{}
	logger := slog.New(slog.NewTextHandler(&syncBuffer{}, nil))
	purge := jobs.NewRunner(env.Service, logger, jobs.WithObserver(log))
	retention := jobs.NewRetention(env.Service, logger, jobs.WithObserver(log))
	ctx := context.Background()
	if _, err := purge.RunOnce(ctx, false); err != nil {
		t.Fatal(err)
	}
	if _, err := retention.RunOnce(ctx, "", true); err != nil {
		t.Fatal(err)
	}
	unlock, _, err := env.Store.(packages.Locker).TryLock(ctx, "packhub.retention")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := retention.RunOnce(ctx, "", false); err != nil {
		t.Fatal(err)
	}
	unlock()
	if _, err := retention.RunOnce(ctx, "", false); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := purge.RunOnce(cancelled, false); err == nil {
		t.Fatal("a purge with a cancelled context succeeded")
	}
	want := []string{"purge ok", "retention skipped", "retention ok", "purge failed"}
	if !slices.Equal(log.runs, want) {
		t.Errorf("runs %q, want %q", log.runs, want)
	}
}
