-- API v1.1 added Product.brand (see docs/schema-evolution.md). Existing
-- rows get the empty brand, which the API reads as "not set".

-- +goose Up
ALTER TABLE products ADD COLUMN brand TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE products DROP COLUMN brand;
