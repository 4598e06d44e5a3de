package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/bazaarhq/bazaar/internal/identity"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
)

// CreateClient implements identity.ClientStore.
func (s *Store) CreateClient(ctx context.Context, c *identity.Client, events ...identity.Event) error {
	err := s.db.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO clients (id, name, secret_hash, scopes, create_time) VALUES (?, ?, ?, ?, ?)`,
			c.ID, c.Name, c.SecretHash, joinScopes(c.Scopes), c.CreateTime.UTC())
		if sqldb.IsUniqueViolation(err) {
			return identity.ErrDuplicate
		}
		if err != nil {
			return err
		}
		return appendEvents(ctx, tx, events)
	})
	if err != nil {
		return fmt.Errorf("store: create client: %w", err)
	}
	return nil
}

// Client implements identity.ClientStore.
func (s *Store) Client(ctx context.Context, id string) (*identity.Client, error) {
	var (
		c      identity.Client
		scopes string
	)
	err := s.db.QueryRowContext(ctx, `SELECT id, name, secret_hash, scopes, create_time FROM clients WHERE id = ?`, id).
		Scan(&c.ID, &c.Name, &c.SecretHash, &scopes, &c.CreateTime)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, identity.ErrNotFound
	case err != nil:
		return nil, fmt.Errorf("store: read client: %w", err)
	}
	c.Scopes = splitScopes(scopes)
	c.CreateTime = c.CreateTime.UTC()
	return &c, nil
}
