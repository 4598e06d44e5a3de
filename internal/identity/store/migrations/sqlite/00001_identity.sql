-- The identity service's tables. Times are UTC, written by the store as
-- text that sorts in time order (see sqldb.Open). Secrets are stored only
-- as SHA-256 hashes; passwords as argon2id PHC strings.

-- +goose Up
CREATE TABLE users (
    id            TEXT      PRIMARY KEY,
    email         TEXT      NOT NULL UNIQUE, -- normalised: trimmed, lower-case
    display_name  TEXT      NOT NULL,
    password_hash TEXT      NOT NULL,
    create_time   TIMESTAMP NOT NULL
);
-- ListUsers pages in (create_time, id) order.
CREATE INDEX users_by_create_time ON users (create_time, id);

CREATE TABLE user_roles (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role    TEXT NOT NULL,
    PRIMARY KEY (user_id, role)
);
CREATE INDEX user_roles_by_role ON user_roles (role);

-- A session is a family of refresh tokens; revoking it kills them all.
-- Every rotation updates refresh_time, which serialises it with a
-- revocation of the same session.
CREATE TABLE sessions (
    id            TEXT      PRIMARY KEY,
    user_id       TEXT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    create_time   TIMESTAMP NOT NULL,
    refresh_time  TIMESTAMP,
    revoke_time   TIMESTAMP,
    revoke_reason TEXT      NOT NULL DEFAULT ''
);
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE refresh_tokens (
    token_hash  BLOB      PRIMARY KEY, -- SHA-256 of the token
    session_id  TEXT      NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    create_time TIMESTAMP NOT NULL,
    expire_time TIMESTAMP NOT NULL,
    use_time    TIMESTAMP
);
CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_by_expire_time ON refresh_tokens (expire_time);

-- Ed25519 signing keys. private_key is the 32-byte seed; in production it
-- would live in a KMS and this table would hold its reference.
CREATE TABLE signing_keys (
    id            TEXT      PRIMARY KEY, -- RFC 7638 thumbprint
    private_key   BLOB      NOT NULL,
    create_time   TIMESTAMP NOT NULL,
    activate_time TIMESTAMP NOT NULL,
    retire_time   TIMESTAMP NOT NULL,
    expire_time   TIMESTAMP NOT NULL
);

CREATE TABLE api_keys (
    id          TEXT      PRIMARY KEY,
    user_id     TEXT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        TEXT      NOT NULL,
    prefix      TEXT      NOT NULL,
    secret_hash BLOB      NOT NULL UNIQUE, -- SHA-256 of the secret
    scopes      TEXT      NOT NULL,        -- space-separated, sorted
    create_time TIMESTAMP NOT NULL,
    expire_time TIMESTAMP,
    revoke_time TIMESTAMP
);
CREATE INDEX api_keys_by_user ON api_keys (user_id, create_time);

CREATE TABLE clients (
    id          TEXT      PRIMARY KEY,
    name        TEXT      NOT NULL,
    secret_hash BLOB      NOT NULL, -- SHA-256 of the secret
    scopes      TEXT      NOT NULL, -- space-separated, sorted
    create_time TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE clients;
DROP TABLE api_keys;
DROP TABLE signing_keys;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE user_roles;
DROP TABLE users;
