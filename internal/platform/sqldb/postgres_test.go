package sqldb_test

import (
	"context"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb/sqldbtest"
)

// TestPostgresSchemasIsolateServices: two services in one database, each in
// its own schema, get their own tables, version tables and outbox.
func TestPostgresSchemasIsolateServices(t *testing.T) {
	t.Parallel()
	b := sqldbtest.Postgres(t)
	catalog, order := openMigrated(t, b), openMigrated(t, b)

	err := catalog.InTx(t.Context(), func(ctx context.Context, tx *sqldb.Tx) error {
		_, err := tx.AppendEvent(ctx, sqldb.Event{Topic: "catalog.t"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := order.ReadEvents(t.Context(), 0, 10); err != nil || len(got) != 0 {
		t.Errorf("other schema's ReadEvents() = %v, %v, want no events", got, err)
	}
	if got, err := catalog.ReadEvents(t.Context(), 0, 10); err != nil || len(got) != 1 {
		t.Errorf("ReadEvents() = %v, %v, want 1 event", got, err)
	}

	for _, db := range []*sqldb.DB{catalog, order} {
		var schema string
		if err := db.QueryRowContext(t.Context(), `SELECT current_schema()`).Scan(&schema); err != nil {
			t.Fatal(err)
		}
		var tables int
		err := db.QueryRowContext(t.Context(), `SELECT count(*) FROM pg_tables WHERE schemaname = ?
			AND tablename IN ('outbox', 'items', 'goose_db_version', 'sqldb_db_version')`, schema).Scan(&tables)
		if err != nil {
			t.Fatal(err)
		}
		if tables != 4 {
			t.Errorf("schema %s holds %d of the 4 tables, want all", schema, tables)
		}
		if db.Reader() != db.Writer() {
			t.Errorf("Postgres Reader() and Writer() differ, want one pool")
		}
	}
}

// TestPostgresReservedWordSchema: a service named by an SQL reserved word
// (the order service's schema is "order") gets its schema, tables and
// outbox. It runs in a database of its own, dropped after, since the
// schema's name is fixed.
func TestPostgresReservedWordSchema(t *testing.T) {
	t.Parallel()
	base := sqldbtest.PostgresURL(t)
	admin, err := sqldb.Open(t.Context(), base, sqldb.WithMaxConns(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	name := "sqldb_kw_" + sqldbtest.RandomHex(t, 6)
	if _, err := admin.ExecContext(t.Context(), "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	for _, schema := range []string{"order", "user"} {
		db, err := sqldb.Open(t.Context(), u.String(), sqldb.WithSchema(schema))
		if err != nil {
			t.Fatalf("Open(WithSchema(%q)) = %v", schema, err)
		}
		if err := db.Migrate(t.Context(), nil); err != nil {
			t.Fatalf("%s: Migrate() = %v", schema, err)
		}
		err = db.InTx(t.Context(), func(ctx context.Context, tx *sqldb.Tx) error {
			_, err := tx.AppendEvent(ctx, sqldb.Event{Topic: schema + ".t"})
			return err
		})
		if err != nil {
			t.Errorf("%s: AppendEvent() = %v", schema, err)
		}
		if evs, err := db.ReadEvents(t.Context(), 0, 10); err != nil || len(evs) != 1 {
			t.Errorf("%s: ReadEvents() = %v, %v; want its one event", schema, evs, err)
		}
		_ = db.Close()
	}
}

// TestPostgresConcurrentMigrate: replicas starting together migrate one
// schema at the same time; the advisory lock makes them take turns.
func TestPostgresConcurrentMigrate(t *testing.T) {
	t.Parallel()
	tg := sqldbtest.Postgres(t).Fresh(t, "sqldb")
	dbs := []*sqldb.DB{open(t, tg), open(t, tg), open(t, tg)}
	var wg sync.WaitGroup
	for i, db := range dbs {
		wg.Go(func() {
			if err := db.Migrate(t.Context(), serviceMigrations(t)); err != nil {
				t.Errorf("replica %d: db.Migrate() = %v", i, err)
			}
		})
	}
	wg.Wait()
	if v, _ := maxVersion(t, dbs[0], "goose_db_version"); v != 2 {
		t.Errorf("version after concurrent migrations = %d, want 2", v)
	}
}

// TestPostgresRetriesDeadlock: of two transactions that deadlock, Postgres
// aborts one (40P01); InTx runs it again and both succeed.
func TestPostgresRetriesDeadlock(t *testing.T) {
	t.Parallel()
	db := openMigrated(t, sqldbtest.Postgres(t))
	for _, name := range []string{"a", "b"} {
		if _, err := db.ExecContext(t.Context(), `INSERT INTO items (name) VALUES (?)`, name); err != nil {
			t.Fatal(err)
		}
	}
	var attempts atomic.Int32
	var firstLocks sync.WaitGroup
	firstLocks.Add(2)
	update := func(ctx context.Context, tx *sqldb.Tx, name string) error {
		_, err := tx.ExecContext(ctx, `UPDATE items SET note = note || 'x' WHERE name = ?`, name)
		return err
	}
	lockInOrder := func(first, second string) error {
		return db.InTx(t.Context(), func(ctx context.Context, tx *sqldb.Tx) error {
			n := attempts.Add(1)
			if err := update(ctx, tx, first); err != nil {
				return err
			}
			if n <= 2 { // both first attempts hold one row before taking the other
				firstLocks.Done()
				firstLocks.Wait()
			}
			return update(ctx, tx, second)
		})
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Go(func() { errs[0] = lockInOrder("a", "b") })
	wg.Go(func() { errs[1] = lockInOrder("b", "a") })
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("transaction %d: InTx() = %v, want nil after a retry", i, err)
		}
	}
	if got := attempts.Load(); got != 3 {
		t.Errorf("fn ran %d times, want 3 (one retry)", got)
	}
	var notes string
	if err := db.QueryRowContext(t.Context(), `SELECT string_agg(note, ',' ORDER BY name) FROM items`).Scan(&notes); err != nil {
		t.Fatal(err)
	}
	if notes != "xx,xx" {
		t.Errorf("notes = %q, want each row updated once per transaction (xx,xx)", notes)
	}
}
