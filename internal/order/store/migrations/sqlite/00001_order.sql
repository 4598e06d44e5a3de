-- The order service's tables. Times are UTC, written by the store as text
-- that sorts in time order (see sqldb.Open). Money is a currency and
-- (units, nanos), never a float.

-- +goose Up
-- A customer's cart: its lines as a JSON array of {product_id, quantity},
-- in the order they were added.
CREATE TABLE carts (
    customer_id TEXT      PRIMARY KEY,
    lines       TEXT      NOT NULL,
    update_time TIMESTAMP NOT NULL
);

-- An order and the state of its checkout saga. flags holds what the saga
-- may have done and must undo (bits: 1 reserved, 2 authorized,
-- 4 committed, 8 captured, 16 return tried, 32 cancel requested).
CREATE TABLE orders (
    id              TEXT      PRIMARY KEY,
    customer_id     TEXT      NOT NULL,
    idempotency_key TEXT      NOT NULL,
    fingerprint     BLOB      NOT NULL, -- SHA-256 of the PlaceOrder request
    items           TEXT      NOT NULL, -- JSON array of the items, prices included
    total_currency  TEXT      NOT NULL,
    total_units     INTEGER   NOT NULL,
    total_nanos     INTEGER   NOT NULL,
    status          INTEGER   NOT NULL CHECK (status IN (1, 2, 3, 4)),
    step            INTEGER   NOT NULL,
    cancel_code     TEXT      NOT NULL,
    cancel_reason   TEXT      NOT NULL,
    payment_id      TEXT      NOT NULL,
    flags           INTEGER   NOT NULL,
    attempts        INTEGER   NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    step_start_time TIMESTAMP NOT NULL,
    last_error      TEXT      NOT NULL,
    lease_owner     TEXT      NOT NULL, -- '' when free
    lease_until     TIMESTAMP NOT NULL,
    card_number     TEXT      NOT NULL, -- erased once the authorization is settled
    sequence        INTEGER   NOT NULL, -- of the last transition
    create_time     TIMESTAMP NOT NULL,
    update_time     TIMESTAMP NOT NULL,
    UNIQUE (customer_id, idempotency_key)
);
-- ListOrders: a customer's orders, or everyone's, newest first.
CREATE INDEX orders_by_customer ON orders (customer_id, create_time, id);
CREATE INDEX orders_by_create_time ON orders (create_time, id);
-- Recovery: pending and cancelling orders by their next attempt.
CREATE INDEX orders_due ON orders (next_attempt_at) WHERE status IN (1, 3);

-- Every change of an order's status or step, numbered per order from 1,
-- with the order as it left it (JSON), for WatchOrder.
CREATE TABLE order_transitions (
    order_id TEXT      NOT NULL REFERENCES orders (id),
    sequence INTEGER   NOT NULL,
    status   INTEGER   NOT NULL,
    step     INTEGER   NOT NULL,
    reason   TEXT      NOT NULL,
    time     TIMESTAMP NOT NULL,
    snapshot TEXT      NOT NULL,
    PRIMARY KEY (order_id, sequence)
);

-- +goose Down
DROP TABLE order_transitions;
DROP TABLE orders;
DROP TABLE carts;
