package notification

import (
	"context"
	"time"

	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
)

// Store is the persistence the Service needs; internal/notification/store
// implements it on SQLite and Postgres and runs one contract test suite
// against both. Implementations must be safe for concurrent use.
//
// The methods taking a *sqldb.Tx work inside a transaction owned by the
// caller (the event consumer's, or InTx's), so that the notifications commit
// with whatever else the caller writes.
type Store interface {
	// InTx runs fn in a new transaction of the store's database and
	// commits it when fn returns nil. fn may run more than once (a retried
	// transient conflict).
	InTx(ctx context.Context, fn func(ctx context.Context, tx *sqldb.Tx) error) error

	// MarkEventHandled records eventID; first is false when it was
	// recorded before.
	MarkEventHandled(ctx context.Context, tx *sqldb.Tx, eventID string, at time.Time) (first bool, err error)
	// PruneHandledEvents forgets the handled events recorded before
	// before; it returns how many.
	PruneHandledEvents(ctx context.Context, before time.Time) (int64, error)
	// AddNotification stores n, setting n.ID to the user's next id. The
	// user's counter stays locked until tx ends, so ids commit in order.
	AddNotification(ctx context.Context, tx *sqldb.Tx, n *Notification) error
	// AddEmail stores m, setting m.ID.
	AddEmail(ctx context.Context, tx *sqldb.Tx, m *Email) error
	// AlertedUsers returns the users with an alert of kind on productID,
	// in user id order.
	AlertedUsers(ctx context.Context, tx *sqldb.Tx, productID string, kind AlertKind) ([]string, error)
	// ProductState returns the last seen state of productID (ok false when
	// none), locked until tx ends.
	ProductState(ctx context.Context, tx *sqldb.Tx, productID string) (st ProductState, ok bool, err error)
	// PutProductState stores st (insert or replace).
	PutProductState(ctx context.Context, tx *sqldb.Tx, st ProductState) error

	// ListNotifications returns a user's notifications newest first.
	ListNotifications(ctx context.Context, q ListQuery) ([]Notification, error)
	// NotificationsAfter returns up to limit of a user's notifications with
	// an id above afterID, in id order.
	NotificationsAfter(ctx context.Context, userID string, afterID int64, limit int) ([]Notification, error)
	// MarkRead sets the read time of the user's unread notifications whose
	// id is in ids or at most upTo (when positive); it returns how many.
	MarkRead(ctx context.Context, userID string, ids []int64, upTo int64, at time.Time) (int, error)

	// SetProductAlert stores a (insert or replace); an alert with both
	// flags false is deleted.
	SetProductAlert(ctx context.Context, a ProductAlert) error
	// ListProductAlerts returns a user's alerts (at most limit) by product
	// id.
	ListProductAlerts(ctx context.Context, userID string, limit int) ([]ProductAlert, error)

	// ListEmails returns e-mails newest first.
	ListEmails(ctx context.Context, q EmailQuery) ([]Email, error)
}

// ListQuery selects a page of ListNotifications.
type ListQuery struct {
	UserID     string
	UnreadOnly bool
	// BeforeID, when positive, starts the page below this id.
	BeforeID int64
	Limit    int
}

// EmailQuery selects a page of ListEmails.
type EmailQuery struct {
	// UserID keeps one user's e-mails; "" keeps all.
	UserID string
	// BeforeID, when positive, starts the page below this id.
	BeforeID int64
	Limit    int
}
