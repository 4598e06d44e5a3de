-- The transactional outbox: events appended in the same transaction as the
-- state change they describe, read in id order by the relay. Appends are
-- serialised by a transaction-scoped advisory lock (see outbox.go), so ids
-- become visible in order.

-- +goose Up
CREATE TABLE outbox (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id     TEXT        NOT NULL UNIQUE,
    topic        TEXT        NOT NULL,
    aggregate_id TEXT        NOT NULL DEFAULT '',
    payload      BYTEA       NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE outbox;
