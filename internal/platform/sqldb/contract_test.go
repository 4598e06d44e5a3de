package sqldb_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb/sqldbtest"
)

func TestSQLite(t *testing.T) {
	t.Parallel()
	testContract(t, sqldbtest.SQLite())
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	testContract(t, sqldbtest.Postgres(t))
}

// testContract is the behaviour every backend must show. Each case gets its
// own database from b, so the cases run in parallel.
func testContract(t *testing.T, b sqldbtest.Backend) {
	tests := []struct {
		name string
		run  func(t *testing.T, b sqldbtest.Backend)
	}{
		{"OpenAndPing", testOpenAndPing},
		{"MigrateTwiceIsNoop", testMigrateTwiceIsNoop},
		{"MigrateNilAppliesOutboxOnly", testMigrateNilAppliesOutboxOnly},
		{"MigrateMissingDialectFolder", testMigrateMissingDialectFolder},
		{"InTxCommit", testInTxCommit},
		{"InTxRollbackOnError", testInTxRollbackOnError},
		{"InTxRollbackOnPanic", testInTxRollbackOnPanic},
		{"InTxContextDone", testInTxContextDone},
		{"InTxNested", testInTxNested},
		{"ForeignKeysEnforced", testForeignKeysEnforced},
		{"UniqueViolation", testUniqueViolation},
		{"ReaderSeesCommitted", testReaderSeesCommitted},
		{"Rebind", testRebind},
		{"OutboxVisibleOnlyAfterCommit", testOutboxVisibleOnlyAfterCommit},
		{"AppendEventErrors", testAppendEventErrors},
		{"ReadEventsCursorAndLimit", testReadEventsCursorAndLimit},
		{"ReadEventsInvalidArguments", testReadEventsInvalidArguments},
		{"ConcurrentAppendsNeverSkipped", testConcurrentAppendsNeverSkipped},
		{"ConcurrentWriters", testConcurrentWriters},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, b)
		})
	}
}

var errBoom = errors.New("boom")

func testOpenAndPing(t *testing.T, b sqldbtest.Backend) {
	db := open(t, b.Fresh(t, "sqldb"))
	if err := db.Ping(t.Context()); err != nil {
		t.Fatalf("db.Ping() = %v, want nil", err)
	}
	if got := db.Dialect(); got != b.Dialect {
		t.Errorf("db.Dialect() = %v, want %v", got, b.Dialect)
	}
	if db.Writer() == nil || db.Reader() == nil {
		t.Errorf("db.Writer(), db.Reader() = %v, %v, want non-nil pools", db.Writer(), db.Reader())
	}
}

// maxVersion returns the highest goose version recorded in table.
func maxVersion(t *testing.T, db *sqldb.DB, table string) (version, rows int64) {
	t.Helper()
	err := db.QueryRowContext(t.Context(), `SELECT max(version_id), count(*) FROM `+table).Scan(&version, &rows)
	if err != nil {
		t.Fatalf("read %s: %v", table, err)
	}
	return version, rows
}

func testMigrateTwiceIsNoop(t *testing.T, b sqldbtest.Backend) {
	tg := b.Fresh(t, "sqldb")
	db := open(t, tg)
	if err := db.Migrate(t.Context(), serviceMigrations(t)); err != nil {
		t.Fatalf("first db.Migrate() = %v", err)
	}
	svcVersion, svcRows := maxVersion(t, db, "goose_db_version")
	ownVersion, ownRows := maxVersion(t, db, "sqldb_db_version")
	if svcVersion != 2 || ownVersion != 2 {
		t.Fatalf("after Migrate: service version %d, platform version %d, want 2 and 2 (the outbox, then event consumers)", svcVersion, ownVersion)
	}

	// Again on the same handle, and on a second handle (a restart).
	if err := db.Migrate(t.Context(), serviceMigrations(t)); err != nil {
		t.Fatalf("second db.Migrate() = %v, want nil", err)
	}
	if err := open(t, tg).Migrate(t.Context(), serviceMigrations(t)); err != nil {
		t.Fatalf("db.Migrate() after reopening = %v, want nil", err)
	}
	v, r := maxVersion(t, db, "goose_db_version")
	ov, or := maxVersion(t, db, "sqldb_db_version")
	if v != svcVersion || r != svcRows || ov != ownVersion || or != ownRows {
		t.Errorf("re-running Migrate changed the version tables: service (%d, %d rows) -> (%d, %d rows), outbox (%d, %d rows) -> (%d, %d rows)",
			svcVersion, svcRows, v, r, ownVersion, ownRows, ov, or)
	}
	// Both migrations really ran: the column from 00002 exists.
	err := db.InTx(t.Context(), func(ctx context.Context, tx *sqldb.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO items (name, note) VALUES (?, ?)`, "a", "n")
		return err
	})
	if err != nil {
		t.Errorf("insert into migrated table: %v", err)
	}
}

func testMigrateNilAppliesOutboxOnly(t *testing.T, b sqldbtest.Backend) {
	db := open(t, b.Fresh(t, "sqldb"))
	if err := db.Migrate(t.Context(), nil); err != nil {
		t.Fatalf("db.Migrate(nil) = %v, want nil", err)
	}
	if _, err := db.ReadEvents(t.Context(), 0, 10); err != nil {
		t.Errorf("ReadEvents after Migrate(nil) = %v, want the outbox to exist", err)
	}
	var n int
	if err := db.QueryRowContext(t.Context(), `SELECT count(*) FROM items`).Scan(&n); err == nil {
		t.Errorf("table items exists after Migrate(nil), want only the outbox")
	}
}

func testMigrateMissingDialectFolder(t *testing.T, b sqldbtest.Backend) {
	db := open(t, b.Fresh(t, "sqldb"))
	sub, err := fs.Sub(testdataFS, "testdata/migrations") // no "migrations" folder at its root
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(t.Context(), sub); err == nil {
		t.Errorf("db.Migrate(FS without %s/%s) = nil, want an error", sqldb.MigrationsDir, b.Dialect)
	}
}

func testInTxCommit(t *testing.T, b sqldbtest.Backend) {
	db := openMigrated(t, b)
	called := 0
	err := db.InTx(t.Context(), func(ctx context.Context, tx *sqldb.Tx) error {
		called++
		if tx.Dialect() != b.Dialect {
			t.Errorf("tx.Dialect() = %v, want %v", tx.Dialect(), b.Dialect)
		}
		if err := insertItem(ctx, tx, "committed"); err != nil {
			return err
		}
		// The transaction sees its own write.
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM items WHERE name = ?`, "committed").Scan(&n); err != nil {
			return err
		}
		if n != 1 {
			t.Errorf("count inside tx = %d, want 1", n)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("db.InTx() = %v, want nil", err)
	}
	if called != 1 {
		t.Errorf("fn called %d times, want 1", called)
	}
	if got := countItems(t, db, "committed"); got != 1 {
		t.Errorf("committed rows = %d, want 1", got)
	}
}

func testInTxRollbackOnError(t *testing.T, b sqldbtest.Backend) {
	db := openMigrated(t, b)
	err := db.InTx(t.Context(), func(ctx context.Context, tx *sqldb.Tx) error {
		if err := insertItem(ctx, tx, "rolled-back"); err != nil {
			return err
		}
		return errBoom
	})
	if err != errBoom { //nolint:errorlint // the contract is "returned unchanged"
		t.Fatalf("db.InTx() = %v, want errBoom unchanged", err)
	}
	if got := countItems(t, db, "rolled-back"); got != 0 {
		t.Errorf("rows after rollback = %d, want 0", got)
	}
}

func testInTxRollbackOnPanic(t *testing.T, b sqldbtest.Backend) {
	db := openMigrated(t, b)
	recovered := func() (r any) {
		defer func() { r = recover() }()
		_ = db.InTx(t.Context(), func(ctx context.Context, tx *sqldb.Tx) error {
			if err := insertItem(ctx, tx, "panicked"); err != nil {
				return err
			}
			panic(errBoom)
		})
		return nil
	}()
	if recovered != errBoom { //nolint:errorlint // identity of the panic value
		t.Fatalf("recover() = %v, want the panic value errBoom to propagate", recovered)
	}
	if got := countItems(t, db, "panicked"); got != 0 {
		t.Errorf("rows after panic = %d, want 0", got)
	}
	// The connection went back to the pool (on SQLite the only writer).
	err := db.InTx(t.Context(), func(ctx context.Context, tx *sqldb.Tx) error { return insertItem(ctx, tx, "after") })
	if err != nil {
		t.Errorf("db.InTx() after a panic = %v, want nil", err)
	}
}

func testInTxContextDone(t *testing.T, b sqldbtest.Backend) {
	tests := []struct {
		name    string
		ctx     func(parent context.Context) (context.Context, context.CancelFunc)
		fn      func(ctx context.Context, cancel context.CancelFunc, tx *sqldb.Tx, name string) error
		wantErr error
		wantRun bool
	}{
		{
			name: "cancelled before",
			ctx: func(p context.Context) (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(p)
				cancel()
				return ctx, cancel
			},
			fn: func(ctx context.Context, _ context.CancelFunc, tx *sqldb.Tx, name string) error {
				return insertItem(ctx, tx, name)
			},
			wantErr: context.Canceled,
		},
		{
			name: "cancelled before commit",
			ctx:  context.WithCancel,
			fn: func(ctx context.Context, cancel context.CancelFunc, tx *sqldb.Tx, name string) error {
				if err := insertItem(ctx, tx, name); err != nil {
					return err
				}
				cancel()
				return nil
			},
			wantErr: context.Canceled,
			wantRun: true,
		},
		{
			name: "deadline passes",
			ctx: func(p context.Context) (context.Context, context.CancelFunc) {
				return context.WithTimeout(p, 50*time.Millisecond)
			},
			fn: func(ctx context.Context, _ context.CancelFunc, tx *sqldb.Tx, name string) error {
				if err := insertItem(ctx, tx, name); err != nil {
					return err
				}
				<-ctx.Done()
				return nil
			},
			wantErr: context.DeadlineExceeded,
			wantRun: true,
		},
	}
	db := openMigrated(t, b)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := tc.ctx(t.Context())
			defer cancel()
			ran := false
			err := db.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
				ran = true
				return tc.fn(ctx, cancel, tx, tc.name)
			})
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("db.InTx() = %v, want an error wrapping %v", err, tc.wantErr)
			}
			if ran != tc.wantRun {
				t.Errorf("fn ran = %v, want %v", ran, tc.wantRun)
			}
			if got := countItems(t, db, tc.name); got != 0 {
				t.Errorf("rows = %d, want 0 (rolled back)", got)
			}
		})
	}
	t.Cleanup(func() {
		// The writer is usable afterwards.
		err := db.InTx(context.Background(), func(ctx context.Context, tx *sqldb.Tx) error { return insertItem(ctx, tx, "after") })
		if err != nil {
			t.Errorf("db.InTx() after cancellations = %v, want nil", err)
		}
	})
}

func testInTxNested(t *testing.T, b sqldbtest.Backend) {
	db := openMigrated(t, b)
	var innerTx, innerExec error
	err := db.InTx(t.Context(), func(ctx context.Context, _ *sqldb.Tx) error {
		innerTx = db.InTx(ctx, func(context.Context, *sqldb.Tx) error { return nil })
		_, innerExec = db.ExecContext(ctx, `INSERT INTO items (name) VALUES (?)`, "nested")
		return nil
	})
	if err != nil {
		t.Fatalf("outer db.InTx() = %v, want nil", err)
	}
	if !errors.Is(innerTx, sqldb.ErrNestedTx) {
		t.Errorf("nested db.InTx() = %v, want ErrNestedTx", innerTx)
	}
	if !errors.Is(innerExec, sqldb.ErrNestedTx) {
		t.Errorf("db.ExecContext() inside InTx = %v, want ErrNestedTx", innerExec)
	}
	// Outside a transaction, DB.ExecContext works.
	if _, err := db.ExecContext(t.Context(), `INSERT INTO items (name) VALUES (?)`, "autocommit"); err != nil {
		t.Errorf("db.ExecContext() = %v, want nil", err)
	}
	if got := countItems(t, db, "autocommit"); got != 1 {
		t.Errorf("rows = %d, want 1", got)
	}
}

func testForeignKeysEnforced(t *testing.T, b sqldbtest.Backend) {
	db := openMigrated(t, b)
	err := db.InTx(t.Context(), func(ctx context.Context, tx *sqldb.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO items (name, parent_id) VALUES (?, ?)`, "orphan", 424242)
		return err
	})
	if err == nil {
		t.Errorf("insert with a dangling foreign key = nil, want a constraint error")
	}
}

func testUniqueViolation(t *testing.T, b sqldbtest.Backend) {
	db := openMigrated(t, b)
	insert := func() error {
		return db.InTx(t.Context(), func(ctx context.Context, tx *sqldb.Tx) error { return insertItem(ctx, tx, "dup") })
	}
	if err := insert(); err != nil {
		t.Fatalf("first insert = %v", err)
	}
	err := insert()
	if !sqldb.IsUniqueViolation(err) {
		t.Errorf("IsUniqueViolation(%v) = false, want true", err)
	}
	if sqldb.IsUniqueViolation(errBoom) || sqldb.IsUniqueViolation(nil) {
		t.Errorf("IsUniqueViolation(non-database error) = true, want false")
	}
}

func testReaderSeesCommitted(t *testing.T, b sqldbtest.Backend) {
	db := openMigrated(t, b)
	for i := range 5 {
		name := fmt.Sprintf("item-%d", i)
		err := db.InTx(t.Context(), func(ctx context.Context, tx *sqldb.Tx) error { return insertItem(ctx, tx, name) })
		if err != nil {
			t.Fatalf("db.InTx() = %v", err)
		}
		// Straight after the commit, through the reader pool.
		var n int
		if err := db.Reader().QueryRowContext(t.Context(), db.Rebind(`SELECT count(*) FROM items`)).Scan(&n); err != nil {
			t.Fatalf("reader count: %v", err)
		}
		if n != i+1 {
			t.Errorf("reader sees %d rows after %d commits, want %d", n, i+1, i+1)
		}
	}
}

func testRebind(t *testing.T, b sqldbtest.Backend) {
	db := openMigrated(t, b)
	const q = `SELECT CAST(? AS TEXT), '?', CAST(? AS TEXT) -- ?`
	want := map[sqldb.Dialect]string{
		sqldb.SQLite:   q,
		sqldb.Postgres: `SELECT CAST($1 AS TEXT), '?', CAST($2 AS TEXT) -- ?`,
	}[b.Dialect]
	if got := db.Rebind(q); got != want {
		t.Errorf("db.Rebind(%q) = %q, want %q", q, got, want)
	}
	var x, lit, y string
	if err := db.QueryRowContext(t.Context(), q, "x", "y").Scan(&x, &lit, &y); err != nil {
		t.Fatalf("db.QueryRowContext(%q) = %v", q, err)
	}
	if x != "x" || lit != "?" || y != "y" {
		t.Errorf("db.QueryRowContext(%q) = %q, %q, %q, want x, ?, y", q, x, lit, y)
	}
}

func testOutboxVisibleOnlyAfterCommit(t *testing.T, b sqldbtest.Backend) {
	fixed := time.Date(2026, 1, 2, 3, 4, 5, 678_901_234, time.FixedZone("X", 3600))
	tests := []struct {
		name   string
		commit bool
	}{
		{name: "commit", commit: true},
		{name: "rollback", commit: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := openMigrated(t, b, sqldb.WithClock(func() time.Time { return fixed }))
			var appended sqldb.Event
			err := db.InTx(t.Context(), func(ctx context.Context, tx *sqldb.Tx) error {
				if err := insertItem(ctx, tx, "state-change"); err != nil {
					return err
				}
				var err error
				appended, err = tx.AppendEvent(ctx, sqldb.Event{
					Topic: "test.item.created.v1", AggregateID: "item-1", Payload: []byte{0x0a, 0x01, 0x00, 0xff},
				})
				if err != nil {
					return err
				}
				// Not visible to readers before the commit.
				if got, err := db.ReadEvents(ctx, 0, 10); err != nil || len(got) != 0 {
					t.Errorf("ReadEvents during the tx = %v, %v, want no events", got, err)
				}
				if !tc.commit {
					return errBoom
				}
				return nil
			})
			if tc.commit != (err == nil) {
				t.Fatalf("db.InTx() = %v, want commit=%v", err, tc.commit)
			}
			want := sqldb.Event{
				ID: appended.ID, EventID: appended.EventID, Topic: "test.item.created.v1", AggregateID: "item-1",
				Payload: []byte{0x0a, 0x01, 0x00, 0xff}, CreatedAt: fixed.UTC().Truncate(time.Microsecond),
			}
			if diff := cmp.Diff(want, appended); diff != "" || appended.ID <= 0 || len(appended.EventID) != 36 {
				t.Errorf("AppendEvent() = %+v, want ID > 0, a UUID EventID and (-want +got):\n%s", appended, diff)
			}
			got, err := db.ReadEvents(t.Context(), 0, 10)
			if err != nil {
				t.Fatalf("ReadEvents() = %v", err)
			}
			var wantEvents []sqldb.Event
			if tc.commit {
				wantEvents = []sqldb.Event{want}
			}
			if diff := cmp.Diff(wantEvents, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ReadEvents() after commit=%v mismatch (-want +got):\n%s", tc.commit, diff)
			}
			// The state change shared the event's fate.
			if n := countItems(t, db, "state-change"); n != len(wantEvents) {
				t.Errorf("state rows = %d, want %d", n, len(wantEvents))
			}
		})
	}
}

func testAppendEventErrors(t *testing.T, b sqldbtest.Backend) {
	db := openMigrated(t, b)
	err := db.InTx(t.Context(), func(ctx context.Context, tx *sqldb.Tx) error {
		_, err := tx.AppendEvent(ctx, sqldb.Event{Payload: []byte("x")})
		return err
	})
	if !errors.Is(err, sqldb.ErrInvalidEvent) {
		t.Errorf("AppendEvent(no topic) = %v, want ErrInvalidEvent", err)
	}

	appendWithID := func() error {
		return db.InTx(t.Context(), func(ctx context.Context, tx *sqldb.Tx) error {
			e, err := tx.AppendEvent(ctx, sqldb.Event{EventID: "order-42-paid", Topic: "t"})
			if err == nil && e.EventID != "order-42-paid" {
				t.Errorf("AppendEvent kept EventID %q, want the caller's", e.EventID)
			}
			return err
		})
	}
	if err := appendWithID(); err != nil {
		t.Fatalf("first AppendEvent(EventID) = %v", err)
	}
	if err := appendWithID(); !sqldb.IsUniqueViolation(err) {
		t.Errorf("AppendEvent(duplicate EventID) = %v, want a unique violation", err)
	}
	if got, _ := db.ReadEvents(t.Context(), 0, 10); len(got) != 1 {
		t.Errorf("ReadEvents() returned %d events, want 1", len(got))
	}
}

func testReadEventsCursorAndLimit(t *testing.T, b sqldbtest.Backend) {
	db := openMigrated(t, b)
	var ids []int64
	err := db.InTx(t.Context(), func(ctx context.Context, tx *sqldb.Tx) error {
		for i := range 10 {
			e, err := tx.AppendEvent(ctx, sqldb.Event{Topic: "t", AggregateID: strconv.Itoa(i)})
			if err != nil {
				return err
			}
			ids = append(ids, e.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			t.Fatalf("appended ids %v, want strictly increasing", ids)
		}
	}
	tests := []struct {
		name  string
		after int64
		limit int
		want  []int64
	}{
		{"from start", 0, 3, ids[:3]},
		{"middle", ids[2], 3, ids[3:6]},
		{"limit beyond end", ids[7], 5, ids[8:]},
		{"caught up", ids[9], 5, nil},
		{"everything", 0, 100, ids},
		{"after a missing id", ids[9] + 100, 5, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			events, err := db.ReadEvents(t.Context(), tc.after, tc.limit)
			if err != nil {
				t.Fatalf("ReadEvents(%d, %d) = %v", tc.after, tc.limit, err)
			}
			var got []int64
			for _, e := range events {
				got = append(got, e.ID)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ReadEvents(%d, %d) ids mismatch (-want +got):\n%s", tc.after, tc.limit, diff)
			}
		})
	}
}

func testReadEventsInvalidArguments(t *testing.T, b sqldbtest.Backend) {
	db := openMigrated(t, b)
	tests := []struct {
		after int64
		limit int
	}{{0, 0}, {0, -1}, {-1, 10}}
	for _, tc := range tests {
		if _, err := db.ReadEvents(t.Context(), tc.after, tc.limit); !errors.Is(err, sqldb.ErrInvalidArgument) {
			t.Errorf("ReadEvents(%d, %d) = %v, want ErrInvalidArgument", tc.after, tc.limit, err)
		}
	}
}

// testConcurrentAppendsNeverSkipped checks the property the relay relies on:
// a reader that polls with a cursor while many transactions append
// concurrently never moves past an id that becomes visible later.
func testConcurrentAppendsNeverSkipped(t *testing.T, b sqldbtest.Backend) {
	const writers, perWriter = 8, 25
	db := openMigrated(t, b)

	var seen []int64
	readerDone := make(chan error, 1)
	writersDone := make(chan struct{})
	go func() {
		var cursor int64
		for {
			finished := false
			select {
			case <-writersDone:
				finished = true // one more poll sees everything
			default:
			}
			events, err := db.ReadEvents(t.Context(), cursor, 7)
			if err != nil {
				readerDone <- err
				return
			}
			for _, e := range events {
				seen = append(seen, e.ID)
				cursor = e.ID
			}
			if finished && len(events) == 0 {
				readerDone <- nil
				return
			}
		}
	}()

	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				err := db.InTx(t.Context(), func(ctx context.Context, tx *sqldb.Tx) error {
					if _, err := tx.AppendEvent(ctx, sqldb.Event{Topic: "t", AggregateID: fmt.Sprintf("%d-%d", w, i)}); err != nil {
						return err
					}
					// Widen the window between taking an id and committing,
					// where out-of-order visibility would happen.
					time.Sleep(time.Duration(rand.IntN(300)) * time.Microsecond) //nolint:gosec // timing jitter, not a secret
					return nil
				})
				if err != nil {
					t.Errorf("writer %d: db.InTx() = %v", w, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(writersDone)
	if err := <-readerDone; err != nil {
		t.Fatalf("reader: %v", err)
	}

	all, err := db.ReadEvents(t.Context(), 0, writers*perWriter+1)
	if err != nil {
		t.Fatalf("ReadEvents() = %v", err)
	}
	var allIDs []int64
	for i, e := range all {
		allIDs = append(allIDs, e.ID)
		if i > 0 && e.ID != all[i-1].ID+1 {
			t.Errorf("ids %d then %d: want no gaps when nothing rolled back", all[i-1].ID, e.ID)
		}
	}
	if len(allIDs) != writers*perWriter {
		t.Errorf("outbox holds %d events, want %d", len(allIDs), writers*perWriter)
	}
	if diff := cmp.Diff(allIDs, seen); diff != "" {
		t.Errorf("ids seen by the polling reader differ from the outbox: it skipped or reordered events (-outbox +seen):\n%s", diff)
	}
}

// testConcurrentWriters: many goroutines writing at once all succeed; on
// SQLite none of them sees SQLITE_BUSY.
func testConcurrentWriters(t *testing.T, b sqldbtest.Backend) {
	const goroutines, perGoroutine = 16, 10
	db := openMigrated(t, b)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perGoroutine {
				err := db.InTx(t.Context(), func(ctx context.Context, tx *sqldb.Tx) error {
					var n int
					if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM items`).Scan(&n); err != nil {
						return err
					}
					return insertItem(ctx, tx, fmt.Sprintf("w%d-%d", g, i))
				})
				if err != nil {
					t.Errorf("goroutine %d: db.InTx() = %v", g, err)
					return
				}
				// Reads interleave with the writes and see them at once.
				var n int
				err = db.QueryRowContext(t.Context(), `SELECT count(*) FROM items WHERE name = ?`, fmt.Sprintf("w%d-%d", g, i)).Scan(&n)
				if err != nil || n != 1 {
					t.Errorf("goroutine %d: count of row %d = %d, %v, want 1", g, i, n, err)
				}
			}
		})
	}
	wg.Wait()
	var n int
	if err := db.QueryRowContext(t.Context(), `SELECT count(*) FROM items`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != goroutines*perGoroutine {
		t.Errorf("rows = %d, want %d", n, goroutines*perGoroutine)
	}
}
