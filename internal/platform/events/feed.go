// Package events fans a service's transactional outbox out to live
// subscribers: the server side of "events over gRPC" (a producing service's
// Subscribe(after cursor) stream).
//
// A [Feed] tails one [sqldb.DB] outbox with a single reader goroutine
// ([Feed.Run]) and hands each new event to every [Subscription] whose
// filter accepts it. The cursor is the outbox id ([sqldb.Event.ID]); ids
// become visible in order, so a cursor never skips an event.
//
// # Delivery
//
// A subscription delivers every accepted event with an id above its start
// cursor exactly once, in id order, with no gap, whether it started in the
// past (it first replays from the database, then joins the live stream) or
// at the feed's position ([FromNow]).
//
// # Slow subscribers
//
// Each subscription has a bounded buffer filled by the reader. The reader
// never waits for a subscriber: when a subscription's buffer is full, the
// subscription is switched to catching up from the database at its own
// cursor, with its own queries and no memory beyond one batch, and rejoins
// the live stream once it has caught up. A subscriber that never reads
// therefore costs one full buffer and nothing else, and never delays
// others; it is ended when its context ends or it is closed (a gRPC
// handler's stream context ends with the stream).
//
// # Wake-ups
//
// The reader polls every [WithPollInterval] (default 1 s) to see writes of
// other processes; [Feed.Notify], called after a local commit, wakes it at
// once.
//
// # Use
//
// A service builds one feed over its database, makes its store notify it,
// runs it for the life of the process and hands it to its transport:
//
//	feed, err := events.NewFeed(st.DB(), events.WithLogger(log))
//	svc, err := catalog.New(catalog.NotifyOnWrite(st, feed.Notify), cfg)
//	go feed.Run(ctx) // returns when ctx ends; an error only at start
//	grpcserver.Register(srv, svc, grpcserver.WithFeed(feed))
//
// A subscriber then loops on Next:
//
//	sub, err := feed.Subscribe(ctx, cursor, filter) // or events.FromNow
//	defer sub.Close()
//	for {
//		e, err := sub.Next(ctx)
//		...
//	}
//
// # Over the wire, retention and consumers
//
// Package eventsgrpc serves a feed as the EventService (Subscribe(after
// cursor), Ack) and adapts its client to a [Source], the transport seam a
// broker may fill later. A consuming service runs a [Consumer]: one
// transaction per event applies it, records its id in an inbox and
// advances a durable cursor, so effects happen once over at-least-once
// delivery. The producer keeps its outbox for the consumers its
// configuration registers ([RegisterConsumers]) until they acknowledge
// them and a retention period has passed ([Prune], [RunPruner]); a
// consumer behind a pruned cursor stops with [ErrCursorPruned].
package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
)

// The defaults of the options.
const (
	DefaultPollInterval = time.Second
	DefaultBatchSize    = 256
	DefaultBufferSize   = 256
)

// FromNow as Subscribe's after starts a subscription at the feed's current
// position: it receives only events the reader sees after it subscribed.
const FromNow int64 = -1

var (
	// ErrClosed is returned by Next after the subscription was closed or
	// its context ended.
	ErrClosed = errors.New("events: subscription closed")
	// ErrFeedStopped is returned by Subscribe and Next once the feed's Run
	// has returned.
	ErrFeedStopped = errors.New("events: feed stopped")
	// ErrAlreadyRunning is returned by a second call of Run.
	ErrAlreadyRunning = errors.New("events: feed already running")
)

// Option configures NewFeed.
type Option func(*Feed)

// WithPollInterval sets how often the reader looks for events written by
// other processes (d > 0). Default DefaultPollInterval.
func WithPollInterval(d time.Duration) Option { return func(f *Feed) { f.poll = d } }

// WithBatchSize sets how many events one database read returns (n > 0).
// Default DefaultBatchSize.
func WithBatchSize(n int) Option { return func(f *Feed) { f.batch = n } }

// WithBufferSize sets each subscription's live buffer (n > 0): how far a
// subscriber may fall behind before it catches up from the database.
// Default DefaultBufferSize.
func WithBufferSize(n int) Option { return func(f *Feed) { f.bufSize = n } }

// WithLogger receives the reader's database errors (it retries them).
// Default: discard.
func WithLogger(l *slog.Logger) Option { return func(f *Feed) { f.log = l } }

// Feed tails one outbox and fans its events out to subscriptions. Create it
// with NewFeed and run it with Run. It is safe for concurrent use.
type Feed struct {
	db      *sqldb.DB
	poll    time.Duration
	batch   int
	bufSize int
	log     *slog.Logger

	running atomic.Bool
	wake    chan struct{} // Notify: capacity 1
	ready   chan struct{} // closed when head is known
	done    chan struct{} // closed when Run has returned
	head    atomic.Int64  // the last id the reader has published

	mu   sync.Mutex
	subs map[*Subscription]struct{}
}

// NewFeed returns a feed over db's outbox. It reads nothing until Run.
func NewFeed(db *sqldb.DB, opts ...Option) (*Feed, error) {
	f := &Feed{
		db: db, poll: DefaultPollInterval, batch: DefaultBatchSize, bufSize: DefaultBufferSize,
		log:  slog.New(slog.DiscardHandler),
		wake: make(chan struct{}, 1), ready: make(chan struct{}), done: make(chan struct{}),
		subs: make(map[*Subscription]struct{}),
	}
	for _, o := range opts {
		o(f)
	}
	switch {
	case db == nil:
		return nil, errors.New("events: nil db")
	case f.poll <= 0:
		return nil, fmt.Errorf("events: poll interval %v: want > 0", f.poll)
	case f.batch <= 0:
		return nil, fmt.Errorf("events: batch size %d: want > 0", f.batch)
	case f.bufSize <= 0:
		return nil, fmt.Errorf("events: buffer size %d: want > 0", f.bufSize)
	case f.log == nil:
		return nil, errors.New("events: nil logger")
	}
	return f, nil
}

// Notify wakes the reader now, without waiting for the poll interval: call
// it after committing a transaction that appended events. It never blocks.
func (f *Feed) Notify() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// Position returns the id of the last event the reader has published (0
// before Run has read the outbox's head).
func (f *Feed) Position() int64 { return f.head.Load() }

// Subscribers returns how many subscriptions are open.
func (f *Feed) Subscribers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}

// Run reads the outbox and publishes its events until ctx ends, then ends
// every subscription (their Next returns ErrFeedStopped) and returns nil.
// It returns an error only if it cannot find the outbox's head at start.
// Database errors while tailing are logged and retried at the next poll.
func (f *Feed) Run(ctx context.Context) error {
	if !f.running.CompareAndSwap(false, true) {
		return ErrAlreadyRunning
	}
	defer f.stop()
	var head int64
	err := f.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM outbox`).Scan(&head)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("events: read outbox head: %w", err)
	}
	f.head.Store(head)
	close(f.ready)

	t := time.NewTicker(f.poll)
	defer t.Stop()
	for {
		head = f.drain(ctx, head)
		select {
		case <-ctx.Done():
			return nil
		case <-f.wake:
		case <-t.C:
		}
	}
}

// drain reads and publishes until the outbox is caught up (or a read
// fails) and returns the new head.
func (f *Feed) drain(ctx context.Context, head int64) int64 {
	for {
		evs, err := f.db.ReadEvents(ctx, head, f.batch)
		if err != nil {
			if ctx.Err() == nil {
				f.log.WarnContext(ctx, "events: read outbox", "after", head, "error", err.Error())
			}
			return head
		}
		if len(evs) == 0 {
			return head
		}
		head = evs[len(evs)-1].ID
		f.publish(evs)
		if len(evs) < f.batch {
			return head
		}
	}
}

// publish hands evs to every live subscription. The head is stored before
// any subscription is visited: a subscription rejoining the live stream
// compares its cursor with the head under its own lock, so either it sees
// the new head (and reads the events from the database) or it is live
// before the reader visits it (and gets them here).
func (f *Feed) publish(evs []sqldb.Event) {
	f.head.Store(evs[len(evs)-1].ID)
	f.mu.Lock()
	subs := make([]*Subscription, 0, len(f.subs))
	for s := range f.subs {
		subs = append(subs, s)
	}
	f.mu.Unlock()
	for _, s := range subs {
		s.offer(evs)
	}
}

// stop marks the feed stopped and wakes every subscription.
func (f *Feed) stop() {
	f.mu.Lock()
	close(f.done)
	subs := f.subs
	f.subs = nil
	f.mu.Unlock()
	for s := range subs {
		s.notify()
	}
}

// Subscribe starts a subscription delivering the events with an id above
// after (0: the whole outbox; FromNow: events committed after this call) that filter accepts (nil accepts all). filter is called from
// the reader goroutine and the subscriber's, never concurrently for one
// subscription; it must be fast and not block.
//
// The subscription ends when ctx ends or Close is called. With FromNow,
// Subscribe waits for Run to have found the outbox's head. Errors:
// ErrFeedStopped, ctx's error, or an invalid after.
func (f *Feed) Subscribe(ctx context.Context, after int64, filter func(sqldb.Event) bool) (*Subscription, error) {
	if after < 0 && after != FromNow {
		return nil, fmt.Errorf("events: subscribe after %d: want >= 0 or FromNow", after)
	}
	if filter == nil {
		filter = func(sqldb.Event) bool { return true }
	}
	if after == FromNow {
		select {
		case <-f.ready:
		case <-f.done:
			return nil, ErrFeedStopped
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
		// The feed's head may lag the outbox (a commit not yet read): now
		// means after everything committed before this call.
		var committed int64
		if err := f.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM outbox`).Scan(&committed); err != nil {
			return nil, fmt.Errorf("events: read outbox head: %w", err)
		}
		after = max(f.head.Load(), committed)
	}
	s := &Subscription{
		f: f, filter: filter, pos: after, lagging: true,
		buf: make([]sqldb.Event, 0, f.bufSize), signal: make(chan struct{}, 1), closed: make(chan struct{}),
	}
	f.mu.Lock()
	select {
	case <-f.done:
		f.mu.Unlock()
		return nil, ErrFeedStopped
	default:
	}
	f.subs[s] = struct{}{}
	f.mu.Unlock()
	stop := context.AfterFunc(ctx, s.Close)
	s.mu.Lock()
	s.stopCtx = stop
	s.mu.Unlock()
	return s, nil
}

// Subscription is one subscriber's view of a feed. Next is for one
// goroutine; Close may be called from any.
type Subscription struct {
	f      *Feed
	filter func(sqldb.Event) bool
	signal chan struct{} // capacity 1: the reader offered events, or the feed stopped
	closed chan struct{}
	once   sync.Once

	mu      sync.Mutex
	stopCtx func() bool // unregisters Close from the subscribe context
	// pos is the highest id this subscription has taken into account:
	// queued in buf, read from the database, or filtered out.
	pos int64
	// lagging: the reader skips this subscription, which reads the database
	// after pos until it catches up with the feed's head.
	lagging bool
	buf     []sqldb.Event // live events, bounded by the feed's buffer size

	pending []sqldb.Event // catch-up events read by Next, not yet returned
}

// offer queues the accepted events of evs above pos, or switches the
// subscription to catching up when its buffer is full.
func (s *Subscription) offer(evs []sqldb.Event) {
	s.mu.Lock()
	if s.lagging {
		s.mu.Unlock()
		return
	}
	for _, e := range evs {
		if e.ID <= s.pos {
			continue
		}
		if s.filter(e) {
			if len(s.buf) == cap(s.buf) {
				s.lagging = true // Next reads the rest after pos from the database
				break
			}
			s.buf = append(s.buf, e)
		}
		s.pos = e.ID
	}
	s.mu.Unlock()
	s.notify()
}

func (s *Subscription) notify() {
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

// Next returns the subscription's next event, waiting for one until ctx
// ends (ctx's error), the subscription ends (ErrClosed) or the feed stops
// (ErrFeedStopped). It returns a database error if catching up fails; the
// subscription stays usable and Next may be called again.
func (s *Subscription) Next(ctx context.Context) (sqldb.Event, error) {
	for {
		select {
		case <-s.closed:
			return sqldb.Event{}, ErrClosed
		default:
		}
		if len(s.pending) > 0 {
			e := s.pending[0]
			s.pending = s.pending[1:]
			return e, nil
		}
		s.mu.Lock()
		if len(s.buf) > 0 {
			e := s.buf[0]
			// Shift rather than reslice so that buf keeps its capacity and
			// never reallocates.
			n := copy(s.buf, s.buf[1:])
			s.buf[n] = sqldb.Event{}
			s.buf = s.buf[:n]
			s.mu.Unlock()
			return e, nil
		}
		lagging, pos := s.lagging, s.pos
		s.mu.Unlock()
		if lagging {
			if err := s.catchUp(ctx, pos); err != nil {
				return sqldb.Event{}, err
			}
			continue
		}
		select {
		case <-s.signal:
		case <-s.closed:
			return sqldb.Event{}, ErrClosed
		case <-s.f.done:
			return sqldb.Event{}, ErrFeedStopped
		case <-ctx.Done():
			return sqldb.Event{}, context.Cause(ctx)
		}
	}
}

// catchUp reads one batch after pos from the database into pending, or,
// when there is nothing more, rejoins the live stream if pos has reached
// the feed's head.
func (s *Subscription) catchUp(ctx context.Context, pos int64) error {
	// Rejoining compares pos with the head, which means something only
	// once Run has read the outbox's head: events up to it are never
	// published, so a subscription live before then could miss them.
	select {
	case <-s.f.ready:
	case <-s.closed:
		return ErrClosed
	case <-s.f.done:
		return ErrFeedStopped
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	select {
	case <-s.f.done:
		return ErrFeedStopped
	default:
	}
	evs, err := s.f.db.ReadEvents(ctx, pos, s.f.batch)
	if err != nil {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return fmt.Errorf("events: catch up after %d: %w", pos, err)
	}
	if len(evs) > 0 {
		pos = evs[len(evs)-1].ID
	}
	pending := s.pending[:0]
	for _, e := range evs {
		if s.filter(e) {
			pending = append(pending, e)
		}
	}
	s.pending = pending
	s.mu.Lock()
	s.pos = pos
	if len(evs) < s.f.batch && pos >= s.f.head.Load() {
		s.lagging = false
	}
	s.mu.Unlock()
	return nil
}

// Close ends the subscription and releases it from the feed. It is
// idempotent.
func (s *Subscription) Close() {
	s.once.Do(func() {
		s.mu.Lock()
		stop := s.stopCtx
		s.mu.Unlock()
		if stop != nil {
			stop() // release ctx's reference to s
		}
		close(s.closed)
		s.f.mu.Lock()
		delete(s.f.subs, s)
		s.f.mu.Unlock()
	})
}
