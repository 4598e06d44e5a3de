package sqldb_test

import (
	"context"
	"embed"
	"io/fs"
	"testing"

	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb/sqldbtest"
)

// testdata/migrations holds a tiny service schema (table items) laid out the
// way services lay theirs out.
//
//go:embed testdata/migrations
var testdataFS embed.FS

func serviceMigrations(t testing.TB) fs.FS {
	t.Helper()
	sub, err := fs.Sub(testdataFS, "testdata")
	if err != nil {
		t.Fatalf("fs.Sub: %v", err)
	}
	return sub
}

// open opens tg and closes it when t ends.
func open(t testing.TB, tg sqldbtest.Target, extra ...sqldb.Option) *sqldb.DB {
	t.Helper()
	db, err := sqldb.Open(t.Context(), tg.URL, append(append([]sqldb.Option(nil), tg.Options...), extra...)...)
	if err != nil {
		t.Fatalf("sqldb.Open(%s) = %v", tg.URL, err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("db.Close() = %v", err)
		}
	})
	return db
}

// openMigrated opens a fresh database of b with the test service's schema.
func openMigrated(t testing.TB, b sqldbtest.Backend, extra ...sqldb.Option) *sqldb.DB {
	t.Helper()
	db := open(t, b.Fresh(t, "sqldb"), extra...)
	if err := db.Migrate(t.Context(), serviceMigrations(t)); err != nil {
		t.Fatalf("db.Migrate() = %v", err)
	}
	return db
}

// insertItem inserts one row into items inside tx.
func insertItem(ctx context.Context, tx *sqldb.Tx, name string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO items (name) VALUES (?)`, name)
	return err
}

// countItems counts the committed rows named name, through the reader pool.
func countItems(t testing.TB, db *sqldb.DB, name string) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(t.Context(), `SELECT count(*) FROM items WHERE name = ?`, name).Scan(&n); err != nil {
		t.Fatalf("count items %q: %v", name, err)
	}
	return n
}
