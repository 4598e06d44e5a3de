package events

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
)

// Consumer defaults.
const (
	DefaultAckEvery    = 100
	DefaultAckInterval = 5 * time.Second
	DefaultMinBackoff  = 100 * time.Millisecond
	DefaultMaxBackoff  = 30 * time.Second
	DefaultMaxBatch    = 64
)

// HandleFunc applies one event's effect inside tx, the consumer's
// transaction that also records the event in the inbox and advances the
// cursor: the effect, the dedup record and the cursor commit together or
// not at all. tx may hold other events of the same batch (see
// ConsumerConfig.MaxBatch), handled before and after e in their order. It
// must have no effect outside tx (it may run again for the same event after
// a failure, its own or another event's of the batch) and must not call
// remote services. An error rolls the whole batch back; the consumer then
// resubscribes, with backoff, from its durable cursor, so the events are
// delivered again.
type HandleFunc func(ctx context.Context, tx *sqldb.Tx, e Event) error

// ConsumerConfig configures NewConsumer.
type ConsumerConfig struct {
	// Name is the consumer's name, as the producer registered it (its acks
	// hold back the producer's pruning). Required.
	Name string
	// SourceName names the producer (e.g. "order"): the consumer's cursor
	// and inbox are kept per source. Required.
	SourceName string
	// DB is the consuming service's own database (DB.Migrate applied).
	DB *sqldb.DB
	// Source delivers the producer's events. If it implements Acker, the
	// consumer acknowledges its durable cursor every AckEvery events or
	// AckInterval, whichever comes first, and when Run returns.
	Source Source
	// Topics filters the events (empty: all).
	Topics []string
	// Handle applies an event. Required.
	Handle HandleFunc
	// AfterCommit, when set, is called with each event whose Handle ran,
	// once its transaction has committed (never for a duplicate, nor after
	// a rollback): where a service announces what it committed (live
	// subscribers, caches). It runs on Run's goroutine; keep it short.
	AfterCommit func(Event)

	// MaxBatch bounds how many events one transaction applies. Once an
	// event has arrived, the consumer also takes the events the source has
	// already delivered, never waiting for more (a lone event is applied at
	// once), up to MaxBatch, and applies them in one transaction: each
	// event's inbox record and Handle as alone, the cursor set once to the
	// last one's; all commit or none. 1 applies every event alone. Default
	// DefaultMaxBatch (64).
	MaxBatch int

	AckEvery    int           // default DefaultAckEvery
	AckInterval time.Duration // default DefaultAckInterval
	// MinBackoff and MaxBackoff bound the delay before resubscribing after
	// a break: it doubles from MinBackoff up to MaxBackoff, with full
	// jitter, and goes back to MinBackoff once an event has been applied
	// or a subscription has lasted MaxBackoff.
	MinBackoff time.Duration // default DefaultMinBackoff
	MaxBackoff time.Duration // default DefaultMaxBackoff
	// Logger receives breaks, retries and failed acks. Default: discard.
	Logger *slog.Logger
}

// Consumer applies a producer's events to a consuming service's database
// with exactly-once effects over at-least-once delivery: each event is
// applied in a transaction that skips it when its id is already in the
// inbox (event_inbox), else runs Handle, records the id, and advances the
// durable cursor (event_cursors). Events already delivered together share
// one transaction (see ConsumerConfig.MaxBatch). After any break (server
// restart, connection rotated by MaxConnectionAge, network drop, a failed
// Handle or commit) it resubscribes from that cursor with exponential
// backoff and jitter.
//
// # Pruned cursor
//
// When the producer has pruned events the consumer has not processed,
// Run returns a *CursorPrunedError (errors.Is ErrCursorPruned) rather than
// skip them. The recovery is an operator's decision:
//
//   - accept the gap: ResetCursor to the error's Oldest cursor (the events
//     in between are lost for this consumer), then run again; or
//   - rebuild: reconstruct the consumer's state from the producer's
//     current state (a backfill), then ResetCursor to where that snapshot
//     was taken.
//
// Registered consumers are protected from this: the producer prunes only
// what every registered consumer acknowledged.
type Consumer struct {
	cfg ConsumerConfig
	log *slog.Logger
}

// NewConsumer checks cfg and returns a consumer; Run starts it.
func NewConsumer(cfg ConsumerConfig) (*Consumer, error) {
	if cfg.AckEvery == 0 {
		cfg.AckEvery = DefaultAckEvery
	}
	if cfg.AckInterval == 0 {
		cfg.AckInterval = DefaultAckInterval
	}
	if cfg.MaxBatch == 0 {
		cfg.MaxBatch = DefaultMaxBatch
	}
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Topics = slices.Clone(cfg.Topics)
	switch {
	case cfg.Name == "":
		return nil, errors.New("events: consumer: empty Name")
	case cfg.SourceName == "":
		return nil, errors.New("events: consumer: empty SourceName")
	case cfg.DB == nil:
		return nil, errors.New("events: consumer: nil DB")
	case cfg.Source == nil:
		return nil, errors.New("events: consumer: nil Source")
	case cfg.Handle == nil:
		return nil, errors.New("events: consumer: nil Handle")
	case cfg.MaxBatch < 0:
		return nil, fmt.Errorf("events: consumer: MaxBatch %d: want > 0", cfg.MaxBatch)
	case cfg.AckEvery < 0 || cfg.AckInterval < 0:
		return nil, errors.New("events: consumer: negative ack period")
	case cfg.MinBackoff < 0 || cfg.MaxBackoff < cfg.MinBackoff:
		return nil, fmt.Errorf("events: consumer: backoff %v..%v: want 0 <= min <= max", cfg.MinBackoff, cfg.MaxBackoff)
	}
	log := cfg.Logger.With("consumer", cfg.Name, "source", cfg.SourceName)
	return &Consumer{cfg: cfg, log: log}, nil
}

// Run consumes until ctx ends (it then returns nil) or a break that
// retrying cannot fix: a *CursorPrunedError (see Consumer), or an error
// wrapping ErrPermanent from the source. Every other failure is logged and
// retried. Runs of one consumer name and source in several processes
// (replicas) keep effects single, since the inbox refuses the second
// application of an event, but each reads every event: run one (a leader
// lease is not part of this package).
func (c *Consumer) Run(ctx context.Context) error {
	acks := c.newAcker()
	ackCtx, stopAcks := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { acks.run(ackCtx) })
	defer func() {
		// After the last event applied, ack what is pending one last time,
		// with a deadline of its own since ctx may have ended.
		stopAcks()
		wg.Wait()
		acks.flush(context.WithoutCancel(ctx))
	}()
	backoff := c.cfg.MinBackoff
	for {
		start := time.Now()
		applied, err := c.session(ctx, acks)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, ErrCursorPruned) || errors.Is(err, ErrPermanent) {
			c.log.ErrorContext(ctx, "events: consumer stopped", "error", err.Error())
			return fmt.Errorf("events: consumer %s of %s: %w", c.cfg.Name, c.cfg.SourceName, err)
		}
		if applied || time.Since(start) >= c.cfg.MaxBackoff {
			// It worked for a while (an idle stream cut by MaxConnectionAge
			// included): this break starts a new series.
			backoff = c.cfg.MinBackoff
		}
		d := time.Duration(0)
		if backoff > 0 {
			d = rand.N(backoff + 1) //nolint:gosec // jitter, not a secret
		}
		c.log.InfoContext(ctx, "events: subscription broken; resuming", "error", errString(err), "retry_in", d)
		if err := sleep(ctx, d); err != nil {
			return nil
		}
		backoff = min(2*backoff, c.cfg.MaxBackoff)
	}
}

// session subscribes from the durable cursor and applies events until the
// stream or an application fails. applied says whether any event was.
//
// A goroutine receives (Recv blocks) into a channel of MaxBatch events;
// this one applies what it finds there in batches, so that the events
// arriving while a transaction commits share the next one.
func (c *Consumer) session(ctx context.Context, acks *acker) (applied bool, err error) {
	cursor, err := c.Cursor(ctx)
	if err != nil {
		return false, err
	}
	ctx, cancel := context.WithCancel(ctx)
	st, err := c.cfg.Source.Subscribe(ctx, cursor, c.cfg.Topics)
	if err != nil {
		cancel()
		return false, err
	}
	c.log.DebugContext(ctx, "events: subscribed", "after", cursor)
	in := make(chan received, c.cfg.MaxBatch)
	var wg sync.WaitGroup
	wg.Go(func() { receive(ctx, st, in) })
	defer func() {
		cancel() // ends the stream, hence the receiver
		wg.Wait()
	}()
	batch := make([]Event, 0, c.cfg.MaxBatch)
	for {
		var r received
		select {
		case r = <-in:
		case <-ctx.Done():
			return applied, context.Cause(ctx)
		}
		// The session's end (the stream's, or an invalid event), after the
		// events received before it.
		var end error
		batch = batch[:0]
	take:
		for {
			if r.err != nil {
				end = r.err
				break take
			}
			if r.e.ID == "" || r.e.Cursor == "" {
				end = eventError(r.e, errors.New("event without id or cursor"))
				break take
			}
			batch = append(batch, r.e)
			if len(batch) == c.cfg.MaxBatch {
				break take
			}
			select {
			case r = <-in:
			default:
				break take
			}
		}
		if len(batch) > 0 {
			if err := c.applyBatch(ctx, batch); err != nil {
				return applied, err
			}
			applied = true
			acks.applied(batch[len(batch)-1].Cursor, len(batch))
		}
		if end != nil {
			return applied, end
		}
	}
}

// received is what the receiving goroutine got from the stream: an event,
// or the error that ended it.
type received struct {
	e   Event
	err error
}

// receive sends st's events, then its error, to out until ctx ends.
func receive(ctx context.Context, st Stream, out chan<- received) {
	for {
		e, err := st.Recv()
		select {
		case out <- received{e: e, err: err}:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

// applyBatch applies the events of batch in one transaction, in order:
// dedup and Handle each, then the cursor, once, to the last event's. Then
// it calls AfterCommit for each event handled.
func (c *Consumer) applyBatch(ctx context.Context, batch []Event) error {
	var handled []Event // the events whose Handle ran, in order
	err := c.cfg.DB.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		handled = handled[:0] // InTx may run this again after a transient conflict
		now := time.Now().UTC()
		for _, e := range batch {
			res, err := tx.ExecContext(ctx,
				`INSERT INTO event_inbox (consumer, source, event_id, created_at) VALUES (?, ?, ?, ?)
				 ON CONFLICT (consumer, source, event_id) DO NOTHING`,
				c.cfg.Name, c.cfg.SourceName, e.ID, now)
			if err != nil {
				return eventError(e, fmt.Errorf("inbox: %w", err))
			}
			n, err := res.RowsAffected()
			if err != nil {
				return eventError(e, fmt.Errorf("inbox: %w", err))
			}
			if n == 1 { // new: apply it; else a duplicate, only the cursor moves
				if err := c.cfg.Handle(ctx, tx, e); err != nil {
					return eventError(e, err)
				}
				handled = append(handled, e)
			}
		}
		last := batch[len(batch)-1]
		if err := setCursor(ctx, tx, c.cfg.Name, c.cfg.SourceName, last.Cursor, now); err != nil {
			return eventError(last, err)
		}
		return nil
	})
	if err != nil {
		if len(batch) > 1 {
			err = fmt.Errorf("batch of %d events (cursors %s..%s): %w", len(batch), batch[0].Cursor, batch[len(batch)-1].Cursor, err)
		}
		return err
	}
	if c.cfg.AfterCommit != nil {
		for _, e := range handled {
			c.cfg.AfterCommit(e)
		}
	}
	return nil
}

func eventError(e Event, err error) error {
	return fmt.Errorf("apply event %s (cursor %s, topic %s): %w", e.ID, e.Cursor, e.Topic, err)
}

func setCursor(ctx context.Context, tx *sqldb.Tx, consumer, source, cursor string, now time.Time) error {
	_, err := tx.ExecContext(ctx,
		`INSERT INTO event_cursors (consumer, source, cursor, update_time) VALUES (?, ?, ?, ?)
		 ON CONFLICT (consumer, source) DO UPDATE SET cursor = excluded.cursor, update_time = excluded.update_time`,
		consumer, source, cursor, now)
	if err != nil {
		return fmt.Errorf("advance cursor: %w", err)
	}
	return nil
}

// Cursor returns the consumer's durable cursor: the cursor of the last
// event applied, "" before the first.
func (c *Consumer) Cursor(ctx context.Context) (string, error) {
	return ConsumerCursor(ctx, c.cfg.DB, c.cfg.Name, c.cfg.SourceName)
}

// ConsumerCursor returns the durable cursor of consumer for source in db
// ("" when it has applied nothing yet).
func ConsumerCursor(ctx context.Context, db *sqldb.DB, consumer, source string) (string, error) {
	var cursor string
	err := db.QueryRowContext(ctx,
		`SELECT cursor FROM event_cursors WHERE consumer = ? AND source = ?`, consumer, source).Scan(&cursor)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("events: read cursor of %s/%s: %w", consumer, source, err)
	}
	return cursor, nil
}

// ResetCursor sets the durable cursor of consumer for source: the
// operator's recovery after ErrCursorPruned (see Consumer), or a replay
// (the inbox still drops events already applied). Do it while the consumer
// is not running.
func ResetCursor(ctx context.Context, db *sqldb.DB, consumer, source, cursor string) error {
	return db.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		if err := setCursor(ctx, tx, consumer, source, cursor, time.Now().UTC()); err != nil {
			return fmt.Errorf("events: reset cursor of %s/%s: %w", consumer, source, err)
		}
		return nil
	})
}

// PruneInbox deletes the dedup records older than age of every consumer
// in db and returns how many. Keep age well above the longest redelivery
// window (a cursor reset, a transport switch): an event redelivered after
// its record is gone is applied again.
func PruneInbox(ctx context.Context, db *sqldb.DB, age time.Duration) (int64, error) {
	res, err := db.ExecContext(ctx, `DELETE FROM event_inbox WHERE created_at < ?`, time.Now().UTC().Add(-age))
	if err != nil {
		return 0, fmt.Errorf("events: prune inbox: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("events: prune inbox: %w", err)
	}
	return n, nil
}

// acker acknowledges the durable cursor to the source now and then, from
// a goroutine of its own, so that a slow producer never delays applying.
type acker struct {
	c    *Consumer
	to   Acker // nil: the source keeps no retention
	kick chan struct{}

	mu      sync.Mutex
	pending string // the latest durable cursor
	count   int    // events applied since the last successful ack
	acked   string
}

func (c *Consumer) newAcker() *acker {
	a := &acker{c: c, kick: make(chan struct{}, 1)}
	a.to, _ = c.cfg.Source.(Acker)
	return a
}

// applied records that cursor is durable, n events after the previous
// one, and wakes the ack loop when AckEvery events are waiting.
func (a *acker) applied(cursor string, n int) {
	if a.to == nil {
		return
	}
	a.mu.Lock()
	a.pending = cursor
	a.count += n
	due := a.count >= a.c.cfg.AckEvery
	a.mu.Unlock()
	if due {
		select {
		case a.kick <- struct{}{}:
		default:
		}
	}
}

// run acks every AckInterval and when kicked, until ctx ends.
func (a *acker) run(ctx context.Context) {
	if a.to == nil {
		return
	}
	t := time.NewTicker(a.c.cfg.AckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-a.kick:
		}
		a.flush(ctx)
	}
}

func (a *acker) flush(ctx context.Context) {
	if a.to == nil {
		return
	}
	a.mu.Lock()
	cursor, count := a.pending, a.count
	a.mu.Unlock()
	if cursor == "" || cursor == a.acked {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := a.to.Ack(ctx, cursor); err != nil {
		if ctx.Err() == nil {
			a.c.log.WarnContext(ctx, "events: ack failed; will retry", "cursor", cursor, "error", err.Error())
		}
		return
	}
	a.acked = cursor
	a.mu.Lock()
	a.count -= count
	a.mu.Unlock()
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
