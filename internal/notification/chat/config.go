package chat

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
)

// The defaults of Config.
const (
	// DefaultQueueSize bounds a participant's outbound queue.
	DefaultQueueSize = 256
	// DefaultHistoryPage is how many stored messages a replay reads at a
	// time.
	DefaultHistoryPage = 100
	// DefaultPageSize and MaxPageSize bound ListConversations pages.
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// Config configures a Service. The zero value of every field means its
// default, so Config{} is the production configuration.
type Config struct {
	// QueueSize is how many events may wait for a participant who does not
	// read; past it the participant is removed with ErrQueueFull. Typing
	// indicators are dropped once half of it is used. Default
	// DefaultQueueSize.
	QueueSize int
	// HistoryPage is how many messages a replay reads per query. Default
	// DefaultHistoryPage.
	HistoryPage int
	// AgentRoles are the user roles that make a support agent. Default
	// "support" and "admin".
	AgentRoles []string
	// Clock is the time source. Default time.Now.
	Clock func() time.Time
	// NewID returns a new conversation id. Default: a UUIDv7 string.
	NewID func() string
	// Logger receives failures that reach no caller. Default: discard.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.QueueSize == 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.HistoryPage == 0 {
		c.HistoryPage = DefaultHistoryPage
	}
	if c.AgentRoles == nil {
		c.AgentRoles = []string{"support", "admin"}
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
	if c.QueueSize < 2 {
		return fmt.Errorf("chat: invalid config: QueueSize %d: want >= 2", c.QueueSize)
	}
	if c.HistoryPage < 1 {
		return fmt.Errorf("chat: invalid config: HistoryPage %d: want > 0", c.HistoryPage)
	}
	return nil
}
