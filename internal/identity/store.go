package identity

import (
	"context"
	"errors"
	"time"
)

// The errors a Store returns for conditions the Service handles. Other
// errors are failures of the database itself.
var (
	// ErrNotFound is returned when the row asked for does not exist.
	ErrNotFound = errors.New("identity: not found")
	// ErrDuplicate is returned when a create collides with a unique key (a
	// user's email or id, an API key's hash, a client's id).
	ErrDuplicate = errors.New("identity: duplicate")
	// ErrConflict is returned by a conditional write whose condition no
	// longer holds (a refresh token already spent, a session revoked).
	ErrConflict = errors.New("identity: conflict")
	// ErrLastRoleHolder is returned by an update that would take a role
	// from the last user holding it, when the change asked to keep the
	// role held (UserChange.KeepRole).
	ErrLastRoleHolder = errors.New("identity: last holder of a role")
)

// Store is the persistence the Service needs. Every method that changes
// state takes the events describing the change and appends them to the
// outbox in the same transaction. Implementations must be safe for
// concurrent use; internal/identity/store implements it on SQLite and
// Postgres and runs one contract test suite against both.
type Store interface {
	UserStore
	SessionStore
	SigningKeyStore
	APIKeyStore
	ClientStore
}

// UserChange is what a read-modify-write of a user decided beyond the new
// row: the events to append, and whether to end the user's sessions.
type UserChange struct {
	// Events are appended to the outbox with the update.
	Events []Event
	// RevokeSessions, when set, revokes every live session of the user in
	// the same transaction (a password change).
	RevokeSessions *Revocation
	// KeepRole, when set and the update takes that role from the user,
	// makes the update fail with ErrLastRoleHolder (writing nothing) unless
	// another user holds the role. The check and the write are one
	// transaction, serialised with every other update that takes the role
	// with KeepRole set, so concurrent updates cannot together remove the
	// last holders.
	KeepRole string
}

// Revocation says when and why sessions end.
type Revocation struct {
	Time   time.Time
	Reason string
}

// UserCursor is a position in the (CreateTime, ID) order of users. The zero
// cursor is before the first user.
type UserCursor struct {
	CreateTime time.Time
	ID         string
}

// IsZero reports whether c is the start of the list.
func (c UserCursor) IsZero() bool { return c.ID == "" && c.CreateTime.IsZero() }

// UserStore persists accounts.
type UserStore interface {
	// CreateUser inserts u with its roles. It returns ErrDuplicate if u.ID
	// or u.Email is taken.
	CreateUser(ctx context.Context, u *User, events ...Event) error
	// User returns the user with id, or ErrNotFound.
	User(ctx context.Context, id string) (*User, error)
	// UserByEmail returns the user with the (normalised) email, or
	// ErrNotFound.
	UserByEmail(ctx context.Context, email string) (*User, error)
	// UpdateUser reads the user with id, calls fn with it and, if fn returns
	// nil, writes the user back (display name, password hash and roles; the
	// id, email and create time are immutable) and applies the change, all
	// in one transaction that no other update of the user interleaves with.
	// It returns the user as written, ErrNotFound, ErrLastRoleHolder (see
	// UserChange.KeepRole), or fn's error unchanged (and then writes
	// nothing). fn may be called more than once (a transaction retried
	// after a transient conflict), so it must have no other effect.
	UpdateUser(ctx context.Context, id string, fn func(u *User) (UserChange, error)) (*User, error)
	// ListUsers returns up to limit users after the cursor, ordered by
	// (CreateTime, ID). limit must be positive.
	ListUsers(ctx context.Context, after UserCursor, limit int) ([]*User, error)
	// HasUserWithRole reports whether any user holds role.
	HasUserWithRole(ctx context.Context, role string) (bool, error)
}

// SessionStore persists sessions and their refresh tokens.
type SessionStore interface {
	// CreateSession inserts s and its first refresh token. It returns
	// ErrNotFound if s.UserID does not exist and ErrDuplicate if the id or
	// the token hash is taken.
	CreateSession(ctx context.Context, s *Session, first *RefreshToken, events ...Event) error
	// RefreshToken returns the refresh token with the given hash and its
	// session, or ErrNotFound.
	RefreshToken(ctx context.Context, hash []byte) (*RefreshToken, *Session, error)
	// RotateRefreshToken spends the refresh token with hash used (sets its
	// UseTime to at) and inserts next in the same session, in one
	// transaction, serialised with every other rotation or revocation of
	// the session. It returns ErrNotFound if there is no such token, and
	// ErrConflict (writing nothing) if the token was already spent or its
	// session is revoked. next.SessionID must be the token's session.
	RotateRefreshToken(ctx context.Context, used []byte, at time.Time, next *RefreshToken, events ...Event) error
	// RevokeSession revokes the session with id at the given time for
	// reason. It reports whether this call revoked it: false (and no event
	// appended) if it was already revoked. It returns ErrNotFound if there
	// is no such session.
	RevokeSession(ctx context.Context, id string, at time.Time, reason string, events ...Event) (bool, error)
	// DeleteExpiredSessions deletes refresh tokens that expired before the
	// given time, and sessions left without any token. It returns the
	// number of refresh tokens deleted.
	DeleteExpiredSessions(ctx context.Context, before time.Time) (int64, error)
}

// KeyChange is what a read-modify-write of the signing keys decided.
type KeyChange struct {
	// Create are new keys to insert.
	Create []*SigningKey
	// Reschedule are existing keys whose times changed (only the times are
	// written).
	Reschedule []*SigningKey
	// Delete are the ids of keys to remove.
	Delete []string
	// Events are appended to the outbox with the change.
	Events []Event
}

// IsZero reports whether c changes nothing.
func (c KeyChange) IsZero() bool {
	return len(c.Create) == 0 && len(c.Reschedule) == 0 && len(c.Delete) == 0 && len(c.Events) == 0
}

// SigningKeyStore persists the signing keys.
type SigningKeyStore interface {
	// SigningKeys returns every stored key, ordered by ActivateTime then ID.
	SigningKeys(ctx context.Context) ([]*SigningKey, error)
	// UpdateSigningKeys reads every key, calls fn with them and applies the
	// change fn returns, in one transaction that excludes every other
	// UpdateSigningKeys (of any process). fn's error is returned unchanged,
	// and nothing is written.
	UpdateSigningKeys(ctx context.Context, fn func(keys []*SigningKey) (KeyChange, error)) error
}

// APIKeyStore persists API keys.
type APIKeyStore interface {
	// CreateAPIKey inserts k. It returns ErrNotFound if k.UserID does not
	// exist and ErrDuplicate if its id or hash is taken.
	CreateAPIKey(ctx context.Context, k *APIKey, events ...Event) error
	// APIKeyByHash returns the key whose secret hashes to hash, or
	// ErrNotFound.
	APIKeyByHash(ctx context.Context, hash []byte) (*APIKey, error)
	// APIKeys returns the user's keys, newest first (by CreateTime, then ID
	// descending).
	APIKeys(ctx context.Context, userID string) ([]*APIKey, error)
	// UpdateAPIKey reads the key with id, calls fn with it and, if fn
	// returns nil, writes back its revoke time and appends fn's events, in
	// one transaction. It returns the key as written, ErrNotFound, or fn's
	// error unchanged.
	UpdateAPIKey(ctx context.Context, id string, fn func(k *APIKey) ([]Event, error)) (*APIKey, error)
}

// ClientStore persists OAuth2 clients.
type ClientStore interface {
	// CreateClient inserts c. It returns ErrDuplicate if its id is taken.
	CreateClient(ctx context.Context, c *Client, events ...Event) error
	// Client returns the client with id, or ErrNotFound.
	Client(ctx context.Context, id string) (*Client, error)
}
