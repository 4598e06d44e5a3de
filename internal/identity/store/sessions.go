package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/bazaarhq/bazaar/internal/identity"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
)

// CreateSession implements identity.SessionStore.
func (s *Store) CreateSession(ctx context.Context, sess *identity.Session, first *identity.RefreshToken, events ...identity.Event) error {
	err := s.db.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		found, err := exists(ctx, tx, `SELECT 1 FROM users WHERE id = ?`, sess.UserID)
		switch {
		case err != nil:
			return err
		case !found:
			return identity.ErrNotFound
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO sessions (id, user_id, create_time) VALUES (?, ?, ?)`,
			sess.ID, sess.UserID, sess.CreateTime.UTC())
		if sqldb.IsUniqueViolation(err) {
			return identity.ErrDuplicate
		}
		if err != nil {
			return err
		}
		if err := insertRefreshToken(ctx, tx, first); err != nil {
			return err
		}
		return appendEvents(ctx, tx, events)
	})
	if err != nil {
		return fmt.Errorf("store: create session: %w", err)
	}
	return nil
}

func insertRefreshToken(ctx context.Context, tx *sqldb.Tx, t *identity.RefreshToken) error {
	_, err := tx.ExecContext(ctx,
		`INSERT INTO refresh_tokens (token_hash, session_id, create_time, expire_time) VALUES (?, ?, ?, ?)`,
		t.Hash, t.SessionID, t.CreateTime.UTC(), t.ExpireTime.UTC())
	if sqldb.IsUniqueViolation(err) {
		return identity.ErrDuplicate
	}
	return err
}

// RefreshToken implements identity.SessionStore.
func (s *Store) RefreshToken(ctx context.Context, hash []byte) (*identity.RefreshToken, *identity.Session, error) {
	var (
		t                  identity.RefreshToken
		sess               identity.Session
		useTime, revokedAt sql.NullTime
	)
	err := s.db.QueryRowContext(ctx,
		`SELECT t.token_hash, t.session_id, t.create_time, t.expire_time, t.use_time,
		        s.user_id, s.create_time, s.revoke_time, s.revoke_reason
		 FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
		 WHERE t.token_hash = ?`, hash,
	).Scan(&t.Hash, &t.SessionID, &t.CreateTime, &t.ExpireTime, &useTime,
		&sess.UserID, &sess.CreateTime, &revokedAt, &sess.RevokeReason)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil, identity.ErrNotFound
	case err != nil:
		return nil, nil, fmt.Errorf("store: read refresh token: %w", err)
	}
	t.CreateTime, t.ExpireTime, t.UseTime = t.CreateTime.UTC(), t.ExpireTime.UTC(), timeOf(useTime)
	sess.ID = t.SessionID
	sess.CreateTime, sess.RevokeTime = sess.CreateTime.UTC(), timeOf(revokedAt)
	return &t, &sess, nil
}

// RotateRefreshToken implements identity.SessionStore.
func (s *Store) RotateRefreshToken(ctx context.Context, used []byte, at time.Time, next *identity.RefreshToken, events ...identity.Event) error {
	err := s.db.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		var sid string
		err := tx.QueryRowContext(ctx, `SELECT session_id FROM refresh_tokens WHERE token_hash = ?`, used).Scan(&sid)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return identity.ErrNotFound
		case err != nil:
			return err
		case next.SessionID != sid:
			return fmt.Errorf("next token is for session %s, the spent one for %s", next.SessionID, sid)
		}
		// The session row first: on Postgres this locks it, so a concurrent
		// rotation or revocation of the session waits for this transaction
		// and then sees its outcome.
		n, err := affected(tx.ExecContext(ctx,
			`UPDATE sessions SET refresh_time = ? WHERE id = ? AND revoke_time IS NULL`, at.UTC(), sid))
		switch {
		case err != nil:
			return err
		case n == 0:
			return identity.ErrConflict
		}
		n, err = affected(tx.ExecContext(ctx,
			`UPDATE refresh_tokens SET use_time = ? WHERE token_hash = ? AND use_time IS NULL`, at.UTC(), used))
		switch {
		case err != nil:
			return err
		case n == 0:
			return identity.ErrConflict
		}
		if err := insertRefreshToken(ctx, tx, next); err != nil {
			return err
		}
		return appendEvents(ctx, tx, events)
	})
	if err != nil {
		return fmt.Errorf("store: rotate refresh token: %w", err)
	}
	return nil
}

// RevokeSession implements identity.SessionStore.
func (s *Store) RevokeSession(ctx context.Context, id string, at time.Time, reason string, events ...identity.Event) (bool, error) {
	var revoked bool
	err := s.db.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		n, err := affected(tx.ExecContext(ctx,
			`UPDATE sessions SET revoke_time = ?, revoke_reason = ? WHERE id = ? AND revoke_time IS NULL`,
			at.UTC(), reason, id))
		if err != nil {
			return err
		}
		if n == 0 {
			found, err := exists(ctx, tx, `SELECT 1 FROM sessions WHERE id = ?`, id)
			switch {
			case err != nil:
				return err
			case !found:
				return identity.ErrNotFound
			}
			revoked = false
			return nil
		}
		revoked = true
		return appendEvents(ctx, tx, events)
	})
	if err != nil {
		return false, fmt.Errorf("store: revoke session: %w", err)
	}
	return revoked, nil
}

// DeleteExpiredSessions implements identity.SessionStore.
func (s *Store) DeleteExpiredSessions(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.db.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		var err error
		n, err = affected(tx.ExecContext(ctx, `DELETE FROM refresh_tokens WHERE expire_time < ?`, before.UTC()))
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx,
			`DELETE FROM sessions WHERE NOT EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.session_id = sessions.id)`)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: delete expired sessions: %w", err)
	}
	return n, nil
}
