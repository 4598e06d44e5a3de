-- +goose Up
CREATE TABLE items (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    name      TEXT NOT NULL UNIQUE,
    parent_id INTEGER REFERENCES items (id)
);

-- +goose Down
DROP TABLE items;
