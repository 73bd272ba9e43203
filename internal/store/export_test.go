package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/packhub/packhub/internal/packages"
)

// SeedPackages inserts n packages named prefix-0 … prefix-(n-1) of owner in
// bulk, in one transaction, and returns their ids.
func SeedPackages(ctx context.Context, st packages.Store, ownerID int64, typ packages.Type, prefix string, n int, vis packages.Visibility) ([]int64, error) {
	s := st.(*DB)
	var ids []int64
	err := s.inTx(ctx, func(s *DB) error {
		at := s.t(now())
		return bulk(n, 500, func(lo, hi int) error {
			var b strings.Builder
			var args []any
			b.WriteString(`INSERT INTO packages (owner_id, type, name, visibility, created_at, updated_at) VALUES `)
			for i := lo; i < hi; i++ {
				if i > lo {
					b.WriteString(", ")
				}
				b.WriteString("(?, ?, ?, ?, ?, ?)")
				args = append(args, ownerID, string(typ), fmt.Sprintf("%s-%d", prefix, i), string(vis), at, at)
			}
			b.WriteString(" RETURNING id")
			rows, err := s.w().QueryContext(ctx, s.q(b.String()), args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id); err != nil {
					return err
				}
				ids = append(ids, id)
			}
			return rows.Err()
		})
	})
	return ids, err
}

// SeedVersions inserts n versions 1.0.0 … of a package in bulk, in one
// transaction.
func SeedVersions(ctx context.Context, st packages.Store, packageID int64, n int) error {
	s := st.(*DB)
	return s.inTx(ctx, func(s *DB) error {
		base := now().Add(-time.Duration(n) * time.Second)
		return bulk(n, 500, func(lo, hi int) error {
			var b strings.Builder
			var args []any
			b.WriteString(`INSERT INTO versions (package_id, name, metadata, description, created_at, updated_at) VALUES `)
			for i := lo; i < hi; i++ {
				if i > lo {
					b.WriteString(", ")
				}
				b.WriteString("(?, ?, ?, ?, ?, ?)")
				at := s.t(base.Add(time.Duration(i) * time.Second))
				args = append(args, packageID, fmt.Sprintf("1.%d.%d", i/1000, i%1000),
					fmt.Sprintf(`{"dist":{"tarball":"pkg-%d.tgz"}}`, i), "a version", at, at)
			}
			_, err := s.exec(ctx, b.String(), args...)
			return err
		})
	})
}

// Analyze refreshes the planner statistics (and, on PostgreSQL, the
// visibility map) after a bulk load.
func Analyze(ctx context.Context, st packages.Store) error {
	s := st.(*DB)
	q := "ANALYZE"
	if s.d == dialectPostgres {
		q = "VACUUM ANALYZE"
	}
	_, err := s.write.ExecContext(ctx, q)
	return err
}

func bulk(n, batch int, fn func(lo, hi int) error) error {
	for lo := 0; lo < n; lo += batch {
		if err := fn(lo, min(lo+batch, n)); err != nil {
			return err
		}
	}
	return nil
}

// BreakCounters overwrites a package's version and download counts, as a
// damaged database might hold them.
func BreakCounters(ctx context.Context, st packages.Store, id int64, versions int, downloads int64) error {
	_, err := st.(*DB).exec(ctx, `UPDATE packages SET version_count = ?, download_count = ? WHERE id = ?`, versions, downloads, id)
	return err
}
