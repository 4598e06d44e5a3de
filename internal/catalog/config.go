package catalog

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
)

// The defaults of Config.
const (
	// DefaultReservationTTL is how long a reservation holds units before it
	// expires.
	DefaultReservationTTL = 15 * time.Minute
	// DefaultSweepInterval is a sensible period for RunSweeper.
	DefaultSweepInterval = 30 * time.Second
	// DefaultSweepBatch is how many reservations ExpireReservations reads
	// at a time.
	DefaultSweepBatch = 100
	// DefaultProductCacheSize is how many products the read cache holds.
	DefaultProductCacheSize = 10_000
	// DefaultProductCacheTTL bounds how long a cached product is served:
	// how stale a product changed by another process sharing the database
	// can be. The service's own writes invalidate at once.
	DefaultProductCacheTTL = 30 * time.Second
	// DefaultListingCacheTTL bounds how long a listing's page (which
	// products, in which order, at which versions) is served from memory:
	// how late a listing shows a change made by another process sharing
	// the database. The service's own writes drop every cached page at
	// once. Short, since a listing is where an admin looks for a change;
	// under load a second still serves thousands of pages per query.
	DefaultListingCacheTTL = time.Second
)

// Config configures a Service. The zero value of every field means its
// default, so Config{} is the production configuration.
type Config struct {
	// ReservationTTL is how long a reservation holds units unless
	// committed. Default DefaultReservationTTL (15 min).
	ReservationTTL time.Duration
	// SweepBatch is how many expired reservations ExpireReservations reads
	// at a time. Default DefaultSweepBatch (100).
	SweepBatch int
	// Clock is the time source. Default time.Now.
	Clock func() time.Time
	// NewID returns a new product id. Default: a UUIDv7 string.
	NewID func() string
	// ProductCacheSize is how many products GetProduct and
	// BatchGetProducts keep in memory. Default DefaultProductCacheSize; a
	// negative size turns the cache off.
	ProductCacheSize int
	// ProductCacheTTL is the longest a cached product is served. Default
	// DefaultProductCacheTTL.
	ProductCacheTTL time.Duration
	// ListingCacheTTL is the longest a cached listing page is served
	// (when the product cache is on). Default DefaultListingCacheTTL.
	ListingCacheTTL time.Duration
	// Logger receives failures of background work (the sweeper). Default:
	// discard.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.ReservationTTL == 0 {
		c.ReservationTTL = DefaultReservationTTL
	}
	if c.SweepBatch == 0 {
		c.SweepBatch = DefaultSweepBatch
	}
	if c.ProductCacheSize == 0 {
		c.ProductCacheSize = DefaultProductCacheSize
	}
	if c.ProductCacheTTL == 0 {
		c.ProductCacheTTL = DefaultProductCacheTTL
	}
	if c.ListingCacheTTL == 0 {
		c.ListingCacheTTL = DefaultListingCacheTTL
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
	if c.ReservationTTL < 0 {
		return fmt.Errorf("catalog: invalid config: ReservationTTL %v: want > 0", c.ReservationTTL)
	}
	if c.SweepBatch < 0 {
		return fmt.Errorf("catalog: invalid config: SweepBatch %d: want > 0", c.SweepBatch)
	}
	if c.ProductCacheTTL < 0 {
		return fmt.Errorf("catalog: invalid config: ProductCacheTTL %v: want > 0", c.ProductCacheTTL)
	}
	if c.ListingCacheTTL < 0 {
		return fmt.Errorf("catalog: invalid config: ListingCacheTTL %v: want > 0", c.ListingCacheTTL)
	}
	return nil
}
