package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Event is one event as a consumer receives it from a [Source], whatever
// the transport.
type Event struct {
	// Cursor is the event's position in its source, opaque to consumers:
	// resume after it with Source.Subscribe and acknowledge it with Acker.
	// For the gRPC transport it is the producer's outbox id in decimal.
	Cursor string
	// ID identifies the event globally (the producer's outbox event_id):
	// consumers dedupe by it.
	ID string
	// Topic says what happened and how to read Payload.
	Topic string
	// AggregateID is the entity the event is about; may be empty.
	AggregateID string
	// Time is when the producer committed the event.
	Time time.Time
	// Payload is the event's content. Producers without a typed message for
	// a topic send a google.protobuf.Struct (see PayloadJSON).
	Payload *anypb.Any
}

// PayloadJSON returns the payload as JSON when it is a
// google.protobuf.Struct, Value or BytesValue holding JSON, the shapes the
// default payload mapper produces from a JSON outbox payload. Numbers of a
// Struct are float64: integers beyond 2^53 lose precision, so producers send
// them as strings (or a typed message).
func (e Event) PayloadJSON() ([]byte, error) {
	if e.Payload == nil {
		return nil, errors.New("events: event has no payload")
	}
	m, err := e.Payload.UnmarshalNew()
	if err != nil {
		return nil, fmt.Errorf("events: payload of %s: %w", e.Topic, err)
	}
	switch v := m.(type) {
	case *structpb.Struct, *structpb.Value, *structpb.ListValue:
		return protojson.Marshal(v)
	case *wrapperspb.BytesValue:
		if json.Valid(v.GetValue()) {
			return v.GetValue(), nil
		}
		return nil, fmt.Errorf("events: payload of %s is bytes, not JSON", e.Topic)
	default:
		return nil, fmt.Errorf("events: payload of %s is %s, not JSON", e.Topic, proto.MessageName(m))
	}
}

// Source is a transport delivering a producer's events: the gRPC
// EventService client (package eventsgrpc) today, a broker such as NATS
// JetStream later. A [Consumer] depends only on this interface.
type Source interface {
	// Subscribe opens a stream of the events after the cursor after ("" for
	// the oldest retained event) whose topic is one of topics (all when
	// empty). It returns once the subscription is in place: every event
	// committed later is delivered. The stream ends when ctx ends.
	//
	// Errors (here or from Recv): a *CursorPrunedError (errors.Is
	// ErrCursorPruned) when after is older than what the source retains;
	// an error wrapping ErrPermanent when retrying cannot help (a malformed
	// cursor, a refused caller); anything else is transient: resubscribe
	// after the last processed cursor, with backoff.
	Subscribe(ctx context.Context, after string, topics []string) (Stream, error)
}

// Stream is one subscription of a Source.
type Stream interface {
	// Recv returns the next event, waiting for it. It returns an error once
	// the stream has ended (ctx's cause after the subscription context ended).
	Recv() (Event, error)
}

// Acker is implemented by sources that keep producer-side retention: Ack
// tells the producer that the consumer has durably processed every event
// up to cursor, so it may prune them.
type Acker interface {
	Ack(ctx context.Context, cursor string) error
}

var (
	// ErrCursorPruned means that the events after a cursor are partly gone
	// (the producer pruned its outbox past it): resuming would leave a gap.
	// See CursorPrunedError and Consumer for the recovery.
	ErrCursorPruned = errors.New("events: cursor pruned")
	// ErrPermanent marks source errors that retrying cannot fix.
	ErrPermanent = errors.New("events: permanent error")
)

// CursorPrunedError is ErrCursorPruned with the details: Oldest is the
// oldest cursor the source can still resume after.
type CursorPrunedError struct {
	Cursor string
	Oldest string
}

func (e *CursorPrunedError) Error() string {
	return fmt.Sprintf("events: cursor %q pruned: the oldest resumable cursor is %q", e.Cursor, e.Oldest)
}

// Is makes errors.Is(err, ErrCursorPruned) true.
func (e *CursorPrunedError) Is(target error) bool { return target == ErrCursorPruned }
