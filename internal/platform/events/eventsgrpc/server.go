// Package eventsgrpc is the gRPC transport of events: the producer's
// EventService (Service, a server stream over a [events.Feed]) and the
// consumer's adapter ([Source], an [events.Source] over an
// EventServiceClient).
//
// Producer side:
//
//	feed, _ := events.NewFeed(db)
//	go feed.Run(ctx)
//	err := events.RegisterConsumers(ctx, db, "notification") // after db.Migrate
//	go events.RunPruner(ctx, db, 7*24*time.Hour, time.Hour, log)
//	svc, _ := eventsgrpc.NewService(feed, db)
//	eventsgrpc.Register(srv, svc)
//
// Consumer side:
//
//	c, _ := events.NewConsumer(events.ConsumerConfig{
//		Name: "notification", SourceName: "order", DB: db,
//		Source: eventsgrpc.NewSource(eventsv1.NewEventServiceClient(orderConn), "notification"),
//		Topics: []string{"order.placed.v1"}, Handle: apply,
//	})
//	err := c.Run(ctx)
package eventsgrpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	eventsv1 "github.com/bazaarhq/bazaar/gen/bazaar/events/v1"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/events"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
)

// The ErrorInfo reasons of the EventService.
const (
	// ReasonCursorPruned (OUT_OF_RANGE): the events after the cursor are
	// partly pruned; metadata MetadataOldestCursor is the oldest cursor a
	// subscription may resume after.
	ReasonCursorPruned = "CURSOR_PRUNED"
	// ReasonCursorInvalid (INVALID_ARGUMENT): not a cursor of this producer.
	ReasonCursorInvalid = "CURSOR_INVALID"
	// ReasonCursorAhead (OUT_OF_RANGE): an Ack beyond the newest event.
	ReasonCursorAhead = "CURSOR_AHEAD"
	// ReasonConsumerNotRegistered (FAILED_PRECONDITION): the consumer name
	// is not in the producer's configured list.
	ReasonConsumerNotRegistered = "CONSUMER_NOT_REGISTERED"
	// ReasonFeedUnavailable (UNAVAILABLE): the outbox cannot be read now;
	// resubscribe with the last cursor.
	ReasonFeedUnavailable = "FEED_UNAVAILABLE"
	// ReasonServerDraining (UNAVAILABLE): the feed stopped (the server is
	// going away); resubscribe with the last cursor.
	ReasonServerDraining = "SERVER_DRAINING"
	// ReasonPayloadUnmappable (INTERNAL, logged only): the payload mapper
	// failed on an event.
	ReasonPayloadUnmappable = "PAYLOAD_UNMAPPABLE"

	// MetadataOldestCursor is the ErrorInfo metadata key of
	// ReasonCursorPruned.
	MetadataOldestCursor = "oldest_cursor"
)

// PayloadMapper turns an outbox payload into the event's message, sent in
// a google.protobuf.Any. Each producing service chooses one; JSONPayload
// is the default. It must be safe for concurrent use. An error ends the
// subscription with INTERNAL (and the consumer retries): it is a
// producer's bug, never skipped, since a skipped event would be a gap.
type PayloadMapper func(topic string, payload []byte) (proto.Message, error)

// JSONPayload is the default PayloadMapper: a JSON object becomes a
// google.protobuf.Struct, other JSON a google.protobuf.Value, and anything
// that is not JSON a google.protobuf.BytesValue. It never fails.
func JSONPayload(_ string, payload []byte) (proto.Message, error) {
	if json.Valid(payload) {
		var v any
		if err := json.Unmarshal(payload, &v); err == nil {
			if obj, ok := v.(map[string]any); ok {
				if s, err := structpb.NewStruct(obj); err == nil {
					return s, nil
				}
			} else if val, err := structpb.NewValue(v); err == nil {
				return val, nil
			}
		}
	}
	return wrapperspb.Bytes(payload), nil
}

// Option configures NewService.
type Option func(*Service)

// WithPayloadMapper sets how payloads are encoded. Default JSONPayload.
func WithPayloadMapper(m PayloadMapper) Option { return func(s *Service) { s.mapper = m } }

// Service implements eventsv1.EventServiceServer over a feed of the
// producer's outbox and its database (for cursors and retention).
type Service struct {
	eventsv1.UnimplementedEventServiceServer
	feed   *events.Feed
	db     *sqldb.DB
	mapper PayloadMapper
}

// NewService returns the EventService of the producer whose outbox is in
// db, tailed by feed (which the caller runs).
func NewService(feed *events.Feed, db *sqldb.DB, opts ...Option) (*Service, error) {
	s := &Service{feed: feed, db: db, mapper: JSONPayload}
	for _, o := range opts {
		o(s)
	}
	switch {
	case feed == nil:
		return nil, errors.New("eventsgrpc: nil feed")
	case db == nil:
		return nil, errors.New("eventsgrpc: nil db")
	case s.mapper == nil:
		return nil, errors.New("eventsgrpc: nil payload mapper")
	}
	return s, nil
}

// Register registers s on r (a grpcx.Server).
func Register(r grpc.ServiceRegistrar, s *Service) { eventsv1.RegisterEventServiceServer(r, s) }

// Subscribe implements eventsv1.EventServiceServer.
func (s *Service) Subscribe(req *eventsv1.SubscribeRequest, stream grpc.ServerStreamingServer[eventsv1.SubscribeResponse]) error {
	ctx := stream.Context()
	after, explicit, err := parseCursor(req.GetAfterCursor(), "after_cursor")
	if err != nil {
		return err
	}
	if name := req.GetConsumer(); name != "" {
		if _, err := events.RegisteredConsumer(ctx, s.db, name); err != nil {
			return consumerError(ctx, name, err)
		}
	}
	through, err := events.PrunedThrough(ctx, s.db)
	if err != nil {
		return feedError(ctx, err)
	}
	if !explicit {
		after = through
	} else if after < through {
		return prunedError(after, through)
	}
	var filter func(sqldb.Event) bool
	if topics := slices.Clone(req.GetTopics()); len(topics) > 0 {
		filter = func(e sqldb.Event) bool { return slices.Contains(topics, e.Topic) }
	}
	sub, err := s.feed.Subscribe(ctx, after, filter)
	if err != nil {
		return feedError(ctx, err)
	}
	defer sub.Close()
	// The headers tell the client that the subscription is in place.
	if err := stream.SendHeader(metadata.MD{}); err != nil {
		return err
	}
	for {
		e, err := sub.Next(ctx)
		if err != nil {
			return feedError(ctx, err)
		}
		ev, err := s.eventProto(e)
		if err != nil {
			return err
		}
		if err := stream.Send(&eventsv1.SubscribeResponse{Event: ev}); err != nil {
			return err
		}
	}
}

func (s *Service) eventProto(e sqldb.Event) (*eventsv1.Event, error) {
	m, err := s.mapper(e.Topic, e.Payload)
	var payload *anypb.Any
	if err == nil {
		payload, err = anypb.New(m)
	}
	if err != nil {
		return nil, errs.Wrap(fmt.Errorf("map payload of event %d (%s): %w", e.ID, e.Topic, err),
			errs.Internal, ReasonPayloadUnmappable, "")
	}
	return &eventsv1.Event{
		Cursor: strconv.FormatInt(e.ID, 10), Id: e.EventID, Topic: e.Topic, AggregateId: e.AggregateID,
		Time: timestamppb.New(e.CreatedAt), Payload: payload,
	}, nil
}

// Ack implements eventsv1.EventServiceServer.
func (s *Service) Ack(ctx context.Context, req *eventsv1.AckRequest) (*eventsv1.AckResponse, error) {
	cursor, _, err := parseCursor(req.GetCursor(), "cursor")
	if err != nil {
		return nil, err
	}
	var head int64
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM outbox`).Scan(&head); err != nil {
		return nil, feedError(ctx, err)
	}
	if cursor > head {
		// A pruned outbox keeps its newest event, so head is the newest
		// id ever committed.
		return nil, errs.New(errs.OutOfRange, ReasonCursorAhead,
			"the cursor is beyond the newest event: acknowledge only cursors of received events",
			errs.WithFieldViolation("cursor", "beyond the newest event"))
	}
	if err := events.AckConsumer(ctx, s.db, req.GetConsumer(), cursor); err != nil {
		return nil, consumerError(ctx, req.GetConsumer(), err)
	}
	return &eventsv1.AckResponse{}, nil
}

// parseCursor reads a decimal cursor; explicit is false for "".
func parseCursor(c, field string) (cursor int64, explicit bool, err error) {
	if c == "" {
		return 0, false, nil
	}
	n, perr := strconv.ParseInt(c, 10, 64)
	if perr != nil || n < 0 {
		return 0, false, errs.BadRequest(ReasonCursorInvalid, errs.FieldViolation{
			Field: field, Description: "must be the cursor of an event of this producer",
		})
	}
	return n, true, nil
}

func prunedError(after, through int64) error {
	return errs.New(errs.OutOfRange, ReasonCursorPruned,
		fmt.Sprintf("events after cursor %d were pruned; the oldest resumable cursor is %d", after, through),
		errs.WithMetadata(MetadataOldestCursor, strconv.FormatInt(through, 10)))
}

func consumerError(ctx context.Context, name string, err error) error {
	if errors.Is(err, events.ErrConsumerNotRegistered) {
		return errs.New(errs.FailedPrecondition, ReasonConsumerNotRegistered,
			fmt.Sprintf("consumer %q is not registered with this producer", name),
			errs.WithPrecondition("CONSUMER", name, "the producer's configured consumers must list it"))
	}
	return feedError(ctx, err)
}

// feedError maps feed and database errors: when the stream's context has
// ended, its cause as it is (the server chain knows about draining); a
// stopped feed is a server going away; a database error is transient.
func feedError(ctx context.Context, err error) error {
	switch {
	case ctx.Err() != nil:
		return context.Cause(ctx)
	case errors.Is(err, events.ErrFeedStopped):
		return errs.New(errs.Unavailable, ReasonServerDraining, "the event feed stopped; resubscribe with the last cursor")
	}
	return errs.Wrap(err, errs.Unavailable, ReasonFeedUnavailable, "the events cannot be read now; retry with the last cursor")
}
