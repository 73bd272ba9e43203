package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/packhub/packhub/internal/packages"
	"github.com/packhub/packhub/internal/store"
	"github.com/packhub/packhub/internal/store/storetest"
)

// eachTables runs fn per dialect with a fresh database opened both ways.
func eachTables(t *testing.T, fn func(t *testing.T, dialect, dsn string, st packages.Store, tb *store.Tables)) {
	for _, d := range []struct {
		name string
		dsn  func(testing.TB) string
	}{{"sqlite", storetest.SQLiteDSN}, {"postgres", storetest.PostgresDSN}} {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			dsn := d.dsn(t)
			st, err := store.Open(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			tb, err := store.OpenTables(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { tb.Close() })
			fn(t, d.name, dsn, st, tb)
		})
	}
}

func execSQL(t *testing.T, dialect, dsn, query string) {
	t.Helper()
	driver := "sqlite"
	if dialect == "postgres" {
		driver = "pgx"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(t.Context(), query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// TestTablesSchema: the schema lists every table the migrations made, with
// its key, references in order, sequences and the kinds of its columns.
func TestTablesSchema(t *testing.T) {
	eachTables(t, func(t *testing.T, dialect, dsn string, st packages.Store, tb *store.Tables) {
		sc, err := tb.Schema(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if sc.Dialect != dialect || len(sc.Migrations) < 5 || sc.Migrations[0] != 1 {
			t.Errorf("dialect %s, migrations %v", sc.Dialect, sc.Migrations)
		}
		pos := map[string]int{}
		for i, tt := range sc.Tables {
			pos[tt.Name] = i
		}
		for _, name := range []string{"owners", "org_members", "repositories", "repo_collaborators", "tokens", "packages",
			"package_access", "versions", "files", "tags", "blobs", "package_blobs", "events", "pending_blobs"} {
			if _, ok := pos[name]; !ok {
				t.Errorf("table %s not listed", name)
			}
		}
		if _, ok := pos["schema_migrations"]; ok {
			t.Error("schema_migrations listed")
		}
		for _, tt := range sc.Tables {
			for _, r := range tt.Refs {
				if pos[r] >= pos[tt.Name] && r != tt.Name {
					t.Errorf("%s comes before %s, which it refers to", tt.Name, r)
				}
			}
		}
		tags, _ := sc.Table("tags")
		if !slices.Equal(tags.Key, []string{"package_id", "name"}) || !slices.Equal(tags.Refs, []string{"packages", "versions"}) || tags.Serial != "" {
			t.Errorf("tags: %+v", tags)
		}
		owners, _ := sc.Table("owners")
		if !slices.Equal(owners.Key, []string{"id"}) || owners.Serial != "id" {
			t.Errorf("owners: %+v", owners)
		}
		want := map[string]store.Kind{"id": store.KindInteger, "login": store.KindText, "site_admin": store.KindBool, "created_at": store.KindTime}
		if dialect == "sqlite" {
			want["site_admin"], want["created_at"] = store.KindInteger, store.KindText
		}
		for name, k := range want {
			if c, ok := owners.Column(name); !ok || c.Kind != k {
				t.Errorf("owners.%s: %+v, want kind %s", name, c, k)
			}
		}
	})
}

// TestTablesRowsAndApply: rows come in key order, text by bytes, a batch
// at a time after a key; Apply inserts, updates and deletes them with
// every value as it was.
func TestTablesRowsAndApply(t *testing.T) {
	ddl := map[string]string{
		"sqlite":   `CREATE TABLE kinds (k TEXT NOT NULL, n INTEGER NOT NULL, b INTEGER, at TEXT, j TEXT, raw BLOB, r REAL, PRIMARY KEY (k, n))`,
		"postgres": `CREATE TABLE kinds (k TEXT NOT NULL, n BIGINT NOT NULL, b BOOLEAN, at TIMESTAMPTZ, j JSONB, raw BYTEA, r DOUBLE PRECISION, PRIMARY KEY (k, n))`,
	}
	eachTables(t, func(t *testing.T, dialect, dsn string, st packages.Store, tb *store.Tables) {
		ctx := t.Context()
		execSQL(t, dialect, dsn, ddl[dialect])
		sc, err := tb.Schema(ctx)
		if err != nil {
			t.Fatal(err)
		}
		kinds, ok := sc.Table("kinds")
		if !ok {
			t.Fatal("new table not listed")
		}
		// Read and write in the precise kinds, as a copy between dialects does.
		for i, k := range []store.Kind{store.KindText, store.KindInteger, store.KindBool, store.KindTime, store.KindJSON, store.KindBytes, store.KindReal} {
			kinds.Columns[i].Kind = k
		}
		at := time.Date(2026, 1, 5, 10, 11, 12, 123456000, time.UTC)
		rows := []store.Row{
			{"b", int64(1), true, at, `{"a": 1}`, []byte{0, 1}, 0.5},
			{"B", int64(2), false, nil, nil, nil, nil},
			{"a", int64(10), nil, at.Add(time.Hour), `[1, 2]`, []byte{}, -1.25},
			{"a", int64(9), true, at, `"x"`, []byte{9}, 3.0},
			{"é", int64(1), false, at, `{}`, []byte{7}, 0.0},
		}
		if err := tb.Apply(ctx, kinds, store.Changes{Insert: rows}); err != nil {
			t.Fatal(err)
		}
		var got []store.Row
		var after []any
		for {
			page, err := tb.Rows(ctx, kinds, after, 2)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, page...)
			if len(page) < 2 {
				break
			}
			after = []any{page[len(page)-1][0], page[len(page)-1][1]}
		}
		var keys []string
		for _, r := range got {
			keys = append(keys, fmt.Sprintf("%s/%d", r[0], r[1]))
		}
		if want := []string{"B/2", "a/9", "a/10", "b/1", "é/1"}; !slices.Equal(keys, want) {
			t.Errorf("keys in order %v, want %v", keys, want)
		}
		first := got[3]
		if first[2] != true || !first[3].(time.Time).Equal(at) || first[6] != 0.5 || string(first[5].([]byte)) != "\x00\x01" {
			t.Errorf("row b/1 read back as %#v", first)
		}
		if got[0][3] != nil || got[0][4] != nil {
			t.Errorf("NULLs read back as %#v", got[0])
		}

		upd := slices.Clone(got[0])
		upd[2], upd[4] = true, `{"now": "set"}`
		if err := tb.Apply(ctx, kinds, store.Changes{Update: []store.Row{upd}, Delete: [][]any{{"a", int64(9)}}}); err != nil {
			t.Fatal(err)
		}
		got, err = tb.Rows(ctx, kinds, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 4 || got[0][2] != true || !strings.Contains(got[0][4].(string), "set") || got[1][1] != int64(10) {
			t.Errorf("after update and delete: %#v", got)
		}
		if err := tb.Apply(ctx, kinds, store.Changes{Update: []store.Row{{"zz", int64(1), nil, nil, nil, nil, nil}}}); err == nil {
			t.Error("update of a missing row succeeded")
		}
	})
}

// TestTablesSequences: a sequence set past ids handed out elsewhere hands
// out the next one after them.
func TestTablesSequences(t *testing.T) {
	eachTables(t, func(t *testing.T, dialect, dsn string, st packages.Store, tb *store.Tables) {
		ctx := t.Context()
		sc, err := tb.Schema(ctx)
		if err != nil {
			t.Fatal(err)
		}
		owners, _ := sc.Table("owners")
		if n, err := tb.Sequence(ctx, owners); err != nil || n != 0 {
			t.Fatalf("sequence of a new table: %d, %v", n, err)
		}
		if err := tb.SetSequence(ctx, owners, 0); err != nil {
			t.Fatal(err)
		}
		o := &packages.Owner{Login: "first", Type: packages.UserOwner}
		if err := st.CreateOwner(ctx, o); err != nil || o.ID != 1 {
			t.Fatalf("first owner: id %d, %v", o.ID, err)
		}
		if err := tb.SetSequence(ctx, owners, 41); err != nil {
			t.Fatal(err)
		}
		if n, err := tb.Sequence(ctx, owners); err != nil || n != 41 {
			t.Errorf("sequence after set: %d, %v", n, err)
		}
		o = &packages.Owner{Login: "next", Type: packages.UserOwner}
		if err := st.CreateOwner(ctx, o); err != nil || o.ID != 42 {
			t.Errorf("owner after the sequence was set: id %d, %v", o.ID, err)
		}
		// Never below the ids the table holds.
		if err := tb.SetSequence(ctx, owners, 3); err != nil {
			t.Fatal(err)
		}
		o = &packages.Owner{Login: "third", Type: packages.UserOwner}
		if err := st.CreateOwner(ctx, o); err != nil || o.ID != 43 {
			t.Errorf("owner after a lower set: id %d, %v", o.ID, err)
		}
	})
}

// TestTablesInstallationAndBlobs: the installation is named by its first
// owner; blobs are listed in digest order with their checksums.
func TestTablesInstallationAndBlobs(t *testing.T) {
	eachTables(t, func(t *testing.T, dialect, dsn string, st packages.Store, tb *store.Tables) {
		ctx := context.Background()
		if id, err := tb.Installation(ctx); err != nil || id != "" {
			t.Fatalf("installation of an empty database: %q, %v", id, err)
		}
		for _, login := range []string{"Zed", "amy"} {
			if err := st.CreateOwner(ctx, &packages.Owner{Login: login, Type: packages.UserOwner}); err != nil {
				t.Fatal(err)
			}
		}
		id, err := tb.Installation(ctx)
		if err != nil || !strings.HasPrefix(id, `owner 1 "Zed" created 20`) {
			t.Errorf("installation: %q, %v", id, err)
		}
		sums := packages.Checksums{MD5: "m", SHA1: "s1", SHA256: "s256", SHA512: "s512"}
		for i, d := range []string{"sha256:cc", "sha256:aa", "sha256:bb"} {
			b := &packages.Blob{Digest: d, Size: int64(i), CreatedAt: time.Now()}
			if d == "sha256:bb" {
				b.Checksums = sums
			}
			if err := st.PutBlob(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		page, err := tb.Blobs(ctx, "", 2)
		if err != nil || len(page) != 2 || page[0].Digest != "sha256:aa" || page[1].Digest != "sha256:bb" || page[1].Checksums != sums || page[0].Checksums.Known() {
			t.Fatalf("first page: %+v, %v", page, err)
		}
		page, err = tb.Blobs(ctx, page[1].Digest, 2)
		if err != nil || len(page) != 1 || page[0].Digest != "sha256:cc" || page[0].Size != 0 {
			t.Fatalf("second page: %+v, %v", page, err)
		}
	})
}
