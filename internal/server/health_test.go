package server

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/packhub/packhub/internal/config"
	"github.com/packhub/packhub/internal/store/storetest"
)

// TestHealthProbesSeeThroughDecorators: the storage a server opens is
// wrapped in timing decorators, which need not pass on the stores' own
// health checks; the probes reach them anyway, every one of them, and a
// store that stops answering fails its probe.
func TestHealthProbesSeeThroughDecorators(t *testing.T) {
	dsns := map[string]func(testing.TB) string{"sqlite": storetest.SQLiteDSN, "postgres": storetest.PostgresDSN}
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			cfg := config.Defaults()
			cfg.DataDir = t.TempDir()
			cfg.Database = dsns[name](t)
			cfg.BlobStore = "file://" + filepath.Join(t.TempDir(), "blobs")
			ctx := context.Background()
			st, err := OpenStorage(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), Instrumented())
			if err != nil {
				t.Fatal(err)
			}
			if st.Store == st.openedStore {
				t.Fatal("the instrumented store is not wrapped: the test checks nothing")
			}
			probes := st.healthProbes()
			want := []string{"database unreachable", "blob store unreachable", "database migrations pending (run packhub migrate)"}
			if len(probes) != len(want) {
				t.Fatalf("%d probes, want %v", len(probes), want)
			}
			for i, p := range probes {
				if p.Reason != want[i] {
					t.Fatalf("probe %d is %q, want %q", i, p.Reason, want[i])
				}
				if err := p.Check(ctx); err != nil {
					t.Fatalf("%s: %v", p.Reason, err)
				}
			}
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			if err := probes[0].Check(ctx); err == nil {
				t.Fatal("the database probe passes on a closed store")
			}
		})
	}
}
