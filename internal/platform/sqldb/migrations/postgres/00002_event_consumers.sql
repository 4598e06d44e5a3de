-- Event delivery bookkeeping (internal/platform/events).
--
-- Producer side: event_consumers are the consumers registered with this
-- service (by its configuration) and how far each has acknowledged having
-- durably processed the outbox; outbox_pruned remembers the highest outbox
-- id ever pruned, so that a cursor behind it is known to have lost events.
--
-- Consumer side: event_cursors is where each consumer of this service
-- resumes reading each source (a producing service), and event_inbox the
-- ids of the events it has applied, for dedup. Both are written in the
-- transaction of the event's effect.

-- +goose Up
CREATE TABLE event_consumers (
    name        TEXT        NOT NULL PRIMARY KEY,
    cursor      BIGINT      NOT NULL DEFAULT 0,
    update_time TIMESTAMPTZ NOT NULL
);

CREATE TABLE outbox_pruned (
    singleton INTEGER NOT NULL PRIMARY KEY CHECK (singleton = 1),
    through   BIGINT  NOT NULL
);

CREATE TABLE event_cursors (
    consumer    TEXT        NOT NULL,
    source      TEXT        NOT NULL,
    cursor      TEXT        NOT NULL,
    update_time TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (consumer, source)
);

CREATE TABLE event_inbox (
    consumer   TEXT        NOT NULL,
    source     TEXT        NOT NULL,
    event_id   TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (consumer, source, event_id)
);

CREATE INDEX event_inbox_created_at ON event_inbox (created_at);
CREATE INDEX outbox_created_at ON outbox (created_at);

-- +goose Down
DROP INDEX outbox_created_at;
DROP TABLE event_inbox;
DROP TABLE event_cursors;
DROP TABLE outbox_pruned;
DROP TABLE event_consumers;
