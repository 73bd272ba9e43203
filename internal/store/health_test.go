package store_test

import (
	"context"
	"database/sql"
	"net/url"
	"slices"
	"strconv"
	"testing"

	"github.com/packhub/packhub/internal/store"
	"github.com/packhub/packhub/internal/store/storetest"
)

// TestHealth checks Ping and PendingMigrations on both databases: a
// migrated database answers and has nothing pending; one that lost a
// migration's record reports it; a closed store fails its ping.
func TestHealth(t *testing.T) {
	dsns := map[string]func(testing.TB) string{"sqlite": storetest.SQLiteDSN, "postgres": storetest.PostgresDSN}
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			dsn := dsns[name](t)
			ctx := context.Background()
			st, err := store.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			db := st.(*store.DB)
			if err := db.Ping(ctx); err != nil {
				t.Fatalf("ping: %v", err)
			}
			pending, err := db.PendingMigrations(ctx)
			if err != nil || len(pending) != 0 {
				t.Fatalf("pending after open: %v %v", pending, err)
			}
			// Forget the record of the latest migration, as a database
			// restored from before it would be.
			raw := rawDB(t, name, dsn)
			var latest int64
			var latestName string
			if err := raw.QueryRow(`SELECT version, name FROM schema_migrations ORDER BY version DESC LIMIT 1`).Scan(&latest, &latestName); err != nil {
				t.Fatal(err)
			}
			if _, err := raw.Exec(`DELETE FROM schema_migrations WHERE version = ` + strconv.FormatInt(latest, 10)); err != nil {
				t.Fatal(err)
			}
			pending, err = db.PendingMigrations(ctx)
			if err != nil || !slices.Equal(pending, []string{latestName}) {
				t.Fatalf("pending after losing %s: %v %v", latestName, pending, err)
			}
			// A migration this build does not know (a newer build's) is
			// not pending.
			if _, err := raw.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (` + strconv.FormatInt(latest, 10) + `, 'x', '2026-01-01T00:00:00Z'), (999, '999_newer', '2026-01-01T00:00:00Z')`); err != nil {
				t.Fatal(err)
			}
			if pending, err := db.PendingMigrations(ctx); err != nil || len(pending) != 0 {
				t.Fatalf("pending with a newer migration applied: %v %v", pending, err)
			}
			st.Close()
			if err := db.Ping(ctx); err == nil {
				t.Fatal("a closed store answers its ping")
			}
		})
	}
}

// rawDB opens the test database directly, outside the store.
func rawDB(t *testing.T, dialect, dsn string) *sql.DB {
	t.Helper()
	driver := "sqlite"
	if dialect == "postgres" {
		driver = "pgx"
	} else {
		dsn = (&url.URL{Scheme: "file", Path: dsn}).String()
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
