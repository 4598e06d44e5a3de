package sqldb

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

func openTestSQLite(t *testing.T) *DB {
	t.Helper()
	db, err := Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.ExecContext(t.Context(), `CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	return db
}

func (c *stmtCache) has(query string) bool { return c.lookup(query) != nil }

// TestStmtCacheWrites: a write first seen inside a transaction runs
// unprepared, is prepared once the transaction ended, and later
// transactions use it (with their own arguments and results).
func TestStmtCacheWrites(t *testing.T) {
	t.Parallel()
	db := openTestSQLite(t)
	const upsert = `INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = kv.v + excluded.v`
	const read = `SELECT v FROM kv WHERE k = ?`
	for i := range 3 {
		err := db.InTx(t.Context(), func(ctx context.Context, tx *Tx) error {
			if _, err := tx.ExecContext(ctx, upsert, "a", 2); err != nil {
				return err
			}
			var v int
			if err := tx.QueryRowContext(ctx, read, "a").Scan(&v); err != nil {
				return err
			}
			if v != 2*(i+1) {
				return fmt.Errorf("v = %d inside transaction %d, want %d", v, i, 2*(i+1))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !db.writeStmts.has(upsert) || !db.writeStmts.has(read) {
			t.Fatalf("after transaction %d the writer's statements are not prepared", i)
		}
	}
	var v int
	if err := db.QueryRowContext(t.Context(), read, "a").Scan(&v); err != nil || v != 6 {
		t.Errorf("read = %d, %v; want 6", v, err)
	}
	if !db.readStmts.has(read) {
		t.Error("the reader's statement is not prepared")
	}
}

// TestStmtCacheBounded: past maxCachedStmts distinct queries, new ones run
// unprepared, and nothing breaks.
func TestStmtCacheBounded(t *testing.T) {
	t.Parallel()
	db := openTestSQLite(t)
	for i := range maxCachedStmts + 20 {
		q := fmt.Sprintf(`SELECT %d FROM kv WHERE k = ?`, i)
		rows, err := db.QueryContext(t.Context(), q, "x")
		if err != nil {
			t.Fatal(err)
		}
		_ = rows.Close()
	}
	if n := len(db.readStmts.stmts); n != maxCachedStmts {
		t.Errorf("cached statements = %d, want the bound %d", n, maxCachedStmts)
	}
}

// TestStmtCacheBadQuery: a query that does not prepare reports its error
// where it runs, as it would unprepared.
func TestStmtCacheBadQuery(t *testing.T) {
	t.Parallel()
	db := openTestSQLite(t)
	if _, err := db.QueryContext(t.Context(), `SELECT nope FROM nowhere`); err == nil {
		t.Error("QueryContext(bad query) = nil error")
	}
	err := db.InTx(t.Context(), func(ctx context.Context, tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE nowhere SET x = 1`)
		return err
	})
	if err == nil {
		t.Error("InTx(bad update) = nil error")
	}
	// The failed query was noted, its preparation failed, and the writer
	// still works.
	if _, err := db.ExecContext(t.Context(), `INSERT INTO kv (k, v) VALUES ('b', 1)`); err != nil {
		t.Errorf("ExecContext() after a bad query = %v", err)
	}
}
