// Package storetest holds the conformance suite every packages.Store must
// pass, and helpers that give tests a fresh store on a real database.
//
// NewSQLite opens a SQLite database in a temporary directory. NewPostgres
// connects to the database named by PACKHUB_TEST_DATABASE_URL, in a fresh
// schema of its own that is dropped when the test ends, so many test
// packages can share one database in parallel. Without the variable,
// PostgreSQL tests are skipped, unless CI is set: then they fail.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/store"
)

// EnvDatabaseURL names the variable holding the PostgreSQL test database URL.
const EnvDatabaseURL = "PACKHUB_TEST_DATABASE_URL"

// SQLiteDSN returns the DSN of a new, empty SQLite database in a temporary
// directory removed when the test ends.
func SQLiteDSN(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), store.DefaultFile)
}

// NewSQLite opens a migrated store on a new SQLite database; it is closed
// when the test ends.
func NewSQLite(t testing.TB) packages.Store {
	t.Helper()
	return openDSN(t, SQLiteDSN(t))
}

// PostgresDSN creates a fresh schema in the database named by
// PACKHUB_TEST_DATABASE_URL and returns a DSN whose connections use it. The
// schema is dropped when the test ends. Without the variable the test is
// skipped, or fails when CI is set.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvDatabaseURL)
	if base == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set; PostgreSQL tests must run in CI", EnvDatabaseURL)
		}
		t.Skipf("%s is not set; skipping PostgreSQL", EnvDatabaseURL)
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("%s must be a postgres:// URL, got %q", EnvDatabaseURL, base)
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	schema := "t_" + hex.EncodeToString(b[:])

	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open %s: %v", EnvDatabaseURL, err)
	}
	admin.SetMaxOpenConns(1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		admin.Close()
	})

	q := u.Query()
	q.Set("search_path", schema)
	// Test data need not survive a crash; not waiting for the WAL flush
	// makes schema setup and each write much faster.
	q.Set("synchronous_commit", "off")
	u.RawQuery = q.Encode()
	return u.String()
}

// NewPostgres opens a migrated store in a fresh PostgreSQL schema (see
// PostgresDSN); it is closed and the schema dropped when the test ends.
func NewPostgres(t testing.TB) packages.Store {
	t.Helper()
	return openDSN(t, PostgresDSN(t))
}

// OpenDSN opens a migrated store on the database dsn names (as SQLiteDSN
// and PostgresDSN return them); it is closed when the test ends.
func OpenDSN(t testing.TB, dsn string) packages.Store {
	t.Helper()
	return openDSN(t, dsn)
}

func openDSN(t testing.TB, dsn string) packages.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return s
}

// Dialects names the dialects Each runs, with their openers.
var Dialects = []struct {
	Name string
	Open func(t testing.TB) packages.Store
}{
	{"sqlite", NewSQLite},
	{"postgres", NewPostgres},
}

// Each runs fn as a subtest per dialect ("sqlite", "postgres"), each with a
// fresh store. The postgres subtest skips (or fails in CI) as NewPostgres
// says.
func Each(t *testing.T, fn func(t *testing.T, s packages.Store)) {
	t.Helper()
	for _, d := range Dialects {
		t.Run(d.Name, func(t *testing.T) {
			fn(t, d.Open(t))
		})
	}
}
