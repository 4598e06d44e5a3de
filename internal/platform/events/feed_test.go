package events_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bazaarhq/bazaar/internal/platform/events"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb/sqldbtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// backends runs fn against SQLite and Postgres (which skips without a
// server, except under CI=true).
func backends(t *testing.T, fn func(t *testing.T, b sqldbtest.Backend)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, sqldbtest.SQLite()) })
	t.Run("postgres", func(t *testing.T) { fn(t, sqldbtest.Postgres(t)) })
}

// openDB opens a fresh database of b with the outbox, closed when t ends.
func openDB(t testing.TB, b sqldbtest.Backend) *sqldb.DB {
	t.Helper()
	tg := b.Fresh(t, "events")
	db, err := sqldb.Open(t.Context(), tg.URL, tg.Options...)
	if err != nil {
		t.Fatalf("sqldb.Open() = %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("db.Close() = %v", err)
		}
	})
	if err := db.Migrate(t.Context(), nil); err != nil {
		t.Fatalf("db.Migrate() = %v", err)
	}
	return db
}

// write appends one event per key, in one transaction, and returns their
// ids.
func write(t testing.TB, db *sqldb.DB, keys ...string) []int64 {
	t.Helper()
	var ids []int64
	err := db.InTx(context.Background(), func(ctx context.Context, tx *sqldb.Tx) error {
		ids = ids[:0]
		for _, k := range keys {
			e, err := tx.AppendEvent(ctx, sqldb.Event{Topic: "test.thing.v1", AggregateID: k, Payload: []byte(k)})
			if err != nil {
				return err
			}
			ids = append(ids, e.ID)
		}
		return nil
	})
	if err != nil {
		t.Errorf("append %v: %v", keys, err)
	}
	return ids
}

// startFeed runs a feed over db until t ends.
func startFeed(t testing.TB, db *sqldb.DB, opts ...events.Option) *events.Feed {
	t.Helper()
	f, err := events.NewFeed(db, opts...)
	if err != nil {
		t.Fatalf("NewFeed() = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v", err)
		}
	})
	return f
}

func subscribe(t testing.TB, f *events.Feed, after int64, filter func(sqldb.Event) bool) *events.Subscription {
	t.Helper()
	s, err := f.Subscribe(t.Context(), after, filter)
	if err != nil {
		t.Fatalf("Subscribe(%d) = %v", after, err)
	}
	t.Cleanup(s.Close)
	return s
}

// next reads n events, failing t if they take longer than 10 s.
func next(t testing.TB, s *events.Subscription, n int) []sqldb.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out := make([]sqldb.Event, 0, n)
	for range n {
		e, err := s.Next(ctx)
		if err != nil {
			t.Fatalf("Next() after %d of %d events = %v", len(out), n, err)
		}
		out = append(out, e)
	}
	return out
}

// wantNothing fails t if s delivers an event within d.
func wantNothing(t testing.TB, s *events.Subscription, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if e, err := s.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Next() = %+v, %v; want nothing (DeadlineExceeded)", e, err)
	}
}

func ids(evs []sqldb.Event) []int64 {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

func keys(n int, prefix string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i)
	}
	return out
}

func TestReplayThenLive(t *testing.T) {
	backends(t, func(t *testing.T, b sqldbtest.Backend) {
		db := openDB(t, b)
		past := write(t, db, keys(10, "past-")...)
		// A long poll interval: live delivery must come from Notify.
		f := startFeed(t, db, events.WithPollInterval(time.Hour), events.WithBatchSize(3))
		s := subscribe(t, f, 0, nil)
		got := next(t, s, 10)
		if !slices.Equal(ids(got), past) {
			t.Fatalf("replayed ids = %v, want %v", ids(got), past)
		}
		if got[0].AggregateID != "past-0" || string(got[9].Payload) != "past-9" || got[0].Topic != "test.thing.v1" {
			t.Errorf("first/last replayed = %+v / %+v", got[0], got[9])
		}
		var live []int64
		for i := range 5 {
			live = append(live, write(t, db, fmt.Sprintf("live-%d", i))...)
			f.Notify()
		}
		if got := ids(next(t, s, 5)); !slices.Equal(got, live) {
			t.Errorf("live ids = %v, want %v", got, live)
		}
		wantNothing(t, s, 100*time.Millisecond)
	})
}

func TestFromNowAndPollFallback(t *testing.T) {
	backends(t, func(t *testing.T, b sqldbtest.Backend) {
		db := openDB(t, b)
		write(t, db, keys(5, "before-")...)
		// No Notify in this test: the poll interval must find the writes,
		// as it does for another process's.
		f := startFeed(t, db, events.WithPollInterval(20*time.Millisecond))
		s := subscribe(t, f, events.FromNow, nil)
		want := write(t, db, "after-0", "after-1", "after-2")
		if got := ids(next(t, s, 3)); !slices.Equal(got, want) {
			t.Errorf("ids = %v, want %v (only the events after subscribing)", got, want)
		}
		wantNothing(t, s, 100*time.Millisecond)
	})
}

// TestFromNowIsNowNotTheReadersPosition: an event committed before
// Subscribe(FromNow) but not yet read by the feed (no Notify, a long poll)
// is not delivered; the next one is.
func TestFromNowIsNowNotTheReadersPosition(t *testing.T) {
	backends(t, func(t *testing.T, b sqldbtest.Backend) {
		db := openDB(t, b)
		f := startFeed(t, db, events.WithPollInterval(time.Hour))
		subscribe(t, f, events.FromNow, nil) // the reader has found the head
		write(t, db, "committed-before")
		s := subscribe(t, f, events.FromNow, nil)
		want := write(t, db, "after")
		f.Notify()
		if got := ids(next(t, s, 1)); !slices.Equal(got, want) {
			t.Errorf("ids = %v, want %v (not the event committed before subscribing)", got, want)
		}
		wantNothing(t, s, 50*time.Millisecond)
	})
}

func TestFilter(t *testing.T) {
	backends(t, func(t *testing.T, b sqldbtest.Backend) {
		db := openDB(t, b)
		f := startFeed(t, db, events.WithBufferSize(2), events.WithBatchSize(2))
		s := subscribe(t, f, events.FromNow, func(e sqldb.Event) bool { return e.AggregateID == "b" })
		var want []int64
		for range 10 {
			ids := write(t, db, "a", "b", "c")
			want = append(want, ids[1])
			f.Notify()
		}
		if got := ids(next(t, s, 10)); !slices.Equal(got, want) {
			t.Errorf("ids = %v, want %v", got, want)
		}
		wantNothing(t, s, 100*time.Millisecond)
	})
}

// TestResumeWhileWriting: a subscriber reads part of the stream, goes away
// and resumes from its last id while writes continue; together the two
// subscriptions see every event exactly once, in order. Tiny buffers and
// batches make the subscriptions fall behind and rejoin many times.
func TestResumeWhileWriting(t *testing.T) {
	backends(t, func(t *testing.T, b sqldbtest.Backend) {
		db := openDB(t, b)
		f := startFeed(t, db, events.WithBufferSize(3), events.WithBatchSize(5), events.WithPollInterval(10*time.Millisecond))
		const total = 300
		var wg sync.WaitGroup
		wg.Go(func() {
			for i := 0; i < total; i += 3 {
				write(t, db, fmt.Sprintf("k%d", i), fmt.Sprintf("k%d", i+1), fmt.Sprintf("k%d", i+2))
				if i%2 == 0 {
					f.Notify() // every other commit: the rest come from polling
				}
			}
		})
		first := subscribe(t, f, 0, nil)
		got := next(t, first, 100)
		first.Close()
		if _, err := first.Next(t.Context()); !errors.Is(err, events.ErrClosed) {
			t.Errorf("Next() after Close = %v, want ErrClosed", err)
		}
		second := subscribe(t, f, got[len(got)-1].ID, nil)
		got = append(got, next(t, second, total-100)...)
		wg.Wait()
		all, err := db.ReadEvents(t.Context(), 0, total+1)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != total {
			t.Fatalf("outbox holds %d events, want %d", len(all), total)
		}
		if !slices.Equal(ids(got), ids(all)) {
			t.Errorf("delivered ids differ from the outbox:\n got %v\nwant %v", ids(got), ids(all))
		}
		wantNothing(t, second, 50*time.Millisecond)
	})
}

// TestManySubscribers: 200 subscribers, some joining while events are
// being written, all get every event in order from one reader.
func TestManySubscribers(t *testing.T) {
	backends(t, func(t *testing.T, b sqldbtest.Backend) {
		db := openDB(t, b)
		f := startFeed(t, db, events.WithBufferSize(16))
		const subs, total = 200, 100
		start := make([]*events.Subscription, subs)
		for i := range start {
			start[i] = subscribe(t, f, 0, nil)
		}
		var writer sync.WaitGroup
		writer.Go(func() {
			for i := range total {
				write(t, db, fmt.Sprintf("e%d", i))
				f.Notify()
			}
		})
		results := make([][]int64, subs)
		var readers sync.WaitGroup
		for i, s := range start {
			readers.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				for range total {
					e, err := s.Next(ctx)
					if err != nil {
						t.Errorf("subscriber %d: Next() = %v", i, err)
						return
					}
					results[i] = append(results[i], e.ID)
				}
			})
		}
		writer.Wait()
		readers.Wait()
		all, err := db.ReadEvents(t.Context(), 0, total+1)
		if err != nil {
			t.Fatal(err)
		}
		for i, got := range results {
			if !slices.Equal(got, ids(all)) {
				t.Fatalf("subscriber %d got %v, want %v", i, got, ids(all))
			}
		}
		for _, s := range start {
			s.Close()
		}
		if n := f.Subscribers(); n != 0 {
			t.Errorf("Subscribers() after Close = %d, want 0", n)
		}
	})
}

// TestStalledSubscriber: a subscriber that never reads does not hold up
// the others; when it reads at last, it catches up from the database with
// nothing lost.
func TestStalledSubscriber(t *testing.T) {
	backends(t, func(t *testing.T, b sqldbtest.Backend) {
		db := openDB(t, b)
		f := startFeed(t, db, events.WithBufferSize(4), events.WithBatchSize(8))
		stalled := subscribe(t, f, events.FromNow, nil)
		reader := subscribe(t, f, events.FromNow, nil)
		// Both read one event, so both are on the live stream when the
		// stalled one stops reading and its buffer fills.
		first := write(t, db, "first")
		f.Notify()
		for _, s := range []*events.Subscription{stalled, reader} {
			if got := ids(next(t, s, 1)); !slices.Equal(got, first) {
				t.Fatalf("first event = %v, want %v", got, first)
			}
		}
		const total = 200
		var want []int64
		for i := range total / 4 {
			want = append(want, write(t, db, keys(4, fmt.Sprintf("b%d-", i))...)...)
			f.Notify()
		}
		if got := ids(next(t, reader, total)); !slices.Equal(got, want) {
			t.Fatalf("reader got %v, want %v", got, want)
		}
		if got := ids(next(t, stalled, total)); !slices.Equal(got, want) {
			t.Errorf("stalled subscriber got %v, want %v", got, want)
		}
		// Caught up, it is live again.
		more := write(t, db, "more")
		f.Notify()
		if got := ids(next(t, stalled, 1)); !slices.Equal(got, more) {
			t.Errorf("stalled subscriber after catching up got %v, want %v", got, more)
		}
	})
}

func TestSubscriptionEndsWithContext(t *testing.T) {
	db := openDB(t, sqldbtest.SQLite())
	f := startFeed(t, db)
	ctx, cancel := context.WithCancel(t.Context())
	s, err := f.Subscribe(ctx, events.FromNow, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := f.Subscribers(); n != 1 {
		t.Fatalf("Subscribers() = %d, want 1", n)
	}
	cancel()
	if _, err := s.Next(t.Context()); !errors.Is(err, events.ErrClosed) {
		t.Errorf("Next() after the subscribe context ended = %v, want ErrClosed", err)
	}
	if n := f.Subscribers(); n != 0 {
		t.Errorf("Subscribers() = %d, want 0", n)
	}
}

func TestFeedStop(t *testing.T) {
	db := openDB(t, sqldbtest.SQLite())
	f, err := events.NewFeed(db)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	s, err := f.Subscribe(t.Context(), events.FromNow, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := f.Run(t.Context()); !errors.Is(err, events.ErrAlreadyRunning) {
		t.Errorf("second Run() = %v, want ErrAlreadyRunning", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run() = %v", err)
	}
	if _, err := s.Next(t.Context()); !errors.Is(err, events.ErrFeedStopped) {
		t.Errorf("Next() after Run returned = %v, want ErrFeedStopped", err)
	}
	if _, err := f.Subscribe(t.Context(), 0, nil); !errors.Is(err, events.ErrFeedStopped) {
		t.Errorf("Subscribe() after Run returned = %v, want ErrFeedStopped", err)
	}
}

func TestInvalidArguments(t *testing.T) {
	db := openDB(t, sqldbtest.SQLite())
	for name, opt := range map[string]events.Option{
		"poll":   events.WithPollInterval(0),
		"batch":  events.WithBatchSize(0),
		"buffer": events.WithBufferSize(-1),
		"logger": events.WithLogger(nil),
	} {
		if _, err := events.NewFeed(db, opt); err == nil {
			t.Errorf("NewFeed(invalid %s) = nil error", name)
		}
	}
	if _, err := events.NewFeed(nil); err == nil {
		t.Error("NewFeed(nil) = nil error")
	}
	f := startFeed(t, db)
	if _, err := f.Subscribe(t.Context(), -2, nil); err == nil {
		t.Error("Subscribe(-2) = nil error")
	}
}

// TestSubscribeBeforeRun: a subscription taken before Run has read the
// outbox's head must not go live early and miss the events committed
// before that head.
func TestSubscribeBeforeRun(t *testing.T) {
	db := openDB(t, sqldbtest.SQLite())
	f, err := events.NewFeed(db, events.WithPollInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	s, err := f.Subscribe(t.Context(), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	type result struct {
		e   sqldb.Event
		err error
	}
	got := make(chan result, 1)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	go func() {
		e, err := s.Next(ctx)
		got <- result{e, err}
	}()
	time.Sleep(50 * time.Millisecond) // let Next look at the (empty) outbox first
	want := write(t, db, "early")
	runCtx, stop := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- f.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v", err)
		}
	}()
	r := <-got
	if r.err != nil || r.e.ID != want[0] {
		t.Errorf("Next() = %+v, %v; want event %d", r.e, r.err, want[0])
	}
}
