package eventsgrpc_test

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/structpb"

	eventsv1 "github.com/bazaarhq/bazaar/gen/bazaar/events/v1"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/events"
	"github.com/bazaarhq/bazaar/internal/platform/events/eventsgrpc"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb/sqldbtest"
)

func callCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// subscribe opens a raw stream and returns the first response's error
// or the stream once its headers arrived.
func subscribe(t *testing.T, cc *grpc.ClientConn, req *eventsv1.SubscribeRequest) (grpc.ServerStreamingClient[eventsv1.SubscribeResponse], error) {
	t.Helper()
	st, err := eventsv1.NewEventServiceClient(cc).Subscribe(callCtx(t), req)
	if err != nil {
		return nil, err
	}
	if md, err := st.Header(); err != nil || md == nil {
		_, err = st.Recv()
		return nil, err
	}
	return st, nil
}

func wantStatus(t *testing.T, call string, err error, code codes.Code, reason string) errs.Details {
	t.Helper()
	d := errs.FromError(err)
	if d.Code != code || (reason != "" && d.Reason != reason) {
		t.Errorf("%s = %v (reason %q), want %v %s", call, err, d.Reason, code, reason)
	}
	return d
}

func TestEveryMethodHasAPolicy(t *testing.T) {
	srv, err := grpcx.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	svc, err := eventsgrpc.NewService(&events.Feed{}, nil)
	if err == nil || svc != nil {
		t.Fatalf("NewService(feed, nil db) = %v, want an error", err)
	}
	eventsv1.RegisterEventServiceServer(srv, eventsv1.UnimplementedEventServiceServer{})
	if err := srv.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestSubscribeDeliversBacklogThenLive(t *testing.T) {
	backends(t, func(t *testing.T, b sqldbtest.Backend) {
		p := newProducer(t, b, grpcx.DefaultLimits())
		cc := p.dial(t, notificationSvc)
		backlog := p.write(t, 3)
		_ = p.writeTopic(t, "other.topic.v1")
		st, err := subscribe(t, cc, &eventsv1.SubscribeRequest{Topics: []string{topic}, Consumer: "notification"})
		if err != nil {
			t.Fatal(err)
		}
		live := p.write(t, 2)
		var got []string
		last := int64(0)
		for range 5 {
			m, err := st.Recv()
			if err != nil {
				t.Fatal(err)
			}
			e := m.GetEvent()
			c, _ := strconv.ParseInt(e.GetCursor(), 10, 64)
			if c <= last || e.GetTopic() != topic || e.GetTime().AsTime().IsZero() {
				t.Errorf("event %v: cursor not increasing, wrong topic or no time", e)
			}
			last = c
			s := new(structpb.Struct)
			if err := e.GetPayload().UnmarshalTo(s); err != nil {
				t.Errorf("payload %v: %v", e.GetPayload(), err)
			} else if _, ok := s.GetFields()["n"]; !ok {
				t.Errorf("payload %v: no field n", s)
			}
			got = append(got, e.GetId())
		}
		want := append(backlog, live...)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("ids %v, want %v", got, want)
			}
		}
	})
}

func TestSubscribeErrors(t *testing.T) {
	p := newProducer(t, sqldbtest.SQLite(), grpcx.DefaultLimits())
	svcConn := p.dial(t, notificationSvc)
	for _, tc := range []struct {
		name   string
		cc     *grpc.ClientConn
		req    *eventsv1.SubscribeRequest
		code   codes.Code
		reason string
	}{
		{"customer", p.dial(t, customer), &eventsv1.SubscribeRequest{}, codes.PermissionDenied, ""},
		{"not a number", svcConn, &eventsv1.SubscribeRequest{AfterCursor: "12a"}, codes.InvalidArgument, ""},
		{"beyond int64", svcConn, &eventsv1.SubscribeRequest{AfterCursor: "9999999999999999999"}, codes.InvalidArgument, eventsgrpc.ReasonCursorInvalid},
		{"unknown consumer", svcConn, &eventsv1.SubscribeRequest{Consumer: "search"}, codes.FailedPrecondition, eventsgrpc.ReasonConsumerNotRegistered},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := subscribe(t, tc.cc, tc.req)
			wantStatus(t, "Subscribe", err, tc.code, tc.reason)
		})
	}
	// An admin may subscribe.
	if _, err := subscribe(t, p.dial(t, adminUser), &eventsv1.SubscribeRequest{}); err != nil {
		t.Errorf("Subscribe(admin) = %v", err)
	}
}

// Stopping the feed (the server keeps serving) ends the streams with
// UNAVAILABLE: the client resumes elsewhere.
func TestFeedStopIsUnavailable(t *testing.T) {
	p := newProducer(t, sqldbtest.SQLite(), grpcx.DefaultLimits())
	st, err := subscribe(t, p.dial(t, notificationSvc), &eventsv1.SubscribeRequest{})
	if err != nil {
		t.Fatal(err)
	}
	p.stopFeedOnly()
	_, err = st.Recv()
	wantStatus(t, "Recv", err, codes.Unavailable, eventsgrpc.ReasonServerDraining)
}

func TestAck(t *testing.T) {
	backends(t, func(t *testing.T, b sqldbtest.Backend) {
		p := newProducer(t, b, grpcx.DefaultLimits())
		client := eventsv1.NewEventServiceClient(p.dial(t, notificationSvc))
		p.write(t, 5)
		ack := func(consumer, cursor string) error {
			_, err := client.Ack(callCtx(t), &eventsv1.AckRequest{Consumer: consumer, Cursor: cursor})
			return err
		}
		if err := ack("notification", "4"); err != nil {
			t.Fatal(err)
		}
		if err := ack("notification", "2"); err != nil { // late and reordered: no-op
			t.Fatal(err)
		}
		st, err := events.RegisteredConsumer(t.Context(), p.db, "notification")
		if err != nil || st.Cursor != 4 {
			t.Errorf("consumer state = %+v, %v; want cursor 4", st, err)
		}
		wantStatus(t, "Ack(beyond head)", ack("notification", "6"), codes.OutOfRange, eventsgrpc.ReasonCursorAhead)
		wantStatus(t, "Ack(unknown)", ack("search", "1"), codes.FailedPrecondition, eventsgrpc.ReasonConsumerNotRegistered)
		wantStatus(t, "Ack(bad cursor)", ack("notification", "x"), codes.InvalidArgument, "")
		_, err = eventsv1.NewEventServiceClient(p.dial(t, customer)).Ack(callCtx(t), &eventsv1.AckRequest{Consumer: "notification", Cursor: "1"})
		wantStatus(t, "Ack(customer)", err, codes.PermissionDenied, "")
	})
}

// The consumer acks; the pruner deletes what it acknowledged; a
// subscription behind the pruned events is OUT_OF_RANGE CURSOR_PRUNED and
// a consumer behind them stops with ErrCursorPruned until its cursor is
// reset to the oldest one.
func TestPruneAndCursorPruned(t *testing.T) {
	backends(t, func(t *testing.T, b sqldbtest.Backend) {
		p := newProducer(t, b, grpcx.DefaultLimits())
		s := newSink(t, b)
		cc := p.dial(t, notificationSvc)
		ids := p.write(t, 10)
		cfg := consumerConfig(p, s, cc)
		cfg.AckEvery = 1
		stop := runConsumer(newConsumer(t, cfg))
		s.waitApplied(t, ids)
		if err := stop(); err != nil { // acks what is pending as it stops
			t.Fatal(err)
		}
		st, err := events.RegisteredConsumer(t.Context(), p.db, "notification")
		if err != nil || st.Cursor != 10 {
			t.Fatalf("consumer state = %+v, %v; want cursor 10", st, err)
		}
		n, err := events.Prune(t.Context(), p.db, 0)
		if err != nil || n != 9 { // the newest event stays
			t.Fatalf("Prune() = %d, %v; want 9 deleted", n, err)
		}
		_, err = subscribe(t, cc, &eventsv1.SubscribeRequest{AfterCursor: "3"})
		d := wantStatus(t, "Subscribe(after pruned)", err, codes.OutOfRange, eventsgrpc.ReasonCursorPruned)
		if d.Metadata[eventsgrpc.MetadataOldestCursor] != "9" {
			t.Errorf("oldest_cursor = %q, want 9", d.Metadata[eventsgrpc.MetadataOldestCursor])
		}
		// "" starts at the oldest retained event; "9" is still valid.
		for _, after := range []string{"", "9"} {
			st, err := subscribe(t, cc, &eventsv1.SubscribeRequest{AfterCursor: after})
			if err != nil {
				t.Fatalf("Subscribe(%q) = %v", after, err)
			}
			if m, err := st.Recv(); err != nil || m.GetEvent().GetCursor() != "10" {
				t.Errorf("Subscribe(%q) first event = %v, %v; want cursor 10", after, m, err)
			}
		}

		// A consumer whose cursor is behind stops with a typed error.
		if err := events.ResetCursor(t.Context(), s.db, "notification", "producer", "3"); err != nil {
			t.Fatal(err)
		}
		err = newConsumer(t, consumerConfig(p, s, cc)).Run(t.Context())
		var pruned *events.CursorPrunedError
		if !errors.Is(err, events.ErrCursorPruned) || !errors.As(err, &pruned) || pruned.Oldest != "9" || pruned.Cursor != "3" {
			t.Fatalf("Run() = %v, want a CursorPrunedError from 3 with oldest 9", err)
		}
		// The documented recovery: accept the gap.
		if err := events.ResetCursor(t.Context(), s.db, "notification", "producer", pruned.Oldest); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.write(t, 1)...)
		stop = runConsumer(newConsumer(t, consumerConfig(p, s, cc)))
		s.waitApplied(t, ids)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	})
}

// 1,000 concurrent subscriptions on one process each receive an event;
// when they leave, the server's goroutines return to their baseline.
func TestManySubscribers(t *testing.T) {
	const n = 1000
	p := newProducer(t, sqldbtest.SQLite(), grpcx.DefaultLimits())
	// MaxConcurrentStreams is 256 per connection: spread the streams.
	conns := make([]*grpc.ClientConn, 5)
	for i := range conns {
		conns[i] = p.dial(t, notificationSvc)
		if _, err := eventsv1.NewEventServiceClient(conns[i]).Ack(callCtx(t),
			&eventsv1.AckRequest{Consumer: "notification", Cursor: "0"}); err != nil {
			t.Fatal(err) // connect before the baseline
		}
	}
	time.Sleep(50 * time.Millisecond)
	baseline := runtime.NumGoroutine()

	ctx, cancel := context.WithCancel(t.Context())
	var got atomic.Int64
	var ready, done sync.WaitGroup
	ready.Add(n)
	errc := make(chan error, n)
	for i := range n {
		src := eventsgrpc.NewSource(eventsv1.NewEventServiceClient(conns[i%len(conns)]), "")
		done.Go(func() {
			st, err := src.Subscribe(ctx, "", nil)
			ready.Done()
			if err != nil {
				errc <- err
				return
			}
			e, err := st.Recv()
			if err == nil && e.Topic != topic {
				err = errors.New("wrong event " + e.Topic)
			}
			if err != nil {
				errc <- err
				return
			}
			got.Add(1)
			<-ctx.Done() // stay subscribed until everyone has received
		})
	}
	ready.Wait()
	if got := p.currentFeed().Subscribers(); got != n {
		t.Errorf("Subscribers() = %d, want %d", got, n)
	}
	start := time.Now()
	p.write(t, 1)
	// Every one receives: wait for the feed to have delivered to all.
	deadline := time.Now().Add(15 * time.Second)
	for got.Load() < n && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got.Load() != n {
		t.Errorf("%d of %d subscribers received the event", got.Load(), n)
	}
	t.Logf("%d subscribers received the event within %v", n, time.Since(start).Round(time.Millisecond))
	cancel()
	done.Wait()
	close(errc)
	for err := range errc {
		if !errors.Is(err, context.Canceled) && errs.FromError(err).Code != codes.Canceled {
			t.Errorf("subscriber: %v", err)
			break
		}
	}
	waitFor(t, func() bool { return p.currentFeed().Subscribers() == 0 }, "feed subscribers back to 0")
	waitFor(t, func() bool { return runtime.NumGoroutine() <= baseline+2 }, "goroutines back to baseline "+strconv.Itoa(baseline))
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
