package store

import (
	"context"
	"crypto/ed25519"
	"fmt"

	"github.com/bazaarhq/bazaar/internal/identity"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
)

const keySelect = `SELECT id, private_key, create_time, activate_time, retire_time, expire_time
FROM signing_keys ORDER BY activate_time, id`

func scanKeys(rows rowScanner) ([]*identity.SigningKey, error) {
	var out []*identity.SigningKey
	for rows.Next() {
		var (
			k    identity.SigningKey
			seed []byte
		)
		if err := rows.Scan(&k.ID, &seed, &k.CreateTime, &k.ActivateTime, &k.RetireTime, &k.ExpireTime); err != nil {
			return nil, err
		}
		if len(seed) != ed25519.SeedSize {
			return nil, fmt.Errorf("signing key %s: stored seed has %d bytes, want %d", k.ID, len(seed), ed25519.SeedSize)
		}
		k.Private = ed25519.NewKeyFromSeed(seed)
		k.CreateTime, k.ActivateTime = k.CreateTime.UTC(), k.ActivateTime.UTC()
		k.RetireTime, k.ExpireTime = k.RetireTime.UTC(), k.ExpireTime.UTC()
		out = append(out, &k)
	}
	return out, rows.Err()
}

// SigningKeys implements identity.SigningKeyStore.
func (s *Store) SigningKeys(ctx context.Context) ([]*identity.SigningKey, error) {
	rows, err := s.db.QueryContext(ctx, keySelect)
	if err != nil {
		return nil, fmt.Errorf("store: read signing keys: %w", err)
	}
	defer func() { _ = rows.Close() }()
	keys, err := scanKeys(rows)
	if err != nil {
		return nil, fmt.Errorf("store: read signing keys: %w", err)
	}
	return keys, nil
}

// UpdateSigningKeys implements identity.SigningKeyStore.
func (s *Store) UpdateSigningKeys(ctx context.Context, fn func(keys []*identity.SigningKey) (identity.KeyChange, error)) error {
	err := s.db.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		if tx.Dialect() == sqldb.Postgres {
			// Excludes other rotations (the mode conflicts with itself) but
			// not readers.
			if _, err := tx.ExecContext(ctx, `LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE`); err != nil {
				return err
			}
		}
		rows, err := tx.QueryContext(ctx, keySelect)
		if err != nil {
			return err
		}
		keys, err := scanKeys(rows)
		_ = rows.Close()
		if err != nil {
			return err
		}
		ch, err := fn(keys)
		if err != nil || ch.IsZero() {
			return err
		}
		for _, id := range ch.Delete {
			if _, err := tx.ExecContext(ctx, `DELETE FROM signing_keys WHERE id = ?`, id); err != nil {
				return err
			}
		}
		for _, k := range ch.Reschedule {
			if _, err := tx.ExecContext(ctx,
				`UPDATE signing_keys SET activate_time = ?, retire_time = ?, expire_time = ? WHERE id = ?`,
				k.ActivateTime.UTC(), k.RetireTime.UTC(), k.ExpireTime.UTC(), k.ID); err != nil {
				return err
			}
		}
		for _, k := range ch.Create {
			_, err := tx.ExecContext(ctx,
				`INSERT INTO signing_keys (id, private_key, create_time, activate_time, retire_time, expire_time)
				 VALUES (?, ?, ?, ?, ?, ?)`,
				k.ID, k.Private.Seed(), k.CreateTime.UTC(), k.ActivateTime.UTC(), k.RetireTime.UTC(), k.ExpireTime.UTC())
			if sqldb.IsUniqueViolation(err) {
				return identity.ErrDuplicate
			}
			if err != nil {
				return err
			}
		}
		return appendEvents(ctx, tx, ch.Events)
	})
	if err != nil {
		return fmt.Errorf("store: update signing keys: %w", err)
	}
	return nil
}
