// Package sqldbtest gives store tests isolated databases on every engine
// Bazaar supports, so one contract suite runs against SQLite and Postgres:
//
//	func TestSQLite(t *testing.T)   { testContract(t, sqldbtest.SQLite()) }
//	func TestPostgres(t *testing.T) { testContract(t, sqldbtest.Postgres(t)) }
//
// Postgres comes from BAZAAR_TEST_POSTGRES_URL. Without it the Postgres
// tests skip, except under CI=true, where a missing server is a failure.
// Each Fresh database is a random schema of that server, dropped when the
// test ends, so tests run in parallel against one server.
package sqldbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
)

// PostgresURLEnv names the variable holding the test server's URL.
const PostgresURLEnv = "BAZAAR_TEST_POSTGRES_URL"

// Target is one isolated database: open it with sqldb.Open(ctx, URL,
// Options...) (or a service store's Open).
type Target struct {
	URL     string
	Options []sqldb.Option
}

// Backend makes isolated databases of one engine.
type Backend struct {
	Name    string
	Dialect sqldb.Dialect
	// Fresh returns a new, empty database, removed when t ends. prefix
	// names it (a Postgres schema prefix, a SQLite file name).
	Fresh func(t testing.TB, prefix string) Target
}

// SQLite returns the SQLite backend: a file in the test's temp dir.
func SQLite() Backend {
	return Backend{
		Name:    "sqlite",
		Dialect: sqldb.SQLite,
		Fresh: func(t testing.TB, prefix string) Target {
			return Target{URL: "sqlite://" + filepath.Join(t.TempDir(), prefix+".db")}
		},
	}
}

// PostgresURL returns the test server's URL, skipping t when none is set
// (failing it under CI=true).
func PostgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(PostgresURLEnv)
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal(PostgresURLEnv + " is not set, and CI=true requires the Postgres tests to run")
		}
		t.Skip(PostgresURLEnv + " is not set; skipping Postgres tests")
	}
	return u
}

// Postgres returns the Postgres backend (see PostgresURL for when it skips).
func Postgres(t testing.TB) Backend {
	t.Helper()
	base := PostgresURL(t)
	return Backend{
		Name:    "postgres",
		Dialect: sqldb.Postgres,
		Fresh: func(t testing.TB, prefix string) Target {
			schema := prefix + "_test_" + RandomHex(t, 6)
			// Registered before the test opens the database, so it runs
			// after the database is closed.
			t.Cleanup(func() { dropSchema(t, base, schema) })
			return Target{URL: base, Options: []sqldb.Option{sqldb.WithSchema(schema), sqldb.WithMaxConns(8)}}
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

// RandomHex returns 2n random hex characters.
func RandomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("rand: %v", err)
	}
	return hex.EncodeToString(b)
}
