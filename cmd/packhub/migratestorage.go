package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/packhub/packhub/internal/blob/blobstore"
	"github.com/packhub/packhub/internal/config"
	"github.com/packhub/packhub/internal/migratestorage"
	"github.com/packhub/packhub/internal/store"
)

const migrateStorageHelp = `Copies the installation named by the storage settings (--data-dir, --database,
--blob-store: by default the SQLite database and blob files of the data directory) to
the database --to-database and the blob store --to-blob-store: every table with every
row (ids, deleted packages and versions, token hashes, download counts, events), then
every blob, streamed and read back from the target to verify it. The target database's
migrations are applied first; a target that holds another installation is refused.

Stop the server first, or run once while it serves and again after stopping it: each
run makes the target equal to the source, copying only what is missing or changed, and
a run cut short is finished by running it again. Then start the server on the target.`

func migrateStorageSetup(fs *flag.FlagSet) cmdFunc {
	toDatabase := fs.String("to-database", "", "the target database: a postgres:// URL or a SQLite file path (required)")
	toBlobStore := fs.String("to-blob-store", "", "the target blob store URL: s3://bucket/prefix or file:///path (required)")
	jobs := fs.Int("jobs", 4, "how many blobs are copied at once")
	progress := fs.Duration("progress", 5*time.Second, "how often progress is printed during the long steps")
	return func(ctx context.Context, inv *invocation) error {
		switch {
		case *toDatabase == "":
			return usagef("--to-database is required")
		case *toBlobStore == "":
			return usagef("--to-blob-store is required")
		case *jobs < 1:
			return usagef("--jobs must be at least 1")
		case *progress <= 0:
			return usagef("--progress must be positive")
		case sameDatabase(*toDatabase, inv.cfg.Database):
			return usagef("--to-database names the source database")
		case sameBlobStore(*toBlobStore, inv.cfg.BlobStore):
			return usagef("--to-blob-store names the source blob store")
		}
		return migrateStorage(ctx, inv, *toDatabase, *toBlobStore, *jobs, *progress)
	}
}

func migrateStorage(ctx context.Context, inv *invocation, toDatabase, toBlobStore string, jobs int, progress time.Duration) error {
	out := inv.stdout
	if !config.IsPostgres(inv.cfg.Database) {
		// Opening a SQLite file that is not there would make an empty one.
		path := strings.TrimPrefix(strings.TrimPrefix(inv.cfg.Database, "sqlite://"), "file:")
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("source database: %w", err)
		}
	}
	src, err := store.OpenTables(ctx, inv.cfg.Database)
	if err != nil {
		return fmt.Errorf("open the source database: %w", err)
	}
	defer src.Close()
	srcBlobs, err := blobstore.Open(ctx, inv.cfg.BlobStore)
	if err != nil {
		return fmt.Errorf("open the source blob store: %w", err)
	}

	applied, err := store.Migrate(ctx, toDatabase)
	if err != nil {
		return fmt.Errorf("migrate the target database: %w", err)
	}
	if len(applied) > 0 {
		fmt.Fprintf(out, "target database: applied migrations %s\n", strings.Join(applied, ", "))
	} else {
		fmt.Fprintln(out, "target database: migrations up to date")
	}
	tgt, err := store.OpenTables(ctx, toDatabase)
	if err != nil {
		return fmt.Errorf("open the target database: %w", err)
	}
	defer tgt.Close()
	tgtBlobs, err := blobstore.Open(ctx, toBlobStore)
	if err != nil {
		return fmt.Errorf("open the target blob store: %w", err)
	}

	_, err = migratestorage.Run(ctx, migratestorage.Options{
		Source:        src,
		Target:        tgt,
		SourceBlobs:   srcBlobs,
		TargetBlobs:   tgtBlobs,
		Out:           out,
		Jobs:          jobs,
		ProgressEvery: progress,
	})
	if errors.Is(err, migratestorage.ErrOtherInstallation) {
		return fmt.Errorf("%w; nothing was copied", err)
	}
	return err
}

// sameDatabase reports whether two database settings name one database.
func sameDatabase(a, b string) bool {
	if config.IsPostgres(a) || config.IsPostgres(b) {
		return a == b
	}
	return absPath(a) == absPath(b)
}

// sameBlobStore reports whether two blob store URLs name one store.
func sameBlobStore(a, b string) bool {
	return absPath(a) == absPath(b)
}

// absPath turns a file path or a file:// URL into an absolute path; other
// URLs are returned as they are, without a trailing slash.
func absPath(s string) string {
	for _, prefix := range []string{"file://", "sqlite://", "file:"} {
		if strings.HasPrefix(s, prefix) {
			s = strings.TrimPrefix(s, prefix)
			break
		}
	}
	if strings.Contains(s, "://") {
		return strings.TrimRight(s, "/")
	}
	if abs, err := filepath.Abs(s); err == nil {
		return abs
	}
	return filepath.Clean(s)
}
