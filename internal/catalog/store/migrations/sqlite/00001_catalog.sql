-- The catalog service's tables. Times are UTC, written by the store as text
-- that sorts in time order (see sqldb.Open). A price is its currency and
-- (units, nanos): nanos has the sign of units, so (units, nanos) order is
-- amount order.

-- +goose Up
CREATE TABLE products (
    id               TEXT      PRIMARY KEY,
    sku              TEXT      NOT NULL UNIQUE,
    title            TEXT      NOT NULL,
    description      TEXT      NOT NULL,
    category         TEXT      NOT NULL,
    price_currency   TEXT      NOT NULL,
    price_units      INTEGER   NOT NULL,
    price_nanos      INTEGER   NOT NULL,
    attributes       TEXT      NOT NULL, -- JSON object, read back as is
    images           TEXT      NOT NULL, -- JSON array, in display order
    kind             TEXT      NOT NULL, -- JSON of the kind and its details
    status           INTEGER   NOT NULL CHECK (status IN (1, 2, 3)),
    partner_type_url TEXT      NOT NULL,
    partner_value    BLOB      NOT NULL,
    create_time      TIMESTAMP NOT NULL,
    update_time      TIMESTAMP NOT NULL,
    version          INTEGER   NOT NULL
);
-- ListProducts filters by status and pages in one of its orders.
CREATE INDEX products_by_update_time ON products (status, update_time, id);
CREATE INDEX products_by_price ON products (status, price_units, price_nanos, id);
CREATE INDEX products_by_category ON products (category);

-- Attributes again, one row each, for equality filters.
CREATE TABLE product_attributes (
    product_id TEXT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    PRIMARY KEY (product_id, key)
);
CREATE INDEX product_attributes_by_value ON product_attributes (key, value);

-- The request id of each CreateProduct, for idempotent retries.
CREATE TABLE create_requests (
    request_id  TEXT PRIMARY KEY,
    fingerprint BLOB NOT NULL, -- SHA-256 of the product asked for
    product_id  TEXT NOT NULL REFERENCES products (id)
);

-- Full-text search over title and description, kept in sync with products
-- by triggers (an external-content FTS5 table stores only the index).
CREATE VIRTUAL TABLE products_fts USING fts5 (
    title, description, content = 'products', content_rowid = 'rowid'
);
-- +goose StatementBegin
CREATE TRIGGER products_fts_insert AFTER INSERT ON products BEGIN
    INSERT INTO products_fts (rowid, title, description) VALUES (new.rowid, new.title, new.description);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER products_fts_delete AFTER DELETE ON products BEGIN
    INSERT INTO products_fts (products_fts, rowid, title, description) VALUES ('delete', old.rowid, old.title, old.description);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER products_fts_update AFTER UPDATE OF title, description ON products BEGIN
    INSERT INTO products_fts (products_fts, rowid, title, description) VALUES ('delete', old.rowid, old.title, old.description);
    INSERT INTO products_fts (rowid, title, description) VALUES (new.rowid, new.title, new.description);
END;
-- +goose StatementEnd

-- One stock row per SKU, created with its product. Units ever added =
-- available + reserved + sold.
CREATE TABLE stocks (
    sku        TEXT    PRIMARY KEY,
    product_id TEXT    NOT NULL REFERENCES products (id),
    available  INTEGER NOT NULL CHECK (available >= 0),
    reserved   INTEGER NOT NULL CHECK (reserved >= 0),
    sold       INTEGER NOT NULL CHECK (sold >= 0)
);

-- Applied AdjustStock requests, with the stock each left, for replays.
CREATE TABLE stock_adjustments (
    request_id  TEXT      PRIMARY KEY,
    sku         TEXT      NOT NULL REFERENCES stocks (sku),
    delta       INTEGER   NOT NULL,
    reason      TEXT      NOT NULL,
    create_time TIMESTAMP NOT NULL,
    available   INTEGER   NOT NULL,
    reserved    INTEGER   NOT NULL,
    sold        INTEGER   NOT NULL
);

CREATE TABLE reservations (
    id          TEXT      PRIMARY KEY,
    state       INTEGER   NOT NULL CHECK (state IN (1, 2, 3, 4)),
    create_time TIMESTAMP NOT NULL,
    expire_time TIMESTAMP NOT NULL
);
-- The sweeper finds reserved (state 1) reservations past their expiry.
CREATE INDEX reservations_by_expiry ON reservations (state, expire_time);

CREATE TABLE reservation_items (
    reservation_id TEXT    NOT NULL REFERENCES reservations (id) ON DELETE CASCADE,
    sku            TEXT    NOT NULL REFERENCES stocks (sku),
    quantity       INTEGER NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (reservation_id, sku)
);

-- +goose Down
DROP TABLE reservation_items;
DROP TABLE reservations;
DROP TABLE stock_adjustments;
DROP TABLE stocks;
DROP TRIGGER products_fts_update;
DROP TRIGGER products_fts_delete;
DROP TRIGGER products_fts_insert;
DROP TABLE products_fts;
DROP TABLE create_requests;
DROP TABLE product_attributes;
DROP TABLE products;
