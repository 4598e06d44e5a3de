-- +goose Up
ALTER TABLE items ADD COLUMN note TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE items DROP COLUMN note;
