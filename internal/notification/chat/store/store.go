// Package store is the support chat's persistence on SQLite and Postgres
// (through internal/platform/sqldb). It implements chat.Store; one contract
// test suite runs against both engines.
//
// A message's sequence comes from its conversation row
// (last_sequence + 1, updated in the message's transaction), so sequences
// are gapless per conversation and concurrent appends serialise on that
// row (SQLite: the single writer; Postgres: the row lock of the UPDATE).
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/bazaarhq/bazaar/internal/notification/chat"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
)

// migrations holds migrations/sqlite/*.sql and migrations/postgres/*.sql.
//
//go:embed migrations
var migrations embed.FS

// Store implements chat.Store. It is safe for concurrent use.
type Store struct {
	db *sqldb.DB
}

var _ chat.Store = (*Store)(nil)

// Open opens the database at url (see sqldb.Open; on Postgres pass
// sqldb.WithSchema to give the service its own schema), brings its schema
// up to date and returns the store, which owns the database: Close it.
func Open(ctx context.Context, url string, opts ...sqldb.Option) (*Store, error) {
	db, err := sqldb.Open(ctx, url, opts...)
	if err != nil {
		return nil, fmt.Errorf("chat store: %w", err)
	}
	if err := db.Migrate(ctx, migrations); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("chat store: %w", err)
	}
	return &Store{db: db}, nil
}

// DB returns the database (readiness probes).
func (s *Store) DB() *sqldb.DB { return s.db }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

const conversationColumns = `id, customer_id, order_id, agent_id, state, last_sequence, create_time, update_time`

type scanner interface{ Scan(dest ...any) error }

func scanConversation(row scanner) (chat.Conversation, error) {
	var c chat.Conversation
	err := row.Scan(&c.ID, &c.CustomerID, &c.OrderID, &c.AgentID, &c.State, &c.LastSequence, &c.CreateTime, &c.UpdateTime)
	if errors.Is(err, sql.ErrNoRows) {
		return c, chat.ErrNotFound
	}
	c.CreateTime, c.UpdateTime = c.CreateTime.UTC(), c.UpdateTime.UTC()
	return c, err
}

// OpenConversation implements chat.Store.
func (s *Store) OpenConversation(ctx context.Context, c chat.Conversation) (chat.Conversation, bool, error) {
	var out chat.Conversation
	var created bool
	err := s.db.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		created = false
		got, err := scanConversation(tx.QueryRowContext(ctx,
			`SELECT `+conversationColumns+` FROM conversations WHERE customer_id = ? AND order_id = ?`, c.CustomerID, c.OrderID))
		if err == nil {
			out = got
			return nil
		}
		if !errors.Is(err, chat.ErrNotFound) {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO conversations (`+conversationColumns+`) VALUES (?, ?, ?, ?, ?, 0, ?, ?)`,
			c.ID, c.CustomerID, c.OrderID, "", chat.StateWaiting, c.CreateTime.UTC(), c.UpdateTime.UTC())
		if err != nil {
			return err
		}
		out, created = c, true
		out.AgentID, out.State, out.LastSequence = "", chat.StateWaiting, 0
		return nil
	})
	if err != nil && sqldb.IsUniqueViolation(err) {
		// A concurrent open of the same order won: resume its conversation.
		got, err := scanConversation(s.db.QueryRowContext(ctx,
			`SELECT `+conversationColumns+` FROM conversations WHERE customer_id = ? AND order_id = ?`, c.CustomerID, c.OrderID))
		return got, false, err
	}
	return out, created, err
}

// GetConversation implements chat.Store.
func (s *Store) GetConversation(ctx context.Context, id string) (chat.Conversation, error) {
	return scanConversation(s.db.QueryRowContext(ctx, `SELECT `+conversationColumns+` FROM conversations WHERE id = ?`, id))
}

// AssignAgent implements chat.Store.
func (s *Store) AssignAgent(ctx context.Context, id, agentID string, now time.Time) (chat.Conversation, error) {
	var out chat.Conversation
	err := s.db.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE conversations SET agent_id = ?, state = ?, update_time = ? WHERE id = ? AND state = ?`,
			agentID, chat.StateActive, now.UTC(), id, chat.StateWaiting); err != nil {
			return err
		}
		var err error
		out, err = scanConversation(tx.QueryRowContext(ctx, `SELECT `+conversationColumns+` FROM conversations WHERE id = ?`, id))
		return err
	})
	return out, err
}

const messageColumns = `conversation_id, sequence, sender_id, sender_role, client_message_id, text, create_time`

func scanMessage(row scanner) (chat.Message, error) {
	var m chat.Message
	err := row.Scan(&m.ConversationID, &m.Sequence, &m.SenderID, &m.SenderRole, &m.ClientMessageID, &m.Text, &m.CreateTime)
	m.CreateTime = m.CreateTime.UTC()
	return m, err
}

// AppendMessage implements chat.Store.
func (s *Store) AppendMessage(ctx context.Context, m chat.Message) (chat.Message, bool, error) {
	var out chat.Message
	var created bool
	err := s.db.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		created = false
		// The UPDATE first: it locks the conversation row on Postgres, so a
		// concurrent resend waits and then finds the first message.
		var seq int64
		err := tx.QueryRowContext(ctx, `UPDATE conversations SET last_sequence = last_sequence + 1, update_time = ?
			WHERE id = ? RETURNING last_sequence`, m.CreateTime.UTC(), m.ConversationID).Scan(&seq)
		if errors.Is(err, sql.ErrNoRows) {
			return chat.ErrNotFound
		}
		if err != nil {
			return err
		}
		prev, err := scanMessage(tx.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM chat_messages
			WHERE conversation_id = ? AND sender_id = ? AND client_message_id = ?`, m.ConversationID, m.SenderID, m.ClientMessageID))
		switch {
		case err == nil:
			out = prev
			return errDuplicate // roll the sequence back
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		m.Sequence = seq
		if _, err := tx.ExecContext(ctx, `INSERT INTO chat_messages (`+messageColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			m.ConversationID, m.Sequence, m.SenderID, m.SenderRole, m.ClientMessageID, m.Text, m.CreateTime.UTC()); err != nil {
			return err
		}
		out, created = m, true
		out.CreateTime = out.CreateTime.UTC()
		return nil
	})
	if errors.Is(err, errDuplicate) {
		return out, false, nil
	}
	return out, created, err
}

// errDuplicate rolls back the sequence increment of a resend.
var errDuplicate = errors.New("duplicate message")

// ListMessages implements chat.Store.
func (s *Store) ListMessages(ctx context.Context, conversationID string, after int64, limit int) ([]chat.Message, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+messageColumns+` FROM chat_messages
		WHERE conversation_id = ? AND sequence > ? ORDER BY sequence LIMIT ?`, conversationID, after, limit)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []chat.Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// ListConversations implements chat.Store.
func (s *Store) ListConversations(ctx context.Context, q chat.ConversationQuery) ([]chat.Conversation, error) {
	query := `SELECT ` + conversationColumns + ` FROM conversations WHERE 1 = 1`
	var args []any
	if q.CustomerID != "" {
		query += ` AND customer_id = ?`
		args = append(args, q.CustomerID)
	}
	if q.State != 0 {
		query += ` AND state = ?`
		args = append(args, q.State)
	}
	if q.AfterID != "" {
		query += ` AND (create_time > ? OR (create_time = ? AND id > ?))`
		args = append(args, q.AfterTime.UTC(), q.AfterTime.UTC(), q.AfterID)
	}
	query += ` ORDER BY create_time, id LIMIT ?`
	args = append(args, q.Limit)
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []chat.Conversation
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
