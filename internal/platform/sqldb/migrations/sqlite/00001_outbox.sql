-- The transactional outbox: events appended in the same transaction as the
-- state change they describe, read in id order by the relay.

-- +goose Up
CREATE TABLE outbox (
    -- AUTOINCREMENT: an id is never reused, even after the newest rows are
    -- deleted, so a consumer's cursor can never point at a different event.
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id     TEXT    NOT NULL UNIQUE,
    topic        TEXT    NOT NULL,
    aggregate_id TEXT    NOT NULL DEFAULT '',
    payload      BLOB    NOT NULL,
    created_at   TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE outbox;
