-- API v1.2 added ReturnReservation: a committed reservation whose order was
-- cancelled and refunded puts its units back on sale (state 5, returned).
--
-- SQLite cannot change a CHECK constraint in place, so the table is rebuilt.
-- Its items are rebuilt first, pointing at the new table, because dropping
-- the old table would cascade to them; renaming the new table afterwards
-- rewrites their reference.

-- +goose Up
CREATE TABLE reservations_v2 (
    id          TEXT      PRIMARY KEY,
    state       INTEGER   NOT NULL CHECK (state IN (1, 2, 3, 4, 5)),
    create_time TIMESTAMP NOT NULL,
    expire_time TIMESTAMP NOT NULL
);
INSERT INTO reservations_v2 (id, state, create_time, expire_time)
    SELECT id, state, create_time, expire_time FROM reservations;
CREATE TABLE reservation_items_v2 (
    reservation_id TEXT    NOT NULL REFERENCES reservations_v2 (id) ON DELETE CASCADE,
    sku            TEXT    NOT NULL REFERENCES stocks (sku),
    quantity       INTEGER NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (reservation_id, sku)
);
INSERT INTO reservation_items_v2 (reservation_id, sku, quantity)
    SELECT reservation_id, sku, quantity FROM reservation_items;
DROP TABLE reservation_items;
DROP TABLE reservations;
ALTER TABLE reservations_v2 RENAME TO reservations;
ALTER TABLE reservation_items_v2 RENAME TO reservation_items;
-- The sweeper finds reserved (state 1) reservations past their expiry.
CREATE INDEX reservations_by_expiry ON reservations (state, expire_time);

-- +goose Down
CREATE TABLE reservations_v1 (
    id          TEXT      PRIMARY KEY,
    state       INTEGER   NOT NULL CHECK (state IN (1, 2, 3, 4)),
    create_time TIMESTAMP NOT NULL,
    expire_time TIMESTAMP NOT NULL
);
INSERT INTO reservations_v1 (id, state, create_time, expire_time)
    SELECT id, state, create_time, expire_time FROM reservations;
CREATE TABLE reservation_items_v1 (
    reservation_id TEXT    NOT NULL REFERENCES reservations_v1 (id) ON DELETE CASCADE,
    sku            TEXT    NOT NULL REFERENCES stocks (sku),
    quantity       INTEGER NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (reservation_id, sku)
);
INSERT INTO reservation_items_v1 (reservation_id, sku, quantity)
    SELECT reservation_id, sku, quantity FROM reservation_items;
DROP TABLE reservation_items;
DROP TABLE reservations;
ALTER TABLE reservations_v1 RENAME TO reservations;
ALTER TABLE reservation_items_v1 RENAME TO reservation_items;
CREATE INDEX reservations_by_expiry ON reservations (state, expire_time);
