package jobs_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/jobs"
	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/testenv"
)

// syncBuffer is a log sink safe for the Runner's goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// deletedPackage publishes a package as alice and deletes it, returning
// its id and the digest of its one file.
func deletedPackage(t *testing.T, env *testenv.Env, name string) (int64, string) {
	t.Helper()
	ctx := context.Background()
	if _, err := env.Service.Owner(ctx, "alice"); err != nil {
		env.User("alice")
	}
	tok := env.Token("alice", "read:packages,write:packages,delete:packages")
	r := packages.PackageRef{Owner: "alice", Type: packages.TypeNpm, Name: name}
	v := env.Publish(tok, r, "", "1.0.0")[0]
	if err := env.Service.DeletePackage(ctx, env.Actor(tok), r, packages.ViaRegistry); err != nil {
		t.Fatal(err)
	}
	fs, err := env.Service.Files(ctx, v.ID)
	if err != nil || len(fs) != 1 {
		t.Fatalf("files %v, %v", fs, err)
	}
	return v.PackageID, fs[0].Digest
}

func TestRunOnce(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		ctx := context.Background()
		logs := &syncBuffer{}
		runner := jobs.NewRunner(env.Service, slog.New(slog.NewTextHandler(logs, nil)))
		pkgID, digest := deletedPackage(t, env, "old")
		env.Clock.Advance(31 * 24 * time.Hour)

		cases := []struct {
			name     string
			dryRun   bool
			packages int
			blobs    int
			present  bool // the package and its blob are still there after the run
			log      string
		}{
			{"dry run", true, 1, 0, true, "dry_run=true packages=1 versions=0 blobs=0"},
			{"purge", false, 1, 1, false, "dry_run=false packages=1 versions=0 blobs=1"},
			{"nothing left", false, 0, 0, false, "dry_run=false packages=0 versions=0 blobs=0"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				rep, err := runner.RunOnce(ctx, c.dryRun)
				if err != nil {
					t.Fatal(err)
				}
				if rep.DryRun != c.dryRun || len(rep.Packages) != c.packages || len(rep.Blobs) != c.blobs {
					t.Fatalf("report %+v, want %d packages and %d blobs", rep, c.packages, c.blobs)
				}
				_, err = env.Store.GetPackageByID(ctx, pkgID)
				if (err == nil) != c.present {
					t.Fatalf("package present: %v, want %v", err == nil, c.present)
				}
				_, err = env.Blobs.Stat(ctx, digest)
				if (err == nil) != c.present {
					t.Fatalf("blob present: %v, want %v", err == nil, c.present)
				}
				if !strings.Contains(logs.String(), c.log) {
					t.Fatalf("log %q lacks %q", logs.String(), c.log)
				}
			})
		}

		t.Run("failure is logged and returned", func(t *testing.T) {
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			if _, err := runner.RunOnce(cctx, false); err == nil {
				t.Fatal("purge with a cancelled context succeeded")
			}
			if !strings.Contains(logs.String(), "purge failed") {
				t.Fatalf("log %q lacks the failure", logs.String())
			}
		})
	})
}

func TestRun(t *testing.T) {
	t.Parallel()
	testenv.Each(t, func(t *testing.T, env *testenv.Env) {
		logs := &syncBuffer{}
		runner := jobs.NewRunner(env.Service, slog.New(slog.NewTextHandler(logs, nil)))
		pkgID, digest := deletedPackage(t, env, "scheduled")
		env.Clock.Advance(31 * 24 * time.Hour)

		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			runner.Run(ctx, 10*time.Millisecond)
		}()
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(logs.String(), "purge done") {
			if time.Now().After(deadline) {
				t.Fatalf("no purge ran; log %q", logs.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("Run did not return after its context ended")
		}
		if _, err := env.Store.GetPackageByID(context.Background(), pkgID); !packages.IsNotFound(err) {
			t.Fatalf("package after scheduled purge: %v", err)
		}
		if _, err := env.Blobs.Stat(context.Background(), digest); !packages.IsNotFound(err) {
			t.Fatalf("blob after scheduled purge: %v", err)
		}
	})
}

// TestRunOnceTempFiles: what a Put cut short by a crash leaves in the blob
// store's temporary area is reported by a dry run and removed by a real
// run once older than the grace period; younger files are reported and
// kept.
func TestRunOnceTempFiles(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, "sqlite")
	ctx := context.Background()
	logs := &syncBuffer{}
	runner := jobs.NewRunner(env.Service, slog.New(slog.NewTextHandler(logs, nil)))
	tmp := filepath.Join(env.Blobs.(interface{ Root() string }).Root(), "tmp")
	leave := func(name string, size int, age time.Duration) string {
		t.Helper()
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, bytes.Repeat([]byte("x"), size), 0o600); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-age)
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
		return p
	}
	stale := leave("put-killed", 3000, 2*time.Hour)
	fresh := leave("put-running", 700, 0)

	cases := []struct {
		name         string
		dryRun       bool
		want         packages.TempReport
		staleRemains bool
		log          string
	}{
		{"dry run", true, packages.TempReport{Stale: 1, StaleBytes: 3000, Fresh: 1, FreshBytes: 700}, true, "dry_run=true packages=0 versions=0 blobs=0 adopted=0 pending_blobs=0 uploads=0 temp_files=1 temp_bytes=3000 temp_files_kept=1"},
		{"purge", false, packages.TempReport{Stale: 1, StaleBytes: 3000, Fresh: 1, FreshBytes: 700}, false, "dry_run=false packages=0 versions=0 blobs=0 adopted=0 pending_blobs=0 uploads=0 temp_files=1 temp_bytes=3000 temp_files_kept=1"},
		{"nothing stale left", false, packages.TempReport{Fresh: 1, FreshBytes: 700}, false, "temp_files=0 temp_bytes=0 temp_files_kept=1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep, err := runner.RunOnce(ctx, c.dryRun)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Temp != c.want {
				t.Fatalf("temporary files %+v, want %+v", rep.Temp, c.want)
			}
			if _, err := os.Stat(stale); (err == nil) != c.staleRemains {
				t.Fatalf("stale file: %v, want present %v", err, c.staleRemains)
			}
			if _, err := os.Stat(fresh); err != nil {
				t.Fatalf("fresh file: %v", err)
			}
			if !strings.Contains(logs.String(), c.log) {
				t.Fatalf("log %q lacks %q", logs.String(), c.log)
			}
		})
	}
}
