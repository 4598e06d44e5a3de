-- +goose Up
CREATE TABLE items (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name      TEXT NOT NULL UNIQUE,
    parent_id BIGINT REFERENCES items (id)
);

-- +goose Down
DROP TABLE items;
