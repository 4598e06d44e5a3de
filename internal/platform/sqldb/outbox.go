package sqldb

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Event is one row of the transactional outbox: a fact a service publishes,
// written in the same transaction as the state change it describes.
type Event struct {
	// ID is the event's position in this service's outbox, assigned by
	// AppendEvent: the cursor consumers resume from. IDs increase in the
	// order events become visible (see the package documentation); there can
	// be gaps (rolled-back appends), so never use ID+1 arithmetic.
	ID int64
	// EventID identifies the event globally, for consumer dedup. AppendEvent
	// generates a UUIDv7 when it is empty; a caller may supply its own
	// (e.g. derived from an idempotency key) and then gets an error for
	// which IsUniqueViolation is true if it was already used.
	EventID string
	// Topic says what happened and how to decode Payload, e.g.
	// "catalog.product.updated.v1". Required.
	Topic string
	// AggregateID is the entity the event is about (a product or order id);
	// optional.
	AggregateID string
	// Payload is the serialized event message (protobuf).
	Payload []byte
	// CreatedAt is set by AppendEvent from the DB's clock (see WithClock),
	// in UTC at microsecond precision.
	CreatedAt time.Time
}

const (
	insertEvent = `INSERT INTO outbox (event_id, topic, aggregate_id, payload, created_at)
		 VALUES (?, ?, ?, ?, ?) RETURNING id`
	readEvents = `SELECT id, event_id, topic, aggregate_id, payload, created_at
		 FROM outbox WHERE id > ? ORDER BY id LIMIT ?`
)

// AppendEvent adds e to the outbox inside the transaction, so it becomes
// visible exactly when, and only if, the transaction commits. e.ID and
// e.CreatedAt are ignored and assigned; an empty e.EventID is generated. It
// returns the stored event.
//
// Errors: [ErrInvalidEvent] (wrapped) when e.Topic is empty; a unique
// violation (see [IsUniqueViolation]) for a duplicate EventID; a database
// error otherwise, after which the transaction should be abandoned by
// returning the error from the InTx function.
//
// On Postgres the first append of a transaction takes a transaction-scoped
// advisory lock, held until commit or rollback, so appends in one schema are
// serialised across all processes: append events as the last step of a
// transaction to keep that window short. [DB.Migrate] must have run.
func (tx *Tx) AppendEvent(ctx context.Context, e Event) (Event, error) {
	if e.Topic == "" {
		return Event{}, fmt.Errorf("sqldb: append event: %w: empty topic", ErrInvalidEvent)
	}
	if e.EventID == "" {
		id, err := uuid.NewV7()
		if err != nil {
			return Event{}, fmt.Errorf("sqldb: append event: generate event id: %w", err)
		}
		e.EventID = id.String()
	}
	if e.Payload == nil {
		e.Payload = []byte{} // the column is NOT NULL; nil would be NULL
	}
	e.CreatedAt = tx.db.now()

	if tx.db.dialect == Postgres && !tx.outboxLocked {
		// Why: an identity value is taken at INSERT but becomes visible at
		// COMMIT, so two concurrent transactions can commit their ids out of
		// order, and a reader that saw 8 and moved its cursor past it would
		// never see 7. Holding this lock from before the INSERT until the
		// transaction ends means the next appender takes its id only after
		// this transaction's commit is visible: ids become visible in order.
		if _, err := tx.tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", tx.db.outboxLock); err != nil {
			return Event{}, fmt.Errorf("sqldb: append event: lock outbox: %w", err)
		}
		tx.outboxLocked = true
	}
	// Through the statement cache: every checkout appends several events,
	// and parsing this INSERT each time cost as much as running it.
	err := tx.QueryRowContext(ctx, insertEvent, e.EventID, e.Topic, e.AggregateID, e.Payload, e.CreatedAt).Scan(&e.ID)
	if err != nil {
		return Event{}, fmt.Errorf("sqldb: append event %s: %w", e.Topic, err)
	}
	return e, nil
}

// ReadEvents returns up to limit committed events with ID > after, in
// increasing ID order, from the reader pool. Pass 0 to start from the
// beginning, then the ID of the last event received. Because IDs become
// visible in order, a reader that advances its cursor this way never skips
// an event that commits later. An empty result means the reader is caught up.
//
// Errors: [ErrInvalidArgument] (wrapped) when limit < 1 or after < 0; a
// database error otherwise (for example when [DB.Migrate] has not run).
func (db *DB) ReadEvents(ctx context.Context, after int64, limit int) ([]Event, error) {
	if limit < 1 || after < 0 {
		return nil, fmt.Errorf("sqldb: read events after %d limit %d: %w", after, limit, ErrInvalidArgument)
	}
	// Through the reader's statement cache: a feed reads after every commit.
	rows, err := db.QueryContext(ctx, readEvents, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqldb: read events: %w", err)
	}
	defer func() { _ = rows.Close() }() // read errors surface through rows.Err
	// Grown as rows come, not sized by limit: a feed reads after every
	// commit, mostly finding one or two events.
	events := []Event{}
	for rows.Next() {
		var e Event
		if err := rows.Scan(&e.ID, &e.EventID, &e.Topic, &e.AggregateID, &e.Payload, &e.CreatedAt); err != nil {
			return nil, fmt.Errorf("sqldb: read events: scan: %w", err)
		}
		e.CreatedAt = e.CreatedAt.UTC()
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqldb: read events: %w", err)
	}
	return events, nil
}
