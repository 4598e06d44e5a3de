package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/bazaarhq/bazaar/internal/identity"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
)

// userSelect reads users with their roles, one row per role (or one row
// with a NULL role): scanUsers folds them. Callers add WHERE and the ORDER
// BY that keeps each user's rows together and its roles sorted.
const userSelect = `SELECT u.id, u.email, u.display_name, u.password_hash, u.create_time, r.role
FROM users u LEFT JOIN user_roles r ON r.user_id = u.id`

type rowScanner interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

func scanUsers(rows rowScanner) ([]*identity.User, error) {
	var out []*identity.User
	for rows.Next() {
		var (
			u    identity.User
			hash string
			role sql.NullString
		)
		if err := rows.Scan(&u.ID, &u.Email, &u.DisplayName, &hash, &u.CreateTime, &role); err != nil {
			return nil, err
		}
		if n := len(out); n == 0 || out[n-1].ID != u.ID {
			u.PasswordHash = identity.PasswordHash(hash)
			u.CreateTime = u.CreateTime.UTC()
			u.Roles = []string{}
			out = append(out, &u)
		}
		if role.Valid {
			last := out[len(out)-1]
			last.Roles = append(last.Roles, role.String)
		}
	}
	return out, rows.Err()
}

// CreateUser implements identity.UserStore.
func (s *Store) CreateUser(ctx context.Context, u *identity.User, events ...identity.Event) error {
	err := s.db.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO users (id, email, display_name, password_hash, create_time) VALUES (?, ?, ?, ?, ?)`,
			u.ID, u.Email, u.DisplayName, string(u.PasswordHash), u.CreateTime.UTC())
		if sqldb.IsUniqueViolation(err) {
			return identity.ErrDuplicate
		}
		if err != nil {
			return err
		}
		if err := insertRoles(ctx, tx, u.ID, u.Roles); err != nil {
			return err
		}
		return appendEvents(ctx, tx, events)
	})
	if err != nil {
		return fmt.Errorf("store: create user: %w", err)
	}
	return nil
}

func insertRoles(ctx context.Context, tx *sqldb.Tx, userID string, roles []string) error {
	for _, r := range roles {
		if _, err := tx.ExecContext(ctx, `INSERT INTO user_roles (user_id, role) VALUES (?, ?)`, userID, r); err != nil {
			return err
		}
	}
	return nil
}

// User implements identity.UserStore.
func (s *Store) User(ctx context.Context, id string) (*identity.User, error) {
	return s.oneUser(ctx, "u.id = ?", id)
}

// UserByEmail implements identity.UserStore.
func (s *Store) UserByEmail(ctx context.Context, email string) (*identity.User, error) {
	return s.oneUser(ctx, "u.email = ?", email)
}

func (s *Store) oneUser(ctx context.Context, where string, arg any) (*identity.User, error) {
	rows, err := s.db.QueryContext(ctx, userSelect+` WHERE `+where+` ORDER BY r.role`, arg)
	if err != nil {
		return nil, fmt.Errorf("store: read user: %w", err)
	}
	defer func() { _ = rows.Close() }()
	users, err := scanUsers(rows)
	switch {
	case err != nil:
		return nil, fmt.Errorf("store: read user: %w", err)
	case len(users) == 0:
		return nil, identity.ErrNotFound
	}
	return users[0], nil
}

// UpdateUser implements identity.UserStore.
func (s *Store) UpdateUser(ctx context.Context, id string, fn func(u *identity.User) (identity.UserChange, error)) (*identity.User, error) {
	var out *identity.User
	err := s.db.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		found, err := exists(ctx, tx, `SELECT 1 FROM users WHERE id = ?`+forUpdate(tx.Dialect()), id)
		switch {
		case err != nil:
			return err
		case !found:
			return identity.ErrNotFound
		}
		rows, err := tx.QueryContext(ctx, userSelect+` WHERE u.id = ? ORDER BY r.role`, id)
		if err != nil {
			return err
		}
		users, err := scanUsers(rows)
		_ = rows.Close()
		if err != nil {
			return err
		}
		u := users[0]
		oldRoles := slices.Clone(u.Roles)
		ch, err := fn(u)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET display_name = ?, password_hash = ? WHERE id = ?`,
			u.DisplayName, string(u.PasswordHash), id); err != nil {
			return err
		}
		if err := writeRoles(ctx, tx, id, oldRoles, u.Roles, ch.KeepRole); err != nil {
			return err
		}
		if r := ch.RevokeSessions; r != nil {
			if _, err := tx.ExecContext(ctx,
				`UPDATE sessions SET revoke_time = ?, revoke_reason = ? WHERE user_id = ? AND revoke_time IS NULL`,
				r.Time.UTC(), r.Reason, id); err != nil {
				return err
			}
		}
		if err := appendEvents(ctx, tx, ch.Events); err != nil {
			return err
		}
		out = u
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: update user: %w", err)
	}
	return out, nil
}

// writeRoles changes the user's roles from old to roles, touching only the
// rows of the roles added or removed: a concurrent guard (below) waiting on
// the row of a role the user keeps must not see it vanish. If the change
// takes keep from the user, it first checks that another user holds keep,
// and returns identity.ErrLastRoleHolder if none does.
func writeRoles(ctx context.Context, tx *sqldb.Tx, id string, old, roles []string, keep string) error {
	if keep != "" && slices.Contains(old, keep) && !slices.Contains(roles, keep) {
		if err := checkOtherHolder(ctx, tx, id, keep); err != nil {
			return err
		}
	}
	for _, r := range old {
		if slices.Contains(roles, r) {
			continue
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM user_roles WHERE user_id = ? AND role = ?`, id, r); err != nil {
			return err
		}
	}
	var added []string
	for _, r := range roles {
		if !slices.Contains(old, r) {
			added = append(added, r)
		}
	}
	return insertRoles(ctx, tx, id, added)
}

// checkOtherHolder returns identity.ErrLastRoleHolder unless a user other
// than id holds role. On Postgres it locks every holder's row, in user id
// order, until the transaction ends: a concurrent check (of any user)
// waits, then no longer sees the rows this transaction deletes, so two
// demotions cannot each count the other as the remaining holder; the fixed
// order means they queue rather than deadlock. On SQLite the write
// transaction is exclusive already.
func checkOtherHolder(ctx context.Context, tx *sqldb.Tx, id, role string) error {
	rows, err := tx.QueryContext(ctx,
		`SELECT user_id FROM user_roles WHERE role = ? ORDER BY user_id`+forUpdate(tx.Dialect()), role)
	if err != nil {
		return err
	}
	defer func() { _ = rows.Close() }()
	others := 0
	for rows.Next() {
		var holder string
		if err := rows.Scan(&holder); err != nil {
			return err
		}
		if holder != id {
			others++
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if others == 0 {
		return identity.ErrLastRoleHolder
	}
	return nil
}

// ListUsers implements identity.UserStore.
func (s *Store) ListUsers(ctx context.Context, after identity.UserCursor, limit int) ([]*identity.User, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("store: list users: limit %d: %w", limit, sqldb.ErrInvalidArgument)
	}
	page := `SELECT id, email, display_name, password_hash, create_time FROM users`
	args := make([]any, 0, 4)
	if !after.IsZero() {
		page += ` WHERE create_time > ? OR (create_time = ? AND id > ?)`
		t := after.CreateTime.UTC()
		args = append(args, t, t, after.ID)
	}
	page += ` ORDER BY create_time, id LIMIT ?`
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx,
		`SELECT u.id, u.email, u.display_name, u.password_hash, u.create_time, r.role
		 FROM (`+page+`) u LEFT JOIN user_roles r ON r.user_id = u.id
		 ORDER BY u.create_time, u.id, r.role`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	defer func() { _ = rows.Close() }()
	users, err := scanUsers(rows)
	if err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	return users, nil
}

// HasUserWithRole implements identity.UserStore.
func (s *Store) HasUserWithRole(ctx context.Context, role string) (bool, error) {
	var one int
	err := s.db.QueryRowContext(ctx, `SELECT 1 FROM user_roles WHERE role = ? LIMIT 1`, role).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("store: look for role: %w", err)
	}
	return true, nil
}
