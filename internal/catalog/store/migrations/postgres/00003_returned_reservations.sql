-- API v1.2 added ReturnReservation: a committed reservation whose order was
-- cancelled and refunded puts its units back on sale (state 5, returned).

-- +goose Up
ALTER TABLE reservations DROP CONSTRAINT reservations_state_check;
ALTER TABLE reservations ADD CONSTRAINT reservations_state_check CHECK (state IN (1, 2, 3, 4, 5));

-- +goose Down
ALTER TABLE reservations DROP CONSTRAINT reservations_state_check;
ALTER TABLE reservations ADD CONSTRAINT reservations_state_check CHECK (state IN (1, 2, 3, 4));
