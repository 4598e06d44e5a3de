package order

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
)

// The defaults of Config.
const (
	// DefaultPlaceOrderWait is how long PlaceOrder and CancelOrder wait for
	// the order to become completed or cancelled.
	DefaultPlaceOrderWait = 5 * time.Second
	// DefaultStepDeadline is how long a forward step may keep failing
	// transiently before the order is compensated: well under the
	// catalog's 15-minute reservation TTL.
	DefaultStepDeadline = 2 * time.Minute
	// DefaultCallTimeout bounds every remote call.
	DefaultCallTimeout = 5 * time.Second
	// DefaultLeaseTTL is how long a driver's lease on an order lasts
	// unless renewed (each persisted step renews it).
	DefaultLeaseTTL = 30 * time.Second
	// DefaultRetryBase and DefaultRetryMax bound the exponential backoff
	// between attempts of a step.
	DefaultRetryBase = 200 * time.Millisecond
	DefaultRetryMax  = 30 * time.Second
	// DefaultPollInterval is how often Run looks for due orders.
	DefaultPollInterval = time.Second
	// DefaultRecoveryBatch is how many due orders Run drives at a time.
	DefaultRecoveryBatch = 32
)

// Config configures a Service. The zero value of every field means its
// default, so Config{} is the production configuration.
type Config struct {
	// PlaceOrderWait is how long PlaceOrder (and CancelOrder) wait for the
	// order to end before answering with it as it is; never past the
	// call's deadline. Default DefaultPlaceOrderWait (5 s).
	PlaceOrderWait time.Duration
	// StepDeadline is how long a forward step may fail transiently before
	// the order is compensated. Default DefaultStepDeadline (2 min).
	StepDeadline time.Duration
	// CallTimeout bounds each remote call. Default DefaultCallTimeout (5 s).
	CallTimeout time.Duration
	// LeaseTTL is the life of a driver's lease: at least twice CallTimeout.
	// Default DefaultLeaseTTL (30 s).
	LeaseTTL time.Duration
	// RetryBase and RetryMax bound the backoff between attempts. Defaults
	// DefaultRetryBase (200 ms) and DefaultRetryMax (30 s).
	RetryBase, RetryMax time.Duration
	// PollInterval is how often Run looks for due orders. Default
	// DefaultPollInterval (1 s).
	PollInterval time.Duration
	// RecoveryBatch is how many due orders Run drives at once. Default
	// DefaultRecoveryBatch (32).
	RecoveryBatch int
	// Failpoint, when set, is called at the named points of the saga (see
	// the package documentation); an error stops the driver there, as a
	// crash would. Default nil: off.
	Failpoint func(ctx context.Context, name string) error
	// OnEvents, when set, is called after every commit that appended
	// events to the outbox, so that a feed over it (internal/platform/events
	// Feed.Notify) delivers them at once instead of at its next poll. It
	// must not block. Default nil.
	OnEvents func()
	// Clock is the time source. Default time.Now.
	Clock func() time.Time
	// NewID returns a new order id. Default: a UUIDv7 string.
	NewID func() string
	// Owner names this process in leases. Default: a random UUID.
	Owner string
	// Logger receives failures of background work. Default: discard.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.PlaceOrderWait, DefaultPlaceOrderWait)
	def(&c.StepDeadline, DefaultStepDeadline)
	def(&c.CallTimeout, DefaultCallTimeout)
	def(&c.LeaseTTL, DefaultLeaseTTL)
	def(&c.RetryBase, DefaultRetryBase)
	def(&c.RetryMax, DefaultRetryMax)
	def(&c.PollInterval, DefaultPollInterval)
	if c.RecoveryBatch == 0 {
		c.RecoveryBatch = DefaultRecoveryBatch
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.NewID == nil {
		c.NewID = func() string { return uuid.Must(uuid.NewV7()).String() }
	}
	if c.Owner == "" {
		c.Owner = uuid.NewString()
	}
	if c.OnEvents == nil {
		c.OnEvents = func() {}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

func (c Config) validate() error {
	for name, d := range map[string]time.Duration{
		"PlaceOrderWait": c.PlaceOrderWait, "StepDeadline": c.StepDeadline, "CallTimeout": c.CallTimeout,
		"LeaseTTL": c.LeaseTTL, "RetryBase": c.RetryBase, "RetryMax": c.RetryMax, "PollInterval": c.PollInterval,
	} {
		if d < 0 {
			return fmt.Errorf("order: invalid config: %s %v: want > 0", name, d)
		}
	}
	switch {
	case c.LeaseTTL < 2*c.CallTimeout:
		// A driver may wait half its lease before a call: the lease must
		// outlast that wait and the call.
		return fmt.Errorf("order: invalid config: LeaseTTL %v must be at least twice CallTimeout %v", c.LeaseTTL, c.CallTimeout)
	case c.RetryMax < c.RetryBase:
		return fmt.Errorf("order: invalid config: RetryMax %v below RetryBase %v", c.RetryMax, c.RetryBase)
	case c.RecoveryBatch < 0:
		return fmt.Errorf("order: invalid config: RecoveryBatch %d: want > 0", c.RecoveryBatch)
	}
	return nil
}
