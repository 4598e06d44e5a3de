package sqldb_test

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
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

// target names one isolated database: a URL plus the options that isolate it.
type target struct {
	url  string
	opts []sqldb.Option
}

// backend creates isolated databases of one engine.
type backend struct {
	name    string
	dialect sqldb.Dialect
	// fresh returns a new, empty database, removed when t ends.
	fresh func(t testing.TB) target
}

func sqliteBackend() backend {
	return backend{
		name:    "sqlite",
		dialect: sqldb.SQLite,
		fresh: func(t testing.TB) target {
			return target{url: "sqlite://" + filepath.Join(t.TempDir(), "test.db")}
		},
	}
}

// postgresURL returns the test server's URL, skipping the test when none is
// configured (failing instead under CI, where a missing server is a bug).
func postgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("BAZAAR_TEST_POSTGRES_URL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("BAZAAR_TEST_POSTGRES_URL is not set, and CI=true requires the Postgres tests to run")
		}
		t.Skip("BAZAAR_TEST_POSTGRES_URL is not set; skipping Postgres tests")
	}
	return u
}

// postgresBackend isolates each database in a random schema, dropped when
// the test ends, so tests run in parallel against one server.
func postgresBackend(baseURL string) backend {
	return backend{
		name:    "postgres",
		dialect: sqldb.Postgres,
		fresh: func(t testing.TB) target {
			schema := "sqldb_test_" + randomHex(t, 6)
			// Registered before the test opens the DB, so it runs after the
			// DB is closed.
			t.Cleanup(func() { dropSchema(t, baseURL, schema) })
			return target{url: baseURL, opts: []sqldb.Option{sqldb.WithSchema(schema), sqldb.WithMaxConns(4)}}
		},
	}
}

func dropSchema(t testing.TB, baseURL, schema string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err := sqldb.Open(ctx, baseURL, sqldb.WithMaxConns(1))
	if err != nil {
		t.Errorf("cleanup: open: %v", err)
		return
	}
	defer func() { _ = db.Close() }()
	if _, err := db.Writer().ExecContext(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
		t.Errorf("cleanup: drop schema %s: %v", schema, err)
	}
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("rand: %v", err)
	}
	return hex.EncodeToString(b)
}

// open opens tg and closes it when t ends.
func open(t testing.TB, tg target, extra ...sqldb.Option) *sqldb.DB {
	t.Helper()
	db, err := sqldb.Open(t.Context(), tg.url, append(append([]sqldb.Option(nil), tg.opts...), extra...)...)
	if err != nil {
		t.Fatalf("sqldb.Open(%s) = %v", tg.url, err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("db.Close() = %v", err)
		}
	})
	return db
}

// openMigrated opens a fresh database of b with the test service's schema.
func openMigrated(t testing.TB, b backend, extra ...sqldb.Option) *sqldb.DB {
	t.Helper()
	db := open(t, b.fresh(t), extra...)
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
