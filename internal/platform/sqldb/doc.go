// Package sqldb is the storage building block every Bazaar service uses: it
// opens SQLite or Postgres from one URL, applies embedded migrations, runs
// transactions, and keeps the transactional outbox.
//
// # Opening
//
// [Open] takes "sqlite:///abs/path.db", "sqlite://rel/path.db" or a
// "postgres://" URL. SQLite (modernc.org/sqlite, pure Go) runs in WAL mode
// with one writer connection and a pool of read-only connections; Postgres
// (pgx) uses one pool, and [WithSchema] gives each service its own schema in
// a shared database. All configuration arrives through Open's arguments.
//
// # Queries
//
// Stores write one query text with '?' placeholders and run it through
// [Tx.ExecContext], [Tx.QueryContext], [DB.QueryContext] and friends, which
// rebind it for the dialect ([Dialect.Rebind]). Writes happen inside
// [DB.InTx]:
//
//	err := db.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
//		if _, err := tx.ExecContext(ctx, `UPDATE stock SET available = available - ? WHERE sku = ?`, n, sku); err != nil {
//			return err
//		}
//		_, err := tx.AppendEvent(ctx, sqldb.Event{Topic: "catalog.stock.reserved.v1", AggregateID: sku, Payload: b})
//		return err
//	})
//
// # Migrations
//
// A service embeds its migrations as migrations/sqlite/*.sql and
// migrations/postgres/*.sql (goose SQL files) and calls [DB.Migrate], which
// first applies this package's own migrations (the outbox table). See
// [MigrationsDir].
//
// # Outbox ordering
//
// [Tx.AppendEvent] writes an event in the same transaction as the state
// change; [DB.ReadEvents] returns committed events after a cursor, in id
// order. The relay depends on one property: once a reader has seen id N, no
// event with an id below N can become visible later (otherwise a cursor that
// moved past it would skip it forever).
//
// On SQLite this holds by construction: write transactions are serialised
// (one writer, BEGIN IMMEDIATE), so ids are assigned in commit order.
//
// On Postgres it does not hold by itself: an identity value is taken when a
// row is inserted but becomes visible when its transaction commits, and
// transactions commit in any order. AppendEvent therefore takes a
// transaction-scoped advisory lock (pg_advisory_xact_lock, one key per
// schema) before inserting, held until the transaction ends. The next
// appender obtains the lock, and so its id, only after the previous
// transaction's commit is visible. This was chosen over tracking
// pg_current_xact_id()/pg_snapshot_xmin on the reader side because it keeps
// the cursor a single integer, works across processes and replicas, and is
// easy to reason about; the price is that outbox-writing transactions of one
// service are serialised from their first append to their commit, so append
// events last in a transaction. Ids can still have gaps (a rolled-back append
// consumes its id); consumers must compare ids, never count them.
package sqldb
