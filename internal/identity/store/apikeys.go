package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/bazaarhq/bazaar/internal/identity"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
)

const apiKeyColumns = `id, user_id, name, prefix, secret_hash, scopes, create_time, expire_time, revoke_time`

func scanAPIKey(row interface{ Scan(dest ...any) error }) (*identity.APIKey, error) {
	var (
		k              identity.APIKey
		scopes         string
		expire, revoke sql.NullTime
	)
	if err := row.Scan(&k.ID, &k.UserID, &k.Name, &k.Prefix, &k.Hash, &scopes, &k.CreateTime, &expire, &revoke); err != nil {
		return nil, err
	}
	k.Scopes = splitScopes(scopes)
	k.CreateTime, k.ExpireTime, k.RevokeTime = k.CreateTime.UTC(), timeOf(expire), timeOf(revoke)
	return &k, nil
}

// CreateAPIKey implements identity.APIKeyStore.
func (s *Store) CreateAPIKey(ctx context.Context, k *identity.APIKey, events ...identity.Event) error {
	err := s.db.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		found, err := exists(ctx, tx, `SELECT 1 FROM users WHERE id = ?`, k.UserID)
		switch {
		case err != nil:
			return err
		case !found:
			return identity.ErrNotFound
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO api_keys (`+apiKeyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			k.ID, k.UserID, k.Name, k.Prefix, k.Hash, joinScopes(k.Scopes), k.CreateTime.UTC(),
			nullTime(k.ExpireTime), nullTime(k.RevokeTime))
		if sqldb.IsUniqueViolation(err) {
			return identity.ErrDuplicate
		}
		if err != nil {
			return err
		}
		return appendEvents(ctx, tx, events)
	})
	if err != nil {
		return fmt.Errorf("store: create API key: %w", err)
	}
	return nil
}

// APIKeyByHash implements identity.APIKeyStore.
func (s *Store) APIKeyByHash(ctx context.Context, hash []byte) (*identity.APIKey, error) {
	k, err := scanAPIKey(s.db.QueryRowContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE secret_hash = ?`, hash))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, identity.ErrNotFound
	case err != nil:
		return nil, fmt.Errorf("store: read API key: %w", err)
	}
	return k, nil
}

// APIKeys implements identity.APIKeyStore.
func (s *Store) APIKeys(ctx context.Context, userID string) ([]*identity.APIKey, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT `+apiKeyColumns+` FROM api_keys WHERE user_id = ? ORDER BY create_time DESC, id DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: list API keys: %w", err)
	}
	defer func() { _ = rows.Close() }()
	keys := []*identity.APIKey{}
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list API keys: %w", err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list API keys: %w", err)
	}
	return keys, nil
}

// UpdateAPIKey implements identity.APIKeyStore.
func (s *Store) UpdateAPIKey(ctx context.Context, id string, fn func(k *identity.APIKey) ([]identity.Event, error)) (*identity.APIKey, error) {
	var out *identity.APIKey
	err := s.db.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		k, err := scanAPIKey(tx.QueryRowContext(ctx,
			`SELECT `+apiKeyColumns+` FROM api_keys WHERE id = ?`+forUpdate(tx.Dialect()), id))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return identity.ErrNotFound
		case err != nil:
			return err
		}
		events, err := fn(k)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE api_keys SET revoke_time = ? WHERE id = ?`, nullTime(k.RevokeTime), id); err != nil {
			return err
		}
		if err := appendEvents(ctx, tx, events); err != nil {
			return err
		}
		out = k
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: update API key: %w", err)
	}
	return out, nil
}
