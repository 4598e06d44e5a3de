package notification

import (
	"fmt"
	"log/slog"
	"time"
)

// The defaults of Config.
const (
	// DefaultHeartbeat is how long a subscription stays silent before it
	// sends a heartbeat (and re-reads the store).
	DefaultHeartbeat = 15 * time.Second
	// DefaultQueueLimit is how many live notifications a subscriber may
	// have waiting before its subscription ends as too slow.
	DefaultQueueLimit = 256
	// DefaultPendingLimit bounds the handled-but-not-yet-committed events
	// remembered for Committed.
	DefaultPendingLimit = 4096
)

// Config configures a Service. The zero value of every field means its
// default, so Config{} is a working configuration (without e-mail files).
type Config struct {
	// Heartbeat is the idle interval after which a subscription sends a
	// heartbeat and re-reads the store. Default DefaultHeartbeat (15 s).
	Heartbeat time.Duration
	// QueueLimit is the most live notifications queued for one subscriber;
	// past it the subscription ends with ErrSubscriberTooSlow. Default
	// DefaultQueueLimit (256).
	QueueLimit int
	// PendingLimit is the most handled events remembered until Committed.
	// Default DefaultPendingLimit (4096); past it the oldest is forgotten
	// (its notifications then reach subscribers at their next heartbeat,
	// and its e-mail files are not written).
	PendingLimit int
	// MailDir, when set, receives every rendered e-mail as a file
	// (written atomically after commit). Default "": no files.
	MailDir string
	// MailDomain is the domain of the simulated recipient addresses
	// (<user id>@MailDomain): the notification service does not know
	// users' real addresses. Default "users.bazaar.invalid".
	MailDomain string
	// Clock is the time source. Default time.Now.
	Clock func() time.Time
	// Logger receives failures of after-commit work (e-mail files).
	// Default: discard.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Heartbeat == 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	if c.QueueLimit == 0 {
		c.QueueLimit = DefaultQueueLimit
	}
	if c.PendingLimit == 0 {
		c.PendingLimit = DefaultPendingLimit
	}
	if c.MailDomain == "" {
		c.MailDomain = "users.bazaar.invalid"
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.Heartbeat < 0:
		return fmt.Errorf("notification: invalid config: Heartbeat %v: want > 0", c.Heartbeat)
	case c.QueueLimit < 0:
		return fmt.Errorf("notification: invalid config: QueueLimit %d: want > 0", c.QueueLimit)
	case c.PendingLimit < 0:
		return fmt.Errorf("notification: invalid config: PendingLimit %d: want > 0", c.PendingLimit)
	}
	return nil
}
