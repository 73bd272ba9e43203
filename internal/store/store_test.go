package store_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/store"
	"github.com/packhub/packhub/internal/store/storetest"
)

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) packages.Store { return storetest.NewSQLite(t) })
}

func TestPostgres(t *testing.T) {
	storetest.Run(t, func(t *testing.T) packages.Store { return storetest.NewPostgres(t) })
}

// TestMigrate checks that migrating is idempotent and safe when several
// processes start at once.
func TestMigrate(t *testing.T) {
	dsns := map[string]func(testing.TB) string{"sqlite": storetest.SQLiteDSN, "postgres": storetest.PostgresDSN}
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			dsn := dsns[name](t)
			ctx := context.Background()
			var wg sync.WaitGroup
			applied := make([][]string, 4)
			errs := make([]error, 4)
			for i := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					applied[i], errs[i] = store.Migrate(ctx, dsn)
				}()
			}
			wg.Wait()
			n := 0
			for i, err := range errs {
				if err != nil {
					t.Fatalf("migrate %d: %v", i, err)
				}
				n += len(applied[i])
			}
			if n == 0 {
				t.Fatal("no migration applied")
			}
			again, err := store.Migrate(ctx, dsn)
			if err != nil || len(again) != 0 {
				t.Fatalf("second migrate applied %v, %v", again, err)
			}
			s, err := store.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.CreateOwner(ctx, &packages.Owner{Login: "o", Type: packages.UserOwner}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestSQLiteDSNForms checks the accepted spellings of a SQLite database.
func TestSQLiteDSNForms(t *testing.T) {
	dir := t.TempDir()
	for _, dsn := range []string{
		filepath.Join(dir, "a.db"),
		"sqlite://" + filepath.Join(dir, "b.db"),
		"file:" + filepath.Join(dir, "c.db"),
		"file:" + filepath.Join(dir, "d.db") + "?cache=private",
		"file://" + filepath.Join(dir, "e.db"),
		store.DefaultDSN(dir),
		":memory:",
	} {
		s, err := store.Open(context.Background(), dsn)
		if err != nil {
			t.Fatalf("%s: %v", dsn, err)
		}
		if err := s.CreateOwner(context.Background(), &packages.Owner{Login: "o", Type: packages.UserOwner}); err != nil {
			t.Fatalf("%s: %v", dsn, err)
		}
		if _, err := s.GetOwnerByLogin(context.Background(), "O"); err != nil {
			t.Fatalf("%s: %v", dsn, err)
		}
		s.Close()
	}
	if _, err := store.Open(context.Background(), ""); err == nil {
		t.Fatal("empty DSN accepted")
	}
	// A URL of another database is refused, not taken for a file name.
	_, err := store.Open(context.Background(), "mysql://u:secret@"+dir+"/db")
	if err == nil || !strings.Contains(err.Error(), `unsupported database URL scheme "mysql"`) || strings.Contains(err.Error(), "secret") {
		t.Fatalf("mysql DSN: %v", err)
	}
}

func TestEach(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s packages.Store) {
		if err := s.CreateOwner(t.Context(), &packages.Owner{Login: "o", Type: packages.UserOwner}); err != nil {
			t.Fatal(err)
		}
	})
}
