-- The notification service's tables. Times are UTC (TIMESTAMPTZ).

-- +goose Up
-- Each user's last notification id: ids are a per-user sequence without
-- gaps, allocated by updating this row (which serialises a user's
-- notifications in commit order).
CREATE TABLE notification_users (
    user_id TEXT    PRIMARY KEY,
    last_id BIGINT NOT NULL
);

CREATE TABLE notifications (
    user_id     TEXT      NOT NULL,
    id          BIGINT    NOT NULL,
    kind        INTEGER   NOT NULL,
    title       TEXT      NOT NULL,
    body        TEXT      NOT NULL,
    order_id    TEXT      NOT NULL,
    product_id  TEXT      NOT NULL,
    event_id    TEXT      NOT NULL,
    create_time TIMESTAMPTZ NOT NULL,
    read_time   TIMESTAMPTZ,
    PRIMARY KEY (user_id, id)
);
CREATE INDEX notifications_unread ON notifications (user_id, id) WHERE read_time IS NULL;

-- The simulated e-mail channel.
CREATE TABLE emails (
    id          BIGINT    GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     TEXT      NOT NULL,
    address     TEXT      NOT NULL,
    subject     TEXT      NOT NULL,
    body        TEXT      NOT NULL,
    event_id    TEXT      NOT NULL,
    create_time TIMESTAMPTZ NOT NULL
);
CREATE INDEX emails_by_user ON emails (user_id, id);

-- Users' alerts on products: back in stock (watch), price drop (wishlist).
CREATE TABLE product_alerts (
    user_id       TEXT      NOT NULL,
    product_id    TEXT      NOT NULL,
    back_in_stock BOOLEAN   NOT NULL,
    price_drop    BOOLEAN   NOT NULL,
    update_time   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, product_id)
);
CREATE INDEX product_alerts_by_product ON product_alerts (product_id, user_id);

-- The last seen price and available stock of each product, to detect a
-- drop or a return to stock.
CREATE TABLE product_states (
    product_id     TEXT      PRIMARY KEY,
    price_currency TEXT,
    price_units    BIGINT,
    price_nanos    INTEGER,
    price_time     TIMESTAMPTZ,
    available      BIGINT,
    stock_time     TIMESTAMPTZ
);

-- Ids of the events already turned into notifications.
CREATE TABLE handled_events (
    event_id    TEXT      PRIMARY KEY,
    handle_time TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE handled_events;
DROP TABLE product_states;
DROP TABLE product_alerts;
DROP TABLE emails;
DROP TABLE notifications;
DROP TABLE notification_users;
