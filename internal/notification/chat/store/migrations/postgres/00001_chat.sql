-- The support chat's tables. Times are UTC.

-- +goose Up
CREATE TABLE conversations (
    id            TEXT      PRIMARY KEY,
    customer_id   TEXT      NOT NULL,
    order_id      TEXT      NOT NULL,
    agent_id      TEXT      NOT NULL DEFAULT '',
    state         INTEGER   NOT NULL CHECK (state IN (1, 2)),
    last_sequence BIGINT    NOT NULL DEFAULT 0,
    create_time   TIMESTAMPTZ NOT NULL,
    update_time   TIMESTAMPTZ NOT NULL,
    -- One conversation per customer and order: opening again resumes it.
    UNIQUE (customer_id, order_id)
);
-- ListConversations pages in (create_time, id) order, by customer or state.
CREATE INDEX conversations_by_time ON conversations (create_time, id);
CREATE INDEX conversations_by_state ON conversations (state, create_time, id);
CREATE INDEX conversations_by_customer ON conversations (customer_id, create_time, id);

CREATE TABLE chat_messages (
    conversation_id   TEXT    NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    sequence          BIGINT  NOT NULL,
    sender_id         TEXT    NOT NULL,
    sender_role       INTEGER NOT NULL CHECK (sender_role IN (1, 2)),
    client_message_id TEXT    NOT NULL,
    text              TEXT    NOT NULL,
    create_time       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (conversation_id, sequence),
    -- Idempotent sends.
    UNIQUE (conversation_id, sender_id, client_message_id)
);

-- +goose Down
DROP TABLE chat_messages;
DROP TABLE conversations;
