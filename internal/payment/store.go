package payment

import (
	"context"
	"errors"
	"time"
)

// The errors a Store returns for conditions the Service handles. Other
// errors are failures of the database itself.
var (
	// ErrNotFound is returned when the row asked for does not exist.
	ErrNotFound = errors.New("payment: not found")
	// ErrLeaseLost is returned when a call no longer owns its operation.
	ErrLeaseLost = errors.New("payment: lease lost")
)

// The methods of the mutating calls, which scope idempotency keys.
const (
	MethodAuthorize = "authorize"
	MethodCapture   = "capture"
	MethodVoid      = "void"
	MethodRefund    = "refund"
)

// Operation is a mutating call as remembered under its idempotency key:
// claimed before the processor is called, finished (Result set) when its
// outcome is recorded.
type Operation struct {
	// Method and Key identify the operation.
	Method string
	Key    string
	// Fingerprint is a digest of the request, which a retry must match.
	Fingerprint []byte
	// PaymentID is the payment the operation is about.
	PaymentID string
	// Amount is what a capture or refund moves (resolved when claimed).
	Amount Money
	// Result is the stored answer; nil while the operation is unfinished.
	Result *Result
	// LeaseUntil is when the call that owns the unfinished operation may be
	// presumed dead; Epoch counts the owners so far.
	LeaseUntil time.Time
	Epoch      int64
	CreateTime time.Time
}

// Result is the answer of a finished operation: the payment as it was, or
// an error.
type Result struct {
	Payment *Payment     `json:"payment,omitempty"`
	Error   *StoredError `json:"error,omitempty"`
}

// Posting is one line of a ledger journal transaction: Amount billionths of
// Currency debited (positive) or credited (negative) to Account. The
// postings of a transaction sum to zero per currency.
type Posting struct {
	TxnID     string
	Line      int
	PaymentID string
	Account   string
	Currency  string
	Amount    int64
	Time      time.Time
}

// Finish is what a finishing operation writes: the payment's new state,
// the operation's result, its ledger postings and its events.
type Finish struct {
	Result   Result
	Postings []Posting
	Events   []Event
}

// ListQuery selects a page of ListPayments, newest first (by id, which
// is time-ordered).
type ListQuery struct {
	OrderID string
	Status  Status
	// AfterID, when set, starts after this id.
	AfterID string
	Limit   int
}

// Store is the persistence the Service needs. Implementations must be safe
// for concurrent use; internal/payment/store implements it on SQLite and
// Postgres and runs one contract suite against both.
//
// Callbacks of read-modify-writes may run more than once (a transaction
// retried after a transient conflict), so they must have no other effect;
// their error is returned unchanged and nothing is written.
type Store interface {
	// ClaimAuthorize records op (unfinished) and the new PENDING payment p
	// in one transaction, unless an operation (op.Method, op.Key) exists: it
	// then returns that one and writes nothing. Concurrent claims of one key
	// create one payment.
	ClaimAuthorize(ctx context.Context, op *Operation, p *Payment) (existing *Operation, err error)
	// ClaimOperation records op (unfinished), unless an operation
	// (op.Method, op.Key) exists, which it returns and writes nothing.
	// Otherwise it locks the payment op.PaymentID (ErrNotFound), reads the
	// unfinished capture, void or refund on it, if any (busy), and calls fn,
	// which may set op.Amount, or op.Result to record the operation as
	// finished at once (a no-op); if fn fails nothing is written. Claims on
	// one payment are serialised, so fn sees every committed one.
	ClaimOperation(ctx context.Context, op *Operation, fn func(p *Payment, busy *Operation) error) (existing *Operation, err error)
	// Operation returns the operation (method, key), or ErrNotFound.
	Operation(ctx context.Context, method, key string) (*Operation, error)
	// TakeOver makes the caller the owner of the unfinished operation
	// (method, key) if its epoch is still epoch: it sets a new lease and
	// bumps the epoch. It returns the operation as written, or ErrLeaseLost.
	TakeOver(ctx context.Context, method, key string, epoch int64, leaseUntil time.Time) (*Operation, error)
	// FinishOperation reads the payment paymentID and its unfinished
	// operation (method, key), calls fn with them (fn changes the payment
	// and returns what to write) and writes the payment, the result, the
	// postings and the events in one transaction. If the operation is
	// already finished it returns it without calling fn, and ErrLeaseLost;
	// if either is missing, ErrNotFound. It returns the operation as
	// finished.
	FinishOperation(ctx context.Context, paymentID, method, key string, fn func(p *Payment, op *Operation) (Finish, error)) (*Operation, error)
	// ReleaseOperation deletes the unfinished operation (method, key) that
	// did nothing (the processor was not reached), freeing its payment. It
	// is for captures, voids and refunds: an authorization keeps its
	// operation (see ExpireLease).
	ReleaseOperation(ctx context.Context, method, key string) error
	// ExpireLease ends the lease of the unfinished operation (method, key)
	// now, so that a retry takes over at once.
	ExpireLease(ctx context.Context, method, key string, at time.Time) error
	// StaleOperations returns up to limit unfinished operations created
	// before before whose lease ended before at, oldest first.
	StaleOperations(ctx context.Context, before, at time.Time, limit int) ([]*Operation, error)
	// DeleteFinishedOperations deletes up to limit finished operations
	// created before before and returns how many it deleted.
	DeleteFinishedOperations(ctx context.Context, before time.Time, limit int) (int64, error)

	// Payment returns the payment with id, or ErrNotFound.
	Payment(ctx context.Context, id string) (*Payment, error)
	// ListPayments returns a page of payments as q selects.
	ListPayments(ctx context.Context, q ListQuery) ([]*Payment, error)

	// Audit checks the ledger, the payments and the processor's records
	// against each other.
	Audit(ctx context.Context) (Audit, error)
}
