package eventsgrpc

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	eventsv1 "github.com/bazaarhq/bazaar/gen/bazaar/events/v1"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/events"
)

// Source is the events.Source (and events.Acker) of a producer's
// EventService: the gRPC transport of an events.Consumer.
type Source struct {
	client   eventsv1.EventServiceClient
	consumer string
}

var (
	_ events.Source = (*Source)(nil)
	_ events.Acker  = (*Source)(nil)
)

// NewSource returns a source reading client's producer as consumer, the
// name the producer registered (its acks hold back pruning), or "" for an
// ad-hoc subscriber that never acks. client should come from a
// grpcx.NewClient connection (retries of UNAVAILABLE, keepalive).
func NewSource(client eventsv1.EventServiceClient, consumer string) *Source {
	return &Source{client: client, consumer: consumer}
}

// Subscribe implements events.Source: it returns once the producer has
// sent the response headers, that is once the subscription is live.
func (s *Source) Subscribe(ctx context.Context, after string, topics []string) (events.Stream, error) {
	st, err := s.client.Subscribe(ctx, &eventsv1.SubscribeRequest{AfterCursor: after, Topics: topics, Consumer: s.consumer})
	if err != nil {
		return nil, mapError(after, err)
	}
	md, err := st.Header()
	if err == nil && md == nil {
		// The stream ended before its headers: Recv has the status.
		_, err = st.Recv()
		if err == nil {
			err = errors.New("eventsgrpc: event before the subscription headers")
		}
	}
	if err != nil {
		return nil, mapError(after, err)
	}
	return &stream{st: st, after: after}, nil
}

// Ack implements events.Acker. It is a no-op for an ad-hoc source.
func (s *Source) Ack(ctx context.Context, cursor string) error {
	if s.consumer == "" {
		return nil
	}
	if _, err := s.client.Ack(ctx, &eventsv1.AckRequest{Consumer: s.consumer, Cursor: cursor}); err != nil {
		return fmt.Errorf("eventsgrpc: ack %s: %w", cursor, err)
	}
	return nil
}

type stream struct {
	st    grpc.ServerStreamingClient[eventsv1.SubscribeResponse]
	after string // the last cursor received, for errors
}

func (s *stream) Recv() (events.Event, error) {
	m, err := s.st.Recv()
	if err != nil {
		return events.Event{}, mapError(s.after, err)
	}
	e := m.GetEvent()
	s.after = e.GetCursor()
	return events.Event{
		Cursor: e.GetCursor(), ID: e.GetId(), Topic: e.GetTopic(), AggregateID: e.GetAggregateId(),
		Time: e.GetTime().AsTime(), Payload: e.GetPayload(),
	}, nil
}

// mapError turns a pruned cursor into *events.CursorPrunedError and the
// statuses that retrying cannot fix into events.ErrPermanent. The others
// (UNAVAILABLE, a stream cut by MaxConnectionAge, an expired token, a
// consumer not yet registered by a producer being redeployed...) stay
// transient.
func mapError(after string, err error) error {
	d := errs.FromError(err)
	switch {
	case d.Code == codes.OutOfRange && d.Reason == ReasonCursorPruned:
		return &events.CursorPrunedError{Cursor: after, Oldest: d.Metadata[MetadataOldestCursor]}
	case d.Code == codes.InvalidArgument, d.Code == codes.PermissionDenied, d.Code == codes.Unimplemented:
		return fmt.Errorf("eventsgrpc: subscribe after %q: %w: %w", after, events.ErrPermanent, err)
	}
	return fmt.Errorf("eventsgrpc: subscribe after %q: %w", after, err)
}
