package sqldb_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb/sqldbtest"
)

// TestSQLitePragmasOnEveryConnection checks the settings reach every pooled
// connection, not only the first one.
func TestSQLitePragmasOnEveryConnection(t *testing.T) {
	t.Parallel()
	db := open(t, sqldbtest.SQLite().Fresh(t, "sqldb"), sqldb.WithBusyTimeout(1234*time.Millisecond), sqldb.WithMaxConns(3))

	pragmas := func(t *testing.T, conn *sql.Conn) (journal string, fk, busy int) {
		t.Helper()
		ctx := t.Context()
		for _, q := range []struct {
			sql  string
			dest any
		}{{"PRAGMA journal_mode", &journal}, {"PRAGMA foreign_keys", &fk}, {"PRAGMA busy_timeout", &busy}} {
			if err := conn.QueryRowContext(ctx, q.sql).Scan(q.dest); err != nil {
				t.Fatalf("%s: %v", q.sql, err)
			}
		}
		return journal, fk, busy
	}

	// Hold all reader connections at once so they are distinct.
	var conns []*sql.Conn
	for range 3 {
		c, err := db.Reader().Conn(t.Context())
		if err != nil {
			t.Fatalf("reader conn: %v", err)
		}
		defer func() { _ = c.Close() }()
		conns = append(conns, c)
	}
	w, err := db.Writer().Conn(t.Context())
	if err != nil {
		t.Fatalf("writer conn: %v", err)
	}
	defer func() { _ = w.Close() }()
	var sync int
	if err := w.QueryRowContext(t.Context(), "PRAGMA synchronous").Scan(&sync); err != nil {
		t.Fatal(err)
	}
	if sync != 1 {
		t.Errorf("writer PRAGMA synchronous = %d, want 1 (NORMAL)", sync)
	}
	for i, c := range append(conns, w) {
		journal, fk, busy := pragmas(t, c)
		if journal != "wal" || fk != 1 || busy != 1234 {
			t.Errorf("conn %d: journal_mode, foreign_keys, busy_timeout = %q, %d, %d, want wal, 1, 1234", i, journal, fk, busy)
		}
	}
}

func TestSQLiteReaderIsReadOnly(t *testing.T) {
	t.Parallel()
	db := openMigrated(t, sqldbtest.SQLite())
	if db.Reader() == db.Writer() {
		t.Fatal("SQLite Reader() and Writer() are the same pool, want separate pools")
	}
	_, err := db.Reader().ExecContext(t.Context(), `INSERT INTO items (name) VALUES ('x')`)
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "readonly") {
		t.Errorf("insert through Reader() = %v, want a read-only error", err)
	}
}

func TestSQLiteRelativePath(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, filepath.Join(dir, "rel.db"))
	if err != nil {
		t.Skipf("no relative path from %s to %s: %v", wd, dir, err)
	}
	open(t, sqldbtest.Target{URL: "sqlite://" + rel})
	if _, err := os.Stat(filepath.Join(dir, "rel.db")); err != nil {
		t.Errorf("sqlite://%s did not create the file in %s: %v", rel, dir, err)
	}
}

// TestSQLiteTwoHandlesOneFile: two DB handles on one file (as two processes
// would have, say `bazaar migrate` next to a running server) write at once
// without SQLITE_BUSY errors reaching the caller.
func TestSQLiteTwoHandlesOneFile(t *testing.T) {
	t.Parallel()
	tg := sqldbtest.SQLite().Fresh(t, "sqldb")
	a := open(t, tg)
	if err := a.Migrate(t.Context(), serviceMigrations(t)); err != nil {
		t.Fatal(err)
	}
	b := open(t, tg)
	var wg sync.WaitGroup
	for h, db := range []*sqldb.DB{a, b} {
		for g := range 4 {
			wg.Go(func() {
				for i := range 10 {
					err := db.InTx(t.Context(), func(ctx context.Context, tx *sqldb.Tx) error {
						if err := insertItem(ctx, tx, fmt.Sprintf("h%d-g%d-%d", h, g, i)); err != nil {
							return err
						}
						_, err := tx.AppendEvent(ctx, sqldb.Event{Topic: "t"})
						return err
					})
					if err != nil {
						t.Errorf("handle %d goroutine %d: db.InTx() = %v", h, g, err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	events, err := b.ReadEvents(t.Context(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 80 {
		t.Errorf("ReadEvents() = %d events, want 80", len(events))
	}
}

// TestSQLiteRetriesBusy: when another process holds the write lock longer
// than busy_timeout, InTx retries instead of failing at once.
func TestSQLiteRetriesBusy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		retries int
		wantErr bool
	}{
		{name: "no retries", retries: 0, wantErr: true},
		{name: "retries", retries: 20, wantErr: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tg := sqldbtest.SQLite().Fresh(t, "sqldb")
			holder := open(t, tg)
			if err := holder.Migrate(t.Context(), serviceMigrations(t)); err != nil {
				t.Fatal(err)
			}
			// busy_timeout 0: BEGIN IMMEDIATE fails with SQLITE_BUSY at once.
			impatient := open(t, tg, sqldb.WithBusyTimeout(0), sqldb.WithTxRetries(tc.retries))

			holding, release := make(chan struct{}), make(chan struct{})
			holderDone := make(chan error, 1)
			go func() {
				holderDone <- holder.InTx(t.Context(), func(ctx context.Context, tx *sqldb.Tx) error {
					if err := insertItem(ctx, tx, "holder"); err != nil {
						return err
					}
					close(holding)
					<-release
					return nil
				})
			}()
			<-holding
			if !tc.wantErr {
				time.AfterFunc(30*time.Millisecond, func() { close(release) })
			}
			err := impatient.InTx(t.Context(), func(ctx context.Context, tx *sqldb.Tx) error {
				return insertItem(ctx, tx, "impatient")
			})
			if tc.wantErr {
				close(release)
			}
			if herr := <-holderDone; herr != nil {
				t.Fatalf("holder InTx() = %v", herr)
			}
			if gotErr := err != nil; gotErr != tc.wantErr {
				t.Fatalf("InTx() with %d retries while locked = %v, want error: %v", tc.retries, err, tc.wantErr)
			}
			if tc.wantErr {
				if !strings.Contains(err.Error(), "SQLITE_BUSY") {
					t.Errorf("InTx() = %v, want SQLITE_BUSY", err)
				}
				return
			}
			if got := countItems(t, impatient, "impatient"); got != 1 {
				t.Errorf("rows = %d, want 1", got)
			}
		})
	}
}
