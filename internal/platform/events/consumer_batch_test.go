package events_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bazaarhq/bazaar/internal/platform/events"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb/sqldbtest"
)

// batchRecorder is a consumer's Handle and AfterCommit that record which
// transaction handled which event, and an effect per event in table seen.
type batchRecorder struct {
	mu        sync.Mutex
	txs       []*sqldb.Tx // one per Handle call, in order
	handled   []string    // event ids, one per Handle call
	committed []string    // event ids, one per AfterCommit call
	// before, when set, runs at the start of Handle; an error fails it.
	before func(e events.Event, attempt int) error
}

func (r *batchRecorder) handle(ctx context.Context, tx *sqldb.Tx, e events.Event) error {
	r.mu.Lock()
	attempt := 1
	for _, id := range r.handled {
		if id == e.ID {
			attempt++
		}
	}
	r.txs = append(r.txs, tx)
	r.handled = append(r.handled, e.ID)
	before := r.before
	r.mu.Unlock()
	if _, err := tx.ExecContext(ctx, `INSERT INTO seen (aggregate_id) VALUES (?)`, e.ID); err != nil {
		return err
	}
	if before != nil {
		return before(e, attempt)
	}
	return nil
}

func (r *batchRecorder) afterCommit(e events.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.committed = append(r.committed, e.ID)
}

func (r *batchRecorder) committedIDs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.committed)
}

// groups returns the ids handled, grouped by transaction, in order.
func (r *batchRecorder) groups() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var gs [][]string
	for i, id := range r.handled {
		if i == 0 || r.txs[i] != r.txs[i-1] {
			gs = append(gs, nil)
		}
		gs[len(gs)-1] = append(gs[len(gs)-1], id)
	}
	return gs
}

// startBatchConsumer runs a consumer of src over a fresh database of b
// until t ends, and returns it with its database.
func startBatchConsumer(t *testing.T, b sqldbtest.Backend, src events.Source, r *batchRecorder, maxBatch int) (*events.Consumer, *sqldb.DB) {
	t.Helper()
	db := openDB(t, b)
	if _, err := db.ExecContext(t.Context(), `CREATE TABLE seen (aggregate_id TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	c, err := events.NewConsumer(events.ConsumerConfig{
		Name: "test", SourceName: "mem", DB: db, Source: src, MaxBatch: maxBatch,
		Handle: r.handle, AfterCommit: r.afterCommit,
		MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v", err)
		}
	})
	return c, db
}

// waitCommitted waits until r has seen n AfterCommit calls.
func waitCommitted(t *testing.T, r *batchRecorder, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := r.committedIDs()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("AfterCommit calls %v, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// holdFirst returns a Handle hook for the first event of src, id "hold1",
// alone in its batch since src holds nothing else: it calls add (which adds
// events to src), then waits until ready() (the consumer's receiver has
// taken the events added) before letting hold1 commit.
func holdFirst(ready func() bool, add func()) func(events.Event, int) error {
	var once sync.Once
	return func(e events.Event, _ int) error {
		if e.ID != "hold1" {
			return nil
		}
		once.Do(add)
		deadline := time.Now().Add(10 * time.Second)
		for !ready() {
			if time.Now().After(deadline) {
				return errors.New("the receiver did not take the events added")
			}
			time.Sleep(time.Millisecond)
		}
		return nil
	}
}

// allReceived says whether the consumer has received every event of src up
// to cursor through (its receiver then waits for the next).
func allReceived(src *memSource, through int) func() bool {
	return func() bool { return src.blockedAt() == through }
}

func countSeen(t *testing.T, db *sqldb.DB) map[string]int {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT aggregate_id FROM seen`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := map[string]int{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		n[id]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// Events the source has already delivered share one transaction, up to
// MaxBatch; AfterCommit follows for each, in order.
func TestConsumerBatchesDeliveredEvents(t *testing.T) {
	backends(t, func(t *testing.T, b sqldbtest.Backend) {
		for _, tc := range []struct {
			maxBatch int
			ready    func(*memSource) func() bool
			want     string // transactions, by event ids; with MaxBatch < 7 the first two
		}{
			{0, func(s *memSource) func() bool { return allReceived(s, 8) }, "hold1|e1 e2 e3 e4 e5 e6 e7"},
			// The receiver takes e4 once e1..e3 fill its channel.
			{3, func(s *memSource) func() bool { return func() bool { return s.returned() >= 5 } }, "hold1|e1 e2 e3"},
			{1, func(s *memSource) func() bool { return func() bool { return s.returned() >= 3 } }, "hold1|e1|e2|e3|e4|e5|e6|e7"},
		} {
			t.Run("max"+strconv.Itoa(tc.maxBatch), func(t *testing.T) {
				src := newMemSource()
				src.add(1, "hold")
				r := &batchRecorder{before: holdFirst(tc.ready(src), func() { src.add(7, "e") })}
				c, db := startBatchConsumer(t, b, src, r, tc.maxBatch)
				got := waitCommitted(t, r, 8)
				if want := "hold1 e1 e2 e3 e4 e5 e6 e7"; strings.Join(got, " ") != want {
					t.Errorf("AfterCommit calls %v, want %s", got, want)
				}
				var txs []string
				for _, g := range r.groups() {
					if tc.maxBatch > 0 && len(g) > tc.maxBatch {
						t.Errorf("transaction %v: more than MaxBatch %d events", g, tc.maxBatch)
					}
					txs = append(txs, strings.Join(g, " "))
				}
				if got := strings.Join(txs, "|"); !strings.HasPrefix(got+"|", tc.want+"|") {
					t.Errorf("transactions %s, want %s first", got, tc.want)
				}
				if cur, err := c.Cursor(t.Context()); err != nil || cur != "8" {
					t.Errorf("Cursor() = %q, %v; want 8", cur, err)
				}
				if n := countSeen(t, db); len(n) != 8 {
					t.Errorf("effects %v, want one per event", n)
				}
			})
		}
	})
}

// A Handle failing midway through a batch rolls the whole batch back; the
// consumer resubscribes from its durable cursor and applies every event of
// it again, once.
func TestConsumerBatchRollsBackAsOne(t *testing.T) {
	backends(t, func(t *testing.T, b sqldbtest.Backend) {
		src := newMemSource()
		src.add(1, "hold")
		r := &batchRecorder{}
		hold := holdFirst(allReceived(src, 6), func() { src.add(5, "e") })
		r.before = func(e events.Event, attempt int) error {
			if e.ID == "e3" && attempt == 1 {
				return errors.New("midway")
			}
			return hold(e, attempt)
		}
		c, db := startBatchConsumer(t, b, src, r, 0)
		got := waitCommitted(t, r, 6)
		if want := "hold1 e1 e2 e3 e4 e5"; strings.Join(got, " ") != want {
			t.Errorf("AfterCommit calls %v, want %s (each once, after its commit)", got, want)
		}
		// The failed batch ran e1..e3; after the resubscription from cursor
		// 1 (hold1's) e1 runs again: nothing of the batch committed. (How
		// the redelivered events are batched depends on when they arrive.)
		gs := r.groups()
		var retried []string
		for _, g := range gs[min(2, len(gs)):] {
			retried = append(retried, g...)
		}
		if len(gs) < 3 || strings.Join(gs[0], " ") != "hold1" || strings.Join(gs[1], " ") != "e1 e2 e3" ||
			strings.Join(retried, " ") != "e1 e2 e3 e4 e5" {
			t.Errorf("transactions %v, want [hold1] [e1 e2 e3], then e1 e2 e3 e4 e5 in one or more", gs)
		}
		if n := src.subscriptions(); n != 2 {
			t.Errorf("%d subscriptions, want 2 (one resubscription after the failure)", n)
		}
		if n := countSeen(t, db); len(n) != 6 || n["e1"] != 1 || n["e3"] != 1 {
			t.Errorf("effects %v, want one per event", n)
		}
		if cur, err := c.Cursor(t.Context()); err != nil || cur != "6" {
			t.Errorf("Cursor() = %q, %v; want 6", cur, err)
		}
	})
}

// An event delivered twice within one batch (same id) is handled once; the
// cursor still moves past both.
func TestConsumerBatchDropsDuplicates(t *testing.T) {
	backends(t, func(t *testing.T, b sqldbtest.Backend) {
		src := newMemSource()
		src.add(1, "hold")
		ids := []string{"e1", "e2", "e1", "e3", "e2"}
		r := &batchRecorder{before: holdFirst(allReceived(src, 6), func() {
			src.addIDs(func(i int) string { return ids[i] }, len(ids))
		})}
		c, db := startBatchConsumer(t, b, src, r, 0)
		got := waitCommitted(t, r, 4)
		deadline := time.Now().Add(10 * time.Second)
		for {
			cur, err := c.Cursor(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if cur == "6" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Cursor() = %q, want 6", cur)
			}
			time.Sleep(time.Millisecond)
		}
		if want := "hold1 e1 e2 e3"; strings.Join(r.committedIDs(), " ") != want {
			t.Errorf("AfterCommit calls %v, want %s", got, want)
		}
		var txs []string
		for _, g := range r.groups() {
			txs = append(txs, strings.Join(g, " "))
		}
		if got, want := strings.Join(txs, "|"), "hold1|e1 e2 e3"; got != want {
			t.Errorf("transactions %s, want %s", got, want)
		}
		if n := countSeen(t, db); len(n) != 4 || n["e1"] != 1 || n["e2"] != 1 {
			t.Errorf("effects %v, want one per event id", n)
		}
	})
}

// A lone event is applied at once: the consumer never waits for a batch
// to fill, nor for the stream to end.
func TestConsumerAppliesLoneEventAtOnce(t *testing.T) {
	t.Parallel()
	src := newMemSource()
	r := &batchRecorder{}
	startBatchConsumer(t, sqldbtest.SQLite(), src, r, 0)
	for i := range 3 {
		// The consumer is idle, its receiver waiting for the next event.
		deadline := time.Now().Add(10 * time.Second)
		for src.blockedAt() != i {
			if time.Now().After(deadline) {
				t.Fatalf("the consumer is not waiting for event %d", i+1)
			}
			time.Sleep(time.Millisecond)
		}
		start := time.Now()
		src.add(1, "lone"+strconv.Itoa(i))
		waitCommitted(t, r, i+1)
		// Generous for a loaded machine under -race, far below any timer a
		// batch could wait for.
		if d := time.Since(start); d > time.Second {
			t.Errorf("event %d applied after %v, want at once", i+1, d)
		}
	}
	if got, want := strings.Join(r.committedIDs(), " "), "lone01 lone11 lone21"; got != want {
		t.Errorf("AfterCommit calls %s, want %s", got, want)
	}
}

// memSource is an in-memory events.Source: a list of events, cursors 1..n,
// that every subscription reads after its cursor. When gate is set, each
// Recv first takes a token from it.
type memSource struct {
	gate chan struct{}

	mu      sync.Mutex
	evs     []events.Event
	changed chan struct{} // closed and replaced on add
	subs    int           // subscriptions opened
	blocked int           // the cursor a Recv waits after, -1 if none
	maxPos  int           // the most events a stream has returned
}

// returned returns the most events a stream of s has returned.
func (s *memSource) returned() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxPos
}

func newMemSource() *memSource { return &memSource{changed: make(chan struct{}), blocked: -1} }

// blockedAt returns the cursor after which a Recv waits for events to be
// added (-1 if none does): every event before it has been received.
func (s *memSource) blockedAt() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.blocked
}

// add appends n events with ids prefix1, prefix2... (ids may repeat across
// calls with the same prefix: a duplicate delivery).
func (s *memSource) add(n int, prefix string) {
	s.addIDs(func(i int) string { return prefix + strconv.Itoa(i+1) }, n)
}

func (s *memSource) addIDs(id func(i int) string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range n {
		cur := strconv.Itoa(len(s.evs) + 1)
		s.evs = append(s.evs, events.Event{Cursor: cur, ID: id(i), Topic: "test.thing.v1", AggregateID: id(i), Time: time.Now()})
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *memSource) subscriptions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subs
}

func (s *memSource) Subscribe(ctx context.Context, after string, _ []string) (events.Stream, error) {
	pos := 0
	if after != "" {
		n, err := strconv.Atoi(after)
		if err != nil {
			return nil, err
		}
		pos = n
	}
	s.mu.Lock()
	s.subs++
	s.mu.Unlock()
	return &memStream{s: s, ctx: ctx, pos: pos}, nil
}

type memStream struct {
	s   *memSource
	ctx context.Context
	pos int
}

func (st *memStream) Recv() (events.Event, error) {
	if st.s.gate != nil {
		select {
		case <-st.s.gate:
		case <-st.ctx.Done():
			return events.Event{}, context.Cause(st.ctx)
		}
	}
	for {
		st.s.mu.Lock()
		if st.pos < len(st.s.evs) {
			e := st.s.evs[st.pos]
			st.pos++
			st.s.maxPos = max(st.s.maxPos, st.pos)
			st.s.mu.Unlock()
			return e, nil
		}
		changed := st.s.changed
		st.s.blocked = st.pos
		st.s.mu.Unlock()
		var err error
		select {
		case <-changed:
		case <-st.ctx.Done():
			err = context.Cause(st.ctx)
		}
		st.s.mu.Lock()
		st.s.blocked = -1
		st.s.mu.Unlock()
		if err != nil {
			return events.Event{}, err
		}
	}
}
