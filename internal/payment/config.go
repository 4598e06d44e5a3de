package payment

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
)

// The defaults of Config.
const (
	// DefaultProcessorAttempts is how many times a processor call is tried
	// when it fails transiently.
	DefaultProcessorAttempts = 3
	// DefaultProcessorBackoff is the wait before the first retry; it
	// doubles at each retry.
	DefaultProcessorBackoff = 10 * time.Millisecond
	// DefaultProcessorTimeout bounds one processor call.
	DefaultProcessorTimeout = 5 * time.Second
	// DefaultLease is how long a call owns its idempotency key before
	// another call with the key may take over (a crashed owner).
	DefaultLease = 30 * time.Second
	// DefaultIdempotencyRetention is how long idempotency keys are kept.
	DefaultIdempotencyRetention = 24 * time.Hour
	// DefaultReconcileAfter is how old an unfinished call must be before
	// Reconcile resolves it.
	DefaultReconcileAfter = time.Minute
	// DefaultMaintenanceInterval is a sensible period for RunMaintenance.
	DefaultMaintenanceInterval = 30 * time.Second
	// DefaultRetryAfter is the RetryInfo delay of PAYMENT_PENDING and
	// PROCESSOR_UNAVAILABLE.
	DefaultRetryAfter = time.Second
	// DefaultBatch is how many rows Reconcile and PruneIdempotencyKeys
	// handle at a time.
	DefaultBatch = 100
)

// Config configures a Service. The zero value of every field means its
// default, so Config{} is the production configuration.
type Config struct {
	// ProcessorAttempts is how many times a processor call that fails
	// transiently is tried within one call. Default 3.
	ProcessorAttempts int
	// ProcessorBackoff is the wait before the first retry, doubled at each
	// retry. Default 10 ms.
	ProcessorBackoff time.Duration
	// ProcessorTimeout bounds one processor call; running out is an outcome
	// not known. Default 5 s.
	ProcessorTimeout time.Duration
	// Lease is how long a call owns its idempotency key; concurrent calls
	// with the key wait for it that long at most. It must exceed
	// ProcessorAttempts × ProcessorTimeout. Default 30 s.
	Lease time.Duration
	// IdempotencyRetention is how long a finished call's key is kept: at
	// least 24 h. Default 24 h.
	IdempotencyRetention time.Duration
	// ReconcileAfter is how old an unfinished call must be before
	// Reconcile resolves it. Default 1 min.
	ReconcileAfter time.Duration
	// RetryAfter is the RetryInfo delay of PAYMENT_PENDING and
	// PROCESSOR_UNAVAILABLE. Default 1 s.
	RetryAfter time.Duration
	// Batch is how many rows Reconcile and PruneIdempotencyKeys handle at a
	// time. Default 100.
	Batch int
	// Clock is the time source. Default time.Now.
	Clock func() time.Time
	// NewID returns a new payment id. Default: a UUIDv7 string.
	NewID func() string
	// Logger receives failures of background work. Default: discard.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.ProcessorAttempts == 0 {
		c.ProcessorAttempts = DefaultProcessorAttempts
	}
	def(&c.ProcessorBackoff, DefaultProcessorBackoff)
	def(&c.ProcessorTimeout, DefaultProcessorTimeout)
	def(&c.Lease, DefaultLease)
	def(&c.IdempotencyRetention, DefaultIdempotencyRetention)
	def(&c.ReconcileAfter, DefaultReconcileAfter)
	def(&c.RetryAfter, DefaultRetryAfter)
	if c.Batch == 0 {
		c.Batch = DefaultBatch
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.NewID == nil {
		c.NewID = func() string { return uuid.Must(uuid.NewV7()).String() }
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.ProcessorAttempts < 1:
		return fmt.Errorf("payment: invalid config: ProcessorAttempts %d: want >= 1", c.ProcessorAttempts)
	case c.ProcessorBackoff < 0, c.ProcessorTimeout < 0, c.ReconcileAfter < 0, c.RetryAfter < 0:
		return fmt.Errorf("payment: invalid config: negative duration")
	case c.Lease <= time.Duration(c.ProcessorAttempts)*c.ProcessorTimeout:
		return fmt.Errorf("payment: invalid config: Lease %v: want > ProcessorAttempts × ProcessorTimeout (%v)",
			c.Lease, time.Duration(c.ProcessorAttempts)*c.ProcessorTimeout)
	case c.IdempotencyRetention < 24*time.Hour:
		return fmt.Errorf("payment: invalid config: IdempotencyRetention %v: want >= 24h", c.IdempotencyRetention)
	case c.Batch < 1:
		return fmt.Errorf("payment: invalid config: Batch %d: want >= 1", c.Batch)
	}
	return nil
}
