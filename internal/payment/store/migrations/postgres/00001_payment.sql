-- The payment service's tables. Amounts are integer billionths
-- of a currency unit (12.50 EUR = 12500000000), never floats.

-- +goose Up
CREATE TABLE payments (
    id                  TEXT        PRIMARY KEY,
    order_id            TEXT        NOT NULL,
    customer_id         TEXT        NOT NULL,
    currency            TEXT        NOT NULL,
    amount              BIGINT      NOT NULL CHECK (amount > 0),
    captured            BIGINT      NOT NULL CHECK (captured >= 0 AND captured <= amount),
    refunded            BIGINT      NOT NULL CHECK (refunded >= 0 AND refunded <= captured),
    status              INTEGER     NOT NULL CHECK (status BETWEEN 1 AND 7),
    card_brand          TEXT        NOT NULL,
    card_last4          TEXT        NOT NULL,
    processor_reference TEXT        NOT NULL,
    decline_code        TEXT        NOT NULL,
    create_time         TIMESTAMPTZ NOT NULL,
    update_time         TIMESTAMPTZ NOT NULL
);
-- ListPayments pages by id (UUIDv7, time-ordered), filtered by order or status.
CREATE INDEX payments_by_order ON payments (order_id, id);
CREATE INDEX payments_by_status ON payments (status, id);

-- Every mutating call under its idempotency key (scoped per method):
-- claimed before the processor is called, done (with its stored answer)
-- once the outcome is recorded.
CREATE TABLE operations (
    method      TEXT        NOT NULL,
    idem_key    TEXT        NOT NULL,
    fingerprint BYTEA       NOT NULL, -- SHA-256 of the request
    payment_id  TEXT        NOT NULL,
    currency    TEXT        NOT NULL, -- what a capture or refund moves
    amount      BIGINT      NOT NULL,
    done        SMALLINT    NOT NULL CHECK (done IN (0, 1)),
    result      TEXT        NOT NULL, -- JSON of the answer once done
    lease_until TIMESTAMPTZ NOT NULL,
    epoch       BIGINT      NOT NULL,
    create_time TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (method, idem_key)
);
CREATE INDEX operations_unfinished_by_payment ON operations (payment_id) WHERE done = 0;
CREATE INDEX operations_unfinished_by_time ON operations (create_time) WHERE done = 0;
CREATE INDEX operations_done_by_time ON operations (create_time) WHERE done = 1;

-- The double-entry ledger: the postings of each journal transaction sum to
-- zero per currency. A positive amount is a debit.
CREATE TABLE ledger_postings (
    txn_id      TEXT        NOT NULL,
    line        INTEGER     NOT NULL,
    payment_id  TEXT        NOT NULL,
    account     TEXT        NOT NULL,
    currency    TEXT        NOT NULL,
    amount      BIGINT      NOT NULL,
    create_time TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (txn_id, line)
);
CREATE INDEX ledger_postings_by_payment ON ledger_postings (payment_id);

-- The simulated card processor's own records (internal/payment/processor),
-- written only in its own transactions, as a remote system's would be.
CREATE TABLE processor_charges (
    ref          TEXT        PRIMARY KEY,
    charge_id    TEXT        NOT NULL,
    status       TEXT        NOT NULL,
    decline_code TEXT        NOT NULL,
    currency     TEXT        NOT NULL,
    amount       BIGINT      NOT NULL,
    captured     BIGINT      NOT NULL,
    refunded     BIGINT      NOT NULL,
    card_brand   TEXT        NOT NULL,
    card_last4   TEXT        NOT NULL,
    create_time  TIMESTAMPTZ NOT NULL,
    update_time  TIMESTAMPTZ NOT NULL
);
CREATE TABLE processor_refunds (
    refund_ref  TEXT        PRIMARY KEY,
    ref         TEXT        NOT NULL,
    amount      BIGINT      NOT NULL,
    create_time TIMESTAMPTZ NOT NULL
);
CREATE TABLE processor_attempts (
    op_key   TEXT    PRIMARY KEY,
    attempts INTEGER NOT NULL
);

-- +goose Down
DROP TABLE processor_attempts;
DROP TABLE processor_refunds;
DROP TABLE processor_charges;
DROP TABLE ledger_postings;
DROP TABLE operations;
DROP TABLE payments;
