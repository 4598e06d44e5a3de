package eventsgrpc_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"

	eventsv1 "github.com/bazaarhq/bazaar/gen/bazaar/events/v1"
	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/events"
	"github.com/bazaarhq/bazaar/internal/platform/events/eventsgrpc"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
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

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// testPrincipalHeader carries the caller in tests: "user:ID:role,role",
// "service:NAME" or "client:ID::scope,scope".
const testPrincipalHeader = "x-test-principal"

// headerTestAuthorizer is TEST SUPPORT, not the production authenticator:
// it trusts whatever principal the x-test-principal header names and
// admits the call when that principal satisfies the method's policy.
type headerTestAuthorizer struct{}

func (headerTestAuthorizer) Authorize(ctx context.Context, method string, policy *auth.Policy) (context.Context, error) {
	var p *auth.Principal
	if v := metadata.ValueFromIncomingContext(ctx, testPrincipalHeader); len(v) > 0 {
		parts := strings.SplitN(v[0]+"::", ":", 4)
		kinds := map[string]auth.PrincipalKind{"user": auth.User, "service": auth.Service, "client": auth.Client}
		p = &auth.Principal{Kind: kinds[parts[0]], Subject: parts[1]}
		if parts[2] != "" {
			p.Roles = strings.Split(parts[2], ",")
		}
		if parts[3] != "" {
			p.Scopes = strings.Split(strings.TrimSuffix(parts[3], "::"), ",")
		}
	}
	if !p.Admits(policy) {
		if p == nil {
			return ctx, errs.New(errs.Unauthenticated, "CREDENTIALS_REQUIRED", "this method needs credentials")
		}
		return ctx, errs.New(errs.PermissionDenied, "POLICY_DENIED", "the caller may not call "+method)
	}
	if p != nil {
		ctx = auth.WithPrincipal(ctx, p)
	}
	return ctx, nil
}

// principal is per-RPC credentials naming the test caller.
type principal string

func (p principal) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{testPrincipalHeader: string(p)}, nil
}
func (principal) RequireTransportSecurity() bool { return false }

const (
	notificationSvc principal = "service:notification"
	customer        principal = "user:u-alice:customer"
	adminUser       principal = "user:u-admin:admin"
)

const topic = "test.thing.v1"

// openDB opens a fresh database of b, migrated, closed when t ends.
func openDB(t testing.TB, b sqldbtest.Backend, prefix string) *sqldb.DB {
	t.Helper()
	tg := b.Fresh(t, prefix)
	db, err := sqldb.Open(context.Background(), tg.URL, tg.Options...)
	if err != nil {
		t.Fatalf("sqldb.Open() = %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("db.Close() = %v", err)
		}
	})
	if err := db.Migrate(context.Background(), nil); err != nil {
		t.Fatalf("db.Migrate() = %v", err)
	}
	return db
}

// producer is a producing service: its database with an outbox, and a
// real grpcx.Server serving the EventService over bufconn, which can be
// stopped and started again (a restart) over the same database.
type producer struct {
	t      testing.TB
	db     *sqldb.DB
	limits grpcx.Limits
	lis    atomic.Pointer[bufconn.Listener]

	mu       sync.Mutex
	feed     *events.Feed
	stopFn   func()
	stopFeed func()
	started  atomic.Int64 // Subscribe calls that reached the service
}

func newProducer(t testing.TB, b sqldbtest.Backend, limits grpcx.Limits) *producer {
	t.Helper()
	p := &producer{t: t, db: openDB(t, b, "producer"), limits: limits}
	if err := events.RegisterConsumers(context.Background(), p.db, "notification"); err != nil {
		t.Fatalf("RegisterConsumers() = %v", err)
	}
	p.start()
	t.Cleanup(p.stop)
	return p
}

// start runs a new feed and server (on a new listener).
func (p *producer) start() {
	t := p.t
	t.Helper()
	feed, err := events.NewFeed(p.db, events.WithPollInterval(20*time.Millisecond), events.WithBufferSize(16))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := eventsgrpc.NewService(feed, p.db)
	if err != nil {
		t.Fatal(err)
	}
	count := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		p.started.Add(1)
		return h(srv, ss)
	}
	srv, err := grpcx.NewServer(grpcx.WithAuthorizer(headerTestAuthorizer{}), grpcx.WithShutdownGrace(time.Second),
		grpcx.WithLimits(p.limits), grpcx.WithStreamInterceptors(count))
	if err != nil {
		t.Fatal(err)
	}
	eventsgrpc.Register(srv, svc)
	lis := bufconn.Listen(1 << 20)
	feedCtx, stopFeed := context.WithCancel(context.Background())
	srvCtx, stopSrv := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := feed.Run(feedCtx); err != nil {
			t.Errorf("feed.Run() = %v", err)
		}
	})
	wg.Go(func() {
		if err := srv.Serve(srvCtx, lis); err != nil {
			t.Errorf("Serve() = %v", err)
		}
	})
	p.lis.Store(lis)
	p.mu.Lock()
	p.feed = feed
	p.stopFn = func() { stopSrv(); stopFeed(); wg.Wait() }
	p.stopFeed = stopFeed
	p.mu.Unlock()
}

// stop stops the server and the feed (a process going away).
func (p *producer) stop() {
	p.mu.Lock()
	stop := p.stopFn
	p.stopFn = nil
	p.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// stopFeedOnly stops the feed; the server keeps serving.
func (p *producer) stopFeedOnly() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopFeed()
}

// writeTopic appends one event of topic.
func (p *producer) writeTopic(t testing.TB, topic string) string {
	t.Helper()
	var id string
	err := p.db.InTx(context.Background(), func(ctx context.Context, tx *sqldb.Tx) error {
		e, err := tx.AppendEvent(ctx, sqldb.Event{Topic: topic, Payload: []byte(`{}`)})
		id = e.EventID
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// currentFeed returns the running feed.
func (p *producer) currentFeed() *events.Feed {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.feed
}

// dial returns a grpcx client connection to the producer (following its
// restarts) calling as who.
func (p *producer) dial(t testing.TB, who principal) *grpc.ClientConn {
	t.Helper()
	cc, err := grpcx.NewClient("passthrough:///producer",
		grpcx.WithBreaker(grpcx.BreakerSettings{OpenTimeout: 100 * time.Millisecond}),
		grpcx.WithDialOptions(
			grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
				return p.lis.Load().DialContext(ctx)
			}),
			grpc.WithPerRPCCredentials(who),
			// Reconnect fast to a restarted server (grpc's default waits 1 s).
			grpc.WithConnectParams(grpc.ConnectParams{
				Backoff:           backoff.Config{BaseDelay: 10 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 100 * time.Millisecond},
				MinConnectTimeout: time.Second,
			}),
		))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// waitSubscriptions waits until n Subscribe calls have reached the
// producer's servers.
func (p *producer) waitSubscriptions(t testing.TB, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for p.started.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d subscriptions after 10s, want %d", p.started.Load(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// write appends n events in one transaction and returns their event ids.
func (p *producer) write(t testing.TB, n int) []string {
	t.Helper()
	var ids []string
	err := p.db.InTx(context.Background(), func(ctx context.Context, tx *sqldb.Tx) error {
		ids = ids[:0]
		for i := range n {
			e, err := tx.AppendEvent(ctx, sqldb.Event{Topic: topic, AggregateID: strconv.Itoa(i),
				Payload: fmt.Appendf(nil, `{"n":%d}`, i)})
			if err != nil {
				return err
			}
			ids = append(ids, e.EventID)
		}
		return nil
	})
	if err != nil {
		t.Errorf("append: %v", err) // not Fatal: writer calls it from its own goroutine
		return nil
	}
	if f := p.currentFeed(); f != nil {
		f.Notify()
	}
	return ids
}

// writer appends events in small transactions, one every interval, until
// stop is called, and returns their ids then.
func (p *producer) writer(t testing.TB, interval time.Duration) (stop func() []string) {
	var (
		mu   sync.Mutex
		ids  []string
		wg   sync.WaitGroup
		done = make(chan struct{})
	)
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			case <-time.After(interval):
			}
			got := p.write(t, 1+i%3)
			mu.Lock()
			ids = append(ids, got...)
			mu.Unlock()
		}
	})
	return func() []string {
		close(done)
		wg.Wait()
		return ids
	}
}

// sink is a consuming service: its own database with an effects table.
type sink struct {
	db *sqldb.DB
	// attempts counts Handle calls, committed or not.
	attempts atomic.Int64
}

func newSink(t testing.TB, b sqldbtest.Backend) *sink {
	t.Helper()
	s := &sink{db: openDB(t, b, "consumer")}
	// ref lets a test make a commit fail for real: a deferred foreign key
	// is checked at COMMIT, on both engines.
	for _, q := range []string{
		`CREATE TABLE refs (id TEXT PRIMARY KEY)`,
		`INSERT INTO refs (id) VALUES ('ok')`,
		`CREATE TABLE effects (event_id TEXT NOT NULL, cursor BIGINT NOT NULL,
			ref TEXT NOT NULL DEFAULT 'ok' REFERENCES refs (id) DEFERRABLE INITIALLY DEFERRED)`,
		`CREATE INDEX effects_cursor ON effects (cursor)`,
	} {
		if _, err := s.db.ExecContext(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// handle applies an event: one effects row, after checking that events
// arrive in cursor order.
func (s *sink) handle(ctx context.Context, tx *sqldb.Tx, e events.Event) error {
	s.attempts.Add(1)
	c, err := strconv.ParseInt(e.Cursor, 10, 64)
	if err != nil {
		return err
	}
	var last int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(cursor), 0) FROM effects`).Scan(&last); err != nil {
		return err
	}
	if c <= last {
		return fmt.Errorf("event %s at cursor %d after cursor %d: out of order", e.ID, c, last)
	}
	if _, err := e.PayloadJSON(); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO effects (event_id, cursor) VALUES (?, ?)`, e.ID, c)
	return err
}

// effects returns how many times each event id was applied.
func (s *sink) effects(t testing.TB) map[string]int {
	t.Helper()
	rows, err := s.db.QueryContext(context.Background(), `SELECT event_id FROM effects`)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	got := map[string]int{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		got[id]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

// waitApplied waits until every id is applied and then checks that each
// was applied exactly once and nothing else was.
func (s *sink) waitApplied(t testing.TB, ids []string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := s.effects(t)
		missing := 0
		for _, id := range ids {
			if got[id] == 0 {
				missing++
			}
		}
		if missing == 0 {
			for _, id := range ids {
				if got[id] != 1 {
					t.Errorf("event %s applied %d times, want 1", id, got[id])
				}
			}
			if len(got) != len(ids) {
				t.Errorf("%d distinct events applied, want %d", len(got), len(ids))
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events not applied after 15s", missing, len(ids))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// runConsumer runs c until the returned stop is called; stop returns Run's
// error.
func runConsumer(c *events.Consumer) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx) }()
	return func() error {
		cancel()
		return <-errc
	}
}

func consumerConfig(p *producer, s *sink, cc *grpc.ClientConn) events.ConsumerConfig {
	return events.ConsumerConfig{
		Name: "notification", SourceName: "producer", DB: s.db,
		Source: eventsgrpc.NewSource(eventsv1.NewEventServiceClient(cc), "notification"),
		Handle: s.handle, MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		AckEvery: 10, AckInterval: 50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(testWriter{p.t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

func newConsumer(t testing.TB, cfg events.ConsumerConfig) *events.Consumer {
	t.Helper()
	c, err := events.NewConsumer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
